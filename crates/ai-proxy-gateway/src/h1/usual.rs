//! Heads of the usual shape, read without `httparse`: a start line with
//! single spaces, field lines `name: value` of visible ASCII, CRLF line
//! ends. That is what clients and upstreams send request after request,
//! and reading it costs a third of `httparse`'s general parse (callgrind:
//! ~1,300 instructions for a four-field head). Anything else — a bare LF,
//! a tab, obs-text, an empty value, trailing spaces, leading empty lines,
//! a head not complete yet, more than [`MAX_HEADERS`] fields — gives
//! `None`, and the caller reads the head with `httparse` as before. The
//! shape accepted is a strict subset of what `httparse` accepts, read
//! into the same parts (proptest `usual_heads_read_as_httparse_reads_them`).

use ai_proxy::core::json::byte_set::{ALPHANUMERIC, ByteSet};

use super::field::{FieldAt, FieldOffsets};
use super::{MAX_HEAD, MAX_HEADERS};

/// A request head's parts, as offsets into its bytes (a usual head's,
/// or any head's as `httparse` read it).
pub(crate) struct RequestAt {
    /// The method's bytes.
    pub(crate) method: std::ops::Range<usize>,
    /// The request target's bytes.
    pub(crate) target: std::ops::Range<usize>,
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub(crate) minor: u8,
    /// The head's length, its final CRLF included.
    pub(crate) len: usize,
}

/// A response head's parts (a usual head's, or any head's as `httparse`
/// read it).
pub(crate) struct ResponseAt {
    /// The three status digits, as a number.
    pub(crate) code: u16,
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub(crate) minor: u8,
    /// The head's length, its final CRLF included.
    pub(crate) len: usize,
}

/// `METHOD SP target SP HTTP/1.x CRLF fields CRLF` at the start of `buf`,
/// its fields' offsets into `fields` (which holds no others then; left
/// as they fall when `None`).
pub(crate) fn request(buf: &[u8], fields: &mut FieldOffsets) -> Option<RequestAt> {
    let buf = head_room(buf);
    let method_end = buf.iter().position(|&b| !b.is_ascii_uppercase())?;
    if method_end == 0 || buf.get(method_end) != Some(&b' ') {
        return None;
    }
    let start = method_end + 1;
    // Visible ASCII up to the space.
    let target_end = run_end(buf, start, 0x21);
    if target_end == start || buf.get(target_end) != Some(&b' ') {
        return None;
    }
    let (minor, at) = version(buf, target_end + 1)?;
    if !crlf(buf, at) {
        return None;
    }
    let len = read_fields(buf, at + 2, fields)?;
    Some(RequestAt {
        method: 0..method_end,
        target: start..target_end,
        minor,
        len,
    })
}

/// `HTTP/1.x SP ddd SP reason CRLF fields CRLF` at the start of `buf`, its
/// fields' offsets into `fields` (as [`request`]).
pub(crate) fn response(buf: &[u8], fields: &mut FieldOffsets) -> Option<ResponseAt> {
    let buf = head_room(buf);
    let (minor, at) = version(buf, 0)?;
    let line = buf.get(at..at + 5)?;
    let [b' ', d1, d2, d3, b' '] = *line else {
        return None;
    };
    let mut code = 0u16;
    for d in [d1, d2, d3] {
        if !d.is_ascii_digit() {
            return None;
        }
        code = code * 10 + u16::from(d - b'0');
    }
    // The reason phrase: visible ASCII and spaces, up to the CRLF.
    let reason_end = line_end(buf, at + 5)?;
    let len = read_fields(buf, reason_end + 2, fields)?;
    Some(ResponseAt { code, minor, len })
}

/// The bytes of `buf` a head may have (under [`MAX_HEAD`]): a head is
/// looked for there only, so its offsets fit 16 bits.
fn head_room(buf: &[u8]) -> &[u8] {
    buf.get(..MAX_HEAD - 1).unwrap_or(buf)
}

/// `HTTP/1.0` or `HTTP/1.1` at `at`: the minor version and where it ends.
fn version(buf: &[u8], at: usize) -> Option<(u8, usize)> {
    match buf.get(at..at + 8)? {
        b"HTTP/1.1" => Some((1, at + 8)),
        b"HTTP/1.0" => Some((0, at + 8)),
        _ => None,
    }
}

/// Whether `buf` has CR LF at `at`.
fn crlf(buf: &[u8], at: usize) -> bool {
    buf.get(at) == Some(&b'\r') && buf.get(at + 1) == Some(&b'\n')
}

