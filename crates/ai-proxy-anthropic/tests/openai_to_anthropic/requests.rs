//! Requests.

use super::*;

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
