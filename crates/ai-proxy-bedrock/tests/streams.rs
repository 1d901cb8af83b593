//! ConverseStream and InvokeModelWithResponseStream shapes the recordings
//! lack — tool calls, exceptions, errors, corruption — encoded with the
//! crate's encoder and run through the core exchange.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use ai_proxy_bedrock::eventstream::{EventStreamError, encode_event, encode_exception};
use ai_proxy_bedrock::{ConverseToChat, EVENT_STREAM_CONTENT_TYPE};
use ai_proxy_core::Protocol;
use ai_proxy_core::exchange::ExchangeError;
use base64::Engine;
use common::{context, read_chat_stream, run, run_until_error};
use http::StatusCode;
use serde_json::{Value, json};

fn stream(events: &[(&str, Value)]) -> Vec<u8> {
    let mut wire = Vec::new();
    for (kind, payload) in events {
        encode_event(&mut wire, kind, payload.to_string().as_bytes()).unwrap();
    }
    wire
}

fn translator() -> Option<Box<dyn ai_proxy_core::translate::ResponseTranslator>> {
    Some(Box::new(ConverseToChat::new(Some(
        "anthropic.claude-sonnet-4",
    ))))
}

fn tool_call_stream() -> Vec<u8> {
    stream(&[
        ("messageStart", json!({"role": "assistant"})),
        (
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "Checking the weather in Paris ü."}}),
        ),
        ("contentBlockStop", json!({"contentBlockIndex": 0})),
        (
            "contentBlockStart",
            json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_a", "name": "get_weather"}}}),
        ),
        (
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"city\": \"Pa"}}}),
        ),
        (
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "ris\"}"}}}),
        ),
        ("contentBlockStop", json!({"contentBlockIndex": 1})),
        (
            "contentBlockStart",
            json!({"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "tooluse_b", "name": "get_time"}}}),
        ),
        (
            "contentBlockDelta",
            json!({"contentBlockIndex": 2, "delta": {"toolUse": {"input": "{}"}}}),
        ),
        ("contentBlockStop", json!({"contentBlockIndex": 2})),
        ("messageStop", json!({"stopReason": "tool_use"})),
        (
            "metadata",
            json!({"usage": {"inputTokens": 400, "outputTokens": 60, "totalTokens": 1460, "cacheReadInputTokens": 1000, "cacheWriteInputTokens": 0}, "metrics": {"latencyMs": 900}}),
        ),
    ])
}

#[test]
fn tool_use_blocks_stream_as_openai_tool_calls() {
    let wire = tool_call_stream();
    let ctx = context(Protocol::OpenAiChat, Protocol::BedrockConverse, false);
    let r = run(
        ctx,
        translator(),
        StatusCode::OK,
        EVENT_STREAM_CONTENT_TYPE,
        &wire,
        &[33, 400],
    );
    let s = read_chat_stream(&r.out);
    assert_eq!(s.content, "Checking the weather in Paris ü.");
    assert_eq!(
        s.tools,
        [
            (
                "tooluse_a".to_owned(),
                "get_weather".to_owned(),
                r#"{"city": "Paris"}"#.to_owned()
            ),
            (
                "tooluse_b".to_owned(),
                "get_time".to_owned(),
                "{}".to_owned()
            ),
        ]
    );
    assert_eq!(s.finish, ["tool_calls"]);
    let u = s.usage.unwrap();
    assert_eq!(u["prompt_tokens"], 1400);
    assert_eq!(u["completion_tokens"], 60);
    assert_eq!(u["prompt_tokens_details"]["cached_tokens"], 1000);
    assert!(s.done);
    assert!(r.metrics.has_tool_calls);
    let usage = r.metrics.usage.unwrap();
    assert_eq!(
        (usage.prompt_tokens, usage.cache_read_input_tokens),
        (400, 1000)
    );
}

#[test]
fn passthrough_tool_streams_mark_tool_calls() {
    let wire = tool_call_stream();
    let ctx = context(Protocol::BedrockConverse, Protocol::BedrockConverse, false);
    let r = run(
        ctx,
        None,
        StatusCode::OK,
        EVENT_STREAM_CONTENT_TYPE,
        &wire,
        &[],
    );
    assert_eq!(r.out, wire);
    assert!(r.metrics.has_tool_calls);
    assert_eq!(r.metrics.var("llm_has_tool_calls").as_deref(), Some("true"));
}

