//! Anthropic Messages client → OpenAI chat upstream: APISIX §9 and the
//! spec §10 acceptance cases (13–17).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use ai_proxy_anthropic::{AnthropicToOpenAi, ChatToMessages, ToolNameMap, sanitize_tool_name};
use ai_proxy_core::adapter::{ConvertContext, ConvertError, Converter};
use ai_proxy_core::translate::{ResponseTranslator, TranslateError};
use ai_proxy_core::{Protocol, Provider, RequestType};
use bytes::BytesMut;
use common::{check_anthropic, run};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Value, json};

fn ctx(model: Option<&str>) -> ConvertContext<'_> {
    ConvertContext::new(Provider::OpenAi, model, None, RequestType::AiChat)
}

fn convert(body: Value) -> Value {
    let out = AnthropicToOpenAi
        .convert_request(body.to_string().as_bytes(), &ctx(None))
        .unwrap();
    serde_json::from_slice(&out.body).unwrap()
}

fn convert_err(body: &str) -> ConvertError {
    AnthropicToOpenAi
        .convert_request(body.as_bytes(), &ctx(None))
        .unwrap_err()
}

fn respond(upstream: Value, llm_model: Option<&str>) -> Value {
    let mut t = ChatToMessages::new(ToolNameMap::new(), llm_model);
    let mut out = BytesMut::new();
    t.translate_body(StatusCode::OK, upstream.to_string().as_bytes(), &mut out)
        .unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn stream(chunks: &[&str]) -> (String, Result<(), TranslateError>) {
    let events: Vec<_> = chunks
        .iter()
        .map(|c| ("message".to_owned(), (*c).to_owned()))
        .collect();
    run(&mut ChatToMessages::new(ToolNameMap::new(), None), &events)
}

#[test]
fn converts_anthropic_messages_to_openai_chat() {
    let c = AnthropicToOpenAi;
    assert_eq!(c.client_protocol(), Protocol::AnthropicMessages);
    assert_eq!(c.target_protocol(), Protocol::OpenAiChat);
}

// ---- §10.14: missing messages ----------------------------------------------

#[test]
fn missing_messages_is_a_400() {
    for body in [
        r#"{"model":"m"}"#,
        r#"{"model":"m","messages":"hello"}"#,
        r#"{"model":"m","messages":[]}"#,
        r#"{"model":"m","messages":{}}"#,
        r#"{"model":"m","messages":null}"#,
    ] {
        let e = convert_err(body);
        assert_eq!(e.message, "missing messages", "{body}");
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    }
}

#[test]
fn invalid_message_names_its_one_based_index() {
    assert_eq!(
        convert_err(r#"{"messages":[{"role":"user","content":"a"},"x"]}"#).message,
        "invalid message at index 2"
    );
    assert_eq!(
        convert_err(r#"{"messages":[{"role":5,"content":"a"}]}"#).message,
        "invalid message at index 1"
    );
    assert_eq!(
        convert_err(r#"{"messages":[{"role":"user","content":5}]}"#).message,
        "invalid message content at index 1"
    );
    assert_eq!(
        convert_err(r#"{"messages":[{"role":"user"}]}"#).message,
        "invalid message content at index 1"
    );
}

#[test]
fn non_object_body_is_a_400() {
    assert_eq!(convert_err("[1]").status(), StatusCode::BAD_REQUEST);
}

#[test]
fn a_non_string_where_a_role_type_or_key_string_goes_is_a_syntax_error() {
    for body in [
        r#"{"messages":[{"role":+5ser","content":"hi"}]}"#,
        r#"{"messages":[{"role":"user","content":[{"type":x"text","text":"a"}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"type":"text","text":"a",x":1}]}]}"#,
    ] {
        let err = convert_err(body);
        assert!(
            err.message.contains("expected value") || err.message.contains("key must be a string"),
            "{body}: {}",
            err.message
        );
    }
}

/// A body of `turns` user messages, each text `text`.
fn long_body(turns: usize, text: &[u8]) -> Vec<u8> {
    let mut body = br#"{"model":"m","max_tokens":1,"messages":["#.to_vec();
    for k in 0..turns {
        if k > 0 {
            body.push(b',');
        }
        body.extend_from_slice(br#"{"role":"user","content":[{"type":"text","text":""#);
        body.extend_from_slice(text);
        body.extend_from_slice(br#""}]}"#);
    }
    body.extend_from_slice(b"]}");
    body
}

fn convert_bytes(body: &[u8]) -> Result<Vec<u8>, ConvertError> {
    AnthropicToOpenAi
        .convert_request(body, &ctx(None))
        .map(|c| c.body.to_vec())
}

#[test]
fn invalid_utf8_anywhere_names_its_first_byte() {
    let mut body = long_body(800, "données ✓ 🚀".as_bytes());
    // Deep in a long body, in one also cut short (UTF-8 is judged before
    // syntax), and in the tools after the messages.
    for at in [body.len() / 2, body.len() - 10] {
        let mut bad = body.clone();
        bad[at] = 0xff;
        let err = convert_bytes(&bad).unwrap_err();
        assert!(
            err.message
                .ends_with(&format!("invalid UTF-8 at byte {at}")),
            "{}",
            err.message
        );
        bad.truncate(bad.len() - 1);
        let err = convert_bytes(&bad).unwrap_err();
        assert!(
            err.message
                .ends_with(&format!("invalid UTF-8 at byte {at}"))
        );
    }
    body.truncate(body.len() - 1);
    body.extend_from_slice(b",\"tools\":[{\"name\":\"t\xc3\"}]}");
    let err = convert_bytes(&body).unwrap_err();
    assert!(
        err.message.contains("invalid UTF-8 at byte"),
        "{}",
        err.message
    );
}

// ---- request mapping (§9) ----------------------------------------------------

#[test]
fn whitelist_maps_parameters_and_drops_unknown_fields() {
    let out = convert(json!({
        "model": "claude-x", "stream": true, "max_tokens": 10, "temperature": 0,
        "top_p": 0.5, "top_k": 3, "stop_sequences": ["END"], "metadata": {"user_id": "u1"},
        "service_tier": "auto", "unknown_field": {"x": 1},
        "messages": [{"role": "user", "content": "hi"}]
    }));
    assert_eq!(
        out,
        json!({
            "model": "claude-x", "stream": true, "stream_options": {"include_usage": true},
            "max_completion_tokens": 10, "temperature": 0, "top_p": 0.5, "stop": ["END"],
            "user": "u1", "service_tier": "auto",
            "messages": [{"role": "user", "content": "hi"}]
        })
    );
}

#[test]
fn stream_false_is_kept_without_stream_options() {
    let out = convert(json!({"stream": false, "messages": [{"role": "user", "content": "hi"}]}));
    assert_eq!(out["stream"], false);
    assert!(out.get("stream_options").is_none());
    assert!(out.get("max_tokens").is_none());
}

#[test]
fn system_string_and_blocks_become_one_leading_system_message() {
    let out =
        convert(json!({"system": "Be brief.", "messages": [{"role": "user", "content": "hi"}]}));
    assert_eq!(
        out["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );

    let out = convert(json!({
        "system": [
            {"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}},
            {"type": "image"},
            {"type": "text", "text": "B"}
        ],
        "messages": [{"role": "user", "content": "hi"}]
    }));
    assert_eq!(
        out["messages"][0],
        json!({"role": "system", "content": "AB"})
    );

    let out = convert(json!({"system": "", "messages": [{"role": "user", "content": "hi"}]}));
    assert_eq!(out["messages"].as_array().unwrap().len(), 1);
}

#[test]
fn billing_header_cch_entries_are_stripped() {
    let out = convert(json!({
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=1.0; cch=abc123; cc_entrypoint=cli"},
            {"type": "text", "text": "X-Anthropic-Billing-Header: cch=zzz;"},
            {"type": "text", "text": "|rest"}
        ],
        "messages": [{"role": "user", "content": "hi"}]
    }));
    assert_eq!(
        out["messages"][0]["content"],
        "x-anthropic-billing-header:cc_version=1.0; cc_entrypoint=cli|rest"
    );
}

#[test]
fn user_blocks_become_parts_and_assistant_blocks_a_string() {
    let out = convert(json!({"messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "look"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "QUJD"}},
            {"type": "image", "source": {"type": "base64", "data": "REVG"}},
            {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
            {"type": "image", "source": {"type": "base64", "data": ""}},
            {"type": "document", "source": {"type": "base64", "data": "UERG"}},
            {"type": "thinking", "thinking": "hmm"},
            "not a block"
        ]},
        {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "user", "content": []}
    ]}));
    assert_eq!(
        out["messages"],
        json!([
            {"role": "user", "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,QUJD"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,REVG"}},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                {"type": "image_url", "image_url": {"url": "data:application/pdf;base64,UERG"}}
            ]},
            {"role": "assistant", "content": "ab"},
            {"role": "user", "content": ""}
        ])
    );
}

#[test]
fn tool_use_blocks_become_tool_calls_with_json_arguments() {
    let out = convert(json!({"messages": [
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Paris", "n": [1, 2]}},
            {"type": "tool_use", "id": "t2", "name": "noop"}
        ]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t3", "name": "noop", "input": {}}]}
    ]}));
    assert_eq!(
        out["messages"],
        json!([
            {"role": "assistant", "content": "Let me check.", "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\",\"n\":[1,2]}"}},
                {"id": "t2", "type": "function", "function": {"name": "noop", "arguments": "{}"}}
            ]},
            {"role": "assistant", "tool_calls": [
                {"id": "t3", "type": "function", "function": {"name": "noop", "arguments": "{}"}}
            ]}
        ])
    );
}

#[test]
fn tool_results_become_tool_messages_before_the_rest() {
    let out = convert(json!({"messages": [
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "sunny"},
            {"type": "tool_result", "tool_use_id": "t2", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"type": "tool_result", "tool_use_id": "t3", "content": [
                {"type": "text", "text": "see"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": "R0lG"}}
            ]},
            {"type": "tool_result", "tool_use_id": "t4"},
            {"type": "text", "text": "thanks"}
        ]}
    ]}));
    assert_eq!(
        out["messages"],
        json!([
            {"role": "tool", "tool_call_id": "t1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "t2", "content": "ab"},
            {"role": "tool", "tool_call_id": "t3", "content": [
                {"type": "text", "text": "see"},
                {"type": "image_url", "image_url": {"url": "data:image/gif;base64,R0lG"}}
            ]},
            {"role": "tool", "tool_call_id": "t4", "content": ""},
            {"role": "user", "content": [{"type": "text", "text": "thanks"}]}
        ])
    );
}

#[test]
fn tools_map_to_functions_and_builtins_are_dropped() {
    let out = convert(json!({
        "tools": [
            {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}},
            {"type": "web_search_20250305", "name": "web_search"},
            {"type": "bash_20250124", "name": "bash"},
            {"description": "no name"},
            {"name": "bare"}
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "messages": [{"role": "user", "content": "hi"}]
    }));
    assert_eq!(
        out["tools"],
        json!([
            {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}},
            {"type": "function", "function": {"name": "bare"}}
        ])
    );
    assert_eq!(out["tool_choice"], "required");
    assert_eq!(out["parallel_tool_calls"], false);
}

