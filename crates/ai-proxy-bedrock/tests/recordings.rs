//! The real Bedrock recordings in `../shared/fixtures/wire/` through the
//! core exchange with the adapter's framing: passthrough (bytes unchanged,
//! usage, text metered) and translated for an OpenAI client (chunks,
//! completion), every chunking giving the same result. Expectations are
//! the recordings' own numbers and text, read independently with
//! `serde_json::Value`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use ai_proxy_bedrock::{ConverseToChat, EVENT_STREAM_CONTENT_TYPE};
use ai_proxy_core::metrics::Metrics;
use ai_proxy_core::{Protocol, Usage};
use common::{Run, context, read_chat_stream, recording, run};
use http::StatusCode;
use proptest::prelude::*;
use serde_json::Value;

const NOVA: &str = "sse/bedrock-converse-stream-nova-micro.eventstream";
const CLAUDE: &str = "sse/bedrock-converse-stream-claude-sonnet4-reasoning.eventstream";
const NOVA_TEXT: &str = "The capital of France is Paris. Paris is not only the capital city but also the most populous city in France, and it is a major center for culture, commerce, fashion, and international diplomacy. Known for its historical landmarks, such as the Eiffel Tower, the Louvre Museum, and Notre-Dame Cathedral, Paris is often referred to as \"The City of Light\" or \"The City of Love.\"";
const CLAUDE_TEXT: &str = "Hello! It's nice to meet you. How can I help you today?";
const CLAUDE_REASONING: &str = "The user has greeted me with a simple \"Hello\". I should respond in a friendly and welcoming manner. This is a straightforward greeting, so I'll respond warmly and ask how I can help them today.";

fn usage(m: &Metrics) -> (u64, u64, u64) {
    let u: Usage = m.usage.unwrap();
    (u.prompt_tokens, u.completion_tokens, u.total_tokens)
}

/// The recording's own `metadata.usage`, via `Value`.
fn recorded_usage(wire: &[u8]) -> (u64, u64, u64) {
    let messages = common::decode_chunked(wire, &[]).unwrap();
    let meta: Value = serde_json::from_slice(&messages.last().unwrap().2).unwrap();
    let u = &meta["usage"];
    (
        u["inputTokens"].as_u64().unwrap(),
        u["outputTokens"].as_u64().unwrap(),
        u["totalTokens"].as_u64().unwrap(),
    )
}

#[test]
fn passthrough_converse_streams_are_forwarded_and_metered() {
    for (name, text) in [(NOVA, NOVA_TEXT), (CLAUDE, CLAUDE_TEXT)] {
        let Some(wire) = recording(name) else { return };
        let ctx = context(Protocol::BedrockConverse, Protocol::BedrockConverse, true);
        let r = run(
            ctx,
            None,
            StatusCode::OK,
            EVENT_STREAM_CONTENT_TYPE,
            &wire,
            &[100, 2000],
        );
        assert_eq!(r.out, wire, "{name}: bytes pass unchanged");
        assert!(r.content_type.is_none());
        assert_eq!(usage(&r.metrics), recorded_usage(&wire), "{name}");
        assert_eq!(r.metrics.response_text.as_deref(), Some(text), "{name}");
        assert!(r.metrics.done && r.metrics.stream);
        assert_eq!(
            r.metrics.var("llm_model").as_deref(),
            Some("amazon.nova-micro-v1:0")
        );
    }
}

#[test]
fn the_fast_path_meters_the_same_usage_without_text() {
    let Some(wire) = recording(NOVA) else { return };
    let ctx = context(Protocol::BedrockConverse, Protocol::BedrockConverse, false);
    let r = run(
        ctx,
        None,
        StatusCode::OK,
        EVENT_STREAM_CONTENT_TYPE,
        &wire,
        &[7],
    );
    assert_eq!(usage(&r.metrics), (13, 82, 95));
    assert!(r.metrics.response_text.is_none());
    assert_eq!(r.metrics.events, 33);
    assert!(r.metrics.time_to_first_content.is_some());
}

fn translated(wire: &[u8], splits: &[usize]) -> Run {
    let ctx = context(Protocol::OpenAiChat, Protocol::BedrockConverse, false);
    let t = Box::new(ConverseToChat::new(Some("amazon.nova-micro-v1:0")));
    run(
        ctx,
        Some(t),
        StatusCode::OK,
        EVENT_STREAM_CONTENT_TYPE,
        wire,
        splits,
    )
}

