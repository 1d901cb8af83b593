//! The gateway's own HTTP/1.1 server, exact bytes over a real socket:
//! pipelining, `Expect: 100-continue`, `Connection: close`, HTTP/1.0,
//! chunked request bodies, and heads refused before any route sees them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::h2_client::{client_runtime, http2_post};
use crate::harness::{Gateway, Upstream, connect, ok_upstream, read_reply};
use crate::{CHAT, openai_route};

/// A chat request with a `Content-Length` body and `extra` header lines.
fn chat(version: &str, extra: &str) -> String {
    format!(
        "POST /v1/chat/completions HTTP/{version}\r\nhost: gw\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n{extra}\r\n{CHAT}",
        CHAT.len()
    )
}

/// Everything the gateway sends until it closes the connection.
fn until_closed(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    String::from_utf8_lossy(&got).into_owned()
}

/// Starts an upstream and the gateway (the chat route, `extra` in its
/// plugin), writes `wire` on one connection and reads until the gateway
/// closes it.
fn served(extra: &str, wire: &[u8]) -> (Upstream, String) {
    let up = ok_upstream();
    let gw = Gateway::start(&openai_route(&up, extra));
    let mut stream = connect(gw.addr);
    // The gateway may answer and close before all of it is written.
    let _ = stream.write_all(wire);
    let got = until_closed(&mut stream);
    (up, got)
}

/// The status codes of the responses in `wire`, in order.
fn statuses(wire: &str) -> Vec<u16> {
    wire.match_indices("HTTP/1.1 ")
        .filter_map(|(at, _)| wire.get(at + 9..at + 12)?.parse().ok())
        .collect()
}

#[test]
fn pipelined_requests_are_answered_in_order_on_one_connection() {
    let wire = format!(
        "{}GET /nowhere HTTP/1.1\r\nhost: gw\r\n\r\n{}",
        chat("1.1", ""),
        chat("1.1", "connection: close\r\n")
    );
    let (up, got) = served("", wire.as_bytes());
    assert_eq!(statuses(&got), [200, 404, 200], "{got}");
    assert_eq!(up.requests().len(), 2);
}

#[test]
fn a_chunked_request_body_is_read_and_the_next_request_served() {
    let up = ok_upstream();
    let gw = Gateway::start(&openai_route(&up, ""));
    let mut stream = connect(gw.addr);
    let (a, b) = CHAT.split_at(10);
    let wire = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ntransfer-encoding: chunked\r\n\r\n\
         {:x}\r\n{a}\r\n{:x};ext=1\r\n{b}\r\n0\r\nx-trailer: 1\r\n\r\n{}",
        a.len(),
        b.len(),
        chat("1.1", "connection: close\r\n")
    );
    stream.write_all(wire.as_bytes()).unwrap();
    let got = until_closed(&mut stream);
    assert_eq!(statuses(&got), [200, 200], "{got}");
    let seen = up.requests();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[0].body.contains(r#""content":"hi""#),
        "{}",
        seen[0].body
    );
}

#[test]
fn a_malformed_chunked_body_is_400_and_closes() {
    let (up, got) = served(
        "",
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ntransfer-encoding: chunked\r\n\r\n\
          zz\r\n{}\r\n0\r\n\r\n",
    );
    assert_eq!(statuses(&got), [400], "{got}");
    assert!(up.requests().is_empty());
}

#[test]
fn expect_100_continue_is_answered_when_the_body_is_wanted() {
    let up = ok_upstream();
    let gw = Gateway::start(&openai_route(&up, ""));
    let mut stream = connect(gw.addr);
    let request = chat("1.1", "expect: 100-continue\r\n");
    let (head, body) = request.split_at(request.len() - CHAT.len());
    stream.write_all(head.as_bytes()).unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(body.as_bytes()).unwrap();
    let reply = read_reply(&mut stream, usize::MAX);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn expect_100_continue_is_not_answered_when_the_request_is_refused_first() {
    let request = chat("1.1", "expect: 100-continue\r\n");
    let head = &request[..request.len() - CHAT.len()];
    let (_up, got) = served(", max_req_body_size: 10", head.as_bytes());
    assert!(got.starts_with("HTTP/1.1 413 "), "{got}");
    assert!(!got.contains("100 Continue"), "{got}");
}

#[test]
fn connection_close_from_the_client_is_honoured_after_the_response() {
    let (_up, got) = served("", chat("1.1", "connection: close\r\n").as_bytes());
    assert_eq!(statuses(&got), [200], "{got}");
    assert!(got.contains("connection: close\r\n"), "{got}");
}

#[test]
fn an_http_1_0_request_is_answered_then_the_connection_closed() {
    // A second request after it is never read: 1.0 closes by default.
    let wire = format!("{}{}", chat("1.0", ""), chat("1.0", ""));
    let (up, got) = served("", wire.as_bytes());
    assert_eq!(statuses(&got), [200], "{got}");
    assert!(!got.contains("transfer-encoding"), "{got}");
    assert_eq!(up.requests().len(), 1);
}

#[test]
fn an_http_1_0_request_asking_keep_alive_keeps_the_connection() {
    let up = ok_upstream();
    let gw = Gateway::start(&openai_route(&up, ""));
    let mut stream = connect(gw.addr);
    stream
        .write_all(chat("1.0", "connection: keep-alive\r\n").as_bytes())
        .unwrap();
    let reply = read_reply(&mut stream, usize::MAX);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["connection"], "keep-alive");
    stream.write_all(chat("1.0", "").as_bytes()).unwrap();
    assert_eq!(statuses(&until_closed(&mut stream)), [200]);
}

