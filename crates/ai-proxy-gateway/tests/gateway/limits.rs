//! Hostile clients meet limits: slow heads and idle connections are
//! closed, paused bodies time out, bodies over a route's limit or the
//! in-flight budget are refused before they are read, connections are
//! capped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ai_proxy_gateway::Settings;

use crate::harness::{self, Gateway, connect, ok_upstream, post, read_reply};
use crate::{CHAT, openai_route, route};

fn gateway(config: &str, settings: Settings) -> Gateway {
    Gateway::with(config, |b| b.settings(settings))
}

/// Reads until the peer closes; how long that took, and what came.
fn until_closed(stream: &mut TcpStream) -> (Duration, String) {
    let start = Instant::now();
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    (start.elapsed(), String::from_utf8_lossy(&got).into_owned())
}

/// A request head announcing `length` body bytes (sent or not).
fn head(path: &str, length: u64) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n"
    )
}

#[test]
fn slow_request_heads_are_closed_after_the_header_timeout() {
    let up = ok_upstream();
    let gw = gateway(
        &openai_route(&up, ""),
        harness::settings().with_client_header_timeout(Duration::from_millis(600)),
    );
    let mut stream = connect(gw.addr);
    stream
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\n")
        .unwrap();
    let (after, _) = until_closed(&mut stream);
    assert!(
        after >= Duration::from_millis(400) && after < Duration::from_secs(5),
        "closed after {after:?}"
    );
    assert!(up.requests().is_empty());
}

#[test]
fn a_new_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let up = ok_upstream();
    let gw = gateway(
        &openai_route(&up, ""),
        harness::settings()
            .with_client_header_timeout(Duration::from_millis(600))
            .with_keepalive_timeout(Duration::from_secs(60)),
    );
    let mut stream = connect(gw.addr);
    let (after, _) = until_closed(&mut stream);
    assert!(
        after >= Duration::from_millis(400) && after < Duration::from_secs(5),
        "closed after {after:?}"
    );
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let up = ok_upstream();
    let gw = gateway(
        &openai_route(&up, ""),
        harness::settings().with_keepalive_timeout(Duration::from_millis(600)),
    );
    let mut stream = connect(gw.addr);
    // Keep-alive (no `connection: close`): the connection stays open.
    stream
        .write_all(format!("{}{CHAT}", head("/v1/chat/completions", CHAT.len() as u64)).as_bytes())
        .unwrap();
    let reply = read_reply(&mut stream, usize::MAX);
    assert_eq!(reply.status, 200);
    let (after, rest) = until_closed(&mut stream);
    assert!(rest.is_empty(), "{rest}");
    assert!(
        after >= Duration::from_millis(300) && after < Duration::from_secs(5),
        "closed after {after:?}"
    );
}