#[test]
fn tool_choice_variants() {
    for (choice, expected) in [
        (json!({"type": "auto"}), json!("auto")),
        (json!({"type": "none"}), json!("none")),
        (
            json!({"type": "tool", "name": "f"}),
            json!({"type": "function", "function": {"name": "f"}}),
        ),
    ] {
        let out = convert(json!({
            "tools": [{"name": "f", "input_schema": {}}], "tool_choice": choice,
            "messages": [{"role": "user", "content": "hi"}]
        }));
        assert_eq!(out["tool_choice"], expected);
        assert!(out.get("parallel_tool_calls").is_none());
    }
}

#[test]
fn no_usable_tools_removes_tool_choice_and_parallel_flag() {
    let out = convert(json!({
        "tools": [{"type": "computer_20250124", "name": "computer"}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "messages": [{"role": "user", "content": "hi"}]
    }));
    assert!(out.get("tools").is_none());
    assert!(out.get("tool_choice").is_none());
    assert!(out.get("parallel_tool_calls").is_none());
}

#[test]
fn invalid_tool_names_are_sanitised_everywhere_and_restored_in_responses() {
    let long = "n".repeat(70);
    let body = json!({
        "tools": [{"name": "mcp.fs/read", "input_schema": {}}, {"name": long, "input_schema": {}}],
        "tool_choice": {"type": "tool", "name": "mcp.fs/read"},
        "messages": [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "mcp.fs/read", "input": {}}]}
        ]
    });
    let converted = AnthropicToOpenAi
        .convert_request(body.to_string().as_bytes(), &ctx(None))
        .unwrap();
    let out: Value = serde_json::from_slice(&converted.body).unwrap();
    let sent = sanitize_tool_name("mcp.fs/read").into_owned();
    assert_eq!(out["tools"][0]["function"]["name"], sent.as_str());
    assert_eq!(
        out["tools"][1]["function"]["name"].as_str().unwrap().len(),
        64
    );
    assert_eq!(out["tool_choice"]["function"]["name"], sent.as_str());
    assert_eq!(
        out["messages"][0]["tool_calls"][0]["function"]["name"],
        sent.as_str()
    );

    let mut t = converted.translator;
    let upstream = json!({"id": "c", "model": "m", "choices": [{"message": {"tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": sent, "arguments": "{\"p\":\"/\"}"}}
    ]}, "finish_reason": "tool_calls"}]});
    let mut buf = BytesMut::new();
    t.translate_body(StatusCode::OK, upstream.to_string().as_bytes(), &mut buf)
        .unwrap();
    let msg: Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(msg["content"][0]["name"], "mcp.fs/read");
    assert_eq!(msg["content"][0]["input"], json!({"p": "/"}));
    assert_eq!(msg["stop_reason"], "tool_use");
}

