//! OpenAI chat client → Anthropic native Messages API: requests, headers,
//! responses, streams and the native adapter.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use ai_proxy_anthropic::{
    ANTHROPIC_VERSION, AnthropicNative, DEFAULT_MAX_TOKENS, MessagesToChat, OpenAiToAnthropic,
};
use ai_proxy_core::adapter::{
    Adapter, ConvertContext, ConvertError, Converter, DefaultEndpoint, EndpointContext,
    MaxTokensMapping, Registry,
};
use ai_proxy_core::translate::{ResponseTranslator, TranslateError};
use ai_proxy_core::{Protocol, Provider, RequestType};
use bytes::BytesMut;
use common::{check_openai, run};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

fn ctx() -> ConvertContext<'static> {
    ConvertContext::new(Provider::Anthropic, None, None, RequestType::AiChat)
}

fn convert(body: Value) -> Value {
    let out = OpenAiToAnthropic::new()
        .convert_request(body.to_string().as_bytes(), &ctx())
        .unwrap();
    serde_json::from_slice(&out.body).unwrap()
}

fn convert_err(body: Value) -> ConvertError {
    OpenAiToAnthropic::new()
        .convert_request(body.to_string().as_bytes(), &ctx())
        .unwrap_err()
}

fn respond(upstream: Value) -> Value {
    let mut out = BytesMut::new();
    MessagesToChat::new()
        .translate_body(StatusCode::OK, upstream.to_string().as_bytes(), &mut out)
        .unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn stream(events: &[(&str, Value)]) -> (String, Result<(), TranslateError>) {
    let events: Vec<_> = events
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.to_string()))
        .collect();
    run(&mut MessagesToChat::new(), &events)
}

// ---- requests --------------------------------------------------------------------

#[test]
fn minimal_request_gets_the_default_max_tokens() {
    let out = convert(
        json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(
        out,
        json!({"model": "claude-sonnet-4-5", "max_tokens": DEFAULT_MAX_TOKENS,
            "messages": [{"role": "user", "content": "hi"}]})
    );
    let body = br#"{"messages":[{"role":"user","content":"hi"}]}"#;
    let out = OpenAiToAnthropic::with_default_max_tokens(77)
        .convert_request(body, &ctx())
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&out.body).unwrap()["max_tokens"],
        77
    );
}

#[test]
fn max_completion_tokens_wins_over_max_tokens() {
    let out = convert(
        json!({"max_tokens": 10, "max_completion_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(out["max_tokens"], 20);
    let out = convert(json!({"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}));
    assert_eq!(out["max_tokens"], 10);
}

#[test]
fn parameters_map_and_unknown_fields_are_dropped() {
    let out = convert(json!({
        "model": "m", "stop": "END", "temperature": 0.2, "top_p": 0.9, "top_k": 5, "stream": true,
        "user": "u-1", "n": 1, "presence_penalty": 0.1, "stream_options": {"include_usage": true},
        "response_format": {"type": "text"}, "seed": 3,
        "messages": [{"role": "user", "content": "hi"}]
    }));
    assert_eq!(
        out,
        json!({"model": "m", "max_tokens": DEFAULT_MAX_TOKENS,
            "messages": [{"role": "user", "content": "hi"}], "stop_sequences": ["END"],
            "temperature": 0.2, "top_p": 0.9, "top_k": 5, "stream": true,
            "metadata": {"user_id": "u-1"}})
    );
    let out = convert(json!({"stop": ["a", "b"], "messages": [{"role": "user", "content": "hi"}]}));
    assert_eq!(out["stop_sequences"], json!(["a", "b"]));
}

#[test]
fn system_and_developer_messages_are_hoisted() {
    let out = convert(json!({"messages": [
        {"role": "system", "content": "A"},
        {"role": "user", "content": "hi"},
        {"role": "developer", "content": [{"type": "text", "text": "B"}, {"type": "text", "text": "C"}]}
    ]}));
    assert_eq!(
        out["system"],
        json!([{"type": "text", "text": "A"}, {"type": "text", "text": "B"}, {"type": "text", "text": "C"}])
    );
    assert_eq!(out["messages"], json!([{"role": "user", "content": "hi"}]));
}

#[test]
fn content_parts_become_blocks() {
    let out = convert(json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,QUJD", "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,UERG", "filename": "a.pdf"}}
    ]}]}));
    assert_eq!(
        out["messages"][0]["content"],
        json!([
            {"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}},
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "QUJD"}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "UERG"}}
        ])
    );
}

#[test]
fn escaped_data_urls_are_decoded() {
    let body = r#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image\/png;base64,AB\/C"}}]}]}"#;
    let out = OpenAiToAnthropic::new()
        .convert_request(body.as_bytes(), &ctx())
        .unwrap();
    let v: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(
        v["messages"][0]["content"][0]["source"],
        json!({"type": "base64", "media_type": "image/png", "data": "AB/C"})
    );
}

