//! Streaming (§10.15/16).

use super::*;

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