#[test]
fn a_throttling_exception_before_output_is_a_429_with_openai_error_json() {
    let mut wire = Vec::new();
    encode_exception(
        &mut wire,
        "throttlingException",
        br#"{"message":"Too many requests, please wait before trying again."}"#,
    )
    .unwrap();
    let ctx = context(Protocol::OpenAiChat, Protocol::BedrockConverse, false);
    let (out, error, metrics) = run_until_error(
        ctx,
        translator(),
        StatusCode::OK,
        EVENT_STREAM_CONTENT_TYPE,
        &wire,
    );
    assert!(out.is_empty());
    let error = error.unwrap();
    assert_eq!(error.status(), 429);
    assert!(!error.truncated());
    assert_eq!(error.content_type(), "application/json");
    let body: Value = serde_json::from_str(&error.client_body()).unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert_eq!(body["error"]["code"], "throttlingException");
    assert_eq!(
        body["error"]["message"],
        "Too many requests, please wait before trying again."
    );
    assert_eq!(metrics.error_events, 1);
}

#[test]
fn an_exception_after_output_ends_the_stream_with_an_error_chunk() {
    let mut wire = stream(&[
        ("messageStart", json!({"role": "assistant"})),
        (
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "Hel"}}),
        ),
    ]);
    encode_exception(
        &mut wire,
        "modelStreamErrorException",
        br#"{"message":"model crashed","originalStatusCode":500}"#,
    )
    .unwrap();
    let ctx = context(Protocol::OpenAiChat, Protocol::BedrockConverse, false);
    let r = run(
        ctx,
        translator(),
        StatusCode::OK,
        EVENT_STREAM_CONTENT_TYPE,
        &wire,
        &[],
    );
    let s = read_chat_stream(&r.out);
    assert_eq!(s.content, "Hel");
    assert_eq!(s.errors.len(), 1);
    assert_eq!(s.errors[0]["error"]["code"], "modelStreamErrorException");
    assert!(!s.done, "no [DONE] after an error");
    assert_eq!(r.metrics.error_events, 1);
    assert_eq!(r.metrics.upstream_error.as_deref(), Some("model crashed"));
}

#[test]
fn passthrough_exceptions_are_counted_and_end_the_stream() {
    let mut wire = stream(&[("messageStart", json!({"role": "assistant"}))]);
    encode_exception(
        &mut wire,
        "serviceUnavailableException",
        br#"{"message":"try later"}"#,
    )
    .unwrap();
    let ctx = context(Protocol::BedrockConverse, Protocol::BedrockConverse, false);
    let r = run(
        ctx,
        None,
        StatusCode::OK,
        EVENT_STREAM_CONTENT_TYPE,
        &wire,
        &[],
    );
    assert_eq!(r.out, wire);
    assert_eq!(r.metrics.error_events, 1);
    assert!(r.metrics.done);
}

#[test]
fn bedrock_error_bodies_become_openai_errors_with_their_status() {
    for (status, body, kind) in [
        (
            429,
            r#"{"message":"Too many requests, please wait before trying again."}"#,
            "rate_limit_error",
        ),
        (
            400,
            r#"{"message":"The provided model identifier is invalid."}"#,
            "invalid_request_error",
        ),
        (
            503,
            r#"{"message":"Bedrock is unable to process your request."}"#,
            "api_error",
        ),
        (
            403,
            r#"{"Message":"User is not authorized"}"#,
            "permission_error",
        ),
    ] {
        let ctx = context(Protocol::OpenAiChat, Protocol::BedrockConverse, false);
        let status = StatusCode::from_u16(status).unwrap();
        let r = run(
            ctx,
            translator(),
            status,
            "application/json",
            body.as_bytes(),
            &[],
        );
        assert_eq!(r.status, status);
        assert_eq!(r.content_type.as_ref().unwrap(), "application/json");
        let e: Value = serde_json::from_slice(&r.out).unwrap();
        assert_eq!(e["error"]["type"], kind, "{status}");
        let message: Value = serde_json::from_str(body).unwrap();
        let message = message.as_object().unwrap().values().next().unwrap();
        assert_eq!(&e["error"]["message"], message);
    }
}

