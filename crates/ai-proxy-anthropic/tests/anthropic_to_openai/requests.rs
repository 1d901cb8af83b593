//! Requests: missing and invalid messages, and the field mapping (§9, §10.14).

use super::*;

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

/// Converting `body` with the bytes `bad` in place of `{bad}` fails with
/// the UTF-8 error naming their first byte.
fn expect_utf8_error_at(body: &str, bad: &[u8]) {
    let at = body.find("{bad}").unwrap();
    let mut bytes = body.as_bytes()[..at].to_vec();
    bytes.extend_from_slice(bad);
    bytes.extend_from_slice(&body.as_bytes()[at + "{bad}".len()..]);
    let message = convert_bytes(&bytes).unwrap_err().message;
    assert_eq!(
        message,
        format!(
            "request body must be a JSON object in Anthropic Messages format: invalid UTF-8 at byte {at}"
        ),
        "{body}"
    );
}

#[test]
fn invalid_utf8_in_a_message_text_names_its_byte() {
    expect_utf8_error_at(
        r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"caf{bad}é"}]}]}"#,
        b"\xe9",
    );
    expect_utf8_error_at(
        r#"{"model":"m","messages":[{"role":"user","content":"a lone continuation {bad} byte"}]}"#,
        b"\x80",
    );
}

#[test]
fn invalid_utf8_in_a_key_names_its_byte() {
    expect_utf8_error_at(
        r#"{"model":"m","messages":[{"role":"user","con{bad}tent":"hi"}]}"#,
        b"\xc3",
    );
    expect_utf8_error_at(
        r#"{"mo{bad}del":"m","messages":[{"role":"user","content":"hi"}]}"#,
        b"\xff",
    );
}

#[test]
fn invalid_utf8_outside_strings_is_named_before_the_syntax_error() {
    // Between tokens: bad JSON too, but UTF-8 is judged first.
    expect_utf8_error_at(
        r#"{"model":"m",{bad}"messages":[{"role":"user","content":"hi"}]}"#,
        b"\xf0\x9f",
    );
    // A syntax error before the invalid byte does not hide it.
    expect_utf8_error_at(
        r#"{"model":m,"messages":[{"role":"user","content":"hi {bad}"}]}"#,
        b"\xfe",
    );
    // Nor does a request APISIX refuses (an invalid message first).
    expect_utf8_error_at(
        r#"{"messages":[5,{"role":"user","content":"hi {bad}"}]}"#,
        b"\xfe",
    );
}

#[test]
fn a_multibyte_sequence_cut_by_the_end_of_the_body_is_named_where_it_starts() {
    for cut in [&b"\xe2\x9c"[..], b"\xf0\x9f\x9a", b"\xc3"] {
        let mut body = br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#.to_vec();
        let at = body.len();
        body.extend_from_slice(cut);
        let message = convert_bytes(&body).unwrap_err().message;
        assert!(
            message.ends_with(&format!("invalid UTF-8 at byte {at}")),
            "{message}"
        );
    }
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