#[test]
fn thinking_budget_maps_to_reasoning_effort() {
    for (thinking, effort) in [
        (
            json!({"type": "enabled", "budget_tokens": 8000}),
            Some("high"),
        ),
        (
            json!({"type": "enabled", "budget_tokens": 4096}),
            Some("high"),
        ),
        (
            json!({"type": "enabled", "budget_tokens": 2048}),
            Some("medium"),
        ),
        (
            json!({"type": "enabled", "budget_tokens": 1024}),
            Some("low"),
        ),
        (
            json!({"type": "enabled", "budget_tokens": 500}),
            Some("minimal"),
        ),
        (json!({"type": "adaptive"}), Some("medium")),
        (json!({"type": "disabled"}), Some("none")),
        (json!({"type": "other"}), None),
    ] {
        let out =
            convert(json!({"thinking": thinking, "messages": [{"role": "user", "content": "hi"}]}));
        assert_eq!(
            out.get("reasoning_effort").and_then(Value::as_str),
            effort,
            "{thinking}"
        );
    }
    let out = convert(json!({
        "thinking": {"type": "adaptive"}, "output_config": {"effort": "low"},
        "messages": [{"role": "user", "content": "hi"}]
    }));
    assert_eq!(out["reasoning_effort"], "low");
}

#[test]
fn output_format_becomes_a_strict_json_schema() {
    let schema = json!({
        "type": "object",
        "properties": {
            "b": {"type": "string"},
            "a": {"type": "object", "properties": {"y": {"type": "number"}, "x": {"type": "array", "items": {"type": "object", "properties": {"k": {}}}}}},
            "c": {"anyOf": [{"type": "object", "properties": {"z": {}}}, {"type": "null"}]}
        },
        "$defs": {"D": {"type": "object", "properties": {"q": {}}}}
    });
    let out = convert(json!({
        "output_format": {"type": "json_schema", "schema": schema},
        "messages": [{"role": "user", "content": "hi"}]
    }));
    let rf = &out["response_format"];
    assert_eq!(rf["type"], "json_schema");
    assert_eq!(rf["json_schema"]["name"], "structured_output");
    assert_eq!(rf["json_schema"]["strict"], true);
    let s = &rf["json_schema"]["schema"];
    assert_eq!(s["required"], json!(["a", "b", "c"]));
    assert_eq!(s["additionalProperties"], false);
    assert_eq!(s["properties"]["a"]["required"], json!(["x", "y"]));
    assert_eq!(
        s["properties"]["a"]["properties"]["x"]["items"]["required"],
        json!(["k"])
    );
    assert_eq!(
        s["properties"]["c"]["anyOf"][0]["additionalProperties"],
        false
    );
    assert_eq!(s["$defs"]["D"]["required"], json!(["q"]));

    let out = convert(json!({
        "output_config": {"format": {"type": "json_schema", "schema": {"type": "object", "properties": {"v": {}}}}},
        "messages": [{"role": "user", "content": "hi"}]
    }));
    assert_eq!(
        out["response_format"]["json_schema"]["schema"]["required"],
        json!(["v"])
    );
}

