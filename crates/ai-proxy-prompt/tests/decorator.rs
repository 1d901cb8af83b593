//! `ai-prompt-decorator`: APISIX's cases (t/plugin/ai-prompt-decorator.t at
//! apache/apisix f519a0f0, compared as JSON as its test harness does), then
//! what this implementation adds: bytes kept exactly, Anthropic's `system`,
//! Bedrock Converse, refusals.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use ai_proxy_prompt::{PromptDecorator, PromptError};
use bytes::Bytes;
use serde_json::{Value, json};

fn decorator(config: Value) -> PromptDecorator {
    PromptDecorator::from_value(&config).unwrap()
}

fn apply(d: &PromptDecorator, path: &str, body: &str) -> Result<String, PromptError> {
    d.apply(path, Bytes::copy_from_slice(body.as_bytes()))
        .map(|b| String::from_utf8(b.to_vec()).unwrap())
}

fn apply_json(d: &PromptDecorator, path: &str, body: Value) -> Value {
    serde_json::from_str(&apply(d, path, &body.to_string()).unwrap()).unwrap()
}

fn system(content: &str) -> Value {
    json!({"role": "system", "content": content})
}

// TEST 1-2.
#[test]
fn prepend_goes_before_the_client_messages() {
    let d = decorator(json!({"prepend": [system("some content")]}));
    let out = apply_json(
        &d,
        "/echo",
        json!({"messages": [system("You are a mathematician"), {"role": "user", "content": "What is 1+1?"}]}),
    );
    assert_eq!(
        out,
        json!({"messages": [system("some content"), system("You are a mathematician"),
                            {"role": "user", "content": "What is 1+1?"}]})
    );
}

// TEST 3-4.
#[test]
fn append_goes_after_the_client_messages() {
    let d = decorator(json!({"append": [system("some content")]}));
    let out = apply_json(
        &d,
        "/echo",
        json!({"messages": [system("You are a mathematician"), {"role": "user", "content": "What is 1+1?"}]}),
    );
    assert_eq!(
        out,
        json!({"messages": [system("You are a mathematician"),
                            {"role": "user", "content": "What is 1+1?"}, system("some content")]})
    );
}

// TEST 5-6.
#[test]
fn prepend_and_append_together() {
    let d =
        decorator(json!({"append": [system("some append")], "prepend": [system("some prepend")]}));
    let out = apply_json(
        &d,
        "/echo",
        json!({"messages": [system("You are a mathematician"), {"role": "user", "content": "What is 1+1?"}]}),
    );
    assert_eq!(
        out,
        json!({"messages": [system("some prepend"), system("You are a mathematician"),
                            {"role": "user", "content": "What is 1+1?"}, system("some append")]})
    );
}

// TEST 7: no accumulation across requests.
#[test]
fn each_request_is_decorated_on_its_own() {
    let d = decorator(json!({"prepend": [system("system prompt")]}));
    for text in ["first message", "second message"] {
        let out = apply_json(
            &d,
            "/echo",
            json!({"messages": [{"role": "user", "content": text}]}),
        );
        assert_eq!(
            out,
            json!({"messages": [system("system prompt"), {"role": "user", "content": text}]})
        );
    }
}

// TEST 9-10: the Responses API's prepend sets instructions.
#[test]
fn responses_prepend_sets_instructions() {
    let d = decorator(json!({"prepend": [system("Be helpful")]}));
    let out = apply_json(
        &d,
        "/v1/responses",
        json!({"model": "gpt-4o", "input": "What is 1+1?"}),
    );
    assert_eq!(
        out,
        json!({"model": "gpt-4o", "input": "What is 1+1?", "instructions": "Be helpful"})
    );
}

// TEST 11.
#[test]
fn responses_prepend_goes_before_existing_instructions() {
    let d = decorator(json!({"prepend": [system("Be helpful")]}));
    let out = apply_json(
        &d,
        "/v1/responses",
        json!({"model": "gpt-4o", "input": "What is 1+1?", "instructions": "You are a math tutor"}),
    );
    assert_eq!(out["instructions"], "Be helpful\nYou are a math tutor");
}

