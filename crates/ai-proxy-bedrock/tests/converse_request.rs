//! OpenAI chat → Bedrock Converse request conversion, field by field, and
//! its properties on arbitrary input.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ai_proxy_bedrock::OpenAiToConverse;
use ai_proxy_core::adapter::{ConvertContext, Converter};
use ai_proxy_core::{Provider, RequestType};
use proptest::prelude::*;
use serde_json::{Value, json};

fn convert(body: &Value) -> Result<Value, String> {
    let ctx = ConvertContext::new(Provider::Bedrock, Some("m"), None, RequestType::AiChat);
    OpenAiToConverse
        .convert_request(body.to_string().as_bytes(), &ctx)
        .map(|c| serde_json::from_slice(&c.body).unwrap())
        .map_err(|e| e.to_string())
}

#[test]
fn tool_round_trips_become_tool_use_and_tool_result_blocks() {
    let out = convert(&json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18°C"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "21°C"}]},
            {"role": "user", "content": "Thanks!"}
        ]
    }))
    .unwrap();
    assert_eq!(
        out["messages"],
        json!([
            {"role": "user", "content": [{"text": "Weather in Paris and Rome?"}]},
            {"role": "assistant", "content": [
                {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}},
                {"toolUse": {"toolUseId": "call_2", "name": "get_weather", "input": {"city": "Rome"}}}
            ]},
            // Tool results and the next user turn share one user message.
            {"role": "user", "content": [
                {"toolResult": {"toolUseId": "call_1", "content": [{"text": "18°C"}]}},
                {"toolResult": {"toolUseId": "call_2", "content": [{"text": "21°C"}]}},
                {"text": "Thanks!"}
            ]}
        ])
    );
}

#[test]
fn tools_and_tool_choice_become_tool_config() {
    let tools = json!([{"type": "function", "function": {"name": "f", "description": "does f",
        "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}}},
        {"type": "function", "function": {"name": "g"}}]);
    for (choice, expected) in [
        (json!("auto"), Some(json!({"auto": {}}))),
        (json!("required"), Some(json!({"any": {}}))),
        (
            json!({"type": "function", "function": {"name": "g"}}),
            Some(json!({"tool": {"name": "g"}})),
        ),
        (json!("none"), None),
        (Value::Null, None),
    ] {
        let out = convert(&json!({"messages": [{"role": "user", "content": "x"}], "tools": tools, "tool_choice": choice})).unwrap();
        let config = &out["toolConfig"];
        assert_eq!(
            config["tools"],
            json!([
                {"toolSpec": {"name": "f", "description": "does f", "inputSchema": {"json":
                    {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}}}},
                {"toolSpec": {"name": "g", "inputSchema": {"json": {"type": "object", "properties": {}}}}}
            ])
        );
        assert_eq!(config.get("toolChoice"), expected.as_ref(), "{choice}");
    }
}

#[test]
fn inference_settings_move_into_inference_config() {
    let out = convert(&json!({"messages": [{"role": "user", "content": "x"}],
        "max_tokens": 10, "max_completion_tokens": 20, "temperature": 0.3, "top_p": 0.9, "stop": "END",
        "stream_options": {"include_usage": true}, "n": 1, "user": "u1", "top_k": 5})).unwrap();
    assert_eq!(
        out["inferenceConfig"],
        json!({"maxTokens": 20, "temperature": 0.3, "topP": 0.9, "stopSequences": ["END"]})
    );
    assert_eq!(
        out.as_object().unwrap().len(),
        2,
        "other OpenAI fields are dropped: {out}"
    );
    let out = convert(&json!({"messages": [{"role": "user", "content": "x"}], "stop": ["a", "b"]}))
        .unwrap();
    assert_eq!(out["inferenceConfig"]["stopSequences"], json!(["a", "b"]));
}

#[test]
fn system_and_developer_messages_become_system_blocks_with_cache_points() {
    let out = convert(&json!({"messages": [
        {"role": "system", "content": [{"type": "text", "text": "Long shared prompt", "cache_control": {"type": "ephemeral"}}]},
        {"role": "developer", "content": "Answer in French."},
        {"role": "user", "content": "hi"}
    ]})).unwrap();
    assert_eq!(
        out["system"],
        json!([{"text": "Long shared prompt"}, {"cachePoint": {"type": "default"}}, {"text": "Answer in French."}])
    );
}

#[test]
fn images_and_documents_become_byte_sources() {
    let out = convert(&json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg=="}},
        {"type": "file", "file": {"filename": "Q3 report.pdf", "file_data": "data:application/pdf;base64,JVBERi0xLjQ="}}
    ]}]})).unwrap();
    assert_eq!(
        out["messages"][0]["content"],
        json!([
            {"text": "What is this?"},
            {"image": {"format": "jpeg", "source": {"bytes": "/9j/4AAQSkZJRg=="}}},
            {"document": {"format": "pdf", "name": "Q3 report", "source": {"bytes": "JVBERi0xLjQ="}}}
        ])
    );
}

