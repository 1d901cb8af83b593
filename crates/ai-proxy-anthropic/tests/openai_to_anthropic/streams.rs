//! Streams.

use super::*;

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