#[test]
fn escaped_strings_pass_through_unchanged() {
    let body =
        r#"{"model":"m\u00e9","messages":[{"role":"user","content":"a\"b\\c\ud83d\ude00"}]}"#;
    let out = AnthropicToOpenAi
        .convert_request(body.as_bytes(), &ctx(None))
        .unwrap();
    let v: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(v["model"], "mé");
    assert_eq!(v["messages"][0]["content"], "a\"b\\c😀");
}

// ---- §10.17: headers -----------------------------------------------------------

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

// ---- §10.14/16: non-streaming responses ---------------------------------------

#[test]
fn text_response_becomes_an_anthropic_message() {
    let msg = respond(
        json!({"id": "chatcmpl-1", "model": "gpt-4o", "choices": [{"index": 0,
            "message": {"role": "assistant", "content": "1 + 1 = 2."}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18}}),
        None,
    );
    assert_eq!(
        msg,
        json!({"id": "chatcmpl-1", "type": "message", "role": "assistant", "model": "gpt-4o",
            "content": [{"type": "text", "text": "1 + 1 = 2."}], "stop_reason": "end_turn",
            "stop_sequence": null, "usage": {"input_tokens": 12, "output_tokens": 6}})
    );
}

#[test]
fn llm_model_names_the_model() {
    let msg = respond(
        json!({"model": "upstream", "choices": [{"message": {"content": "x"}}]}),
        Some("configured"),
    );
    assert_eq!(msg["model"], "configured");
}

#[test]
fn converted_usage_reports_cached_tokens_apart() {
    let msg = respond(
        json!({"choices": [{"message": {"content": "x"}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 7,
                "prompt_tokens_details": {"cached_tokens": 10, "cache_creation_input_tokens": 5}}}),
        None,
    );
    assert_eq!(
        msg["usage"],
        json!({"input_tokens": 20, "output_tokens": 7, "cache_read_input_tokens": 10, "cache_creation_input_tokens": 5})
    );
    assert_eq!(msg["stop_reason"], "max_tokens");
}

#[test]
fn reasoning_becomes_a_thinking_block_first() {
    let msg = respond(
        json!({"choices": [{"message": {"content": "ok", "reasoning_content": "think"}, "finish_reason": "content_filter"}]}),
        None,
    );
    assert_eq!(
        msg["content"],
        json!([{"type": "thinking", "thinking": "think", "signature": ""}, {"type": "text", "text": "ok"}])
    );
    assert_eq!(msg["stop_reason"], "end_turn");
    let msg = respond(json!({"choices": [{"message": {"reasoning": "r"}}]}), None);
    assert_eq!(msg["content"][0]["thinking"], "r");
}

#[test]
fn empty_message_gets_one_empty_text_block() {
    let msg = respond(json!({"choices": [{"message": {"content": null}}]}), None);
    assert_eq!(msg["content"], json!([{"type": "text", "text": ""}]));
    assert_eq!(msg["usage"], json!({"input_tokens": 0, "output_tokens": 0}));
}

#[test]
fn invalid_tool_arguments_become_an_empty_input() {
    let msg = respond(
        json!({"choices": [{"message": {"tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{oops"}}]}, "finish_reason": "function_call"}]}),
        None,
    );
    assert_eq!(msg["content"][0]["input"], json!({}));
    assert_eq!(msg["stop_reason"], "tool_use");
}