#[test]
fn transfer_encoding_with_content_length_is_400_and_reaches_no_upstream() {
    let (up, got) = served(
        "",
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-length: 4\r\n\
              transfer-encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    );
    assert_eq!(statuses(&got), [400], "{got}");
    assert!(got.contains("connection: close\r\n"), "{got}");
    assert!(up.requests().is_empty());
}

#[test]
fn a_head_over_64_kib_is_431() {
    let wire = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\nx-big: {}\r\n\r\n",
        "v".repeat(70_000)
    );
    // The gateway may answer and close before all of it is written.
    let (up, got) = served("", wire.as_bytes());
    assert_eq!(statuses(&got), [431], "{got}");
    assert!(up.requests().is_empty());
}

#[test]
fn an_unsupported_version_is_505() {
    let up = ok_upstream();
    let gw = Gateway::start(&openai_route(&up, ""));
    let mut stream = connect(gw.addr);
    stream
        .write_all(b"GET / HTTP/1.2\r\nhost: gw\r\n\r\n")
        .unwrap();
    assert_eq!(statuses(&until_closed(&mut stream)), [505]);
}

#[test]
fn a_request_body_left_unread_closes_the_connection_after_the_answer() {
    // 404 before the body is read; its 100 announced bytes never come.
    let (_up, got) = served(
        "",
        b"POST /nowhere HTTP/1.1\r\nhost: gw\r\ncontent-length: 100\r\n\r\n",
    );
    assert_eq!(statuses(&got), [404], "{got}");
    assert!(got.contains("connection: close\r\n"), "{got}");
}

#[test]
fn responses_carry_a_date() {
    let up = ok_upstream();
    let gw = Gateway::start(&openai_route(&up, ""));
    let mut stream = connect(gw.addr);
    stream
        .write_all(chat("1.1", "connection: close\r\n").as_bytes())
        .unwrap();
    let reply = read_reply(&mut stream, usize::MAX);
    let date = &reply.headers["date"];
    assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
}

#[test]
fn http2_with_prior_knowledge_is_still_served() {
    use http_body_util::BodyExt;

    let up = ok_upstream();
    let gw = Gateway::start(&openai_route(&up, ""));
    let (status, body) = client_runtime().block_on(async {
        let response = http2_post(gw.addr, "/v1/chat/completions", CHAT, None).await;
        let status = response.status();
        (
            status,
            response.into_body().collect().await.unwrap().to_bytes(),
        )
    });
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("gpt-4o"));
    assert_eq!(up.requests().len(), 1);
}

/// Opens an HTTP/2 connection (the preface and an empty SETTINGS frame),
/// sends no request, and reads frames until the gateway closes it,
/// answering its PINGs when `answer_pings` (as a live client does): how
/// long that took and the frames' types.
fn idle_http2_connection(keepalive: Duration, answer_pings: bool) -> (Duration, Vec<u8>) {
    let up = ok_upstream();
    let gw = Gateway::with(&openai_route(&up, ""), |b| {
        b.settings(
            crate::harness::settings()
                .with_keepalive_timeout(keepalive)
                .with_client_header_timeout(Duration::from_secs(60)),
        )
    });
    let mut stream = connect(gw.addr);
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .unwrap();
    let start = std::time::Instant::now();
    let mut types = Vec::new();
    let mut head = [0u8; 9];
    while stream.read_exact(&mut head).is_ok() {
        let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
        let mut payload = vec![0u8; len];
        if stream.read_exact(&mut payload).is_err() {
            break;
        }
        types.push(head[3]);
        if answer_pings && head[3] == 6 && head[4] & 1 == 0 {
            let mut ack = vec![0, 0, 8, 6, 1, 0, 0, 0, 0];
            ack.extend_from_slice(&payload);
            let _ = stream.write_all(&ack);
        }
    }
    (start.elapsed(), types)
}

#[test]
fn an_idle_http2_connection_is_closed_after_the_keep_alive_timeout() {
    // The graceful close waits for the PING it sends after GOAWAY to be
    // answered.
    let (after, types) = idle_http2_connection(Duration::from_millis(500), true);
    assert!(
        after >= Duration::from_millis(300) && after < Duration::from_secs(5),
        "closed after {after:?}"
    );
    assert!(types.contains(&7), "no GOAWAY before the close: {types:?}");
}

#[test]
fn an_idle_http2_client_that_never_answers_the_close_is_dropped_a_keep_alive_timeout_later() {
    let (after, types) = idle_http2_connection(Duration::from_millis(300), false);
    assert!(types.contains(&7), "no GOAWAY before the close: {types:?}");
    assert!(
        after >= Duration::from_millis(500) && after < Duration::from_secs(5),
        "closed after {after:?}"
    );
}
