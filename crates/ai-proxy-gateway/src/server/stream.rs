//! A client's request stream read sans I/O the way the connection driver
//! and [`super::body::ClientBody`] read it — heads from the connection's
//! buffer, a `Content-Length` body never past its end, a chunked body
//! through the shared decoder with what it read past its end handed back:
//! the entry point the `client_request` fuzz target and the proptests
//! share.

use bytes::BytesMut;
use http::Method;

use super::request::{Framing, HeadError, LastTarget, MAX_HEAD, read_request};
use crate::h1::chunked::{Chunked, ChunkedError};

/// One request read off the stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ReadRequest {
    pub(crate) method: Method,
    pub(crate) target: String,
    pub(crate) body: Vec<u8>,
}

/// How the stream ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StreamEnd {
    /// Between requests (or after one that closes the connection).
    Clean,
    /// A head was refused.
    Head(HeadError),
    /// A chunked body was malformed.
    Body(ChunkedError),
    /// The stream ended inside a head or a body.
    Cut,
}

/// The connection's bytes as the reads that return them; a read asks
/// for at most `limit` bytes, as the socket is asked.
struct Reads<'a, I> {
    pieces: I,
    current: &'a [u8],
}

impl<'a, I: Iterator<Item = &'a [u8]>> Reads<'a, I> {
    fn read(&mut self, limit: usize) -> Option<&'a [u8]> {
        while self.current.is_empty() {
            self.current = self.pieces.next()?;
        }
        let (now, later) = self.current.split_at(limit.min(self.current.len()));
        self.current = later;
        Some(now)
    }
}

