//! Non-streaming responses.

use super::*;

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
