//! A route's prompt plugins together, in APISIX's order: rewrite-phase
//! template then decorator, then the access-phase guard on what they made.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use ai_proxy_prompt::{GuardOutcome, PromptError, PromptPlugins};
use bytes::Bytes;
use serde_json::{Map, Value, json};

fn plugins(config: Value) -> PromptPlugins {
    let map: Map<String, Value> = serde_json::from_value(config).unwrap();
    PromptPlugins::from_plugins(&map).unwrap()
}

fn route() -> PromptPlugins {
    plugins(json!({
        "ai-prompt-template": {"templates": [{"name": "explain", "template": {
            "model": "gpt-4o", "messages": [{"role": "user", "content": "Explain {{ topic }} briefly."}]}}]},
        "ai-prompt-decorator": {"prepend": [{"role": "system", "content": "You are a tutor."}],
                                "append": [{"role": "user", "content": "Answer in one line."}]},
        "ai-prompt-guard": {"match_all_conversation_history": true, "deny_patterns": ["(?i)exploit"]},
        "ai-proxy": {"provider": "openai", "auth": {}}
    }))
}

#[test]
fn template_then_decorator_then_guard() {
    let out = route()
        .apply(
            "/v1/chat/completions",
            Bytes::from_static(br#"{"template_name":"explain","topic":"the \"borrow\" checker"}"#),
        )
        .unwrap();
    assert_eq!(
        out.body,
        r#"{"model":"gpt-4o","messages":[{"role":"system","content":"You are a tutor."},{"role":"user","content":"Explain the \"borrow\" checker briefly."},{"role":"user","content":"Answer in one line."}]}"#
    );
    assert_eq!(out.guard, Some(GuardOutcome::Passed));
}

// The guard runs in the access phase, after the template rendered: a value
// filled into a template is checked as the model would read it.
#[test]
fn the_guard_checks_the_values_a_template_was_filled_with() {
    let e = route()
        .apply(
            "/v1/chat/completions",
            Bytes::from_static(br#"{"template_name":"explain","topic":"an EXPLOIT chain"}"#),
        )
        .unwrap_err();
    assert_eq!(e, PromptError::Prohibited);
}

#[test]
fn a_template_refusal_stops_the_pipeline() {
    let e = route()
        .apply(
            "/v1/chat/completions",
            Bytes::from_static(br#"{"template_name":"nope"}"#),
        )
        .unwrap_err();
    assert_eq!(e.body(), r#"{"message":"template: nope not configured."}"#);
}

#[test]
fn errors_name_the_plugin_and_field() {
    let map: Map<String, Value> = serde_json::from_value(json!({
        "ai-prompt-guard": {"deny_patterns": ["(x"]},
        "ai-prompt-decorator": {},
        "key-auth": {}
    }))
    .unwrap();
    let errors: Vec<String> = PromptPlugins::from_plugins(&map)
        .unwrap_err()
        .errors()
        .iter()
        .map(|e| e.path.clone())
        .collect();
    assert_eq!(
        errors,
        ["ai-prompt-decorator", "ai-prompt-guard.deny_patterns[0]"]
    );
}

#[test]
fn no_prompt_plugin_is_a_no_op() {
    let p = plugins(json!({"ai-proxy": {}}));
    assert!(p.is_empty());
    let body = Bytes::from_static(b"not even json");
    let out = p.apply("/", body.clone()).unwrap();
    assert_eq!(out.body.as_ptr(), body.as_ptr());
    assert_eq!(out.guard, None);
}

#[test]
fn apply_request_updates_content_length() {
    let p =
        plugins(json!({"ai-prompt-decorator": {"prepend": [{"role": "system", "content": "S"}]}}));
    let body = br#"{"messages":[]}"#;
    let request = http::Request::post("/v1/chat/completions")
        .header("content-length", body.len())
        .header("content-type", "application/json")
        .body(Bytes::from_static(body))
        .unwrap();
    let out = p.apply_request(request).unwrap();
    assert_eq!(
        out.body(),
        r#"{"messages":[{"role":"system","content":"S"}]}"#
    );
    assert_eq!(
        out.headers()["content-length"],
        out.body().len().to_string().as_str()
    );
    assert_eq!(out.headers()["content-type"], "application/json");
}