#[test]
fn a_kept_alive_connection_serves_the_next_request_after_a_read_body() {
    let up = ok_upstream();
    let gw = gateway(&openai_route(&up, ""), harness::settings());
    let mut stream = connect(gw.addr);
    let request = format!("{}{CHAT}", head("/v1/chat/completions", CHAT.len() as u64));
    for _ in 0..3 {
        stream.write_all(request.as_bytes()).unwrap();
        let reply = read_reply(&mut stream, usize::MAX);
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    // Pipelined: the second head arrives with the first body.
    stream.write_all(request.repeat(2).as_bytes()).unwrap();
    for _ in 0..2 {
        let reply = read_reply(&mut stream, usize::MAX);
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    assert_eq!(up.requests().len(), 5);
}

#[test]
fn a_body_paused_past_the_body_timeout_gets_408() {
    let up = ok_upstream();
    let gw = gateway(
        &openai_route(&up, ""),
        harness::settings().with_client_body_timeout(Duration::from_millis(500)),
    );
    let mut stream = connect(gw.addr);
    stream
        .write_all(format!("{}{{\"messages\":", head("/v1/chat/completions", 100)).as_bytes())
        .unwrap();
    let start = Instant::now();
    let reply = read_reply(&mut stream, usize::MAX);
    assert_eq!(reply.status, 408, "{}", reply.body);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(reply.body.contains("client body timeout"), "{}", reply.body);
    assert_eq!(gw.access_log()["status"], 408);
    assert!(up.requests().is_empty());
}

#[test]
fn a_content_length_over_the_routes_limit_is_413_before_the_body_is_sent() {
    let up = ok_upstream();
    let gw = Gateway::start(&openai_route(&up, ", max_req_body_size: 1000"));
    let mut stream = connect(gw.addr);
    // 300 MB announced, not a byte sent: the answer cannot wait for it.
    stream
        .write_all(head("/v1/chat/completions", 300_000_000).as_bytes())
        .unwrap();
    let reply = read_reply(&mut stream, usize::MAX);
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert!(
        reply
            .body
            .contains("request body is larger than the maximum size 1000 allowed"),
        "{}",
        reply.body
    );
    assert!(up.requests().is_empty());
}

#[test]
fn an_unmatched_path_is_404_without_reading_the_body() {
    let up = ok_upstream();
    let gw = Gateway::start(&openai_route(&up, ""));
    let mut stream = connect(gw.addr);
    stream
        .write_all(head("/nowhere", 300_000_000).as_bytes())
        .unwrap();
    let reply = read_reply(&mut stream, usize::MAX);
    assert_eq!(reply.status, 404, "{}", reply.body);
    assert!(reply.body.contains("no route matches POST /nowhere"));
}

#[test]
fn each_route_has_its_own_body_limit() {
    let up = ok_upstream();
    let config = format!(
        "version: \"1\"\nroutes:\n  - id: small\n    uri: /small\n    plugins:\n      ai-proxy: {{provider: openai, auth: {{}}, max_req_body_size: 100, override: {{endpoint: \"http://{0}\"}}}}\n  - id: big\n    uri: /big\n    plugins:\n      ai-proxy: {{provider: openai, auth: {{}}, max_req_body_size: 10000, override: {{endpoint: \"http://{0}\"}}}}\n",
        up.addr
    );
    let gw = Gateway::start(&config);
    let body = format!(
        r#"{{"messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(500)
    );
    assert_eq!(post(gw.addr, "/small", &body).status, 413);
    assert_eq!(post(gw.addr, "/big", &body).status, 200);
}

#[test]
fn a_chunked_body_over_the_limit_is_413() {
    let up = ok_upstream();
    let gw = Gateway::start(&openai_route(&up, ", max_req_body_size: 1000"));
    let mut stream = connect(gw.addr);
    let chunk = "x".repeat(600);
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ntransfer-encoding: chunked\r\n\r\n{0:x}\r\n{chunk}\r\n{0:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let reply = read_reply(&mut stream, usize::MAX);
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert!(up.requests().is_empty());
}

#[test]
fn bodies_over_the_inflight_budget_get_503_while_others_hold_it() {
    let up = ok_upstream();
    let gw = gateway(
        &openai_route(&up, ""),
        harness::settings()
            .with_max_inflight_body_bytes(1000)
            .with_client_body_timeout(Duration::from_secs(5)),
    );
    // Holds 800 bytes of the budget: announced, half sent.
    let mut holder = connect(gw.addr);
    holder
        .write_all(format!("{}{}", head("/v1/chat/completions", 800), "x".repeat(400)).as_bytes())
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut second = connect(gw.addr);
    second
        .write_all(head("/v1/chat/completions", 300).as_bytes())
        .unwrap();
    let reply = read_reply(&mut second, usize::MAX);
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert!(
        reply.body.contains("--max-inflight-body-bytes"),
        "{}",
        reply.body
    );
    // Once the holder is gone, the budget is back.
    drop(holder);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(post(gw.addr, "/v1/chat/completions", CHAT).status, 200);
}

#[test]
fn at_the_connection_cap_new_connections_wait_for_a_slot() {
    let up = ok_upstream();
    let gw = gateway(
        &route(
            "/v1/chat/completions",
            &format!(
                "ai-proxy: {{provider: openai, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}",
                up.addr
            ),
        ),
        harness::settings().with_max_connections(2),
    );
    let idle: Vec<TcpStream> = (0..2).map(|_| connect(gw.addr)).collect();
    std::thread::sleep(Duration::from_millis(200));
    // The third connection is accepted by the kernel, not served yet.
    let mut third = connect(gw.addr);
    third
        .write_all(format!("{}{CHAT}", head("/v1/chat/completions", CHAT.len() as u64)).as_bytes())
        .unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut byte = [0u8; 1];
    let waited = third.read(&mut byte);
    assert!(
        matches!(&waited, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut),
        "served past the cap: {waited:?}"
    );
    drop(idle);
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let reply = read_reply(&mut third, usize::MAX);
    assert_eq!(reply.status, 200);
}
