//! The entry points cargo-fuzz targets and the proptests share:
//! `route_match` (hostile requests against a route table whose `vars` read
//! every kind of variable, `post_arg.*` paths into the body included) and
//! `upstream_response` (hostile bytes as an upstream's response to the
//! pool's HTTP/1.1 reader), `client_request` (hostile bytes as a
//! client's request stream to the server's HTTP/1.1 reader) and
//! `usual_heads` (the fast reader of usual heads held against `httparse`).

use std::net::SocketAddr;
use std::sync::LazyLock;

use http::request::Parts;

use crate::config::Document;
use crate::plugin::PluginRegistry;
use crate::routes::{HeadMatch, RouteTable};
use crate::upstream::Clients;

const ROUTES: &str = r#"
version: "1"
routes:
  - id: deep
    uri: /v1/*
    vars: [["post_arg.a.b.0.c", "==", 1], ["post_arg.messages.1.content", "~~", "^x"]]
    plugins: {ai-proxy: {provider: openai, auth: {}, max_req_body_size: 4096}}
  - id: headers
    uri: /v1/*
    vars: [["OR", ["http_x_team", "~*", "^r"], ["cookie_s", "in", ["1", "2"]], ["arg_q", ">", 3]]]
    plugins: {ai-proxy: {provider: openai, auth: {}}}
  - id: addr
    uris: [/a, /b/*]
    methods: [POST, GET]
    vars: [["remote_addr", "ipmatch", ["10.0.0.0/8", "::1"]], ["post_arg.tags", "has", "t"]]
    plugins: {ai-proxy: {provider: openai, auth: {}}}
  - id: rest
    uri: /*
    priority: -1
    plugins: {ai-proxy: {provider: openai, auth: {}}}
"#;

#[allow(clippy::expect_used)] // ok: a constant, valid document (a unit test builds it)
static TABLE: LazyLock<RouteTable> = LazyLock::new(|| {
    let doc = Document::parse(ROUTES).expect("the fuzzing routes are valid");
    RouteTable::compile(
        &doc,
        &ai_proxy::registry(),
        &PluginRegistry::new(),
        &Clients::default(),
    )
    .expect("the fuzzing routes compile")
});

/// `data` as a request — first line `METHOD URI`, second line a header
/// value used for `x-team` and `cookie`, the rest the body — matched on
/// its head, then with its body. Returns the matched route's id; panics
/// (the fuzzer's finding) only if matching does.
pub fn match_route(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.splitn(3, '\n');
    let first = lines.next().unwrap_or_default();
    let header = lines.next().unwrap_or_default();
    let body = lines.next().unwrap_or_default();
    let (method, uri) = first.split_once(' ').unwrap_or(("POST", first));
    let mut request = http::Request::builder()
        .method(method.trim())
        .uri(uri.trim());
    if let Ok(value) = http::HeaderValue::from_str(header) {
        request = request
            .header("x-team", value.clone())
            .header("cookie", value);
    }
    let parts: Parts = request.body(()).ok()?.into_parts().0;
    let remote: SocketAddr = if data.first().is_some_and(|b| b % 2 == 0) {
        SocketAddr::from(([10, 1, 2, 3], 4000))
    } else {
        SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], 4000))
    };
    let table = &*TABLE;
    let by_head = table.find_by_head(&parts, remote);
    let found = table.find(&parts, body.as_bytes(), remote);
    // The head alone never contradicts the full match.
    match (&by_head, found) {
        (HeadMatch::Route(r), Some(f)) if r.id != f.id => {
            #[allow(clippy::panic)] // ok: this is the fuzzer's finding
            {
                panic!("head matched {} but the full match is {}", r.id, f.id)
            }
        }
        _ => {}
    }
    found.map(|r| r.id.clone())
}

/// `data` as an upstream's response, read as the pool reads it: the first
/// byte says whether the request was a `HEAD` (odd) and how many bytes
/// each read returns (the byte halved, at least 1), the rest is the
/// response. Returns the body's length if it was read; panics (the
/// fuzzer's finding) only if reading does, if the body came out longer
/// than the bytes it was read from, if an interim (1xx) head was taken
/// for the final one, or if a body read to EOF left its connection
/// reusable.
pub fn upstream_response(data: &[u8]) -> Option<usize> {
    let (&first, wire) = data.split_first()?;
    let split = usize::from(first >> 1).max(1);
    let read = crate::pool::h1::read_response(wire.chunks(split), first & 1 == 1).ok()?;
    let to_eof = read.head.decision.framing == crate::pool::h1::framing::Framing::Eof;
    if read.body.len() > wire.len()
        || read.head.status.is_informational()
        || read.reusable && to_eof
    {
        #[allow(clippy::panic)] // ok: this is the fuzzer's finding
        {
            panic!(
                "{} body bytes out of {} read, status {}, reusable {}",
                read.body.len(),
                wire.len(),
                read.head.status,
                read.reusable,
            )
        }
    }
    Some(read.body.len())
}

/// `data` as a client's request stream, read as the server reads it: the
/// first byte says how many bytes each read returns (at least 1), the rest
/// is the stream (pipelined heads and bodies). Returns how many requests
/// were read; panics (the fuzzer's finding) only if reading does, or if
/// the bodies came out longer than the bytes they were read from.
pub fn client_requests(data: &[u8]) -> Option<usize> {
    let (&first, wire) = data.split_first()?;
    let split = usize::from(first).max(1);
    let (read, _) = crate::server::stream::read_requests(wire.chunks(split));
    let body: usize = read.iter().map(|r| r.body.len()).sum();
    if body > wire.len() {
        #[allow(clippy::panic)] // ok: this is the fuzzer's finding
        {
            panic!("{body} body bytes out of {} read", wire.len())
        }
    }
    Some(read.len())
}

/// `data` as a request head and as a response head, read by the
/// gateway's reader of usual heads and by `httparse`. Returns whether the
/// usual reader took it (as either); panics (the fuzzer's finding) if it
/// took a head that `httparse` reads otherwise or refuses — the usual
/// reader must read a strict subset of `httparse`'s heads, the same way.
pub fn usual_heads(data: &[u8]) -> bool {
    use crate::h1::oracle;
    if let Some((usual, reference)) = oracle::disagreement(data) {
        #[allow(clippy::panic)] // ok: this is the fuzzer's finding
        {
            panic!("the usual reader read {usual:?}, httparse {reference:?}")
        }
    }
    oracle::usual_request(data).is_some() || oracle::usual_response(data).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn usual_heads_are_taken_and_unusual_ones_left() {
        assert!(usual_heads(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(usual_heads(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
        assert!(!usual_heads(b"GET / HTTP/1.1\r\nHost: a\n\r\n"));
    }

    #[test]
    fn requests_reach_their_routes() {
        assert_eq!(
            match_route(b"POST /v1/chat\n\n{\"a\":{\"b\":[{\"c\":1}]},\"messages\":[{},{\"content\":\"xy\"}]}")
                .as_deref(),
            Some("deep")
        );
        assert_eq!(
            match_route(b"GET /v1/x\nresearch\n").as_deref(),
            Some("headers")
        );
        assert_eq!(
            match_route(b"POST /b/1\n\n{\"tags\":[\"t\"]}").as_deref(),
            Some("addr")
        );
        assert_eq!(match_route(b"PUT /zzz\n\n").as_deref(), Some("rest"));
    }

    proptest! {
        #[test]
        fn any_request_is_matched_without_panicking(data in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = match_route(&data);
        }

        #[test]
        fn any_bytes_read_as_a_usual_head_read_as_httparse_reads_them(
            data in prop::collection::vec(any::<u8>(), 0..256),
        ) {
            let _ = usual_heads(&data);
        }

        #[test]
        fn any_json_body_is_walked_without_panicking(
            path in "/v1/[a-z]{0,4}",
            body in r#"\{("a"|"messages"|"tags"|"b"|"c"|"0"|[,:\[\]\{\}0-9"x ]){0,40}"#,
        ) {
            let _ = match_route(format!("POST {path}\nr\n{body}").as_bytes());
        }
    }
}
