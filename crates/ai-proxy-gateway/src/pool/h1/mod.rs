//! HTTP/1.1 for the pool, sans I/O: the request head written
//! ([`head::write_request`]), the response head read ([`head::read_response`]),
//! the body's framing decided ([`framing`]) and its bytes read off the
//! connection's buffer ([`BodyReader`], [`crate::h1::chunked`]). The connection
//! ([`super::connection`]) only moves bytes.
//!
//! Hand-written instead of hyper's client connection: the pool needs one
//! request with a whole body on a kept-alive connection, then a head and a
//! body read to its end — done on the request's own task, without hyper's
//! connection task, its channels and its wake-ups. Measured when it
//! replaced hyper's: 57.1k -> 48.9k instructions a proxied request
//! (callgrind, one connection), user CPU ~11.4 -> ~8.9 µs a request at 32
//! connections, ~128 -> ~97 ns CPU per streamed event.

mod error;
pub(crate) mod framing;
pub(crate) mod head;
mod reader;

#[cfg(any(test, feature = "fuzzing"))]
use bytes::BytesMut;

pub use error::Http1Error;
pub(crate) use reader::BodyReader;

#[cfg(any(test, feature = "fuzzing"))]
/// What [`read_response`] read: the head, the body's bytes, and whether
/// the connection could carry another request.
#[derive(Debug)]
pub(crate) struct Read {
    pub(crate) head: head::ResponseHead,
    pub(crate) body: Vec<u8>,
    pub(crate) reusable: bool,
}

#[cfg(any(test, feature = "fuzzing"))]
/// Reads a whole response from `reads` (the bytes each read from the
/// connection returned, then the connection's end), as the connection
/// does: the entry point the `upstream_response` fuzz target and the
/// proptests share.
pub(crate) fn read_response<'a>(
    reads: impl IntoIterator<Item = &'a [u8]>,
    head_request: bool,
) -> Result<Read, Http1Error> {
    let mut buf = BytesMut::new();
    let mut reads = reads.into_iter();
    let head = loop {
        if let Some(head) = head::read_response(&mut buf, head_request, &mut None)? {
            break head;
        }
        match reads.next() {
            Some(bytes) => buf.extend_from_slice(bytes),
            None => return Err(Http1Error::closed_before_head()),
        }
    };
    let mut reader = BodyReader::new(head.decision.framing);
    let mut body = Vec::new();
    while !reader.is_done() {
        if let Some(data) = reader.next(&mut buf)? {
            body.extend_from_slice(&data);
            continue;
        }
        if reader.is_done() {
            break;
        }
        match reads.next() {
            Some(bytes) => buf.extend_from_slice(bytes),
            None => reader.end_of_input()?,
        }
    }
    let reusable = head.decision.reusable && buf.is_empty();
    Ok(Read {
        head,
        body,
        reusable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read(wire: &str) -> Result<Read, Http1Error> {
        read_response([wire.as_bytes()], false)
    }

    #[test]
    fn a_content_length_body_is_read_and_the_connection_kept() {
        let r = read("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").unwrap();
        assert_eq!(r.body, b"ok");
        assert!(r.reusable);
    }

    #[test]
    fn a_chunked_body_is_read_and_the_connection_kept() {
        let r = read("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!(r.body, b"ok");
        assert!(r.reusable);
    }

    #[test]
    fn a_close_delimited_body_is_read_to_eof_and_the_connection_dropped() {
        let r = read("HTTP/1.1 200 OK\r\n\r\nall of it").unwrap();
        assert_eq!(r.body, b"all of it");
        assert!(!r.reusable);
    }

    #[test]
    fn bytes_after_the_body_prevent_reuse() {
        let r = read("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK").unwrap();
        assert_eq!(r.body, b"ok");
        assert!(!r.reusable);
    }

    #[test]
    fn a_body_cut_short_is_an_error() {
        for cut in [
            "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok",
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n",
        ] {
            assert!(
                matches!(read(cut), Err(Http1Error::ClosedInBody(_))),
                "{cut:?}"
            );
        }
    }

    #[test]
    fn a_connection_ending_before_the_head_is_an_error() {
        assert!(matches!(
            read("HTTP/1.1 200 OK\r\n"),
            Err(Http1Error::ClosedBeforeHead(_))
        ));
    }

    proptest! {
        #[test]
        fn any_response_fed_in_any_split_reads_as_when_fed_whole(
            body in prop::collection::vec(any::<u8>(), 0..600),
            chunked in any::<bool>(),
            split in 1usize..97,
        ) {
            let mut wire = b"HTTP/1.1 200 OK\r\nx-a: b\r\n".to_vec();
            if chunked {
                wire.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
                for piece in body.chunks(50) {
                    wire.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                    wire.extend_from_slice(piece);
                    wire.extend_from_slice(b"\r\n");
                }
                wire.extend_from_slice(b"0\r\n\r\n");
            } else {
                wire.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
                wire.extend_from_slice(&body);
            }
            let read = read_response(wire.chunks(split), false).unwrap();
            prop_assert_eq!(read.body, body);
            prop_assert!(read.reusable);
        }

        #[test]
        fn any_bytes_are_read_or_refused_without_panicking(
            wire in prop::collection::vec(any::<u8>(), 0..1024),
            split in 1usize..64,
        ) {
            let _ = crate::fuzzing::upstream_response(&wire);
            let _ = read_response(wire.chunks(split), false);
        }

        #[test]
        fn any_head_like_bytes_are_read_or_refused_without_panicking(
            head in "HTTP/1\\.[01] [0-9]{3} [A-Za-z]{0,5}\r\n([a-zA-Z-]{1,12}: [ -~]{0,12}\r\n){0,6}\r\n[ -~\r\n]{0,64}",
            split in 1usize..64,
        ) {
            let _ = read_response(head.as_bytes().chunks(split), false);
        }
    }
}