/// The field lines from `at` to the empty line that ends the head, their
/// offsets into `fields`: the head's length.
fn read_fields(buf: &[u8], mut at: usize, fields: &mut FieldOffsets) -> Option<usize> {
    fields.clear();
    loop {
        let mut colon = at;
        while let Some(&b) = buf.get(colon)
            && TOKEN.contains(b)
        {
            colon += 1;
        }
        match buf.get(colon) {
            Some(b':') if colon > at && fields.len() < MAX_HEADERS => {}
            Some(b'\r') if colon == at && buf.get(at + 1) == Some(&b'\n') => return Some(at + 2),
            _ => return None,
        }
        let mut start = colon + 1;
        while let Some(b' ' | b'\t') = buf.get(start) {
            start += 1;
        }
        let end = line_end(buf, start)?;
        // Empty, or with trailing spaces (which `httparse` trims): read
        // there.
        if end == start || buf.get(end - 1) == Some(&b' ') {
            return None;
        }
        fields.push(FieldAt::at(at..colon, start..end));
        at = end + 2;
    }
}

/// Where the line from `at` ends (its CR, followed by LF), every byte
/// before it visible ASCII or a space; `None` for any other byte (a tab,
/// a control, obs-text, a bare CR or LF) or no line end in `buf`.
fn line_end(buf: &[u8], at: usize) -> Option<usize> {
    let end = run_end(buf, at, 0x20);
    crlf(buf, end).then_some(end)
}