/// Reads requests off `pieces` (the bytes each read of the connection
/// returned, then its end) until the stream ends or a request closes the
/// connection.
pub(crate) fn read_requests<'a>(
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<ReadRequest>, StreamEnd) {
    let mut reads = Reads {
        pieces: pieces.into_iter(),
        current: &[],
    };
    let mut buf = BytesMut::new();
    let mut last = LastTarget::default();
    let mut kept = None;
    let mut out = Vec::new();
    loop {
        let head = loop {
            match read_request(&mut buf, &mut last, &mut kept) {
                Ok(Some(head)) => break head,
                Ok(None) => {}
                Err(e) => return (out, StreamEnd::Head(e)),
            }
            match reads.read((MAX_HEAD + 1).saturating_sub(buf.len()).max(1)) {
                Some(piece) => buf.extend_from_slice(piece),
                None if buf.is_empty() => return (out, StreamEnd::Clean),
                None => return (out, StreamEnd::Cut),
            }
        };
        let mut body = Vec::new();
        match head.framing {
            Framing::Empty => {}
            Framing::Length(n) => {
                let have = usize::try_from(n).map_or(buf.len(), |n| n.min(buf.len()));
                body.extend_from_slice(&buf.split_to(have));
                let mut left = n - have as u64;
                while left > 0 {
                    let limit = usize::try_from(left).unwrap_or(usize::MAX);
                    let Some(piece) = reads.read(limit) else {
                        return (out, StreamEnd::Cut);
                    };
                    body.extend_from_slice(piece);
                    left -= piece.len() as u64;
                }
            }
            Framing::Chunked => {
                let mut decoder = Chunked::default();
                let mut own = buf.split();
                while !decoder.is_done() {
                    match decoder.next(&mut own) {
                        Ok(Some(data)) => body.extend_from_slice(&data),
                        Ok(None) if decoder.is_done() => {}
                        Ok(None) => match reads.read(usize::MAX) {
                            Some(piece) => own.extend_from_slice(piece),
                            None => return (out, StreamEnd::Cut),
                        },
                        Err(e) => return (out, StreamEnd::Body(e)),
                    }
                }
                // Handed back: the next request's bytes.
                buf = own;
            }
        }
        out.push(ReadRequest {
            method: head.request.method().clone(),
            target: head.request.uri().to_string(),
            body,
        });
        if !head.keep_alive {
            return (out, StreamEnd::Clean);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A request on the wire: its method, target, body, and whether the
    /// body goes chunked (in pieces of `piece` bytes) or with a length.
    fn wire(method: &str, target: &str, body: &[u8], chunked: Option<usize>) -> Vec<u8> {
        let mut w = format!("{method} {target} HTTP/1.1\r\nhost: gw\r\n").into_bytes();
        match chunked {
            Some(piece) => {
                w.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
                for part in body.chunks(piece.max(1)) {
                    w.extend_from_slice(format!("{:X};ext=1\r\n", part.len()).as_bytes());
                    w.extend_from_slice(part);
                    w.extend_from_slice(b"\r\n");
                }
                w.extend_from_slice(b"0\r\nx-trailer: t\r\n\r\n");
            }
            None => {
                w.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
                w.extend_from_slice(body);
            }
        }
        w
    }

    #[test]
    fn pipelined_requests_are_read_in_order() {
        let mut stream = wire("POST", "/a", b"{}", None);
        stream.extend(wire("POST", "/b", b"chunked body", Some(5)));
        stream.extend_from_slice(b"GET /c HTTP/1.1\r\n\r\n");
        let (read, end) = read_requests([&stream[..]]);
        assert_eq!(end, StreamEnd::Clean);
        let got: Vec<_> = read
            .iter()
            .map(|r| (r.target.as_str(), r.body.as_slice()))
            .collect();
        assert_eq!(
            got,
            [("/a", &b"{}"[..]), ("/b", b"chunked body"), ("/c", b"")]
        );
    }

    #[test]
    fn a_request_asking_to_close_ends_the_stream() {
        let mut stream = b"GET /a HTTP/1.1\r\nconnection: close\r\n\r\n".to_vec();
        stream.extend_from_slice(b"GET /b HTTP/1.1\r\n\r\n");
        let (read, end) = read_requests([&stream[..]]);
        assert_eq!(read.len(), 1);
        assert_eq!(end, StreamEnd::Clean);
    }

    #[test]
    fn a_body_cut_short_is_cut_not_short() {
        let stream = wire("POST", "/a", b"12345", None);
        let (read, end) = read_requests([&stream[..stream.len() - 1]]);
        assert!(read.is_empty());
        assert_eq!(end, StreamEnd::Cut);
    }

    proptest! {
        #[test]
        fn any_split_of_pipelined_requests_reads_as_the_requests(
            requests in prop::collection::vec(
                (
                    prop::sample::select(vec!["GET", "POST", "PUT"]),
                    "/[a-z0-9/]{0,12}",
                    prop::collection::vec(any::<u8>(), 0..300),
                    prop::option::of(1usize..64),
                ),
                1..5,
            ),
            split in 1usize..97,
        ) {
            let mut stream = Vec::new();
            for (method, target, body, chunked) in &requests {
                stream.extend(wire(method, target, body, *chunked));
            }
            let (read, end) = read_requests(stream.chunks(split));
            prop_assert_eq!(end, StreamEnd::Clean);
            prop_assert_eq!(read.len(), requests.len());
            for (got, (method, target, body, _)) in read.iter().zip(&requests) {
                prop_assert_eq!(got.method.as_str(), *method);
                prop_assert_eq!(&got.target, target);
                prop_assert_eq!(&got.body, body);
            }
        }

        #[test]
        fn any_bytes_are_read_or_refused_without_panicking(
            wire in prop::collection::vec(any::<u8>(), 0..1024),
            split in 1usize..64,
        ) {
            let _ = crate::fuzzing::client_requests(&wire);
            let _ = read_requests(wire.chunks(split));
        }

        #[test]
        fn any_head_like_bytes_are_read_or_refused_without_panicking(
            wire in "(GET|POST) /[ -~]{0,8} HTTP/1\\.[01]\r\n((content-length|transfer-encoding|connection|expect|[a-z]{1,6}): [ -~]{0,10}\r\n){0,6}\r\n[0-9a-fA-F;\r\n -~]{0,64}",
            split in 1usize..64,
        ) {
            let _ = read_requests(wire.as_bytes().chunks(split));
        }
    }
}
