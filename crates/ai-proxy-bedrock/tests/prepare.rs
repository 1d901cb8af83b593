//! Request preparation for `provider: bedrock`, through the core pipeline:
//! APISIX's bedrock cases first (paths, body shaping), then OpenAI chat →
//! Converse, InvokeModel passthrough, and SigV4 signing last (checked
//! against `aws-sigv4`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ai_proxy_bedrock::{Bedrock, OpenAiToConverse};
use ai_proxy_core::config::AiProxyConfig;
use ai_proxy_core::prepare::{AiProxy, PrepareError, Prepared};
use ai_proxy_core::{Protocol, Registry, RequestType};
use bytes::Bytes;
use serde_json::{Value, json};

const AUTH: &str = r#""auth":{"aws":{"access_key_id":"AKIDEXAMPLE","secret_access_key":"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY","session_token":"session-token-value"}}"#;
const WALL: Duration = Duration::from_secs(1_767_225_600); // 2026-01-01T00:00:00Z

fn registry() -> Registry {
    Registry::new()
        .with_adapter(Arc::new(Bedrock))
        .with_converter(Arc::new(OpenAiToConverse))
}

fn proxy(extra: &str) -> AiProxy {
    let text = format!(
        r#"{{"provider":"bedrock",{AUTH},"provider_conf":{{"region":"us-east-1"}}{extra}}}"#
    );
    AiProxy::compile(&AiProxyConfig::from_json(&text).unwrap(), &registry()).unwrap()
}