// TEST 12-13.
#[test]
fn responses_append_extends_a_string_input() {
    let d = decorator(json!({"append": [{"role": "user", "content": "Please be concise"}]}));
    let out = apply_json(
        &d,
        "/v1/responses",
        json!({"model": "gpt-4o", "input": "What is 1+1?"}),
    );
    assert_eq!(
        out,
        json!({"model": "gpt-4o", "input": "What is 1+1?\nPlease be concise"})
    );
}

// TEST 14.
#[test]
fn responses_append_adds_an_item_to_an_array_input() {
    let d = decorator(json!({"append": [{"role": "user", "content": "Please be concise"}]}));
    let out = apply_json(
        &d,
        "/v1/responses",
        json!({"model": "gpt-4o", "input": [{"type": "message", "role": "user", "content": "What is 1+1?"}]}),
    );
    assert_eq!(
        out,
        json!({"model": "gpt-4o", "input": [
            {"type": "message", "role": "user", "content": "What is 1+1?"},
            {"type": "message", "role": "user", "content": "Please be concise"}]})
    );
}

// TEST 15-16.
#[test]
fn responses_prepend_and_append_together() {
    let d = decorator(json!({"prepend": [system("Be helpful")],
                             "append": [{"role": "user", "content": "Please be concise"}]}));
    let out = apply_json(
        &d,
        "/v1/responses",
        json!({"model": "gpt-4o", "input": "What is 1+1?"}),
    );
    assert_eq!(
        out,
        json!({"model": "gpt-4o", "input": "What is 1+1?\nPlease be concise", "instructions": "Be helpful"})
    );
}

// TEST 17: chat on a route that also serves /v1/responses.
#[test]
fn chat_still_decorated_on_any_path() {
    let d = decorator(json!({"prepend": [system("some content")]}));
    let out = apply_json(
        &d,
        "/echo",
        json!({"messages": [{"role": "user", "content": "hello"}]}),
    );
    assert_eq!(
        out,
        json!({"messages": [system("some content"), {"role": "user", "content": "hello"}]})
    );
}

#[test]
fn every_byte_outside_messages_is_kept_as_sent() {
    let d = decorator(
        json!({"prepend": [system("Be brief — ✓")], "append": [{"role": "user", "content": "Sign \"it\"\n"}]}),
    );
    let body = r#"{ "model" : "gpt-4o", "temperature":1.50, "x":"a\/b\u00e9",
  "messages":[ {"role":"user","content":"Ünïcödé \"quoted\" \\ \n"} ] ,"stream":true}"#;
    let out = apply(&d, "/v1/chat/completions", body).unwrap();
    assert_eq!(
        out,
        r#"{ "model" : "gpt-4o", "temperature":1.50, "x":"a\/b\u00e9",
  "messages":[{"role":"system","content":"Be brief — ✓"}, {"role":"user","content":"Ünïcödé \"quoted\" \\ \n"} ,{"role":"user","content":"Sign \"it\"\n"}] ,"stream":true}"#
    );
    // And the configured texts arrive as configured.
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["messages"][2]["content"], "Sign \"it\"\n");
}

