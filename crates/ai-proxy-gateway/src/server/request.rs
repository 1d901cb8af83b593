//! A client's request head, read from the connection's buffer with
//! `httparse`: method, target and fields (values share the buffer), the
//! body's framing (RFC 9112 §6.1–6.3, refusing what could smuggle a
//! request) and what the client asked of the connection.

use std::mem::MaybeUninit;

use bytes::{Bytes, BytesMut};
use http::header::{
    ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, EXPECT, HOST,
    TRANSFER_ENCODING, USER_AGENT,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, Version};

use crate::h1::field::{ContentLength, FieldAt, FieldOffsets, Options, ends_in_chunked, trim};
use crate::h1::usual::{self, RequestAt};
use crate::h1::{Refused, capped, map_for};
use crate::hop_by_hop::is_named;

pub(crate) use crate::h1::{MAX_HEAD, MAX_HEADERS};

/// How a request body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    Empty,
    /// `Content-Length` bytes (more than zero).
    Length(u64),
    /// `Transfer-Encoding` ending in `chunked`.
    Chunked,
}

/// A request head, read.
#[derive(Debug)]
pub(crate) struct RequestHead {
    /// Method, target, version and fields.
    pub(crate) request: Request<()>,
    pub(crate) framing: Framing,
    /// Whether the client lets the connection carry another request (HTTP/1.1
    /// without `Connection: close`, HTTP/1.0 with `Connection: keep-alive`).
    pub(crate) keep_alive: bool,
    /// `Expect: 100-continue` on HTTP/1.1.
    pub(crate) expect_continue: bool,
}

/// Why a request head is refused; the connection closes after the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HeadError {
    /// The head is [`MAX_HEAD`] bytes or more.
    #[error("the request head is larger than {MAX_HEAD} bytes")]
    TooLarge,
    /// More than [`MAX_HEADERS`] fields.
    #[error("the request head has more than {MAX_HEADERS} header fields")]
    TooManyFields,
    /// Not an HTTP/1.x request head, or a field that cannot be represented.
    #[error("the request head is malformed")]
    Malformed,
    /// Not HTTP/1.0 or HTTP/1.1.
    #[error("the request's HTTP version is not supported")]
    Version,
    /// The body cannot be delimited safely: `Transfer-Encoding` with
    /// `Content-Length`, not ending in `chunked`, or on HTTP/1.0; an
    /// invalid `Content-Length` or differing copies.
    #[error("the request's body framing is ambiguous or invalid")]
    Framing,
}

impl From<Refused> for HeadError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::TooLarge => HeadError::TooLarge,
            Refused::Parse(httparse::Error::TooManyHeaders) => HeadError::TooManyFields,
            Refused::Parse(httparse::Error::Version) => HeadError::Version,
            Refused::Parse(_) => HeadError::Malformed,
        }
    }
}

impl HeadError {
    /// The status the client is answered with.
    pub(crate) fn status(self) -> StatusCode {
        match self {
            HeadError::TooLarge | HeadError::TooManyFields => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            HeadError::Malformed | HeadError::Framing => StatusCode::BAD_REQUEST,
            HeadError::Version => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
        }
    }
}

/// The fields that decide framing and the connection, noted while the
/// head's fields are read.
#[derive(Default)]
struct Fields {
    length: ContentLength,
    /// A `Transfer-Encoding` was seen; whether its last coding is `chunked`.
    transfer_encoding: Option<bool>,
    options: Options,
    expect_continue: bool,
}

/// Targets longer than this are parsed each time, not kept.
const KEPT_TARGET: usize = 256;

/// A connection's last request target and its URI: clients send the same
/// target request after request, and comparing it costs a fraction of
/// parsing it (~300 instructions for `/v1/chat/completions`).
#[derive(Default)]
pub(crate) struct LastTarget(Option<(Bytes, Uri)>);

