//! Truncation is visible: a response cut short (upstream failure, silence,
//! a limit) aborts the client's connection instead of ending it cleanly;
//! clients that leave are logged 499 with what they got.

use std::time::{Duration, Instant};

use http_body_util::BodyExt;

use crate::h2_client::{client_runtime, http2_post};
use crate::harness::{self, Gateway, Script, Upstream, open, openai_events, post, read_reply};
use crate::{CHAT_STREAM, openai_route};

fn token_events(n: usize) -> Vec<String> {
    let tokens: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
    let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    openai_events("gpt-4o", &refs, 5, n as u64)
}

#[test]
fn an_upstream_closing_mid_stream_makes_the_client_read_fail() {
    let up = Upstream::start(|_| Script::Cut {
        events: token_events(3).into_iter().take(2).collect(),
        gap: Duration::from_millis(20),
    });
    let gw = Gateway::start(&openai_route(&up, ""));
    let reply = post(gw.addr, "/v1/chat/completions", CHAT_STREAM);
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("t1"), "{}", reply.body);
    assert!(
        !reply.complete,
        "the cut stream ended cleanly for the client"
    );
    let log = gw.access_log();
    let error = log["error"].as_str().unwrap();
    assert!(error.contains("response cut short"), "{error}");
    assert!(error.contains("upstream body failed"), "{error}");
}

#[test]
fn max_response_bytes_mid_stream_aborts_the_client() {
    let up = Upstream::start(|_| Script::Stream {
        events: token_events(50),
        gap: Duration::from_millis(1),
    });
    let gw = Gateway::start(&openai_route(&up, ", max_response_bytes: 2000"));
    let reply = post(gw.addr, "/v1/chat/completions", CHAT_STREAM);
    assert_eq!(reply.status, 200);
    assert!(!reply.complete);
    assert!(reply.raw.len() <= 2000, "{} bytes", reply.raw.len());
    let error = gw.access_log()["error"].as_str().unwrap().to_owned();
    assert!(error.contains("max_response_bytes"), "{error}");
}

#[test]
fn max_stream_duration_sends_an_error_event_then_aborts() {
    let up = Upstream::start(|_| Script::Endless {
        event: "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n".to_owned(),
        gap: Duration::from_millis(20),
    });
    let gw = Gateway::start(&openai_route(&up, ", max_stream_duration_ms: 300"));
    let start = Instant::now();
    let reply = post(gw.addr, "/v1/chat/completions", CHAT_STREAM);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(reply.status, 200);
    assert!(!reply.complete);
    let last = reply.body.rsplit("\n\n").nth(1).unwrap();
    let event: serde_json::Value =
        serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(event["error"]["code"], "max_stream_duration_exceeded");
    assert!(
        gw.access_log()["error"]
            .as_str()
            .unwrap()
            .contains("max_stream_duration_ms")
    );
}

#[test]
fn an_upstream_silent_past_its_timeout_mid_stream_aborts_the_client() {
    let up = Upstream::start(|_| Script::StreamThenHang {
        events: token_events(3).into_iter().take(2).collect(),
        gap: Duration::from_millis(10),
    });
    let gw = Gateway::start(&openai_route(&up, ", timeout: 400"));
    let start = Instant::now();
    let reply = post(gw.addr, "/v1/chat/completions", CHAT_STREAM);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(reply.body.contains("t1"));
    assert!(!reply.complete);
    assert!(
        gw.access_log()["error"]
            .as_str()
            .unwrap()
            .contains("upstream read timed out")
    );
}

#[test]
fn a_client_leaving_before_the_head_is_logged_499() {
    let up = Upstream::start(|_| Script::Hang);
    let gw = Gateway::start(&openai_route(&up, ""));
    let stream = open(gw.addr, "/v1/chat/completions", CHAT_STREAM, &[]);
    std::thread::sleep(Duration::from_millis(300));
    drop(stream);
    let log = gw.access_log();
    assert_eq!(log["status"], 499);
    assert_eq!(log["client_disconnected"], true);
    assert_eq!(log["bytes_sent"], 0);
    assert!(
        log["error"]
            .as_str()
            .unwrap()
            .contains("before the response head"),
        "{log}"
    );
}

#[test]
fn a_client_leaving_mid_stream_is_logged_499_with_what_it_got() {
    let up = Upstream::start(|_| Script::Endless {
        event: "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n".to_owned(),
        gap: Duration::from_millis(20),
    });
    let gw = Gateway::start(&openai_route(&up, ""));
    let mut stream = open(gw.addr, "/v1/chat/completions", CHAT_STREAM, &[]);
    let reply = read_reply(&mut stream, 3);
    assert_eq!(reply.status, 200);
    drop(stream);
    let log = gw.access_log();
    assert_eq!(log["status"], 499);
    assert_eq!(log["upstream_status"], "200");
    assert!(log["bytes_sent"].as_u64().unwrap() > 0, "{log}");
}

/// A gateway with a 500 ms send timeout whose upstream streams `kib` KiB
/// events without end.
fn endless_stream_gateway(kib: usize) -> (Upstream, Gateway) {
    let event = format!(
        "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{}\"}}}}]}}\n\n",
        "x".repeat(kib * 1024)
    );
    let up = Upstream::start(move |_| Script::Endless {
        event: event.clone(),
        gap: Duration::from_millis(1),
    });
    let gw = Gateway::with(&openai_route(&up, ""), |b| {
        b.settings(harness::settings().with_client_send_timeout(Duration::from_millis(500)))
    });
    (up, gw)
}

/// The one request is logged as the client's leaving (499, with bytes
/// sent) once the gateway let go of a client that stopped reading.
fn logged_after_the_send_timeout(gw: &Gateway) {
    let log = gw
        .access_log_within(Duration::from_secs(30))
        .expect("a client that stopped reading was kept past the send timeout");
    assert_eq!(log["status"], 499, "{log}");
    assert!(log["bytes_sent"].as_u64().unwrap() > 0, "{log}");
}

#[test]
fn a_client_that_stops_reading_is_closed_after_the_send_timeout() {
    // 64 KiB events fill the socket buffers of a client that never reads
    // within a second; then the gateway's writes stall.
    let (_up, gw) = endless_stream_gateway(64);
    let _stream = open(gw.addr, "/v1/chat/completions", CHAT_STREAM, &[]);
    logged_after_the_send_timeout(&gw);
}

#[test]
fn an_http2_client_that_stops_reading_is_closed_after_the_send_timeout() {
    let (_up, gw) = endless_stream_gateway(16);
    let runtime = client_runtime();
    // The response's head is taken, its body never read: the client's
    // flow-control window stays shut once it is full.
    let _response = runtime.block_on(http2_post(
        gw.addr,
        "/v1/chat/completions",
        CHAT_STREAM,
        Some(64 * 1024),
    ));
    logged_after_the_send_timeout(&gw);
}

#[test]
fn an_http2_client_sees_its_stream_reset_when_the_upstream_cuts() {
    let up = Upstream::start(|_| Script::Cut {
        events: token_events(3).into_iter().take(2).collect(),
        gap: Duration::from_millis(20),
    });
    let gw = Gateway::start(&openai_route(&up, ""));
    let outcome = client_runtime().block_on(async {
        let response = http2_post(gw.addr, "/v1/chat/completions", CHAT_STREAM, None).await;
        assert_eq!(response.status(), 200);
        response.into_body().collect().await.map(|b| b.to_bytes())
    });
    let error = outcome.expect_err("the cut stream ended cleanly for the HTTP/2 client");
    assert!(format!("{error:?}").contains("INTERNAL_ERROR"), "{error:?}");
}