#[test]
fn assistant_tool_calls_and_tool_results_round_trip() {
    let out = convert(json!({"messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
            {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}}
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "noon"}]},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_3", "type": "function", "function": {"name": "now", "arguments": "{}"}}
        ]},
        {"role": "tool", "tool_call_id": "call_3", "content": "1pm"},
        {"role": "user", "content": "thanks"}
    ]}));
    assert_eq!(
        out["messages"],
        json!([
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "now", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "noon"}]}
            ]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "call_3", "name": "now", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_3", "content": "1pm"}]},
            {"role": "user", "content": "thanks"}
        ])
    );
}

#[test]
fn empty_assistant_turns_are_left_out() {
    let out = convert(json!({"messages": [
        {"role": "user", "content": "a"}, {"role": "assistant", "content": ""},
        {"role": "assistant", "content": null}, {"role": "user", "content": "b"}
    ]}));
    assert_eq!(out["messages"].as_array().unwrap().len(), 2);
}

#[test]
fn tools_and_tool_choice_map() {
    let base = || {
        json!({
            "tools": [
                {"type": "function", "function": {"name": "f", "description": "F", "parameters": {"type": "object", "properties": {"a": {}}}}},
                {"type": "function", "function": {"name": "g"}}
            ],
            "messages": [{"role": "user", "content": "hi"}]
        })
    };
    let out = convert(base());
    assert_eq!(
        out["tools"],
        json!([
            {"name": "f", "description": "F", "input_schema": {"type": "object", "properties": {"a": {}}}},
            {"name": "g", "input_schema": {"type": "object", "properties": {}}}
        ])
    );
    assert!(out.get("tool_choice").is_none());
    for (choice, parallel, expected) in [
        (json!("auto"), None, json!({"type": "auto"})),
        (json!("required"), None, json!({"type": "any"})),
        (json!("none"), None, json!({"type": "none"})),
        (
            json!({"type": "function", "function": {"name": "f"}}),
            None,
            json!({"type": "tool", "name": "f"}),
        ),
        (
            json!("required"),
            Some(false),
            json!({"type": "any", "disable_parallel_tool_use": true}),
        ),
        (
            Value::Null,
            Some(false),
            json!({"type": "auto", "disable_parallel_tool_use": true}),
        ),
    ] {
        let mut body = base();
        if !choice.is_null() {
            body["tool_choice"] = choice;
        }
        if let Some(p) = parallel {
            body["parallel_tool_calls"] = json!(p);
        }
        assert_eq!(convert(body)["tool_choice"], expected);
    }
    let out =
        convert(json!({"tool_choice": "auto", "messages": [{"role": "user", "content": "hi"}]}));
    assert!(out.get("tool_choice").is_none(), "no tools, no tool_choice");
}

#[test]
fn unmappable_requests_are_400s_that_name_the_field() {
    assert_eq!(
        convert_err(json!({"model": "m"})).message,
        "missing messages"
    );
    assert_eq!(
        convert_err(json!({"messages": []})).message,
        "missing messages"
    );
    for (body, needle) in [
        (
            json!({"messages": [{"role": "function", "content": "x"}]}),
            "messages[0]: role `function`",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]}),
            "content part type `input_audio`",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}]}]}),
            "file_id",
        ),
        (
            json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "[1]"}}]}]}),
            "must be a JSON object",
        ),
        (
            json!({"messages": [{"role": "tool", "content": "x"}]}),
            "tool_call_id",
        ),
        (
            json!({"tools": [{"type": "custom", "custom": {}}], "messages": [{"role": "user", "content": "x"}]}),
            "only function tools",
        ),
        (json!({"messages": "hi"}), "invalid OpenAI chat request"),
    ] {
        let e = convert_err(body);
        assert!(e.message.contains(needle), "{} lacks {needle}", e.message);
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    }
}

#[test]
fn unicode_and_escapes_survive() {
    let body = r#"{"messages":[{"role":"user","content":"caf\u00e9 \"q\" \n 😀"}]}"#;
    let out = OpenAiToAnthropic::new()
        .convert_request(body.as_bytes(), &ctx())
        .unwrap();
    let v: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(v["messages"][0]["content"], "café \"q\" \n 😀");
}

/// A conversation in which every message kind appears, twice over: the
/// compact layout SDKs write, and spaced out (read by the general reader).
fn every_message_kind() -> Value {
    json!({"model": "gpt-4o", "messages": [
        {"role": "system", "content": "Be brief.\n"},
        {"role": "user", "content": "weather in \"São Paulo\"?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"São Paulo\"}"}},
            {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": " {} "}}
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny\t✓"},
        {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_3", "type": "function", "function": {"name": "now", "arguments": "{}"}}
        ]},
        {"role": "tool", "tool_call_id": "call_3", "content": "1pm"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_4", "type": "function", "function": {"name": "now", "arguments": "{}"}}
        ]},
        {"role": "assistant", "content": null},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": ""},
        {"role": "system", "content": "Answer in French."},
        {"role": "assistant", "content": "Il fait beau."}
    ], "max_tokens": 64})
}