impl LastTarget {
    /// The URI of `target` (a slice of the head): the kept one when the
    /// text is the same, else parsed (and kept, from its own copy, so that
    /// the head's buffer is not held past its request).
    fn uri(&mut self, target: Bytes) -> Result<Uri, HeadError> {
        if let Some((text, uri)) = &self.0
            && *text == target
        {
            return Ok(uri.clone());
        }
        if target.len() > KEPT_TARGET {
            self.0 = None;
            return Uri::from_maybe_shared(target).map_err(|_| HeadError::Malformed);
        }
        let text = Bytes::copy_from_slice(&target);
        let uri = Uri::from_maybe_shared(text.clone()).map_err(|_| HeadError::Malformed)?;
        self.0 = Some((text, uri.clone()));
        Ok(uri)
    }
}

/// Reads the request head at the start of `buf`, consuming it; `None` if it
/// is not complete yet. Empty lines before it are skipped (RFC 9112 §2.2).
/// `last`: the connection's last target (see [`LastTarget`]); `kept`: a map
/// kept for its next head (see [`map_for`]).
pub(crate) fn read_request(
    buf: &mut BytesMut,
    last: &mut LastTarget,
    kept: &mut Option<HeaderMap>,
) -> Result<Option<RequestHead>, HeadError> {
    let mut fields = FieldOffsets::new();
    let Some(RequestAt {
        method,
        target,
        minor,
        len,
    }) = parse(buf, &mut fields)?
    else {
        return Ok(None);
    };
    let version = if minor == 1 {
        Version::HTTP_11
    } else {
        Version::HTTP_10
    };
    let method = Method::from_bytes(buf.get(method).unwrap_or_default())
        .map_err(|_| HeadError::Malformed)?;
    let count = fields.len();
    let bytes = buf.split_to(len).freeze();
    let uri = last.uri(bytes.slice(target))?;
    let mut headers = map_for(count, kept);
    let mut seen = Fields::default();
    for &field in fields.as_slice() {
        let name = bytes.get(field.name()).unwrap_or_default();
        let value = bytes.get(field.value()).unwrap_or_default();
        let name = field_name(name, value, &mut seen)?;
        let value = HeaderValue::from_maybe_shared(bytes.slice(field.value()))
            .map_err(|_| HeadError::Malformed)?;
        headers.append(name, value);
    }
    let framing = match (seen.transfer_encoding, seen.length) {
        // HTTP/1.0 has no transfer codings (RFC 9112 §6.1); both framings
        // at once is how requests are smuggled: refused, never guessed.
        (Some(_), _) if version == Version::HTTP_10 => return Err(HeadError::Framing),
        (Some(_), ContentLength::Valid(_) | ContentLength::Invalid) => {
            return Err(HeadError::Framing);
        }
        (Some(true), ContentLength::Absent) => Framing::Chunked,
        (Some(false), ContentLength::Absent) => return Err(HeadError::Framing),
        (None, ContentLength::Invalid) => return Err(HeadError::Framing),
        (None, ContentLength::Valid(0) | ContentLength::Absent) => Framing::Empty,
        (None, ContentLength::Valid(n)) => Framing::Length(n),
    };
    let keep_alive = if version == Version::HTTP_11 {
        !seen.options.close
    } else {
        seen.options.keep_alive && !seen.options.close
    };
    let expect_continue = seen.expect_continue && version == Version::HTTP_11;
    let mut head = Request::new(());
    *head.method_mut() = method;
    *head.uri_mut() = uri;
    *head.version_mut() = version;
    *head.headers_mut() = headers;
    Ok(Some(RequestHead {
        request: head,
        framing,
        keep_alive,
        expect_continue,
    }))
}