#[test]
fn a_body_the_decorator_does_not_change_is_handed_back_without_a_copy() {
    let d = decorator(json!({"prepend": [system("x")]}));
    let body = Bytes::from_static(br#"{"input":"embed me"}"#);
    let out = d.apply("/v1/embeddings", body.clone()).unwrap();
    assert_eq!(out.as_ptr(), body.as_ptr());
    // An empty list decorates nothing.
    let d = decorator(json!({"prepend": []}));
    let body = Bytes::from_static(br#"{"messages":[]}"#);
    assert_eq!(d.apply("/", body.clone()).unwrap().as_ptr(), body.as_ptr());
}

#[test]
fn an_empty_messages_list_gets_only_the_configured_messages() {
    let d = decorator(json!({"prepend": [system("a")], "append": [system("b")]}));
    assert_eq!(
        apply(&d, "/", r#"{"messages":[ ]}"#).unwrap(),
        r#"{"messages":[{"role":"system","content":"a"},{"role":"system","content":"b"}]}"#
    );
}

// ai-protocols/init.lua: a body of no protocol falls back to OpenAI chat.
#[test]
fn an_empty_object_gets_a_messages_list() {
    let d = decorator(json!({"append": [{"role": "user", "content": "hi"}]}));
    assert_eq!(
        apply(&d, "/", "{}").unwrap(),
        r#"{"messages":[{"role":"user","content":"hi"}]}"#
    );
}

#[test]
fn anthropic_system_messages_go_into_the_system_field() {
    let d = decorator(
        json!({"prepend": [system("Policy A"), {"role": "user", "content": "Context"}],
                             "append": [system("Policy Z")]}),
    );
    // No system: a block list.
    assert_eq!(
        apply(
            &d,
            "/v1/messages",
            r#"{"model":"claude","max_tokens":9,"messages":[{"role":"user","content":"Hi"}]}"#
        )
        .unwrap(),
        r#"{"model":"claude","max_tokens":9,"messages":[{"role":"user","content":"Context"},{"role":"user","content":"Hi"}],"system":[{"type":"text","text":"Policy A"},{"type":"text","text":"Policy Z"}]}"#
    );
    // A string system becomes the block between ours.
    assert_eq!(
        apply(
            &d,
            "/v1/messages",
            r#"{"system":"Be \"terse\"","messages":[]}"#
        )
        .unwrap(),
        r#"{"system":[{"type":"text","text":"Policy A"},{"type":"text","text":"Be \"terse\""},{"type":"text","text":"Policy Z"}],"messages":[{"role":"user","content":"Context"}]}"#
    );
    // Blocks (with cache_control) are kept as sent.
    assert_eq!(
        apply(&d, "/v1/messages", r#"{"system":[{"type":"text","text":"S","cache_control":{"type":"ephemeral"}}],"messages":[]}"#).unwrap(),
        r#"{"system":[{"type":"text","text":"Policy A"},{"type":"text","text":"S","cache_control":{"type":"ephemeral"}},{"type":"text","text":"Policy Z"}],"messages":[{"role":"user","content":"Context"}]}"#
    );
}

#[test]
fn anthropic_system_of_another_type_is_refused() {
    let d = decorator(json!({"prepend": [system("Policy")]}));
    let e = apply(&d, "/v1/messages", r#"{"system":5,"messages":[]}"#).unwrap_err();
    assert_eq!(e.status(), 400);
    assert_eq!(
        e.body(),
        r#"{"message":"system must be a string or an array of content blocks for ai-prompt-decorator to add its system messages"}"#
    );
    // Without system messages to add, system is not looked at.
    let d = decorator(json!({"append": [{"role": "user", "content": "x"}]}));
    assert!(apply(&d, "/v1/messages", r#"{"system":5,"messages":[]}"#).is_ok());
}

#[test]
fn bedrock_converse_gets_text_blocks_as_apisix_writes_them() {
    let d = decorator(
        json!({"prepend": [system("Policy")], "append": [{"role": "user", "content": "Bye"}]}),
    );
    assert_eq!(
        apply(
            &d,
            "/model/amazon.nova-micro-v1:0/converse",
            r#"{"system":[{"text":"S"}],"messages":[{"role":"user","content":[{"text":"Hi"}]}]}"#
        )
        .unwrap(),
        r#"{"system":[{"text":"Policy"},{"text":"S"}],"messages":[{"role":"user","content":[{"text":"Hi"}]},{"role":"user","content":[{"text":"Bye"}]}]}"#
    );
    // A system that is not an array is replaced, as APISIX does.
    assert_eq!(
        apply(&d, "/model/m/converse", r#"{"system":"S","messages":[]}"#).unwrap(),
        r#"{"system":[{"text":"Policy"}],"messages":[{"role":"user","content":[{"text":"Bye"}]}]}"#
    );
}

#[test]
fn messages_that_are_not_a_list_are_refused() {
    let d = decorator(json!({"prepend": [system("x")]}));
    let e = apply(
        &d,
        "/v1/chat/completions",
        r#"{"messages":{"0":{"role":"user"}}}"#,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "messages must be an array for ai-prompt-decorator to add its messages"
    );
}

#[test]
fn protocols_apisix_does_not_decorate_are_unchanged() {
    let d = decorator(json!({"prepend": [system("x")]}));
    for (path, body) in [
        ("/v1/embeddings", r#"{"input":"x"}"#),
        ("/v1/images/generations", r#"{"prompt":"x"}"#),
        (
            "/v1beta/models/gemini-2.5-flash:generateContent",
            r#"{"contents":[]}"#,
        ),
        ("/", "[1,2]"),
        ("/", "[]"),
        ("/", "\"text\""),
    ] {
        assert_eq!(apply(&d, path, body).unwrap(), body, "{path}");
    }
}

#[test]
fn unreadable_bodies_get_apisix_s_messages() {
    let d =
        PromptDecorator::from_value(&json!({"prepend": [system("x")], "max_req_body_size": 20}))
            .unwrap();
    let e = apply(&d, "/", "").unwrap_err();
    assert_eq!(
        e.body(),
        r#"{"message":"could not get body: request body is empty"}"#
    );
    let e = apply(&d, "/", r#"{"messages":[],"model":"gpt-4o"}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "could not get body: request size 32 is greater than the maximum size 20 allowed"
    );
    let e = apply(&d, "/", r#"{"messages":[}"#).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("could not parse JSON request body: "),
        "{e}"
    );
    let e = d
        .apply("/", Bytes::from_static(b"{\"a\":\"\xff\"}"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "could not parse JSON request body: invalid UTF-8 at byte 6"
    );
}

#[test]
fn a_decorated_request_carries_its_body_layout_for_prepare() {
    use ai_proxy_core::prepare::ClientBodyLayout;
    let d = decorator(json!({"prepend": [system("Be brief.")]}));
    let request = |body: &'static str| {
        http::Request::post("/v1/chat/completions")
            .header("content-length", body.len())
            .body(Bytes::from_static(body.as_bytes()))
            .unwrap()
    };
    let out = d
        .apply_request(request(r#"{"messages":[{"role":"user","content":"Hi"}]}"#))
        .unwrap();
    let expected =
        r#"{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}"#;
    assert_eq!(out.body(), expected);
    assert_eq!(out.headers()["content-length"], expected.len().to_string());
    assert!(out.extensions().get::<ClientBodyLayout>().is_some());
    // A body that is no object comes back as it was, without one.
    let out = d.apply_request(request("[1]")).unwrap();
    assert_eq!(out.body(), "[1]");
    assert!(out.extensions().get::<ClientBodyLayout>().is_none());
}

#[test]
fn a_refused_body_leaves_the_head_and_body_in_place() {
    use ai_proxy_core::prepare::ClientBodyLayout;
    let d = decorator(json!({"prepend": [system("Be brief.")]}));
    let (mut parts, _) = http::Request::post("/v1/chat/completions")
        .header("content-length", "14")
        .body(())
        .unwrap()
        .into_parts();
    let mut body = Bytes::from_static(br#"{"messages":[}"#);
    assert!(d.apply_parts(&mut parts, &mut body).is_err());
    assert_eq!(body, r#"{"messages":[}"#);
    assert_eq!(parts.headers["content-length"], "14");
    assert!(parts.extensions.get::<ClientBodyLayout>().is_none());
    // In place, a decorated body and its layout replace the client's.
    let mut body = Bytes::from_static(br#"{"messages":[{"role":"user","content":"Hi"}]}"#);
    d.apply_parts(&mut parts, &mut body).unwrap();
    assert!(body.starts_with(br#"{"messages":[{"role":"system","content":"Be brief."},"#));
    assert_eq!(parts.headers["content-length"], body.len().to_string());
    assert!(parts.extensions.get::<ClientBodyLayout>().is_some());
}