#[test]
fn compact_and_spaced_messages_convert_byte_for_byte_alike() {
    let body = every_message_kind();
    let compact = OpenAiToAnthropic::new()
        .convert_request(&serde_json::to_vec(&body).unwrap(), &ctx())
        .unwrap();
    let spaced = OpenAiToAnthropic::new()
        .convert_request(&serde_json::to_vec_pretty(&body).unwrap(), &ctx())
        .unwrap();
    assert_eq!(compact.body, spaced.body);
    assert_eq!(compact.layout, spaced.layout);
    let out: Value = serde_json::from_slice(&compact.body).unwrap();
    assert_eq!(out["system"][1]["text"], "Answer in French.");
    assert_eq!(out["messages"][1]["content"][2]["input"], json!({}));
}

#[test]
fn a_tool_call_that_cannot_be_sent_is_named_even_after_sendable_ones() {
    let e = convert_err(json!({"messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "now", "arguments": "{}"}},
            {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": "[1]"}}
        ]}
    ]}));
    assert!(
        e.message
            .contains("messages[1].tool_calls[1]: function.arguments must be a JSON object"),
        "{}",
        e.message
    );
}

#[test]
fn the_head_leads_the_body_when_it_is_longer_than_foreseen() {
    // `model` after the messages, longer than the room kept for it, and a
    // system message after the turns: the turns move once.
    let model = "m".repeat(300);
    let body = format!(
        r#"{{"messages":[{{"role":"user","content":"hi"}},{{"role":"system","content":"late"}}],"model":"{model}"}}"#
    );
    let out = OpenAiToAnthropic::new()
        .convert_request(body.as_bytes(), &ctx())
        .unwrap();
    assert_eq!(
        std::str::from_utf8(&out.body).unwrap(),
        format!(
            r#"{{"model":"{model}","max_tokens":4096,"system":"late","messages":[{{"role":"user","content":"hi"}}]}}"#
        )
    );
    let layout = out.layout.unwrap();
    let (key, range) = &layout.members[3];
    assert_eq!(*key, "messages");
    assert_eq!(
        &out.body[range.clone()],
        br#"[{"role":"user","content":"hi"}]"#
    );
}

// ---- headers and adapter ------------------------------------------------------------

#[test]
fn anthropic_version_is_added_unless_sent() {
    let mut h = HeaderMap::new();
    OpenAiToAnthropic::new().convert_headers(&mut h);
    assert_eq!(h["anthropic-version"], ANTHROPIC_VERSION);
    let mut h = HeaderMap::new();
    h.insert("anthropic-version", HeaderValue::from_static("2024-01-01"));
    OpenAiToAnthropic::new().convert_headers(&mut h);
    assert_eq!(h["anthropic-version"], "2024-01-01");
    assert_eq!(h.len(), 1);
}

#[test]
fn native_adapter_speaks_only_messages_at_api_anthropic_com() {
    let a = AnthropicNative;
    assert_eq!(a.provider(), Provider::Anthropic);
    assert_eq!(a.capabilities(), &[Protocol::AnthropicMessages]);
    let ctx = EndpointContext::new(None, Some("claude"), RequestType::AiChat);
    assert_eq!(
        a.default_endpoint(Protocol::AnthropicMessages, &ctx),
        DefaultEndpoint::new("api.anthropic.com", "/v1/messages")
    );
    assert_eq!(
        a.max_tokens_mapping(Protocol::AnthropicMessages),
        MaxTokensMapping::Set {
            field: "max_tokens",
            remove: &[]
        }
    );
    let registry = Registry::new()
        .with_adapter(Arc::new(AnthropicNative))
        .with_converter(Arc::new(OpenAiToAnthropic::new()));
    assert_eq!(
        registry
            .delivery(&a, Protocol::OpenAiChat)
            .unwrap()
            .target_protocol(),
        Protocol::AnthropicMessages
    );
    assert_eq!(
        registry
            .delivery(&a, Protocol::AnthropicMessages)
            .unwrap()
            .target_protocol(),
        Protocol::AnthropicMessages
    );
    assert!(registry.delivery(&a, Protocol::OpenAiEmbeddings).is_none());
}

// ---- non-streaming responses --------------------------------------------------------

