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
