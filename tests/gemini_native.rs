//! Gemini's native API through the facade's default registry (issue 16's
//! switch): `provider: gemini` with `override.endpoint` ending in `/models`
//! and `provider: vertex-ai` ending in `/publishers/google/models`. OpenAI
//! chat clients are converted (URL, auth, body, response, stream); native
//! Gemini clients are forwarded without `options` merging and metered.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use ai_proxy::config::AiProxyConfig;
use ai_proxy::{AiProxy, CompileError, Exchange, Prepared, Protocol, RequestType, Secret};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

const GEMINI_MODELS: &str = "https://generativelanguage.googleapis.com/v1beta/models";
const VERTEX_MODELS: &str = "https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1/publishers/google/models";

fn compile(provider: &str, endpoint: &str, extra: &str) -> Result<AiProxy, CompileError> {
    let config = AiProxyConfig::from_json(&format!(
        r#"{{"provider":"{provider}","auth":{{"header":{{"x-goog-api-key":"AIza-test"}}}},
            "override":{{"endpoint":"{endpoint}"}}{extra}}}"#
    ))
    .unwrap();
    AiProxy::compile(&config, &ai_proxy::registry())
}

fn gemini(extra: &str) -> AiProxy {
    compile("gemini", GEMINI_MODELS, extra).unwrap()
}

fn post(uri: &str, body: &str) -> http::Request<Bytes> {
    http::Request::post(uri)
        .header("content-type", "application/json")
        .header("authorization", "Bearer client-key")
        .header("x-goog-api-key", "client-google-key")
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

fn prepare(proxy: &AiProxy, uri: &str, body: &str) -> Prepared {
    proxy
        .prepare(post(uri, body), Instant::now(), None)
        .unwrap()
}

fn body(p: &Prepared) -> Value {
    serde_json::from_slice(p.upstream.body()).unwrap()
}

const CHAT: &str = r#"{"model":"gemini-2.5-flash","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],"temperature":0.9,
    "tools":[{"type":"function","function":{"name":"a","parameters":{"type":"object","properties":{"x":{"type":"string"}}}}},{"type":"function","function":{"name":"b"}}]}"#;

