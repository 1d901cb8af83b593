//! The gateway's limits that the Pingora service applies itself: the
//! in-flight request-body budget and the stream duration.

use super::*;

/// A request head announcing `len` body bytes.
fn head(len: usize) -> String {
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\n\
         content-length: {len}\r\n\r\n"
    )
}

#[test]
fn bodies_over_the_inflight_budget_get_503_while_others_hold_it() {
    let upstream = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o", 1, 1),
    });
    let settings = settings().with_max_inflight_body_bytes(1000);
    let addr = serve_with(&openai_route("budget", upstream.addr), settings);
    // Holds 800 bytes of the budget: announced, half sent.
    let mut holder = TcpStream::connect(addr).unwrap();
    holder
        .write_all(format!("{}{}", head(800), "x".repeat(400)).as_bytes())
        .unwrap();
    thread::sleep(Duration::from_millis(200));
    let mut second = TcpStream::connect(addr).unwrap();
    second.write_all(head(300).as_bytes()).unwrap();
    let reply = harness::read_reply(&mut second, usize::MAX);
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert!(
        reply.body.contains("--max-inflight-body-bytes"),
        "{}",
        reply.body
    );
    // Once the holder is gone, the budget is back.
    drop(holder);
    thread::sleep(Duration::from_millis(200));
    assert_eq!(post(addr, "/v1/chat/completions", CHAT).status, 200);
    assert_eq!(upstream.requests().len(), 1);
}

#[test]
fn max_stream_duration_sends_an_error_event_then_aborts() {
    let upstream = Upstream::start(|_| Script::Endless {
        event: "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n".to_owned(),
        gap: Duration::from_millis(20),
    });
    let plugin = format!(
        "ai-proxy: {{provider: openai, auth: {{}}, max_stream_duration_ms: 300, \
         override: {{endpoint: \"http://{}\"}}}}",
        upstream.addr
    );
    let addr = serve(&route("duration", "/v1/chat/completions", &plugin));
    let start = Instant::now();
    let reply = post(addr, "/v1/chat/completions", CHAT_STREAM);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(reply.status, 200);
    assert!(!reply.complete, "the cut stream ended cleanly");
    let last = reply.body.rsplit("\n\n").nth(1).unwrap();
    let event: serde_json::Value =
        serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(event["error"]["code"], "max_stream_duration_exceeded");
    let error = access_log("duration")["error"].as_str().unwrap().to_owned();
    assert!(error.contains("max_stream_duration_ms"), "{error}");
}