#[test]
fn a_corrupt_stream_is_a_typed_502_when_translating() {
    let mut wire = tool_call_stream();
    let at = wire.len() / 2;
    wire[at] ^= 0x40;
    let ctx = context(Protocol::OpenAiChat, Protocol::BedrockConverse, false);
    let (_, error, _) = run_until_error(
        ctx,
        translator(),
        StatusCode::OK,
        EVENT_STREAM_CONTENT_TYPE,
        &wire,
    );
    let Some(ExchangeError::Framing { source, .. }) = &error else {
        panic!("expected a framing error, got {error:?}");
    };
    assert!(matches!(
        source.downcast_ref::<EventStreamError>(),
        Some(EventStreamError::MessageChecksum { .. } | EventStreamError::PreludeChecksum { .. })
    ));
    assert_eq!(error.unwrap().status(), 502);
}

#[test]
fn a_corrupt_passthrough_stream_still_flows_but_stops_being_metered() {
    let mut wire = tool_call_stream();
    let at = wire.len() - 10;
    wire[at] ^= 1;
    let ctx = context(Protocol::BedrockConverse, Protocol::BedrockConverse, false);
    let (out, error, metrics) =
        run_until_error(ctx, None, StatusCode::OK, EVENT_STREAM_CONTENT_TYPE, &wire);
    assert!(error.is_none());
    assert_eq!(out, wire);
    assert!(metrics.usage.is_none(), "the corrupt metadata is not read");
}

fn invoke_chunk(wire: &mut Vec<u8>, event: &Value) {
    let b64 = base64::engine::general_purpose::STANDARD.encode(event.to_string());
    encode_event(wire, "chunk", json!({"bytes": b64}).to_string().as_bytes()).unwrap();
}

#[test]
fn invoke_streams_are_metered_from_anthropic_events_and_invocation_metrics() {
    let mut wire = Vec::new();
    for event in [
        json!({"type": "message_start", "message": {"id": "msg_bdrk_1", "model": "claude-haiku-4-5-20251001", "usage": {"input_tokens": 21, "output_tokens": 1, "cache_read_input_tokens": 7}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Bonjour"}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " 👋"}}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}),
        json!({"type": "message_stop", "amazon-bedrock-invocationMetrics": {"inputTokenCount": 21, "outputTokenCount": 5, "invocationLatency": 431, "firstByteLatency": 301, "cacheReadInputTokenCount": 7, "cacheWriteInputTokenCount": 0}}),
    ] {
        invoke_chunk(&mut wire, &event);
    }
    let ctx = context(Protocol::BedrockInvoke, Protocol::BedrockInvoke, true);
    let r = run(
        ctx,
        None,
        StatusCode::OK,
        EVENT_STREAM_CONTENT_TYPE,
        &wire,
        &[5, 90, 300],
    );
    assert_eq!(r.out, wire);
    let u = r.metrics.usage.unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.total_tokens),
        (21, 5, 26)
    );
    assert_eq!(u.cache_read_input_tokens, 7);
    assert_eq!(r.metrics.response_text.as_deref(), Some("Bonjour 👋"));
    assert_eq!(
        r.metrics.response_model.as_deref(),
        Some("claude-haiku-4-5-20251001")
    );
    assert!(r.metrics.done);
}

#[test]
fn invoke_chunks_that_are_not_base64_json_stop_metering() {
    let mut wire = Vec::new();
    encode_event(&mut wire, "chunk", br#"{"bytes":"!!not base64!!"}"#).unwrap();
    let ctx = context(Protocol::BedrockInvoke, Protocol::BedrockInvoke, false);
    let (out, error, metrics) =
        run_until_error(ctx, None, StatusCode::OK, EVENT_STREAM_CONTENT_TYPE, &wire);
    assert!(error.is_none());
    assert_eq!(out, wire);
    assert!(metrics.usage.is_none());
}