#[test]
fn upstream_errors_become_anthropic_errors() {
    let e = respond(
        json!({"error": {"message": "bad key", "type": "invalid_request_error", "code": "x"}}),
        None,
    );
    assert_eq!(
        e,
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": "bad key"}})
    );
    let e = respond(
        json!({"error": {"message": "m", "code": "rate_limit"}}),
        None,
    );
    assert_eq!(e["error"]["type"], "rate_limit");
    let e = respond(json!({"error": {"message": "m", "code": 429}}), None);
    assert_eq!(e["error"]["type"], "429");
    let e = respond(json!({"error": "boom"}), None);
    assert_eq!(
        e,
        json!({"type": "error", "error": {"type": "api_error", "message": "boom"}})
    );
}

#[test]
fn no_choices_is_a_500() {
    let mut t = ChatToMessages::new(ToolNameMap::new(), None);
    let mut out = BytesMut::new();
    let e = t
        .translate_body(StatusCode::OK, br#"{"choices":[]}"#, &mut out)
        .unwrap_err();
    assert_eq!(
        e,
        TranslateError::Malformed("no choices in response".into())
    );
    assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(t.translate_body(StatusCode::OK, b"[1]", &mut out).is_err());
}

#[test]
fn non_json_bodies_pass_through_verbatim() {
    let mut t = ChatToMessages::new(ToolNameMap::new(), None);
    let mut out = BytesMut::new();
    t.translate_body(StatusCode::UNAUTHORIZED, b"Unauthorized", &mut out)
        .unwrap();
    assert_eq!(&out[..], b"Unauthorized");
}

// ---- §10.15/16: streaming -------------------------------------------------------

fn kinds(out: &str) -> Vec<String> {
    common::split_sse(out).into_iter().map(|(k, _)| k).collect()
}

#[test]
fn stream_event_order() {
    let (out, r) = stream(&[
        r#"{"id":"c1","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
        r#"{"id":"c1","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}"#,
        r#"{"id":"c1","model":"gpt-4o","choices":[{"index":0,"delta":{"content":" world"},"finish_reason":null}]}"#,
        r#"{"id":"c1","model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        r#"{"id":"c1","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}"#,
        "[DONE]",
    ]);
    r.unwrap();
    assert_eq!(
        kinds(&out),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let s = check_anthropic(&out);
    assert_eq!(s.text, "Hello world");
    assert_eq!(s.stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(
        s.usage,
        Some(json!({"input_tokens": 5, "output_tokens": 2}))
    );
    assert!(!out.contains("[DONE]"));
    let start: Value = serde_json::from_str(&common::split_sse(&out)[0].1).unwrap();
    assert_eq!(start["message"]["id"], "c1");
    assert_eq!(start["message"]["model"], "gpt-4o");
    assert_eq!(
        start["message"]["usage"],
        json!({"input_tokens": 0, "output_tokens": 0})
    );
}

#[test]
fn one_message_stop_with_duplicate_and_null_finish_reasons() {
    let (out, r) = stream(&[
        r#"{"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}"#,
        r#"{"choices":[{"delta":{},"finish_reason":"null"}]}"#,
        r#"{"choices":[{"delta":{},"finish_reason":""}]}"#,
        r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#,
        r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#,
        r#"{"choices":[{"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}"#,
        "[DONE]",
    ]);
    r.unwrap();
    assert_eq!(out.matches("event: message_stop").count(), 1);
    assert_eq!(out.matches("event: message_delta").count(), 1);
    check_anthropic(&out);
}

#[test]
fn stop_waits_for_the_usage_chunk() {
    let (out, _) = stream(&[
        r#"{"choices":[{"delta":{"content":"Hi"},"finish_reason":"length"}]}"#,
        r#"{"choices":[],"usage":{"prompt_tokens":30,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":10,"cache_creation_input_tokens":5}}}"#,
        "[DONE]",
    ]);
    let s = check_anthropic(&out);
    assert_eq!(s.stop_reason.as_deref(), Some("max_tokens"));
    assert_eq!(
        s.usage,
        Some(
            json!({"input_tokens": 20, "output_tokens": 4, "cache_read_input_tokens": 10, "cache_creation_input_tokens": 5})
        )
    );
}

#[test]
fn usage_on_the_finish_chunk_is_used() {
    let (out, _) = stream(&[
        r#"{"choices":[{"delta":{"content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3}}"#,
        "[DONE]",
    ]);
    assert_eq!(
        check_anthropic(&out).usage,
        Some(json!({"input_tokens": 9, "output_tokens": 3}))
    );
}

#[test]
fn stream_without_finish_reason_ends_with_end_turn_at_eof() {
    let (out, r) = stream(&[r#"{"choices":[{"delta":{"content":"cut"}}]}"#]);
    r.unwrap();
    let s = check_anthropic(&out);
    assert_eq!(s.text, "cut");
    assert_eq!(s.stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(
        s.usage,
        Some(json!({"input_tokens": 0, "output_tokens": 0}))
    );
}

#[test]
fn empty_stream_is_a_502() {
    let (out, r) = stream(&[]);
    assert!(out.is_empty());
    assert_eq!(r, Err(TranslateError::EmptyStream));
    assert_eq!(
        TranslateError::EmptyStream.status(),
        StatusCode::BAD_GATEWAY
    );
    let (_, r) = stream(&["[DONE]", "not json", "  "]);
    assert_eq!(r, Err(TranslateError::EmptyStream));
}

#[test]
fn thinking_then_text_then_tools_open_consecutive_blocks() {
    let (out, _) = stream(&[
        r#"{"choices":[{"delta":{"reasoning_content":"Let me"}}]}"#,
        r#"{"choices":[{"delta":{"reasoning_content":" think"}}]}"#,
        r#"{"choices":[{"delta":{"content":"Answer"}}]}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":""}}]}}]}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]}}]}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"g","arguments":"{}"}}]}}]}"#,
        r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
        "[DONE]",
    ]);
    let s = check_anthropic(&out);
    assert_eq!(s.block_types, ["thinking", "text", "tool_use", "tool_use"]);
    assert_eq!(s.thinking, "Let me think");
    assert_eq!(s.text, "Answer");
    assert_eq!(
        s.tools,
        [
            ("f".to_owned(), "{\"a\":1}".to_owned()),
            ("g".to_owned(), "{}".to_owned())
        ]
    );
    assert_eq!(s.stop_reason.as_deref(), Some("tool_use"));
}

#[test]
fn late_arguments_for_a_closed_tool_block_are_skipped_and_counted() {
    let mut t = ChatToMessages::new(ToolNameMap::new(), None);
    let events: Vec<_> = [
        r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{"}}]}}]}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{}"}}]}}]}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"}"}}]}}]}"#,
        "{broken",
    ]
    .iter()
    .map(|c| ("message".to_owned(), (*c).to_owned()))
    .collect();
    let (out, _) = run(&mut t, &events);
    check_anthropic(&out);
    assert_eq!(t.skipped_events(), 2);
}

