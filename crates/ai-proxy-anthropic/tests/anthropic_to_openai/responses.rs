//! Non-streaming responses (§10.14/16).

use super::*;

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