#[test]
fn converse_streams_become_openai_chunks() {
    for (name, text, reasoning) in [
        (NOVA, NOVA_TEXT, ""),
        (CLAUDE, CLAUDE_TEXT, CLAUDE_REASONING),
    ] {
        let Some(wire) = recording(name) else { return };
        let r = translated(&wire, &[]);
        assert_eq!(r.content_type.as_ref().unwrap(), "text/event-stream");
        let s = read_chat_stream(&r.out);
        assert_eq!(s.content, text, "{name}");
        assert_eq!(s.reasoning, reasoning, "{name}");
        assert_eq!(s.finish, ["stop"]);
        assert!(s.done);
        let (input, output, total) = recorded_usage(&wire);
        let u = s.usage.unwrap();
        assert_eq!(
            (
                u["prompt_tokens"].as_u64(),
                u["completion_tokens"].as_u64(),
                u["total_tokens"].as_u64()
            ),
            (Some(input), Some(output), Some(total))
        );
        // The gateway meters the upstream protocol.
        assert_eq!(usage(&r.metrics), (input, output, total));
    }
}

#[test]
fn converse_bodies_are_metered_and_translated() {
    let Some(body) = recording("responses/bedrock-converse-nova.json") else {
        return;
    };
    let recorded: Value = serde_json::from_slice(&body).unwrap();
    let text = recorded["output"]["message"]["content"][0]["text"]
        .as_str()
        .unwrap();
    let ctx = context(Protocol::BedrockConverse, Protocol::BedrockConverse, true);
    let r = run(ctx, None, StatusCode::OK, "application/json", &body, &[]);
    assert_eq!(r.out, body);
    assert_eq!(usage(&r.metrics), (7, 30, 37));
    assert_eq!(r.metrics.response_text.as_deref(), Some(text));
    assert!(r.metrics.done);

    let ctx = context(Protocol::OpenAiChat, Protocol::BedrockConverse, false);
    let t = Box::new(ConverseToChat::new(Some("amazon.nova-micro-v1:0")));
    let r = run(
        ctx,
        Some(t),
        StatusCode::OK,
        "application/json",
        &body,
        &[50],
    );
    let c: Value = serde_json::from_slice(&r.out).unwrap();
    assert_eq!(c["object"], "chat.completion");
    assert_eq!(c["model"], "amazon.nova-micro-v1:0");
    assert_eq!(c["choices"][0]["message"]["content"], text);
    assert_eq!(c["choices"][0]["finish_reason"], "stop");
    assert_eq!(c["usage"]["prompt_tokens"], 7);
    assert_eq!(c["usage"]["completion_tokens"], 30);
    assert_eq!(c["usage"]["total_tokens"], 37);
}

#[test]
fn anthropic_invoke_bodies_are_metered_with_cache_tokens() {
    let Some(body) = recording("responses/bedrock-anthropic-invoke-message-cache.json") else {
        return;
    };
    let ctx = context(Protocol::BedrockInvoke, Protocol::BedrockInvoke, true);
    let r = run(ctx, None, StatusCode::OK, "application/json", &body, &[]);
    assert_eq!(r.out, body);
    let u = r.metrics.usage.unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens), (3, 44));
    assert_eq!(
        (u.cache_read_input_tokens, u.cache_creation_input_tokens),
        (9511, 1956)
    );
    assert_eq!(
        r.metrics.response_model.as_deref(),
        Some("claude-haiku-4-5-20251001")
    );
    assert!(
        r.metrics
            .response_text
            .as_deref()
            .unwrap()
            .starts_with("Python evolved")
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_chunking_meters_and_translates_the_same(
        splits in proptest::collection::vec(any::<usize>(), 0..24),
    ) {
        for name in [NOVA, CLAUDE] {
            let Some(wire) = recording(name) else { return Ok(()) };
            let ctx = context(Protocol::BedrockConverse, Protocol::BedrockConverse, true);
            let whole = run(ctx, None, StatusCode::OK, EVENT_STREAM_CONTENT_TYPE, &wire, &[]);
            let ctx = context(Protocol::BedrockConverse, Protocol::BedrockConverse, true);
            let split = run(ctx, None, StatusCode::OK, EVENT_STREAM_CONTENT_TYPE, &wire, &splits);
            prop_assert_eq!(&split.out, &wire);
            prop_assert_eq!(split.metrics.usage, whole.metrics.usage);
            prop_assert_eq!(&split.metrics.response_text, &whole.metrics.response_text);
            prop_assert_eq!(translated(&wire, &splits).out, translated(&wire, &[]).out);
        }
    }
}