/// Where the run of bytes from `low` to `0x7e` starting at `at` ends (the
/// first byte out of that range, or `buf`'s end); `low` is at most
/// `0x80`. Eight bytes at a time: a byte below `low` or above `0x7e` is
/// flagged, and the first flagged one is where the run ends.
fn run_end(buf: &[u8], mut at: usize, low: u8) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_low = u64::from(low) * ONES;
    while let Some(word) = buf
        .get(at..at + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
    {
        let word = u64::from_le_bytes(word);
        // Below `low`: the borrow sets the high bit (for the lowest such
        // byte exactly; bytes above it may be flagged by the borrow, but
        // the lowest flagged byte is the first one out of range). At or
        // above 0x7f: the carry from +1, or the high bit itself.
        let below = word.wrapping_sub(below_low) & !word & HIGH;
        let above = (word.wrapping_add(ONES) | word) & HIGH;
        let flagged = below | above;
        if flagged != 0 {
            return at + (flagged.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while let Some(&b) = buf.get(at) {
        if b < low || b > 0x7e {
            break;
        }
        at += 1;
    }
    at
}

/// Whether a byte may be in a field name (RFC 9110 §5.6.2 `tchar`): one
/// load a byte.
static TOKEN: ByteSet = ByteSet::of(&[ALPHANUMERIC, b"!#$%&'*+-.^_`|~"]);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::oracle::{
        disagreement, httparse_request, httparse_response, usual_request, usual_response,
    };
    use super::*;

    const REQUEST: &[u8] = b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\
        Content-Type: application/json\r\nAuthorization: Bearer sk-1\r\nContent-Length: 2\r\n\r\n{}";
    const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\
        Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: application/json\r\n\
        Content-Length: 2\r\nConnection: keep-alive\r\n\r\n{}";

    #[test]
    fn a_usual_request_head_is_read_as_httparse_reads_it() {
        let read = usual_request(REQUEST).unwrap();
        assert_eq!(read, httparse_request(REQUEST).unwrap());
        assert_eq!(read.fields.len(), 4);
        assert_eq!(&REQUEST[read.len..], b"{}");
    }

    #[test]
    fn a_usual_response_head_is_read_as_httparse_reads_it() {
        let read = usual_response(RESPONSE).unwrap();
        assert_eq!(read, httparse_response(RESPONSE).unwrap());
        assert_eq!((read.code, read.minor, read.fields.len()), (200, 1, 5));
    }

    #[test]
    fn unusual_heads_are_left_to_httparse() {
        let requests = [
            &b"\r\nGET / HTTP/1.1\r\n\r\n"[..],
            b"GET  / HTTP/1.1\r\n\r\n",
            b"get / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\n\r\n",
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET / HTTP/1.1\r\nx: a\tb\r\n\r\n",
            b"GET / HTTP/1.1\r\nx: caf\xc3\xa9\r\n\r\n",
            b"GET / HTTP/1.1\r\nx:\r\n\r\n",
            b"GET / HTTP/1.1\r\nx: a \r\n\r\n",
            b"GET / HTTP/1.1\r\nx : a\r\n\r\n",
            b"GET / HTTP/1.1\r\nx: a\r\n b\r\n\r\n",
            b"GET / HTTP/1.1\r\nx: a\nb\r\n\r\n",
            b"GET / HTTP/1.1\r\nx: a\r\n",
        ];
        let responses = [
            &b"HTTP/1.1 200\r\n\r\n"[..],
            b"HTTP/1.1 20x OK\r\n\r\n",
            b"HTTP/1.1 200 O\tK\r\n\r\n",
        ];
        let read = requests.iter().map(|h| (h, usual_request(h).is_some()));
        let read = read.chain(responses.iter().map(|h| (h, usual_response(h).is_some())));
        for (head, read) in read {
            assert!(!read, "{:?}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn a_run_ends_at_its_first_byte_out_of_range_wherever_it_is() {
        for at in 0..20 {
            for odd in [0x00, 0x0d, 0x1f, b' ', b'!', 0x7e, 0x7f, 0x80, 0xff] {
                let mut buf = vec![b'a'; 20];
                buf[at] = odd;
                for low in [0x20, 0x21] {
                    let out = odd < low || odd > 0x7e;
                    assert_eq!(run_end(&buf, 0, low), if out { at } else { 20 });
                }
            }
        }
    }

    #[test]
    fn more_fields_than_the_cap_are_left_to_httparse() {
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..MAX_HEADERS {
            head.extend_from_slice(format!("x-{i}: {i}\r\n").as_bytes());
        }
        let mut at_cap = head.clone();
        at_cap.extend_from_slice(b"\r\n");
        assert_eq!(usual_request(&at_cap).unwrap().fields.len(), MAX_HEADERS);
        head.extend_from_slice(b"x: 1\r\n\r\n");
        assert!(usual_request(&head).is_none());
    }

    /// Heads made of usual and unusual pieces, cut anywhere, a byte
    /// replaced: every one the usual reader takes, `httparse` reads the
    /// same way.
    fn pieces() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop::sample::select(vec![
            &b"GET"[..],
            b"POST",
            b" ",
            b"  ",
            b"/v1/chat?x=1",
            b"http://h/a",
            b"HTTP/1.1",
            b"HTTP/1.0",
            b"HTTP/1.2",
            b"200",
            b"OK",
            b"\r\n",
            b"\n",
            b"\r",
            b"\t",
            b":",
            b": ",
            b"Host",
            b"x-a",
            b"Content-Length",
            b"value with spaces",
            b"\xc3\xa9",
            b"\x7f",
            b"\0",
            b"\"",
        ]);
        (
            prop::collection::vec(piece, 0..40),
            any::<prop::sample::Index>(),
            any::<u8>(),
        )
            .prop_map(|(pieces, at, byte)| {
                let mut head: Vec<u8> = pieces.concat();
                if !head.is_empty() && byte < 64 {
                    let i = at.index(head.len());
                    head[i] = byte;
                }
                head
            })
    }

    proptest! {
        #[test]
        fn usual_heads_read_as_httparse_reads_them(
            body in pieces(),
            request_line in prop::bool::ANY,
        ) {
            let mut head = if request_line {
                b"POST /v1 HTTP/1.1\r\n".to_vec()
            } else {
                b"HTTP/1.1 200 OK\r\n".to_vec()
            };
            head.extend_from_slice(&body);
            for buf in [&body[..], &head[..]] {
                let disagreement = disagreement(buf);
                prop_assert!(disagreement.is_none(), "{:?}", disagreement);
            }
        }

        #[test]
        fn a_usual_head_of_valid_fields_is_read_and_any_byte_changed_reads_as_httparse_reads_it(
            fields in prop::collection::vec(("[a-zA-Z][a-zA-Z0-9-]{0,12}", "[!-~]([ -~]{0,30}[!-~])?"), 0..30),
            response_line in prop::bool::ANY,
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let mut head = if response_line {
                b"HTTP/1.1 200 OK\r\n".to_vec()
            } else {
                b"GET /a HTTP/1.1\r\n".to_vec()
            };
            for (name, value) in &fields {
                head.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
            }
            head.extend_from_slice(b"\r\n");
            let mut changed = head.clone();
            changed[at.index(head.len())] = byte;
            if response_line {
                prop_assert!(usual_response(&head).is_some());
                prop_assert_eq!(usual_response(&head), httparse_response(&head));
            } else {
                prop_assert!(usual_request(&head).is_some());
                prop_assert_eq!(usual_request(&head), httparse_request(&head));
            }
            let disagreement = disagreement(&changed);
            prop_assert!(disagreement.is_none(), "{:?}", disagreement);
        }
    }
}
