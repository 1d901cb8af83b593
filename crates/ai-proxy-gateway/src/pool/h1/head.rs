//! Heads on the wire: the request head the gateway writes, and the
//! response head it reads (with `httparse`), interim 1xx heads skipped.

use std::mem::MaybeUninit;

use bytes::{Buf, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, DATE, SERVER, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};

use super::Http1Error;
use super::framing::{Decision, Fields};
use crate::h1::field::FieldOffsets;
use crate::h1::usual::{self, ResponseAt};
use crate::h1::{Refused, capped, map_for};
use crate::hop_by_hop::{is_hop_by_hop, is_named};

pub(crate) use crate::h1::{MAX_HEAD, MAX_HEADERS};

/// Appends the request head to `dst`: the request line in origin form,
/// the fields but `Content-Length` and `Transfer-Encoding`, then `host`
/// when given (the pool's `Host` for a request without one: written as the
/// map's last field would be, without entering the map), then
/// `Content-Length` for the body the gateway sends (`body_len` bytes) —
/// the framing is the body's, whatever the fields said.
pub(crate) fn write_request(
    dst: &mut Vec<u8>,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    host: Option<&HeaderValue>,
    body_len: usize,
) {
    dst.extend_from_slice(method.as_str().as_bytes());
    dst.push(b' ');
    dst.extend_from_slice(path.as_bytes());
    dst.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        dst.extend_from_slice(name.as_str().as_bytes());
        dst.extend_from_slice(b": ");
        dst.extend_from_slice(value.as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    if let Some(host) = host {
        dst.extend_from_slice(b"host: ");
        dst.extend_from_slice(host.as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    // No `Content-Length: 0` where a method gives content no meaning.
    let bodiless = matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::CONNECT
    );
    if body_len > 0 || !bodiless {
        dst.extend_from_slice(b"content-length: ");
        dst.extend_from_slice(itoa::Buffer::new().format(body_len).as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    dst.extend_from_slice(b"\r\n");
}

/// A final response head, read.
#[derive(Debug)]
pub(crate) struct ResponseHead {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    pub(crate) decision: Decision,
}

/// Reads the final response head at the start of `buf`, consuming it (and
/// any interim 1xx heads before it); `None` if it is not complete yet.
/// Header values share the head's bytes (no copy). `head`: the request was
/// a `HEAD` (its response has no body). `kept`: a map kept for the
/// connection's next head (see [`map_for`]).
pub(crate) fn read_response(
    buf: &mut BytesMut,
    head: bool,
    kept: &mut Option<HeaderMap>,
) -> Result<Option<ResponseHead>, Http1Error> {
    let mut fields = FieldOffsets::new();
    loop {
        let Some(ResponseAt { code, minor, len }) = parse(buf, &mut fields)? else {
            return Ok(None);
        };
        let status = StatusCode::from_u16(code)
            .map_err(|_| Http1Error::MalformedHead(httparse::Error::Status))?;
        let version = if minor == 1 {
            Version::HTTP_11
        } else {
            Version::HTTP_10
        };
        let count = fields.len();
        if status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(Http1Error::SwitchingProtocols);
        }
        if status.is_informational() {
            // 100 Continue, 103 Early Hints: the final head follows.
            buf.advance(len);
            continue;
        }
        let bytes = buf.split_to(len).freeze();
        let mut headers = map_for(count, kept);
        let mut framing = Fields::default();
        for &field in fields.as_slice() {
            let name = bytes.get(field.name()).unwrap_or_default();
            let value = bytes.get(field.value()).unwrap_or_default();
            let Some(name) = field_name(name, value, &mut framing)? else {
                continue;
            };
            let value = bytes.slice(field.value());
            let value =
                HeaderValue::from_maybe_shared(value).map_err(|_| Http1Error::InvalidHeader)?;
            headers.append(name, value);
        }
        let decision = framing.decide(status, version, head)?;
        return Ok(Some(ResponseHead {
            status,
            version,
            headers,
            decision,
        }));
    }
}

/// The head at the start of `buf` as offsets (its fields' into `fields`):
/// a usual one read directly (see [`usual`]), any other by `httparse`;
/// `None` if it is not complete yet.
fn parse(buf: &[u8], fields: &mut FieldOffsets) -> Result<Option<ResponseAt>, Http1Error> {
    if let Some(head) = usual::response(buf, fields) {
        return Ok(Some(head));
    }
    let mut slots = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        &mut slots,
    );
    let len = match capped(parsed, buf.len()) {
        Ok(Some(len)) => len,
        Ok(None) => return Ok(None),
        Err(Refused::TooLarge) => return Err(Http1Error::HeadTooLarge { limit: MAX_HEAD }),
        Err(Refused::Parse(httparse::Error::TooManyHeaders)) => {
            return Err(Http1Error::TooManyHeaders { limit: MAX_HEADERS });
        }
        Err(Refused::Parse(e)) => return Err(Http1Error::MalformedHead(e)),
    };
    // Offsets, so that the head can be split off and shared. Always
    // inside the head: its slices point into `buf`.
    *fields = FieldOffsets::of(response.headers, buf.as_ptr() as usize);
    Ok(Some(ResponseAt {
        code: response.code.unwrap_or_default(),
        minor: u8::from(response.version == Some(1)),
        len,
    }))
}

/// The map's name for a field named `name` (any case) with `value`, the
/// framing fields noted in `framing` on the way; `None` for a hop-by-hop
/// field, which never reaches the client (see [`is_hop_by_hop`]) and so
/// never enters the map. The usual names of an upstream head are constants
/// (no parse, no look-up).
fn field_name(
    name: &[u8],
    value: &[u8],
    framing: &mut Fields,
) -> Result<Option<HeaderName>, Http1Error> {
    let is = |known: &HeaderName| is_named(name, known.as_str());
    let known = match name.len() {
        // Kept: the exchange reads it (the response size limit), and the
        // client gets it unless the body is rewritten or read whole.
        14 if is(&CONTENT_LENGTH) => {
            framing.content_length(value);
            CONTENT_LENGTH
        }
        17 if is(&TRANSFER_ENCODING) => {
            framing.transfer_encoding(value);
            return Ok(None);
        }
        10 if is(&CONNECTION) => {
            framing.connection(value);
            return Ok(None);
        }
        12 if is(&CONTENT_TYPE) => CONTENT_TYPE,
        4 if is(&DATE) => DATE,
        6 if is(&SERVER) => SERVER,
        _ if is_hop_by_hop(name) => return Ok(None),
        _ => HeaderName::from_bytes(name).map_err(|_| Http1Error::InvalidHeader)?,
    };
    Ok(Some(known))
}

#[cfg(test)]
mod tests {
    use super::super::framing::Framing;
    use super::*;

    fn read(wire: &str) -> Result<Option<ResponseHead>, Http1Error> {
        let mut buf = BytesMut::from(wire.as_bytes());
        read_response(&mut buf, false, &mut None)
    }

    fn request(method: Method, path: &str, headers: &[(&str, &str)], body_len: usize) -> String {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let mut dst = Vec::new();
        write_request(&mut dst, &method, path, &map, None, body_len);
        String::from_utf8(dst).unwrap()
    }

    #[test]
    fn the_request_head_is_the_line_the_fields_and_the_body_length() {
        let head = request(
            Method::POST,
            "/v1/chat?x=1",
            &[("host", "api.example.com"), ("x-a", "1"), ("x-a", "2")],
            12,
        );
        assert_eq!(
            head,
            "POST /v1/chat?x=1 HTTP/1.1\r\nhost: api.example.com\r\nx-a: 1\r\nx-a: 2\r\n\
             content-length: 12\r\n\r\n"
        );
    }

    #[test]
    fn a_host_given_apart_is_written_as_the_maps_last_field_would_be() {
        let fields = [("content-type", "application/json"), ("x-a", "1")];
        let mut map = HeaderMap::new();
        for (name, value) in fields {
            map.append(name, HeaderValue::from_static(value));
        }
        let host = HeaderValue::from_static("api.example.com");
        let mut apart = Vec::new();
        write_request(&mut apart, &Method::POST, "/v1", &map, Some(&host), 2);
        map.insert(http::header::HOST, host);
        let mut within = Vec::new();
        write_request(&mut within, &Method::POST, "/v1", &map, None, 2);
        assert_eq!(
            String::from_utf8(apart).unwrap(),
            String::from_utf8(within).unwrap()
        );
    }

    #[test]
    fn the_body_decides_the_request_framing_not_the_fields() {
        let head = request(
            Method::POST,
            "/",
            &[("content-length", "99"), ("transfer-encoding", "chunked")],
            3,
        );
        assert_eq!(head, "POST / HTTP/1.1\r\ncontent-length: 3\r\n\r\n");
    }

    #[test]
    fn an_empty_post_says_content_length_0_an_empty_get_says_nothing() {
        assert_eq!(
            request(Method::POST, "/", &[], 0),
            "POST / HTTP/1.1\r\ncontent-length: 0\r\n\r\n"
        );
        assert_eq!(request(Method::GET, "/", &[], 0), "GET / HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn a_response_head_is_read_and_consumed_leaving_the_body() {
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Id: a\r\nx-id: b\r\n\
               Content-Length: 2\r\n\r\n{}"[..],
        );
        let head = read_response(&mut buf, false, &mut None).unwrap().unwrap();
        assert_eq!(head.status, 201);
        assert_eq!(head.version, Version::HTTP_11);
        assert_eq!(head.headers["content-type"], "application/json");
        let ids: Vec<_> = head.headers.get_all("x-id").iter().collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(head.decision.framing, Framing::Length(2));
        assert!(head.decision.reusable);
        assert_eq!(&buf[..], b"{}");
    }

    #[test]
    fn hop_by_hop_fields_decide_the_framing_but_stay_out_of_the_map() {
        let head = read(
            "HTTP/1.1 200 OK\r\nServer: up\r\nConnection: close\r\nKeep-Alive: timeout=5\r\n\
             Transfer-Encoding: chunked\r\nDATE: today\r\ncontent-type: text/plain\r\n\
             Upgrade: h2c\r\nx-connection: kept\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(head.decision.framing, Framing::Chunked);
        assert!(!head.decision.reusable);
        let names: Vec<_> = head.headers.keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["server", "date", "content-type", "x-connection"]);
        assert_eq!(head.headers["date"], "today");
        assert_eq!(head.headers["content-type"], "text/plain");
    }

    #[test]
    fn the_content_length_field_is_read_and_kept() {
        let head = read("HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 2\r\n\r\n{}")
            .unwrap()
            .unwrap();
        assert_eq!(head.decision.framing, Framing::Length(2));
        assert_eq!(head.headers["content-length"], "2");
    }

    #[test]
    fn an_incomplete_head_asks_for_more() {
        for cut in ["", "HTTP/1.1 200 OK\r\n", "HTTP/1.1 200 OK\r\nx: y\r\n"] {
            assert!(read(cut).unwrap().is_none(), "{cut:?}");
        }
    }

    #[test]
    fn interim_100_and_103_heads_are_skipped() {
        let head = read(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n\
             HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(head.status, 200);
        assert!(!head.headers.contains_key("link"));
    }

    #[test]
    fn an_interim_head_alone_asks_for_more() {
        let mut buf = BytesMut::from(&b"HTTP/1.1 100 Continue\r\n\r\n"[..]);
        assert!(read_response(&mut buf, false, &mut None).unwrap().is_none());
        assert!(buf.is_empty());
    }

    #[test]
    fn switching_protocols_is_refused() {
        assert!(matches!(
            read("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n"),
            Err(Http1Error::SwitchingProtocols)
        ));
    }

    #[test]
    fn a_head_request_has_no_body() {
        let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"[..]);
        let head = read_response(&mut buf, true, &mut None).unwrap().unwrap();
        assert_eq!(head.decision.framing, Framing::Empty);
    }

    #[test]
    fn a_head_over_64_kib_is_refused_complete_or_not() {
        let big = format!("HTTP/1.1 200 OK\r\nx: {}\r\n", "v".repeat(MAX_HEAD));
        assert!(matches!(read(&big), Err(Http1Error::HeadTooLarge { .. })));
        let complete = format!("{big}\r\n");
        assert!(matches!(
            read(&complete),
            Err(Http1Error::HeadTooLarge { .. })
        ));
    }

    #[test]
    fn more_than_100_fields_are_refused() {
        let fields = "x: 1\r\n".repeat(MAX_HEADERS + 1);
        assert!(matches!(
            read(&format!("HTTP/1.1 200 OK\r\n{fields}\r\n")),
            Err(Http1Error::TooManyHeaders { .. })
        ));
        let fields = "x: 1\r\n".repeat(MAX_HEADERS);
        assert!(
            read(&format!("HTTP/1.1 200 OK\r\n{fields}\r\n"))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn a_response_that_is_not_http_is_malformed() {
        for bad in [
            "\u{16}\u{3}\u{1}\u{0}",
            "HTTP/2 200\r\n\r\n",
            "hello world\r\n\r\n",
        ] {
            assert!(
                matches!(read(bad), Err(Http1Error::MalformedHead(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_http_1_0_response_is_read_as_such() {
        let head = read("HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(head.version, Version::HTTP_10);
        assert!(!head.decision.reusable);
    }
}