fn request(uri: &str, body: &str) -> http::Request<Bytes> {
    http::Request::post(uri)
        .header("content-type", "application/json")
        .header("authorization", "Bearer client-secret")
        .header("x-request-id", "r-1")
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

fn prepare(proxy: &AiProxy, uri: &str, body: &str) -> Result<Prepared, PrepareError> {
    proxy.prepare_at(request(uri, body), Instant::now(), UNIX_EPOCH + WALL, None)
}

fn body_json(p: &Prepared) -> Value {
    serde_json::from_slice(p.upstream.body()).unwrap()
}

const CONVERSE: &str = r#"{"model":"anthropic.claude-3-5-sonnet-20241022-v2:0","messages":[{"role":"user","content":[{"text":"Hello"}]}]}"#;

#[test]
fn converse_requests_go_to_the_escaped_model_path() {
    // APISIX bedrock-single T15.
    let p = prepare(&proxy(""), "/bedrock/converse", CONVERSE).unwrap();
    assert_eq!(
        p.upstream.uri().to_string(),
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse"
    );
    assert_eq!(p.context.target_protocol, Protocol::BedrockConverse);
    assert_eq!(p.context.client_protocol, Protocol::BedrockConverse);
    assert!(p.translator.is_none());
    // `model` leaves the body; everything else is the client's bytes.
    assert_eq!(
        std::str::from_utf8(p.upstream.body()).unwrap(),
        r#"{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}"#
    );
}

#[test]
fn a_converse_request_without_any_model_cannot_resolve_its_path() {
    // APISIX bedrock-single T7.
    let err = prepare(&proxy(""), "/converse", r#"{"messages":[]}"#).unwrap_err();
    assert_eq!(err, PrepareError::UnresolvedPath);
    assert_eq!(err.status(), 400);
}

#[test]
fn streaming_converse_uses_converse_stream_and_drops_stream() {
    let body = r#"{"model":"amazon.nova-micro-v1:0","stream":true,"messages":[{"role":"user","content":[{"text":"Hi"}]}]}"#;
    let p = prepare(&proxy(""), "/converse", body).unwrap();
    assert_eq!(
        p.upstream.uri().path(),
        "/model/amazon.nova-micro-v1%3A0/converse-stream"
    );
    assert_eq!(p.context.request_type, RequestType::AiStream);
    assert_eq!(
        body_json(&p),
        json!({"messages":[{"role":"user","content":[{"text":"Hi"}]}]})
    );
}

#[test]
fn inference_profile_arns_stay_one_path_segment() {
    let p = prepare(
        &proxy(r#","options":{"model":"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0"}"#),
        "/converse",
        r#"{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}"#,
    )
    .unwrap();
    assert_eq!(
        p.upstream.uri().path(),
        "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse"
    );
}

#[test]
fn llm_options_max_tokens_lands_in_inference_config() {
    let llm = r#","override":{"llm_options":{"max_tokens":555}}"#;
    let p = prepare(&proxy(llm), "/converse", CONVERSE).unwrap();
    assert_eq!(body_json(&p)["inferenceConfig"], json!({"maxTokens": 555}));
    let with_config =
        r#"{"model":"m","inferenceConfig":{"temperature":0.5,"maxTokens":9},"messages":[]}"#;
    let p = prepare(&proxy(llm), "/converse", with_config).unwrap();
    assert_eq!(
        body_json(&p)["inferenceConfig"],
        json!({"temperature": 0.5, "maxTokens": 555})
    );
}

#[test]
fn request_body_patches_are_keyed_by_bedrock_converse() {
    let patch = r#","override":{"request_body":{"bedrock-converse":{"additionalModelRequestFields":{"top_k":40}},"openai-chat":{"x":1}}}"#;
    let p = prepare(&proxy(patch), "/converse", CONVERSE).unwrap();
    let body = body_json(&p);
    assert_eq!(body["additionalModelRequestFields"], json!({"top_k": 40}));
    assert!(body.get("x").is_none());
}

#[test]
fn openai_chat_requests_are_converted_to_converse() {
    let body = r#"{"model":"amazon.nova-micro-v1:0","max_tokens":100,"temperature":0.2,"stream":true,
        "messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is the capital of France?"}],
        "tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}]}"#;
    let p = prepare(&proxy(""), "/v1/chat/completions", body).unwrap();
    assert_eq!(p.context.client_protocol, Protocol::OpenAiChat);
    assert_eq!(p.context.target_protocol, Protocol::BedrockConverse);
    assert_eq!(
        p.upstream.uri().path(),
        "/model/amazon.nova-micro-v1%3A0/converse-stream"
    );
    assert!(p.translator.is_some());
    assert_eq!(p.context.tool_count, 1);
    assert_eq!(
        body_json(&p),
        json!({
            "messages": [{"role": "user", "content": [{"text": "What is the capital of France?"}]}],
            "system": [{"text": "Be brief."}],
            "inferenceConfig": {"maxTokens": 100, "temperature": 0.2},
            "toolConfig": {"tools": [{"toolSpec": {"name": "lookup",
                "inputSchema": {"json": {"type": "object", "properties": {"q": {"type": "string"}}}}}}]}
        })
    );
}

#[test]
fn anthropic_invoke_bodies_pass_through_to_the_client_path() {
    let body = r#"{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "messages": [{"role":"user","content":"hi"}]}"#;
    let p = prepare(
        &proxy(""),
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke",
        body,
    )
    .unwrap();
    assert_eq!(p.context.target_protocol, Protocol::BedrockInvoke);
    assert_eq!(
        p.upstream.uri().path(),
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke"
    );
    assert_eq!(p.upstream.body().as_ref(), body.as_bytes(), "byte for byte");
    let p = prepare(
        &proxy(r#","options":{"model":"anthropic.claude-haiku-4-5-20251001-v1:0"}"#),
        "/model/x/invoke-with-response-stream",
        body,
    )
    .unwrap();
    assert_eq!(p.context.request_type, RequestType::AiStream);
    assert_eq!(
        p.upstream.uri().path(),
        "/model/anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke-with-response-stream"
    );
    // options.model is written into the body, then removed again.
    assert!(body_json(&p).get("model").is_none());
}

#[test]
fn prepare_without_the_wall_clock_is_refused() {
    let err = proxy("")
        .prepare(request("/converse", CONVERSE), Instant::now(), None)
        .unwrap_err();
    assert!(matches!(err, PrepareError::WallClockRequired { .. }));
    assert_eq!(err.status(), 500);
    assert!(err.to_string().contains("prepare_at"));
    assert!(proxy("").needs_wall_clock());
}

#[test]
fn requests_are_signed_last_and_client_credentials_dropped() {
    let p = prepare(&proxy(""), "/converse", CONVERSE).unwrap();
    let h = p.upstream.headers();
    assert_eq!(h["x-amz-date"], "20260101T000000Z");
    assert_eq!(h["x-amz-security-token"], "session-token-value");
    assert!(h["x-amz-security-token"].is_sensitive());
    let auth = h["authorization"].to_str().unwrap();
    assert!(h["authorization"].is_sensitive());
    assert!(
        auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/bedrock/aws4_request, \
             SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-security-token;x-request-id, \
             Signature="
        ),
        "{auth}"
    );
    assert!(!auth.contains("client-secret"));
    assert_eq!(h["x-request-id"], "r-1");
    // Debug output never shows the signature or the token.
    let debug = format!("{p:?}");
    assert!(!debug.contains("session-token-value") && !debug.contains("Signature="));
}

#[test]
fn the_signature_verifies_with_aws_sigv4() {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    for (uri, body) in [
        ("/converse", CONVERSE),
        (
            "/v1/chat/completions",
            r#"{"model":"us.amazon.nova-pro-v1:0","stream":true,"messages":[{"role":"user","content":"¿Qué tal? \"quoted\""}]}"#,
        ),
    ] {
        let p = prepare(&proxy(""), uri, body).unwrap();
        let mut unsigned: Vec<(String, String)> = p
            .upstream
            .headers()
            .iter()
            .filter(|(n, _)| {
                !["authorization", "x-amz-date", "x-amz-security-token"].contains(&n.as_str())
            })
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        unsigned.sort();
        let identity = aws_credential_types::Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("session-token-value".to_owned()),
            None,
            "test",
        )
        .into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("bedrock")
            .time(SystemTime::UNIX_EPOCH + WALL)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let signable = SignableRequest::new(
            "POST",
            p.upstream.uri().to_string(),
            unsigned.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            SignableBody::Bytes(p.upstream.body()),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let (headers, _) = instructions.into_parts();
        let expected = headers
            .iter()
            .find(|h| h.name() == "authorization")
            .map(|h| h.value().to_owned())
            .unwrap();
        assert_eq!(
            p.upstream.headers()["authorization"].to_str().unwrap(),
            expected,
            "{uri}"
        );
    }
}