/// The head at the start of `buf` as offsets (its fields' into `fields`):
/// a usual one read directly (see [`usual`]), any other by `httparse`;
/// `None` if it is not complete yet.
fn parse(buf: &[u8], fields: &mut FieldOffsets) -> Result<Option<RequestAt>, HeadError> {
    if let Some(head) = usual::request(buf, fields) {
        return Ok(Some(head));
    }
    let mut slots = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_HEADERS];
    let mut request = httparse::Request::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_request_with_uninit_headers(
        &mut request,
        buf,
        &mut slots,
    );
    let Some(len) = capped(parsed, buf.len())? else {
        return Ok(None);
    };
    let minor = match request.version {
        Some(minor @ (0 | 1)) => minor,
        _ => return Err(HeadError::Version),
    };
    let base = buf.as_ptr() as usize;
    let method = request.method.unwrap_or_default().as_bytes();
    let path = request.path.unwrap_or_default().as_bytes();
    // Offsets, so that the head can be split off and shared.
    let (method, target) = (
        FieldAt::new(method, method, base),
        FieldAt::new(path, path, base),
    );
    *fields = FieldOffsets::of(request.headers, base);
    Ok(Some(RequestAt {
        method: method.name(),
        target: target.name(),
        minor,
        len,
    }))
}

