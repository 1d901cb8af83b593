//! Bodies past Pingora's 64 KiB retry buffer: relayed whole, byte for
//! byte, to every attempt.

use super::*;

/// A chat of many turns of about `len` bytes: escapes, non-ASCII, tool
/// calls — what a long agent conversation looks like.
fn long_chat(len: usize) -> String {
    let mut body = String::from(r#"{"model":"gpt-4o","messages":["#);
    let mut turn = 0;
    while body.len() < len {
        if turn > 0 {
            body.push(',');
        }
        body.push_str(&match turn % 3 {
            0 => format!(
                r#"{{"role":"user","content":"turn {turn}: \"quoted\" \\ back\\slash\n\ttab — héllo 日本語 🚀 \u00e9\u4e2d"}}"#
            ),
            1 => format!(
                r#"{{"role":"assistant","content":null,"tool_calls":[{{"id":"call_{turn}","type":"function","function":{{"name":"lookup","arguments":"{{\"q\":\"naïve café {turn}\"}}"}}}}]}}"#
            ),
            _ => format!(
                r#"{{"role":"tool","tool_call_id":"call_{}","content":"résultat {turn}: Ünïcödé ✓ \"ok\""}}"#,
                turn - 1
            ),
        });
        turn += 1;
    }
    body.push_str("]}");
    body
}

fn passthrough_route(id: &str, upstream: SocketAddr) -> String {
    route(
        id,
        "/v1/chat/completions",
        &format!(
            "ai-proxy: {{provider: openai, auth: {{header: {{Authorization: \"Bearer sk-route\"}}}}, \
             override: {{endpoint: \"http://{upstream}\"}}}}"
        ),
    )
}

/// Serves `size` bytes of chat to one upstream and checks it arrived
/// unchanged and was answered and logged.
fn relays_whole(id: &str, size: usize) {
    let upstream = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o", 9, 4),
    });
    let addr = serve(&passthrough_route(id, upstream.addr));
    let chat = long_chat(size);
    let reply = post(addr, "/v1/chat/completions", &chat);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.complete);
    let seen = upstream.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].headers["content-length"], chat.len().to_string());
    assert!(seen[0].body == chat, "the upstream got another body");
    assert_eq!(seen[0].headers["authorization"], "Bearer sk-route");
    let log = access_log(id);
    assert_eq!(log["status"], 200);
    assert_eq!(log["llm_total_tokens"], "13");
}

#[test]
fn a_1_mib_chat_reaches_the_upstream_byte_for_byte() {
    relays_whole("one_mib", 1 << 20);
}

#[test]
fn a_5_mib_chat_reaches_the_upstream_byte_for_byte() {
    relays_whole("five_mib", 5 << 20);
}

fn two_instances(first: SocketAddr, second: SocketAddr) -> String {
    format!(
        "ai-proxy-multi:\n        fallback_strategy: [http_429]\n        instances:\n          \
         - {{name: first, provider: openai, priority: 1, weight: 1, auth: {{}}, override: {{endpoint: \"http://{first}\"}}}}\n          \
         - {{name: second, provider: openai, priority: 0, weight: 1, auth: {{}}, override: {{endpoint: \"http://{second}\"}}}}\n"
    )
}

fn rate_limited() -> Upstream {
    Upstream::start(|_| Script::Reply {
        status: 429,
        content_type: "application/json",
        body: r#"{"error":{"message":"slow down"}}"#.to_owned(),
    })
}

#[test]
fn a_fallback_resends_a_large_body_whole_to_the_second_instance() {
    let first = rate_limited();
    let second = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o", 2, 3),
    });
    let plugin = two_instances(first.addr, second.addr);
    let addr = serve(&route("large_fallback", "/v1/chat/completions", &plugin));
    let chat = long_chat(300 << 10);
    let reply = post(addr, "/v1/chat/completions", &chat);
    assert_eq!(reply.status, 200, "{}", reply.body);
    for upstream in [&first, &second] {
        let seen = upstream.requests();
        assert_eq!(seen.len(), 1);
        assert!(seen[0].body == chat, "an attempt got another body");
    }
    let log = access_log("large_fallback");
    assert_eq!(log["picked_ai_instance_name"], "second");
    assert_eq!(log["attempts"], 2);
    assert_eq!(log["llm_total_tokens"], "5");
}

#[test]
fn a_large_body_every_instance_refuses_gets_the_gateways_502() {
    let (first, second) = (rate_limited(), rate_limited());
    let plugin = two_instances(first.addr, second.addr);
    let addr = serve(&route("large_exhausted", "/v1/chat/completions", &plugin));
    let reply = post(addr, "/v1/chat/completions", &long_chat(100 << 10));
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert!(reply.body.contains("slow down"), "{}", reply.body);
    assert_eq!(first.requests().len() + second.requests().len(), 2);
    assert_eq!(access_log("large_exhausted")["status"], 502);
}

#[test]
fn a_large_body_over_the_routes_limit_is_refused_with_413() {
    let upstream = Upstream::start(|_| Script::Hang);
    let plugin = format!(
        "ai-proxy: {{provider: openai, auth: {{}}, max_req_body_size: 131072, \
         override: {{endpoint: \"http://{}\"}}}}",
        upstream.addr
    );
    let addr = serve(&route("large_refused", "/v1/chat/completions", &plugin));
    let reply = post(addr, "/v1/chat/completions", &long_chat(200 << 10));
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert!(upstream.requests().is_empty());
}

/// `long_chat` asking for a stream.
fn long_stream_chat(len: usize) -> String {
    let chat = long_chat(len);
    format!("{},\"stream\":true}}", chat.trim_end_matches('}'))
}

#[test]
fn a_large_stream_chat_is_relayed_event_by_event_with_usage_in_the_access_log() {
    let events = openai_events("gpt-4o", &["Hel", "lo"], 5, 2);
    let upstream = Upstream::start(move |_| Script::Stream {
        events: events.clone(),
        gap: Duration::from_millis(5),
    });
    let addr = serve(&passthrough_route("large_stream", upstream.addr));
    let reply = post(addr, "/v1/chat/completions", &long_stream_chat(200 << 10));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.complete, "the stream ended cleanly");
    assert!(reply.headers["content-type"].starts_with("text/event-stream"));
    assert!(reply.body.contains("\"Hel\"") && reply.body.contains("\"lo\""));
    assert!(reply.body.trim_end().ends_with("data: [DONE]"));
    let log = access_log("large_stream");
    assert_eq!(log["llm_stream"], "true");
    assert_eq!(log["llm_total_tokens"], "7");
}

#[test]
fn a_client_leaving_a_large_requests_stream_is_logged_499() {
    let upstream = Upstream::start(|_| Script::Endless {
        event: "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n".to_owned(),
        gap: Duration::from_millis(10),
    });
    let addr = serve(&passthrough_route("large_gone", upstream.addr));
    let chat = long_stream_chat(100 << 10);
    let mut stream = harness::open(addr, "/v1/chat/completions", &chat, &[]);
    let reply = harness::read_reply(&mut stream, 2);
    assert_eq!(reply.status, 200);
    drop(stream);
    let log = access_log("large_gone");
    assert_eq!(log["status"], 499, "{log}");
}
