//! Request headers (§10.17).

use super::*;

#[test]
fn x_api_key_becomes_bearer_and_anthropic_headers_are_dropped() {
    let mut h = HeaderMap::new();
    h.insert("x-api-key", HeaderValue::from_static("sk-ant-123"));
    h.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
    h.insert("anthropic-beta", HeaderValue::from_static("x"));
    h.insert("x-stainless-os", HeaderValue::from_static("Linux"));
    h.insert("x-request-id", HeaderValue::from_static("r1"));
    AnthropicToOpenAi.convert_headers(&mut h);
    assert_eq!(h["authorization"], "Bearer sk-ant-123");
    assert!(h["authorization"].is_sensitive());
    assert!(h.get("x-api-key").is_none());
    assert!(h.get("anthropic-version").is_none());
    assert!(h.get("anthropic-beta").is_none());
    assert!(h.get("x-stainless-os").is_none());
    assert_eq!(h["x-request-id"], "r1");
}

#[test]
fn existing_authorization_is_kept_and_x_api_key_still_removed() {
    let mut h = HeaderMap::new();
    h.insert("x-api-key", HeaderValue::from_static("sk-ant-123"));
    h.insert(
        "authorization",
        HeaderValue::from_static("Bearer configured"),
    );
    AnthropicToOpenAi.convert_headers(&mut h);
    assert_eq!(h["authorization"], "Bearer configured");
    assert!(h.get("x-api-key").is_none());
}

#[test]
fn empty_x_api_key_sets_no_authorization() {
    let mut h = HeaderMap::new();
    h.insert("x-api-key", HeaderValue::from_static(""));
    AnthropicToOpenAi.convert_headers(&mut h);
    assert!(h.is_empty());
}