/// The map's name for a field named `name` (any case) with `value`, the
/// framing and connection fields noted in `seen` on the way. The usual
/// names of a request are constants (no parse, no look-up).
fn field_name(name: &[u8], value: &[u8], seen: &mut Fields) -> Result<HeaderName, HeadError> {
    let is = |known: &HeaderName| is_named(name, known.as_str());
    let known = match name.len() {
        4 if is(&HOST) => HOST,
        12 if is(&CONTENT_TYPE) => CONTENT_TYPE,
        14 if is(&CONTENT_LENGTH) => {
            seen.length.note(value);
            CONTENT_LENGTH
        }
        17 if is(&TRANSFER_ENCODING) => {
            // The last field line's last coding decides (RFC 9112 §6.3).
            seen.transfer_encoding = Some(ends_in_chunked(value));
            TRANSFER_ENCODING
        }
        10 if is(&CONNECTION) => {
            seen.options.note(value);
            CONNECTION
        }
        6 if is(&EXPECT) => {
            seen.expect_continue = trim(value).eq_ignore_ascii_case(b"100-continue");
            EXPECT
        }
        6 if is(&ACCEPT) => ACCEPT,
        15 if is(&ACCEPT_ENCODING) => ACCEPT_ENCODING,
        13 if is(&AUTHORIZATION) => AUTHORIZATION,
        10 if is(&USER_AGENT) => USER_AGENT,
        _ => HeaderName::from_bytes(name).map_err(|_| HeadError::Malformed)?,
    };
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(wire: &str) -> Result<Option<RequestHead>, HeadError> {
        read_request(
            &mut BytesMut::from(wire.as_bytes()),
            &mut LastTarget::default(),
            &mut None,
        )
    }

    fn head(wire: &str) -> RequestHead {
        read(wire).unwrap().unwrap()
    }

    fn framing(fields: &str) -> Result<Framing, HeadError> {
        read(&format!("POST / HTTP/1.1\r\n{fields}\r\n")).map(|h| h.unwrap().framing)
    }

    #[test]
    fn a_head_is_read_and_consumed_leaving_the_body() {
        let mut buf = BytesMut::from(
            &b"POST /v1/chat?x=1 HTTP/1.1\r\nHost: gw\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 2\r\n\r\n{}"[..],
        );
        let head = read_request(&mut buf, &mut LastTarget::default(), &mut None)
            .unwrap()
            .unwrap();
        let r = &head.request;
        assert_eq!(r.method(), Method::POST);
        assert_eq!(r.uri(), "/v1/chat?x=1");
        assert_eq!(r.version(), Version::HTTP_11);
        assert_eq!(r.headers()["host"], "gw");
        let a: Vec<_> = r.headers().get_all("x-a").iter().collect();
        assert_eq!(a, ["1", "2"]);
        assert_eq!(head.framing, Framing::Length(2));
        assert!(head.keep_alive);
        assert_eq!(&buf[..], b"{}");
    }

    #[test]
    fn a_connections_repeated_target_reads_as_a_fresh_one_and_a_new_target_replaces_it() {
        let mut last = LastTarget::default();
        let mut wire = BytesMut::from(
            &b"GET /v1/a?x=1 HTTP/1.1\r\n\r\nGET /v1/a?x=1 HTTP/1.1\r\n\r\n\
               GET http://gw.example/v1/b HTTP/1.1\r\n\r\nGET /v1/a?x=2 HTTP/1.1\r\n\r\n"[..],
        );
        let mut uris = Vec::new();
        while let Some(h) = read_request(&mut wire, &mut last, &mut None).unwrap() {
            uris.push(h.request.uri().clone());
        }
        let fresh: Vec<Uri> = [
            "/v1/a?x=1",
            "/v1/a?x=1",
            "http://gw.example/v1/b",
            "/v1/a?x=2",
        ]
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
        assert_eq!(uris, fresh);
        assert_eq!(uris[2].host(), Some("gw.example"));
        assert_eq!(uris[3].query(), Some("x=2"));
    }

    #[test]
    fn a_long_target_is_read_and_not_kept() {
        let mut last = LastTarget::default();
        let target = format!("/{}", "a".repeat(KEPT_TARGET + 1));
        let mut wire = BytesMut::from(format!("GET {target} HTTP/1.1\r\n\r\n").as_bytes());
        let h = read_request(&mut wire, &mut last, &mut None)
            .unwrap()
            .unwrap();
        assert_eq!(h.request.uri().path(), target);
        assert!(last.0.is_none());
    }

    #[test]
    fn an_absolute_form_target_is_read() {
        let h = head("GET http://gw.example/v1/models HTTP/1.1\r\nhost: gw.example\r\n\r\n");
        assert_eq!(h.request.uri().path(), "/v1/models");
        assert_eq!(h.request.uri().host(), Some("gw.example"));
    }

    #[test]
    fn empty_lines_before_the_head_are_skipped() {
        assert_eq!(head("\r\n\r\nGET / HTTP/1.1\r\n\r\n").request.uri(), "/");
    }

    #[test]
    fn an_incomplete_head_asks_for_more() {
        for cut in ["", "POST / HTTP/1.1\r\n", "POST / HTTP/1.1\r\nhost: gw\r\n"] {
            assert!(read(cut).unwrap().is_none(), "{cut:?}");
        }
    }

    #[test]
    fn a_head_of_64_kib_is_431_complete_or_not() {
        let big = format!("GET / HTTP/1.1\r\nx: {}\r\n", "v".repeat(MAX_HEAD));
        assert_eq!(read(&big).unwrap_err(), HeadError::TooLarge);
        assert_eq!(
            read(&format!("{big}\r\n")).unwrap_err(),
            HeadError::TooLarge
        );
        assert_eq!(HeadError::TooLarge.status(), 431);
    }

    #[test]
    fn more_than_100_fields_are_431() {
        let fields = "x: 1\r\n".repeat(MAX_HEADERS + 1);
        let e = read(&format!("GET / HTTP/1.1\r\n{fields}\r\n")).unwrap_err();
        assert_eq!(e, HeadError::TooManyFields);
        assert_eq!(e.status(), 431);
        let fields = "x: 1\r\n".repeat(MAX_HEADERS);
        assert!(
            read(&format!("GET / HTTP/1.1\r\n{fields}\r\n"))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn a_malformed_head_is_400() {
        for bad in [
            "GET / HTTP/1.1\r\nbad name: v\r\n\r\n",
            "GET\r\n\r\n",
            "G(ET / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nx: a\u{1}b\r\n\r\n",
            "\u{16}\u{3}\u{1}\u{0}\u{5}",
        ] {
            let e = read(bad).unwrap_err();
            assert_eq!(e, HeadError::Malformed, "{bad:?}");
            assert_eq!(e.status(), 400);
        }
    }

    #[test]
    fn versions_other_than_1_0_and_1_1_are_505() {
        for bad in [
            "GET / HTTP/2.0\r\n\r\n",
            "GET / HTTP/1.2\r\n\r\n",
            "GET / HTTP/0.9\r\n\r\n",
        ] {
            let e = read(bad).unwrap_err();
            assert_eq!(e, HeadError::Version, "{bad:?}");
            assert_eq!(e.status(), 505);
        }
    }

    #[test]
    fn no_length_and_no_coding_is_an_empty_body() {
        assert_eq!(framing(""), Ok(Framing::Empty));
        assert_eq!(framing("content-length: 0\r\n"), Ok(Framing::Empty));
    }

    #[test]
    fn content_length_delimits_the_body_and_identical_copies_are_one() {
        assert_eq!(framing("content-length: 42\r\n"), Ok(Framing::Length(42)));
        assert_eq!(framing("content-length: 5, 5\r\n"), Ok(Framing::Length(5)));
        assert_eq!(
            framing("content-length: 5\r\nContent-Length: 5\r\n"),
            Ok(Framing::Length(5))
        );
    }

    #[test]
    fn differing_or_invalid_content_length_is_400() {
        for bad in [
            "content-length: 5\r\ncontent-length: 6\r\n",
            "content-length: 5, 6\r\n",
            "content-length: -1\r\n",
            "content-length: 1e3\r\n",
            "content-length: 99999999999999999999\r\n",
            "content-length:\r\n",
        ] {
            assert_eq!(framing(bad), Err(HeadError::Framing), "{bad:?}");
        }
    }

    #[test]
    fn transfer_encoding_ending_in_chunked_is_chunked() {
        assert_eq!(
            framing("transfer-encoding: chunked\r\n"),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing("Transfer-Encoding: gzip, Chunked\r\n"),
            Ok(Framing::Chunked)
        );
    }

    #[test]
    fn transfer_encoding_with_content_length_is_400_never_guessed() {
        for both in [
            "transfer-encoding: chunked\r\ncontent-length: 3\r\n",
            "content-length: 3\r\ntransfer-encoding: chunked\r\n",
        ] {
            assert_eq!(framing(both), Err(HeadError::Framing), "{both:?}");
        }
    }

    #[test]
    fn a_coding_other_than_final_chunked_is_400() {
        for bad in [
            "transfer-encoding: gzip\r\n",
            "transfer-encoding: chunked, gzip\r\n",
            "transfer-encoding: chunked\r\ntransfer-encoding: identity\r\n",
        ] {
            assert_eq!(framing(bad), Err(HeadError::Framing), "{bad:?}");
        }
    }

    #[test]
    fn transfer_encoding_on_http_1_0_is_400() {
        let e = read("POST / HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n").unwrap_err();
        assert_eq!(e, HeadError::Framing);
    }

    #[test]
    fn http_1_1_keeps_the_connection_unless_told_to_close() {
        assert!(head("GET / HTTP/1.1\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.1\r\nconnection: keep-alive, Close\r\n\r\n").keep_alive);
    }

    #[test]
    fn http_1_0_keeps_the_connection_only_when_asked() {
        let h = head("GET / HTTP/1.0\r\n\r\n");
        assert_eq!(h.request.version(), Version::HTTP_10);
        assert!(!h.keep_alive);
        assert!(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
    }

    #[test]
    fn expect_100_continue_is_noted_on_http_1_1_only() {
        let wire = |v: &str| {
            format!("POST / HTTP/1.{v}\r\nexpect: 100-Continue\r\ncontent-length: 1\r\n\r\n")
        };
        assert!(head(&wire("1")).expect_continue);
        assert!(!head(&wire("0")).expect_continue);
        assert!(!head("POST / HTTP/1.1\r\ncontent-length: 1\r\n\r\n").expect_continue);
    }

    #[test]
    fn header_values_share_the_heads_bytes() {
        let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nx-long: 0123456789abcdef\r\n\r\n"[..]);
        let start = buf.as_ptr() as usize;
        let h = read_request(&mut buf, &mut LastTarget::default(), &mut None)
            .unwrap()
            .unwrap();
        let value = h.request.headers()["x-long"].as_bytes().as_ptr() as usize;
        assert!(value > start && value < start + 64, "the value was copied");
    }
}
