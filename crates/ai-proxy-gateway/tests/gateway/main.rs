//! The gateway end to end, real sockets on 127.0.0.1 only: a client, the
//! gateway served in-process, and scripted fake upstreams.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod access_json;
mod bedrock;
mod consumers;
mod gemini;
mod h2_client;
mod harness;
mod health;
mod limits;
mod metrics;
mod moderation;
mod otel;
mod plugins;
mod prompt;
mod rate_limit;
mod redis;
mod redis_topologies;
mod server;
mod truncation;
mod vertex;

use std::time::{Duration, Instant};

use harness::{
    Gateway, Reply, Script, Upstream, open, openai_events, openai_json, post, post_with, read_reply,
};

const CHAT: &str = r#"{"messages":[{"role":"user","content":"hi"}]}"#;
const CHAT_STREAM: &str = r#"{"messages":[{"role":"user","content":"hi"}],"stream":true}"#;

fn route(uri: &str, plugin: &str) -> String {
    format!("version: \"1\"\nroutes:\n  - id: r\n    uri: {uri}\n    plugins:\n      {plugin}\n")
}

fn openai_route(up: &Upstream, extra: &str) -> String {
    route(
        "/v1/chat/completions",
        &format!(
            "ai-proxy: {{provider: openai, auth: {{header: {{Authorization: \"Bearer sk-route\"}}}}, override: {{endpoint: \"http://{}\"}}{extra}}}",
            up.addr
        ),
    )
}

#[test]
fn client_credentials_never_reach_the_upstream() {
    let up = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o", 3, 4),
    });
    let gw = Gateway::start(&openai_route(&up, ""));
    let reply = post_with(
        gw.addr,
        "/v1/chat/completions",
        CHAT,
        &[
            ("authorization", "Bearer client-key"),
            ("cookie", "s=1"),
            ("x-request-id", "abc"),
        ],
    );
    assert_eq!(reply.status, 200);
    let seen = &up.requests()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/v1/chat/completions");
    // Nothing to change: the client's bytes go upstream untouched.
    assert_eq!(seen.body, CHAT);
    assert_eq!(seen.headers["authorization"], "Bearer sk-route");
    assert!(!seen.headers.contains_key("cookie"));
    assert_eq!(seen.headers["x-request-id"], "abc");
    let log = gw.access_log();
    assert!(!log.to_string().contains("sk-route"));
}

#[test]
fn streaming_chunks_reach_the_client_as_they_arrive() {
    let events = openai_events("gpt-4o", &["a", "b", "c", "d"], 5, 4);
    let up = Upstream::start(move |_| Script::Stream {
        events: events.clone(),
        gap: Duration::from_millis(150),
    });
    let gw = Gateway::start(&openai_route(&up, ""));
    let start = Instant::now();
    let reply = post(gw.addr, "/v1/chat/completions", CHAT_STREAM);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "text/event-stream");
    // Six events 150 ms apart: were they relayed one by one, the first
    // arrives long before the last (no buffering of the stream).
    assert!(
        reply.chunk_times.len() >= 5,
        "{} chunks",
        reply.chunk_times.len()
    );
    let first = reply.chunk_times[0].duration_since(start);
    let last = reply.chunk_times.last().unwrap().duration_since(start);
    assert!(
        last - first >= Duration::from_millis(600),
        "first {first:?}, last {last:?}"
    );
    let log = gw.access_log();
    assert_eq!(log["llm_total_tokens"], "9");
    let ttft: u64 = log["llm_time_to_first_token"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((100..600).contains(&ttft), "ttft {ttft}");
}

#[test]
fn client_disconnect_cancels_the_upstream_stream() {
    let up = Upstream::start(|_| Script::Endless {
        event: "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n".to_owned(),
        gap: Duration::from_millis(20),
    });
    let gw = Gateway::start(&openai_route(&up, ""));
    let mut stream = open(gw.addr, "/v1/chat/completions", CHAT_STREAM, &[]);
    let reply = read_reply(&mut stream, 3);
    assert_eq!(reply.status, 200);
    let dropped = Instant::now();
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(5);
    while up.peer_gone.lock().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "upstream still streaming after the client left"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let gone = up.peer_gone.lock().unwrap().unwrap();
    assert!(gone.duration_since(dropped) < Duration::from_secs(2));
    let log = gw.access_log();
    assert_eq!(log["client_disconnected"], true);
}

