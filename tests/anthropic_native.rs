//! OpenAI chat clients → Anthropic's native Messages API, selected by
//! `override.endpoint` ending in `/v1/messages` (issue 7's switch), through
//! the facade's default registry: request, response and stream.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use ai_proxy::config::AiProxyConfig;
use ai_proxy::{AiProxy, Exchange, Protocol};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};

fn proxy(endpoint: &str) -> AiProxy {
    let config = AiProxyConfig::from_json(&format!(
        r#"{{"provider":"anthropic","auth":{{"header":{{"x-api-key":"sk-ant-test"}}}},
            "override":{{"endpoint":"{endpoint}"}}}}"#
    ))
    .unwrap();
    AiProxy::compile(&config, &ai_proxy::registry()).unwrap()
}

fn chat(body: &'static str) -> http::Request<Bytes> {
    http::Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .header("authorization", "Bearer client-key")
        .body(Bytes::from_static(body.as_bytes()))
        .unwrap()
}

#[test]
fn openai_clients_are_converted_for_the_native_endpoint() {
    let p = proxy("https://api.anthropic.com/v1/messages")
        .prepare(
            chat(r#"{"model":"claude-sonnet-4-5","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}]}"#),
            Instant::now(),
            None,
        )
        .unwrap();
    assert_eq!(p.context.client_protocol, Protocol::OpenAiChat);
    assert_eq!(p.context.target_protocol, Protocol::AnthropicMessages);
    assert_eq!(p.upstream.uri(), "https://api.anthropic.com/v1/messages");
    let h = p.upstream.headers();
    assert_eq!(h["x-api-key"], "sk-ant-test");
    assert_eq!(h["anthropic-version"], "2023-06-01");
    assert!(h.get("authorization").is_none());
    let body: serde_json::Value = serde_json::from_slice(p.upstream.body()).unwrap();
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(
        body["messages"],
        serde_json::json!([{"role": "user", "content": "hi"}])
    );
    assert!(body["max_tokens"].as_u64().is_some());
}

#[test]
fn without_the_native_endpoint_openai_clients_use_the_compatible_api() {
    let p = proxy("https://api.anthropic.com")
        .prepare(
            chat(r#"{"messages":[{"role":"user","content":"hi"}]}"#),
            Instant::now(),
            None,
        )
        .unwrap();
    assert_eq!(p.context.target_protocol, Protocol::OpenAiChat);
    assert_eq!(
        p.upstream.uri(),
        "https://api.anthropic.com/v1/chat/completions"
    );
}

#[test]
fn native_responses_come_back_as_openai_chat_with_usage() {
    let p = proxy("https://api.anthropic.com/v1/messages")
        .prepare(
            chat(r#"{"messages":[{"role":"user","content":"hi"}]}"#),
            Instant::now(),
            None,
        )
        .unwrap();
    let start = p.context.started;
    let mut exchange = Exchange::new(p.context, p.translator);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let head = exchange.on_head(StatusCode::OK, &headers, start).unwrap();
    assert!(head.rewritten);
    let message = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hello!"}],"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":3}}"#;
    let mut out = exchange
        .on_body(Bytes::from_static(message), start)
        .unwrap()
        .to_vec();
    out.extend_from_slice(&exchange.on_eof(start + Duration::from_millis(30)).unwrap());
    let body: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["content"], "Hello!");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    let m = exchange.finish(start + Duration::from_millis(30));
    assert_eq!(m.var("llm_prompt_tokens").as_deref(), Some("12"));
    assert_eq!(m.var("llm_completion_tokens").as_deref(), Some("3"));
    assert_eq!(
        m.var("llm_model").as_deref(),
        Some("claude-sonnet-4-5-20250929")
    );
}