#[test]
fn openai_clients_are_converted_for_the_models_endpoint() {
    let p = prepare(&gemini(""), "/v1/chat/completions", CHAT);
    assert_eq!(p.context.client_protocol, Protocol::OpenAiChat);
    assert_eq!(p.context.target_protocol, Protocol::Gemini);
    assert_eq!(
        p.upstream.uri(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    );
    let h = p.upstream.headers();
    assert_eq!(
        h["x-goog-api-key"], "AIza-test",
        "the route's key, not the client's"
    );
    assert!(h.get("authorization").is_none());
    let b = body(&p);
    assert_eq!(
        b["systemInstruction"],
        json!({"parts": [{"text": "Be brief."}]})
    );
    assert_eq!(
        b["contents"],
        json!([{"role": "user", "parts": [{"text": "hi"}]}])
    );
    assert_eq!(b["generationConfig"], json!({"temperature": 0.9}));
    assert!(b.get("model").is_none(), "the model is in the URL");
    assert_eq!(p.context.tool_count, 2, "function declarations are counted");
    assert!(p.translator.is_some());
}

#[test]
fn streaming_clients_get_stream_generate_content_with_sse_framing() {
    // A key in `auth.query`, and an endpoint with a trailing slash.
    let config = AiProxyConfig::from_json(&format!(
        r#"{{"provider":"gemini","auth":{{"query":{{"key":"AIza-q"}}}},"override":{{"endpoint":"{GEMINI_MODELS}/"}}}}"#
    ))
    .unwrap();
    let proxy = AiProxy::compile(&config, &ai_proxy::registry()).unwrap();
    let p = prepare(
        &proxy,
        "/v1/chat/completions",
        r#"{"model":"gemini-2.5-pro","stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(p.context.request_type, RequestType::AiStream);
    assert_eq!(
        p.upstream.uri(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?key=AIza-q&alt=sse"
    );
    assert_eq!(
        p.redacted_uri(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?key=<redacted>&alt=sse"
    );
}

#[test]
fn a_request_without_a_model_cannot_resolve_its_path() {
    let e = gemini("")
        .prepare(
            post(
                "/v1/chat/completions",
                r#"{"messages":[{"role":"user","content":"hi"}]}"#,
            ),
            Instant::now(),
            None,
        )
        .unwrap_err();
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    assert!(
        e.to_string().starts_with("could not resolve upstream path"),
        "{e}"
    );
}

#[test]
fn options_pick_the_model_and_override_generation_config() {
    // One `override` object (a key given twice is refused): the endpoint
    // and the forced option together.
    let config = AiProxyConfig::from_json(&format!(
        r#"{{"provider":"gemini","auth":{{"header":{{"x-goog-api-key":"AIza-test"}}}},
            "options":{{"model":"gemini-2.5-flash-lite","temperature":0.1,"max_tokens":50}},
            "override":{{"endpoint":"{GEMINI_MODELS}","llm_options":{{"max_tokens":77}}}}}}"#
    ))
    .unwrap();
    let proxy = AiProxy::compile(&config, &ai_proxy::registry()).unwrap();
    let p = prepare(&proxy, "/v1/chat/completions", CHAT);
    assert_eq!(
        p.upstream.uri().path(),
        "/v1beta/models/gemini-2.5-flash-lite:generateContent"
    );
    assert_eq!(
        body(&p)["generationConfig"],
        json!({"temperature": 0.1, "maxOutputTokens": 77})
    );
    assert_eq!(
        p.context.llm_model.as_deref(),
        Some("gemini-2.5-flash-lite")
    );
    assert_eq!(
        p.context.request_llm_model.as_deref(),
        Some("gemini-2.5-flash")
    );
}

#[test]
fn options_gemini_cannot_take_refuse_the_config() {
    let e = compile("gemini", GEMINI_MODELS, r#","options":{"foo":"bar"}"#).unwrap_err();
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    assert!(
        e.to_string()
            .starts_with("options.foo has no Gemini generationConfig field"),
        "{e}"
    );
}

#[test]
fn native_clients_are_forwarded_byte_for_byte_and_keep_their_call() {
    let native = r#"{"contents": [{"role":"user","parts":[{"text":"hi"}]}], "safetySettings": []}"#;
    let p = prepare(
        &gemini(""),
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=client",
        native,
    );
    assert_eq!(p.context.client_protocol, Protocol::Gemini);
    assert_eq!(p.context.target_protocol, Protocol::Gemini);
    assert_eq!(p.context.request_type, RequestType::AiStream);
    assert_eq!(
        p.context.request_llm_model.as_deref(),
        Some("gemini-2.5-flash")
    );
    assert_eq!(
        p.upstream.uri(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        "the client's key stays behind"
    );
    assert_eq!(p.upstream.body(), native.as_bytes());
    assert!(p.translator.is_none());
    assert_eq!(p.upstream.headers()["x-goog-api-key"], "AIza-test");
}

#[test]
fn native_clients_get_only_generation_config_options() {
    let proxy = gemini(r#","options":{"model":"gemini-2.5-pro","temperature":0.2,"top_p":0.5}"#);
    let p = prepare(
        &proxy,
        "/v1beta/models/gemini-2.5-flash:generateContent",
        r#"{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"temperature":1.5,"candidateCount":1}}"#,
    );
    assert_eq!(
        p.upstream.uri().path(),
        "/v1beta/models/gemini-2.5-pro:generateContent"
    );
    assert_eq!(
        body(&p),
        json!({"contents": [{"parts": [{"text": "hi"}]}],
            "generationConfig": {"temperature": 0.2, "candidateCount": 1, "topP": 0.5}})
    );
}

#[test]
fn native_streams_are_metered_with_the_gemini_protocol() {
    let p = prepare(
        &gemini(""),
        "/v1beta/models/gemini-3-pro-preview:streamGenerateContent?alt=sse",
        r#"{"contents":[{"role":"user","parts":[{"text":"What is the capital of the user country? Call the tool"}]}]}"#,
    );
    let upstream = concat!(
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"get_country\",\"args\": {}},\"thoughtSignature\": \"Ep==\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 29,\"candidatesTokenCount\": 10,\"totalTokenCount\": 241,\"thoughtsTokenCount\": 202},\"modelVersion\": \"gemini-3-pro-preview\"}\r\n\r\n",
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 29,\"candidatesTokenCount\": 10,\"totalTokenCount\": 241,\"thoughtsTokenCount\": 202},\"modelVersion\": \"gemini-3-pro-preview\"}\r\n\r\n",
    );
    let (out, metrics) = exchange(p, upstream, true);
    assert_eq!(out, upstream, "native clients get the upstream bytes");
    assert_eq!(metrics.var("llm_prompt_tokens").as_deref(), Some("29"));
    assert_eq!(metrics.var("llm_completion_tokens").as_deref(), Some("212"));
    assert_eq!(metrics.var("llm_reasoning_tokens").as_deref(), Some("202"));
    assert_eq!(
        metrics.var("llm_model").as_deref(),
        Some("gemini-3-pro-preview")
    );
    assert_eq!(metrics.var("llm_has_tool_calls").as_deref(), Some("true"));
}

/// Runs the upstream response through the prepared exchange.
fn exchange(p: Prepared, upstream: &str, streaming: bool) -> (String, ai_proxy::Metrics) {
    let start = p.context.started;
    let mut ex = Exchange::new(p.context, p.translator);
    let mut headers = HeaderMap::new();
    let ct = if streaming {
        "text/event-stream"
    } else {
        "application/json"
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    let _ = ex.on_head(StatusCode::OK, &headers, start).unwrap();
    let mut out = ex
        .on_body(Bytes::from(upstream.to_owned()), start)
        .unwrap()
        .to_vec();
    out.extend_from_slice(&ex.on_eof(start).unwrap());
    (String::from_utf8(out).unwrap(), ex.finish(start))
}

#[test]
fn converted_streams_come_back_as_openai_chunks_with_signatures() {
    let p = prepare(
        &gemini(""),
        "/v1/chat/completions",
        r#"{"model":"gemini-3-pro-preview","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"country?"}]}"#,
    );
    let upstream = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"get_country\",\"args\":{}},\"thoughtSignature\":\"Ep==\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":29,\"candidatesTokenCount\":10,\"totalTokenCount\":241,\"thoughtsTokenCount\":202},\"modelVersion\":\"gemini-3-pro-preview\",\"responseId\":\"r1\"}\n\n";
    let (out, metrics) = exchange(p, upstream, true);
    assert!(out.contains(r#""tool_calls":[{"index":0,"id":"call_r1_0","type":"function","function":{"name":"get_country","arguments":"{}"},"extra_content":{"google":{"thought_signature":"Ep=="}}}]"#), "{out}");
    assert!(out.contains(r#""finish_reason":"tool_calls""#), "{out}");
    assert!(
        out.contains(r#""usage":{"prompt_tokens":29,"completion_tokens":212,"total_tokens":241"#),
        "{out}"
    );
    assert!(out.ends_with("data: [DONE]\n\n"));
    assert_eq!(metrics.var("llm_total_tokens").as_deref(), Some("241"));
}

#[test]
fn converted_bodies_come_back_as_chat_completions() {
    let p = prepare(&gemini(""), "/v1/chat/completions", CHAT);
    let (out, metrics) = exchange(
        p,
        r#"{"candidates":[{"content":{"parts":[{"text":"Hello"}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1,"totalTokenCount":6},"modelVersion":"gemini-2.5-flash","responseId":"x"}"#,
        false,
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], "Hello");
    assert_eq!(v["usage"]["total_tokens"], 6);
    assert_eq!(metrics.var("llm_total_tokens").as_deref(), Some("6"));
}

#[test]
fn vertex_routes_use_the_publishers_models_endpoint_and_the_oauth_token() {
    let config = AiProxyConfig::from_json(&format!(
        r#"{{"provider":"vertex-ai","auth":{{"gcp":{{}}}},"override":{{"endpoint":"{VERTEX_MODELS}"}}}}"#
    ))
    .unwrap();
    let proxy = AiProxy::compile(&config, &ai_proxy::registry()).unwrap();
    let token = Secret::new("ya29.token");
    let p = proxy
        .prepare(
            post(
                "/v1/chat/completions",
                r#"{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
            ),
            Instant::now(),
            Some(&token),
        )
        .unwrap();
    assert_eq!(
        p.upstream.uri(),
        "https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    assert_eq!(p.upstream.headers()["authorization"], "Bearer ya29.token");
    assert_eq!(p.context.target_protocol, Protocol::Gemini);
}

#[test]
fn the_openai_compatible_routes_are_unchanged() {
    let config = AiProxyConfig::from_json(
        r#"{"provider":"gemini","auth":{"header":{"Authorization":"Bearer k"}},"options":{"foo":"bar"}}"#,
    )
    .unwrap();
    let proxy = AiProxy::compile(&config, &ai_proxy::registry()).unwrap();
    let p = prepare(&proxy, "/v1/chat/completions", CHAT);
    assert_eq!(
        p.upstream.uri(),
        "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"
    );
    assert_eq!(p.context.target_protocol, Protocol::OpenAiChat);
    assert_eq!(body(&p)["foo"], "bar");
    // A native body there is passthrough, as in APISIX.
    let p = prepare(
        &proxy,
        "/v1beta/models/gemini-2.5-flash:generateContent",
        r#"{"contents":[]}"#,
    );
    assert_eq!(p.context.target_protocol, Protocol::Passthrough);
    assert_eq!(
        p.upstream.uri().path(),
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );
}

#[test]
fn other_clients_are_refused_on_native_routes() {
    let e = gemini("")
        .prepare(
            post(
                "/v1/embeddings",
                r#"{"input":"x","model":"text-embedding-004"}"#,
            ),
            Instant::now(),
            None,
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "provider gemini does not support openai-embeddings protocol (supported: gemini)"
    );
}