#[test]
fn midstream_error_becomes_an_anthropic_error_event() {
    let (out, r) = stream(&[
        r#"{"choices":[{"delta":{"content":"Hi"}}]}"#,
        r#"{"error":{"message":"overloaded","type":"server_error"}}"#,
        r#"{"choices":[{"delta":{"content":"ignored"}}]}"#,
    ]);
    r.unwrap();
    let s = check_anthropic(&out);
    assert_eq!(
        s.error,
        Some(json!({"type": "server_error", "message": "overloaded"}))
    );
    assert!(!out.contains("ignored"));
    assert!(!out.contains("message_stop"));
}

#[test]
fn named_non_message_events_are_ignored() {
    let mut t = ChatToMessages::new(ToolNameMap::new(), None);
    let mut out = BytesMut::new();
    t.translate_event(
        "ping",
        r#"{"choices":[{"delta":{"content":"x"}}]}"#,
        &mut out,
    )
    .unwrap();
    assert!(out.is_empty());
}

#[test]
fn output_is_the_same_for_the_same_events() {
    let chunks = [
        r#"{"id":"x","choices":[{"delta":{"content":"a"}}]}"#,
        r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#,
        "[DONE]",
    ];
    assert_eq!(stream(&chunks).0, stream(&chunks).0);
}