#[test]
fn message_becomes_a_chat_completion() {
    let c = respond(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "text", "text": "Hello"}, {"type": "text", "text": " there"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1, 2]}}
        ],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 20, "output_tokens": 7, "cache_read_input_tokens": 10, "cache_creation_input_tokens": 5}
    }));
    assert_eq!(
        c,
        json!({"id": "msg_1", "object": "chat.completion", "created": 0, "model": "claude-x",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there",
                "reasoning_content": "hmm",
                "tool_calls": [{"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":[1,2]}"}}]},
                "logprobs": null, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 35, "completion_tokens": 7, "total_tokens": 42,
                "prompt_tokens_details": {"cached_tokens": 10, "cache_creation_input_tokens": 5}}})
    );
}

#[test]
fn stop_reasons_map_to_finish_reasons() {
    for (stop, finish) in [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("model_context_window_exceeded", "length"),
    ] {
        let c = respond(json!({"type": "message", "content": [], "stop_reason": stop}));
        assert_eq!(c["choices"][0]["finish_reason"], finish);
        assert_eq!(c["choices"][0]["message"]["content"], Value::Null);
    }
}

#[test]
fn anthropic_errors_become_openai_errors() {
    let e = respond(
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    );
    assert_eq!(
        e,
        json!({"error": {"message": "Overloaded", "type": "overloaded_error", "param": null, "code": null}})
    );
}

#[test]
fn non_message_bodies_are_malformed() {
    let mut out = BytesMut::new();
    let mut t = MessagesToChat::new();
    assert!(matches!(
        t.translate_body(StatusCode::OK, b"[]", &mut out),
        Err(TranslateError::Malformed(_))
    ));
    assert!(matches!(
        t.translate_body(StatusCode::OK, br#"{"type":"other"}"#, &mut out),
        Err(TranslateError::Malformed(_))
    ));
}

// ---- streams ---------------------------------------------------------------------------

fn basic_stream() -> Vec<(&'static str, Value)> {
    vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "content": [], "usage": {"input_tokens": 10, "cache_read_input_tokens": 3, "cache_creation_input_tokens": 2, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hmm"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "s"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hello"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 1}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"a\":"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "1}"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 2}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 9}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]
}

#[test]
fn stream_becomes_chunks_with_usage_and_done() {
    let (out, r) = stream(&basic_stream());
    r.unwrap();
    let s = check_openai(&out);
    assert_eq!(s.content, "Hello");
    assert_eq!(s.reasoning, "hmm");
    assert_eq!(
        s.tools,
        [("toolu_1".to_owned(), "f".to_owned(), "{\"a\":1}".to_owned())]
    );
    assert_eq!(s.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(
        s.usage,
        Some(
            json!({"prompt_tokens": 15, "completion_tokens": 9, "total_tokens": 24,
            "prompt_tokens_details": {"cached_tokens": 3, "cache_creation_input_tokens": 2}})
        )
    );
    assert!(out.ends_with("data: [DONE]\n\n"));
    let first: Value = serde_json::from_str(&common::split_sse(&out)[0].1).unwrap();
    assert_eq!(first["id"], "msg_1");
    assert_eq!(first["model"], "claude-x");
}

#[test]
fn truncated_stream_still_ends_well_formed() {
    let events = basic_stream();
    let (out, r) = stream(&events[..8]);
    r.unwrap();
    let s = check_openai(&out);
    assert_eq!(s.finish_reason.as_deref(), Some("stop"));
    assert_eq!(s.content, "Hello");
}

#[test]
fn empty_anthropic_stream_is_a_502() {
    let (out, r) = stream(&[("ping", json!({"type": "ping"}))]);
    assert!(out.is_empty());
    assert_eq!(r, Err(TranslateError::EmptyStream));
}

#[test]
fn stream_error_event_becomes_an_error_chunk() {
    let events = basic_stream();
    let mut evs = events[..8].to_vec();
    evs.push((
        "error",
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ));
    evs.push(("message_stop", json!({"type": "message_stop"})));
    let (out, r) = stream(&evs);
    r.unwrap();
    let s = check_openai(&out);
    assert_eq!(
        s.error,
        Some(
            json!({"message": "Overloaded", "type": "overloaded_error", "param": null, "code": null})
        )
    );
    assert!(!out.contains("[DONE]"));
}

#[test]
fn malformed_events_are_skipped_and_counted() {
    let mut t = MessagesToChat::new();
    let events = vec![
        ("message".to_owned(), "{not json".to_owned()),
        (
            "content_block_delta".to_owned(),
            r#"{"type":"content_block_delta","index":"x"}"#.to_owned(),
        ),
    ];
    let (_, r) = run(&mut t, &events);
    assert_eq!(r, Err(TranslateError::EmptyStream));
    assert_eq!(t.skipped_events(), 2);
}

#[test]
fn server_tool_blocks_are_not_tool_calls() {
    let (out, _) = stream(&[
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "m", "model": "c", "usage": {"input_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"q\":1}"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]);
    let s = check_openai(&out);
    assert!(s.tools.is_empty());
}