#[test]
fn upstream_timeout_is_504() {
    let up = Upstream::start(|_| Script::Hang);
    let gw = Gateway::start(&openai_route(&up, ", timeout: 300"));
    let start = Instant::now();
    let reply = post(gw.addr, "/v1/chat/completions", CHAT);
    assert_eq!(reply.status, 504, "{}", reply.body);
    assert!(start.elapsed() < Duration::from_secs(3));
    assert!(reply.body.contains("timeout"), "{}", reply.body);
    let log = gw.access_log();
    assert_eq!(log["status"], 504);
    assert!(log["hint"].as_str().unwrap().contains("increase `timeout`"));
}

#[test]
fn unreachable_upstream_is_502_naming_the_cause() {
    // A port nobody listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = route(
        "/v1/chat/completions",
        &format!(
            "ai-proxy: {{provider: openai, auth: {{}}, override: {{endpoint: \"http://{free}\"}}}}"
        ),
    );
    let gw = Gateway::start(&config);
    let reply = post(gw.addr, "/v1/chat/completions", CHAT);
    assert_eq!(reply.status, 502);
    assert!(
        reply.body.contains("cannot reach upstream"),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("override.endpoint"), "{}", reply.body);
}

#[test]
fn upstream_errors_pass_through_with_their_status_and_body() {
    for (status, body) in [
        (429u16, r#"{"error":{"message":"rate limited"}}"#),
        (500, r#"{"error":{"message":"upstream boom"}}"#),
        (401, r#"{"error":{"message":"Incorrect API key"}}"#),
    ] {
        let up = Upstream::start(move |_| Script::Reply {
            status,
            content_type: "application/json",
            body: body.to_owned(),
        });
        let gw = Gateway::start(&openai_route(&up, ""));
        let reply = post(gw.addr, "/v1/chat/completions", CHAT);
        assert_eq!(reply.status, status);
        assert_eq!(reply.body, body);
        assert_eq!(reply.headers["content-type"], "application/json");
        let log = gw.access_log();
        assert_eq!(log["status"], status);
        if status == 401 {
            assert!(log["hint"].as_str().unwrap().contains("auth.header"));
        }
    }
}

#[test]
fn max_response_bytes_is_502() {
    let up = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o", 1, 1),
    });
    let gw = Gateway::start(&openai_route(&up, ", max_response_bytes: 16"));
    let reply = post(gw.addr, "/v1/chat/completions", CHAT);
    assert_eq!(reply.status, 502);
    assert_eq!(reply.body, "max_response_bytes exceeded");
}

#[test]
fn routes_by_post_arg_model() {
    let a = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4", 1, 1),
    });
    let b = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("deepseek-chat", 2, 2),
    });
    let config = format!(
        "version: \"1\"\nroutes:\n  - id: gpt4\n    uri: /v1/chat/completions\n    vars: [[\"post_arg.model\", \"==\", \"gpt-4\"]]\n    plugins:\n      ai-proxy: {{provider: openai, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n  - id: deepseek\n    uri: /v1/chat/completions\n    vars: [[\"post_arg.model\", \"==\", \"deepseek-chat\"]]\n    plugins:\n      ai-proxy: {{provider: deepseek, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n",
        a.addr, b.addr
    );
    let gw = Gateway::start(&config);
    let r = post(
        gw.addr,
        "/v1/chat/completions",
        r#"{"model":"deepseek-chat","messages":[]}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(gw.access_log()["route_id"], "deepseek");
    assert_eq!(b.requests()[0].path, "/chat/completions");
    let r = post(
        gw.addr,
        "/v1/chat/completions",
        r#"{"model":"gpt-4","messages":[]}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(gw.access_log()["route_id"], "gpt4");
    let r = post(
        gw.addr,
        "/v1/chat/completions",
        r#"{"model":"other","messages":[]}"#,
    );
    assert_eq!(r.status, 404);
    assert!(r.body.contains("no route matches"));
}

#[test]
fn access_log_variables_match_the_exchange() {
    let up = Upstream::start(|_| {
        Script::Reply {
        status: 200,
        content_type: "application/json",
        body: serde_json::json!({
            "model": "gpt-4o-2024-08-06",
            "choices": [{"message": {"content": "hello", "tool_calls": [{"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18,
                      "prompt_tokens_details": {"cached_tokens": 4},
                      "completion_tokens_details": {"reasoning_tokens": 2}}
        })
        .to_string(),
    }
    });
    let gw = Gateway::start(&openai_route(
        &up,
        ", options: {model: gpt-4o}, logging: {summaries: true, payloads: true}",
    ));
    let body = r#"{"model":"gpt-4","user":"u-42","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"hi"}]}"#;
    let reply = post(gw.addr, "/v1/chat/completions", body);
    assert_eq!(reply.status, 200);
    let log = gw.access_log();
    let expect = [
        ("request_type", "ai_chat"),
        ("request_llm_model", "gpt-4"),
        ("llm_model", "gpt-4o-2024-08-06"),
        ("llm_prompt_tokens", "11"),
        ("llm_completion_tokens", "7"),
        ("llm_total_tokens", "18"),
        ("llm_cache_read_input_tokens", "4"),
        ("llm_reasoning_tokens", "2"),
        ("llm_stream", "false"),
        ("llm_has_tool_calls", "true"),
        ("llm_tool_count", "1"),
        ("llm_end_user_id", "u-42"),
    ];
    for (name, value) in expect {
        assert_eq!(log[name], value, "{name} in {log}");
    }
    for (name, _) in ai_proxy::core::metrics::APISIX_VARS {
        assert!(log.get(name).is_some(), "{name} missing from {log}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(log["llm_summary"].as_str().unwrap()).unwrap();
    assert_eq!(summary["prompt_tokens"], 11);
    let request: serde_json::Value =
        serde_json::from_str(log["llm_request"].as_str().unwrap()).unwrap();
    assert_eq!(request["messages"][0]["content"], "hi");
    let response: serde_json::Value =
        serde_json::from_str(log["llm_response_text"].as_str().unwrap()).unwrap();
    assert_eq!(response["content"], "hello");
}

#[test]
fn multi_falls_back_from_429_to_the_backup() {
    let primary = Upstream::start(|_| Script::Reply {
        status: 429,
        content_type: "application/json",
        body: r#"{"error":{"message":"slow down"}}"#.to_owned(),
    });
    let backup = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("deepseek-chat", 2, 3),
    });
    let config = route(
        "/v1/chat/completions",
        &format!(
            "ai-proxy-multi:\n        fallback_strategy: [http_429]\n        instances:\n          - {{name: primary, provider: openai, priority: 1, weight: 1, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n          - {{name: backup, provider: deepseek, priority: 0, weight: 1, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n",
            primary.addr, backup.addr
        ),
    );
    let gw = Gateway::start(&config);
    let reply: Reply = post(gw.addr, "/v1/chat/completions", CHAT);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(primary.requests().len(), 1);
    assert_eq!(backup.requests().len(), 1);
    let log = gw.access_log();
    assert_eq!(log["picked_ai_instance_name"], "backup");
    assert_eq!(log["attempts"], 2);
    assert_eq!(log["llm_total_tokens"], "5");
}

#[test]
fn client_errors_never_name_the_upstream_address() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let hang = Upstream::start(|_| Script::Hang);
    for (endpoint, extra, status) in [
        (free.to_string(), "", 502),
        (hang.addr.to_string(), ", timeout: 300", 504),
    ] {
        let config = route(
            "/v1/chat/completions",
            &format!(
                "ai-proxy: {{provider: openai, auth: {{}}, override: {{endpoint: \"http://{endpoint}\"}}{extra}}}"
            ),
        );
        let gw = Gateway::start(&config);
        let reply = post(gw.addr, "/v1/chat/completions", CHAT);
        assert_eq!(reply.status, status, "{}", reply.body);
        let port = endpoint.rsplit(':').next().unwrap();
        assert!(!reply.body.contains(port), "{}", reply.body);
        assert!(!reply.body.contains("127.0.0.1"), "{}", reply.body);
        // The access log keeps where the request went.
        assert_eq!(gw.access_log()["upstream_addr"], endpoint);
    }
}

#[test]
fn payload_logs_keep_a_capped_prefix_marked_truncated_and_the_token_counts() {
    let tokens: Vec<String> = (0..200).map(|i| format!("word{i:04} ")).collect();
    let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let events = openai_events("gpt-4o", &refs, 3000, 200);
    let up = Upstream::start(move |_| Script::Stream {
        events: events.clone(),
        gap: Duration::from_millis(0),
    });
    let gw = Gateway::with(
        &openai_route(&up, ", logging: {summaries: true, payloads: true}"),
        |b| b.settings(harness::settings().with_max_logged_payload_bytes(1000)),
    );
    let long = "é".repeat(3000);
    let body = format!(r#"{{"messages":[{{"role":"user","content":"{long}"}}],"stream":true}}"#);
    let reply = post(gw.addr, "/v1/chat/completions", &body);
    assert_eq!(reply.status, 200);
    let log = gw.access_log();
    assert_eq!(log["llm_prompt_tokens"], "3000");
    assert_eq!(log["llm_completion_tokens"], "200");
    let response: serde_json::Value =
        serde_json::from_str(log["llm_response_text"].as_str().unwrap()).unwrap();
    assert_eq!(response["truncated"], true);
    let text = response["content"].as_str().unwrap();
    assert!(
        text.len() <= 1000 && text.starts_with("word0000 word0001"),
        "{text}"
    );
    let request: serde_json::Value =
        serde_json::from_str(log["llm_request"].as_str().unwrap()).unwrap();
    assert_eq!(request["truncated"], true);
    let messages = request["messages"].as_str().unwrap();
    assert!(messages.len() <= 1000 && messages.starts_with(r#"[{"role":"user""#));
}

/// A chat body a little over the 64 MiB observation cap, usage (if any)
/// at its end as OpenAI writes it.
fn oversized_chat_body(usage: bool) -> String {
    let text = "x".repeat(64 * 1024 * 1024 + 1024);
    let usage = if usage {
        r#","usage":{"prompt_tokens":7,"completion_tokens":8,"total_tokens":15}"#
    } else {
        ""
    };
    format!(
        r#"{{"id":"c","object":"chat.completion","model":"gpt-4o","choices":[{{"index":0,"message":{{"role":"assistant","content":"{text}"}},"finish_reason":"stop"}}]{usage}}}"#
    )
}

#[test]
fn a_body_over_the_observation_cap_is_logged_with_its_usage_or_a_warning() {
    for usage in [true, false] {
        let body = oversized_chat_body(usage);
        let up = Upstream::start(move |_| Script::Reply {
            status: 200,
            content_type: "application/json",
            body: body.clone(),
        });
        let gw = Gateway::start(&openai_route(&up, ""));
        let reply = post(gw.addr, "/v1/chat/completions", CHAT);
        assert_eq!(reply.status, 200);
        let log = gw.access_log();
        if usage {
            assert_eq!(log["llm_total_tokens"], "15", "{log}");
            assert_eq!(log["usage_warning"], "", "{log}");
        } else {
            assert_eq!(log["llm_total_tokens"], "0", "{log}");
            assert!(
                log["usage_warning"]
                    .as_str()
                    .unwrap()
                    .contains("token counts are unknown"),
                "{log}"
            );
        }
    }
}
