//! A response head on the wire: the status line, the response's fields,
//! `Date` (when the response has none), and the framing the body's size
//! calls for (RFC 9112 §6.1–6.3): an exact size as `Content-Length`, else
//! chunked on HTTP/1.1 and the connection's end on HTTP/1.0; no body for
//! `HEAD`, 1xx, 204 and 304.

use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{HeaderMap, StatusCode, Version};

/// How the response body goes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body is written (whatever the body holds).
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked: each frame a chunk, then the last chunk.
    Chunked,
    /// Until the connection closes.
    Eof,
}

/// The request a response answers, as far as its head is concerned.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Answering {
    /// The request was `HEAD`.
    pub(crate) head: bool,
    /// The request's version.
    pub(crate) version: Version,
    /// The connection may carry another request (the client's wish, the
    /// request body read off the wire, no shutdown under way).
    pub(crate) keep_alive: bool,
}

/// Appends the head of a response with `status` and `headers`, whose body
/// has `exact` bytes if known, to `dst`; `date` is today's `Date`. Returns
/// the body's framing and whether the connection stays open after it.
pub(crate) fn write_head(
    dst: &mut Vec<u8>,
    status: StatusCode,
    headers: &HeaderMap,
    exact: Option<u64>,
    answering: Answering,
    date: &[u8],
) -> (Framing, bool) {
    let no_body = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let framing = match exact {
        _ if no_body || answering.head => Framing::None,
        Some(n) => Framing::Length(n),
        None if answering.version == Version::HTTP_11 => Framing::Chunked,
        None => Framing::Eof,
    };
    let keep_alive = answering.keep_alive && framing != Framing::Eof;
    if status == StatusCode::OK {
        dst.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        dst.extend_from_slice(b"HTTP/1.1 ");
        dst.extend_from_slice(status.as_str().as_bytes());
        dst.push(b' ');
        dst.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    // A `Content-Length` the response has is kept where no body is
    // written but the one it stands for (`HEAD`, 304); elsewhere the body
    // decides the framing, and 204/1xx carry none.
    let keep_length = framing == Framing::None && !(no_body && status != StatusCode::NOT_MODIFIED);
    let mut has_date = false;
    let mut has_length = false;
    for (name, value) in headers {
        if *name == CONTENT_LENGTH {
            if !keep_length {
                continue;
            }
            has_length = true;
        } else if *name == TRANSFER_ENCODING || *name == CONNECTION {
            continue;
        } else if *name == DATE {
            has_date = true;
        }
        dst.extend_from_slice(name.as_str().as_bytes());
        dst.extend_from_slice(b": ");
        dst.extend_from_slice(value.as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    let length = match framing {
        Framing::Length(n) => Some(n),
        // A `HEAD` answer says how long the body would be, when known.
        Framing::None if answering.head && !has_length => exact.filter(|&n| n > 0),
        _ => None,
    };
    if let Some(n) = length {
        dst.extend_from_slice(b"content-length: ");
        dst.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    if framing == Framing::Chunked {
        dst.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    if !has_date {
        dst.extend_from_slice(b"date: ");
        dst.extend_from_slice(date);
        dst.extend_from_slice(b"\r\n");
    }
    match (keep_alive, answering.version) {
        (false, Version::HTTP_11) => dst.extend_from_slice(b"connection: close\r\n"),
        (true, Version::HTTP_10) => dst.extend_from_slice(b"connection: keep-alive\r\n"),
        _ => {}
    }
    dst.extend_from_slice(b"\r\n");
    (framing, keep_alive)
}

/// Appends the head of the answer to a request whose head was refused
/// (400, 431, 505): no body, and the connection closes.
pub(crate) fn write_refusal(dst: &mut Vec<u8>, status: StatusCode, date: &[u8]) {
    let answering = Answering {
        head: false,
        version: Version::HTTP_11,
        keep_alive: false,
    };
    write_head(dst, status, &HeaderMap::new(), Some(0), answering, date);
}

/// Appends a chunk's size line for `len` bytes of data.
pub(crate) fn write_chunk_size(dst: &mut Vec<u8>, len: usize) {
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    let mut n = len;
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b"0123456789abcdef".get(n & 0xf).copied().unwrap_or(b'0');
        }
        n >>= 4;
        if n == 0 || at == 0 {
            break;
        }
    }
    dst.extend_from_slice(digits.get(at..).unwrap_or_default());
    dst.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const DATE: &[u8] = b"Sun, 06 Nov 1994 08:49:37 GMT";

    fn answering(version: Version) -> Answering {
        Answering {
            head: false,
            version,
            keep_alive: true,
        }
    }

    fn head(
        status: u16,
        fields: &[(&'static str, &'static str)],
        exact: Option<u64>,
        answering: Answering,
    ) -> (String, Framing, bool) {
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            headers.append(*name, HeaderValue::from_static(value));
        }
        let mut dst = Vec::new();
        let status = StatusCode::from_u16(status).unwrap();
        let (framing, keep) = write_head(&mut dst, status, &headers, exact, answering, DATE);
        (String::from_utf8(dst).unwrap(), framing, keep)
    }

    #[test]
    fn an_exact_size_is_content_length_replacing_the_responses_own() {
        let (h, framing, keep) = head(
            200,
            &[
                ("content-type", "application/json"),
                ("content-length", "99"),
            ],
            Some(12),
            answering(Version::HTTP_11),
        );
        assert_eq!(
            h,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\
             date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
        );
        assert_eq!(framing, Framing::Length(12));
        assert!(keep);
    }

    #[test]
    fn an_unknown_size_is_chunked_on_http_1_1() {
        let (h, framing, keep) = head(
            200,
            &[("transfer-encoding", "gzip")],
            None,
            answering(Version::HTTP_11),
        );
        assert_eq!(framing, Framing::Chunked);
        assert!(keep);
        assert!(
            h.contains("transfer-encoding: chunked\r\n") && !h.contains("gzip"),
            "{h}"
        );
    }

    #[test]
    fn an_unknown_size_is_delimited_by_the_close_on_http_1_0() {
        let (h, framing, keep) = head(200, &[], None, answering(Version::HTTP_10));
        assert_eq!(framing, Framing::Eof);
        assert!(!keep);
        assert!(
            !h.contains("transfer-encoding") && !h.contains("connection"),
            "{h}"
        );
    }

    #[test]
    fn head_204_and_304_have_no_body() {
        let head_request = Answering {
            head: true,
            ..answering(Version::HTTP_11)
        };
        let (h, framing, _) = head(200, &[], Some(7), head_request);
        assert_eq!(framing, Framing::None);
        assert!(
            h.contains("content-length: 7\r\n"),
            "a HEAD answer says the length: {h}"
        );
        let (h, framing, _) = head(
            204,
            &[("content-length", "0")],
            Some(0),
            answering(Version::HTTP_11),
        );
        assert_eq!(framing, Framing::None);
        assert!(!h.contains("content-length"), "{h}");
        let (h, framing, _) = head(
            304,
            &[("content-length", "5")],
            None,
            answering(Version::HTTP_11),
        );
        assert_eq!(framing, Framing::None);
        assert!(
            h.contains("content-length: 5\r\n") && !h.contains("chunked"),
            "{h}"
        );
    }

    #[test]
    fn a_closing_connection_says_so_on_http_1_1() {
        let closing = Answering {
            keep_alive: false,
            ..answering(Version::HTTP_11)
        };
        let (h, _, keep) = head(200, &[("connection", "keep-alive")], Some(0), closing);
        assert!(!keep);
        assert!(
            h.contains("connection: close\r\n") && !h.contains("keep-alive"),
            "{h}"
        );
    }

    #[test]
    fn a_kept_http_1_0_connection_says_keep_alive() {
        let (h, _, keep) = head(200, &[], Some(2), answering(Version::HTTP_10));
        assert!(keep);
        assert!(h.contains("connection: keep-alive\r\n"), "{h}");
    }

    #[test]
    fn the_responses_own_date_is_kept() {
        let (h, _, _) = head(
            200,
            &[("date", "Mon, 01 Jan 2024 00:00:00 GMT")],
            Some(0),
            answering(Version::HTTP_11),
        );
        assert_eq!(h.matches("date: ").count(), 1);
        assert!(h.contains("date: Mon, 01 Jan 2024"), "{h}");
    }

    #[test]
    fn other_statuses_carry_their_reason() {
        let (h, _, _) = head(429, &[], Some(0), answering(Version::HTTP_11));
        assert!(h.starts_with("HTTP/1.1 429 Too Many Requests\r\n"), "{h}");
    }

    #[test]
    fn a_refusal_has_no_body_and_closes() {
        let mut dst = Vec::new();
        write_refusal(&mut dst, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, DATE);
        let h = String::from_utf8(dst).unwrap();
        assert!(
            h.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{h}"
        );
        assert!(
            h.contains("content-length: 0\r\n") && h.contains("connection: close\r\n"),
            "{h}"
        );
    }

    #[test]
    fn chunk_sizes_are_lowercase_hexadecimal() {
        for (len, line) in [
            (1, "1\r\n"),
            (255, "ff\r\n"),
            (4096, "1000\r\n"),
            (usize::MAX, "ffffffffffffffff\r\n"),
        ] {
            let mut dst = Vec::new();
            write_chunk_size(&mut dst, len);
            assert_eq!(dst, line.as_bytes());
        }
    }
}