#[test]
fn assistant_text_and_consecutive_turns_merge() {
    let out = convert(&json!({"messages": [
        {"role": "user", "content": "a"},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": "c"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "d \"quoted\" \n é"}]}
    ]})).unwrap();
    assert_eq!(
        out["messages"],
        json!([
            {"role": "user", "content": [{"text": "a"}, {"text": "b"}]},
            {"role": "assistant", "content": [{"text": "c"}]},
            {"role": "user", "content": [{"text": "d \"quoted\" \n é"}]}
        ])
    );
}

#[test]
fn unmappable_requests_are_refused_with_the_reason() {
    for (body, fragment) in [
        (json!({"messages": []}), "missing messages"),
        (json!({"model": "m"}), "missing messages"),
        (json!({"messages": "hello"}), "messages must be an array"),
        (
            json!({"messages": [{"role": "system", "content": "only a system prompt"}]}),
            "missing messages",
        ),
        (
            json!({"messages": [{"role": "critic", "content": "x"}]}),
            "role `critic` is not supported",
        ),
        (
            json!({"messages": [{"content": "x"}]}),
            "messages[0].role must be a string",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}),
            "does not fetch URLs",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/bmp;base64,AA=="}}]}]}),
            "image type `image/bmp`",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]}),
            "`input_audio` has no Converse equivalent",
        ),
        (
            json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "[1]"}}]}]}),
            "must be a JSON object",
        ),
        (
            json!({"messages": [{"role": "tool", "content": "x"}]}),
            "has no tool_call_id",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "code_interpreter"}]}),
            "only function tools",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "tools": {}}),
            "tools must be an array",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "sometimes"}),
            "tool_choice `sometimes`",
        ),
    ] {
        let err = convert(&body).unwrap_err();
        assert!(err.contains(fragment), "{body}: {err}");
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        "\\PC{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("user"),
            Just("assistant"),
            Just("tool"),
            Just("system"),
            Just("text"),
            Just("image_url"),
            Just("function")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just("messages"),
                        Just("role"),
                        Just("content"),
                        Just("tool_calls"),
                        Just("tool_call_id"),
                        Just("function"),
                        Just("name"),
                        Just("arguments"),
                        Just("type"),
                        Just("text"),
                        Just("tools"),
                        Just("tool_choice"),
                        Just("image_url"),
                        Just("url"),
                        Just("stop"),
                        Just("max_tokens"),
                        Just("id"),
                    ]
                    .prop_map(str::to_owned),
                    inner,
                ),
                0..5
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn text_message() -> impl Strategy<Value = (String, String)> {
    (prop_oneof![Just("user"), Just("assistant")], "\\PC{1,30}")
        .prop_map(|(r, t)| (r.to_owned(), t))
}

proptest! {
    #[test]
    fn any_json_converts_or_is_refused_without_panic(body in json_value()) {
        if let Ok(out) = convert(&body) {
            prop_assert!(out["messages"].is_array());
        }
    }

    #[test]
    fn any_bytes_convert_or_are_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let ctx = ConvertContext::new(Provider::Bedrock, None, None, RequestType::AiChat);
        if let Ok(c) = OpenAiToConverse.convert_request(&bytes, &ctx) {
            prop_assert!(serde_json::from_slice::<Value>(&c.body).is_ok());
        }
    }

    #[test]
    fn text_conversations_keep_every_text_in_order_with_alternating_roles(
        messages in proptest::collection::vec(text_message(), 1..12),
    ) {
        let body = json!({"messages": messages.iter().map(|(r, t)| json!({"role": r, "content": t})).collect::<Vec<_>>()});
        let out = convert(&body).unwrap();
        let mut texts = Vec::new();
        let mut last_role = None;
        for m in out["messages"].as_array().unwrap() {
            let role = m["role"].as_str().unwrap();
            prop_assert_ne!(Some(role), last_role);
            last_role = Some(role);
            for block in m["content"].as_array().unwrap() {
                texts.push((role.to_owned(), block["text"].as_str().unwrap().to_owned()));
            }
        }
        prop_assert_eq!(texts, messages);
    }
}
