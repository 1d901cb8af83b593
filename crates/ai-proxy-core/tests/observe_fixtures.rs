//! Provider fixtures written for this crate from each provider's
//! documented wire format (`tests/fixtures/sse/`, `tests/fixtures/responses/`):
//! OpenAI, Azure, DeepSeek, OpenRouter (`: OPENROUTER PROCESSING`
//! comments), Anthropic, Gemini and Vertex, streaming and not. Each stream
//! is fed whole and in several chunkings, with and without text.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::time::{Duration, Instant};

use ai_proxy_core::context::RequestContext;
use ai_proxy_core::exchange::Exchange;
use ai_proxy_core::{Metrics, Protocol};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};

#[derive(Default)]
struct Want {
    model: Option<&'static str>,
    /// (prompt, completion, total)
    tokens: Option<(u64, u64, u64)>,
    /// (cache read, cache creation, reasoning)
    extra: (u64, u64, u64),
    events: u64,
    done: bool,
    text: &'static str,
    tools: bool,
    errors: u64,
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/").to_owned() + path)
        .unwrap()
}

fn observe(body: &[u8], protocol: Protocol, streaming: bool, text: bool, chunk: usize) -> Metrics {
    let start = Instant::now();
    let mut ctx = RequestContext::new(protocol, protocol, start);
    ctx.logging.payloads = text;
    let mut exchange = Exchange::new(ctx, None);
    let mut headers = HeaderMap::new();
    let content_type = if streaming {
        "text/event-stream; charset=utf-8"
    } else {
        "application/json"
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let _ = exchange.on_head(StatusCode::OK, &headers, start).unwrap();
    let body = Bytes::copy_from_slice(body);
    for at in (0..body.len()).step_by(chunk) {
        let piece = body.slice(at..(at + chunk).min(body.len()));
        let out = exchange
            .on_body(piece.clone(), start + Duration::from_millis(3))
            .unwrap();
        assert_eq!(out, piece);
    }
    let _ = exchange.on_eof(start + Duration::from_millis(9)).unwrap();
    exchange.finish(start + Duration::from_millis(9))
}

fn check(path: &str, protocol: Protocol, want: Want) {
    let body = fixture(path);
    let streaming = path.starts_with("sse/");
    for chunk in [body.len(), 1, 2, 5, 64] {
        for text in [true, false] {
            let m = observe(&body, protocol, streaming, text, chunk);
            let usage = m.usage.unwrap_or_default();
            let at = format!("{path} (chunk {chunk}, text {text})");
            assert_eq!(m.llm_model.as_deref(), want.model, "{at}: model");
            assert_eq!(
                m.usage
                    .map(|u| (u.prompt_tokens, u.completion_tokens, u.total_tokens)),
                want.tokens,
                "{at}: tokens"
            );
            assert_eq!(
                (
                    usage.cache_read_input_tokens,
                    usage.cache_creation_input_tokens,
                    usage.reasoning_tokens
                ),
                want.extra,
                "{at}: cache/reasoning"
            );
            if streaming {
                assert_eq!(m.events, want.events, "{at}: events");
            }
            assert_eq!(m.done, want.done, "{at}: done");
            assert_eq!(m.has_tool_calls, want.tools, "{at}: tool calls");
            assert_eq!(m.error_events, want.errors, "{at}: errors");
            assert_eq!(m.malformed_events, 0, "{at}: malformed");
            let expected_text = text.then_some(want.text);
            assert_eq!(m.response_text.as_deref(), expected_text, "{at}: text");
        }
    }
}

#[test]
fn openai_chat_stream_with_include_usage() {
    check(
        "sse/openai-chat-include-usage.sse",
        Protocol::OpenAiChat,
        Want {
            model: Some("gpt-4o-2024-08-06"),
            tokens: Some((19, 5, 24)),
            extra: (6, 0, 0),
            events: 9,
            done: true,
            text: "The sky is blue.",
            ..Want::default()
        },
    );
}

#[test]
fn openai_chat_stream_tool_calls_without_usage() {
    check(
        "sse/openai-chat-tool-calls.sse",
        Protocol::OpenAiChat,
        Want {
            model: Some("gpt-4o-2024-08-06"),
            events: 6,
            done: true,
            tools: true,
            ..Want::default()
        },
    );
}

#[test]
fn openai_chat_stream_error_chunk_is_counted() {
    check(
        "sse/openai-chat-midstream-error.sse",
        Protocol::OpenAiChat,
        Want {
            model: Some("gpt-4o-2024-08-06"),
            events: 3,
            text: "Hello",
            errors: 1,
            ..Want::default()
        },
    );
}

#[test]
fn azure_stream_with_prompt_filter_chunk() {
    check(
        "sse/azure-openai-chat.sse",
        Protocol::OpenAiChat,
        Want {
            model: Some("gpt-4o-2024-05-13"),
            tokens: Some((12, 3, 15)),
            events: 7,
            done: true,
            text: "Hello there",
            ..Want::default()
        },
    );
}

#[test]
fn deepseek_stream_cache_hit_tokens() {
    check(
        "sse/deepseek-chat-cache-hit.sse",
        Protocol::OpenAiChat,
        Want {
            model: Some("deepseek-chat"),
            tokens: Some((64, 2, 66)),
            extra: (64, 0, 0),
            events: 5,
            done: true,
            text: "Hi!",
            ..Want::default()
        },
    );
}

#[test]
fn deepseek_reasoner_stream_reasoning_tokens() {
    check(
        "sse/deepseek-reasoner.sse",
        Protocol::OpenAiChat,
        Want {
            model: Some("deepseek-reasoner"),
            tokens: Some((10, 12, 22)),
            extra: (0, 0, 9),
            events: 6,
            done: true,
            text: "4",
            ..Want::default()
        },
    );
}

#[test]
fn openrouter_stream_processing_comments_are_not_events() {
    check(
        "sse/openrouter-chat-processing-comments.sse",
        Protocol::OpenAiChat,
        Want {
            model: Some("openai/gpt-4o-mini"),
            tokens: Some((14, 4, 18)),
            events: 5,
            done: true,
            text: "Bonjour le monde",
            ..Want::default()
        },
    );
}

#[test]
fn anthropic_stream_merges_start_and_delta_usage() {
    check(
        "sse/anthropic-messages-cache.sse",
        Protocol::AnthropicMessages,
        Want {
            model: Some("claude-sonnet-4-20250514"),
            tokens: Some((25, 15, 40)),
            extra: (2000, 100, 0),
            events: 8,
            done: true,
            text: "Hello!",
            ..Want::default()
        },
    );
}

#[test]
fn anthropic_stream_tool_use_and_thinking() {
    check(
        "sse/anthropic-messages-tool-use.sse",
        Protocol::AnthropicMessages,
        Want {
            model: Some("claude-opus-4-1-20250805"),
            tokens: Some((472, 89, 561)),
            events: 13,
            done: true,
            text: "Checking.",
            tools: true,
            ..Want::default()
        },
    );
}

#[test]
fn anthropic_stream_error_event_is_counted_not_the_end() {
    check(
        "sse/anthropic-messages-overloaded-error.sse",
        Protocol::AnthropicMessages,
        Want {
            model: Some("claude-sonnet-4-20250514"),
            tokens: Some((12, 1, 13)),
            events: 2,
            done: false,
            errors: 1,
            ..Want::default()
        },
    );
}

#[test]
fn gemini_stream_usage_every_chunk_with_thoughts() {
    check(
        "sse/gemini-stream.sse",
        Protocol::Gemini,
        Want {
            model: Some("gemini-2.5-flash"),
            tokens: Some((8, 36, 44)),
            extra: (0, 0, 32),
            events: 3,
            done: true,
            text: "Rayleigh scattering.",
            ..Want::default()
        },
    );
}

#[test]
fn vertex_stream_crlf_function_call() {
    check(
        "sse/vertex-gemini-stream-crlf.sse",
        Protocol::Gemini,
        Want {
            model: Some("gemini-2.0-flash-001"),
            tokens: Some((30, 12, 42)),
            extra: (16, 0, 0),
            events: 2,
            done: true,
            text: "Let me look that up.",
            tools: true,
            ..Want::default()
        },
    );
}

#[test]
fn openai_responses_stream_completed() {
    check(
        "sse/openai-responses.sse",
        Protocol::OpenAiResponses,
        Want {
            model: Some("gpt-4.1-2025-04-14"),
            tokens: Some((37, 11, 48)),
            events: 8,
            done: true,
            text: "Hi there!",
            ..Want::default()
        },
    );
}

#[test]
fn openai_chat_body() {
    check(
        "responses/openai-chat.json",
        Protocol::OpenAiChat,
        Want {
            model: Some("gpt-4.1-2025-04-14"),
            tokens: Some((19, 10, 29)),
            done: true,
            text: "Hello! How can I assist you today?",
            ..Want::default()
        },
    );
}

#[test]
fn azure_chat_body() {
    check(
        "responses/azure-openai-chat.json",
        Protocol::OpenAiChat,
        Want {
            model: Some("gpt-4o-2024-05-13"),
            tokens: Some((13, 5, 18)),
            done: true,
            text: "Azure says hi.",
            ..Want::default()
        },
    );
}

#[test]
fn deepseek_bodies_read_cache_from_either_field() {
    check(
        "responses/deepseek-chat.json",
        Protocol::OpenAiChat,
        Want {
            model: Some("deepseek-chat"),
            tokens: Some((11, 2, 13)),
            done: true,
            text: "Hello!",
            ..Want::default()
        },
    );
    check(
        "responses/deepseek-chat-cache-hit.json",
        Protocol::OpenAiChat,
        Want {
            model: Some("deepseek-chat"),
            tokens: Some((80, 3, 83)),
            extra: (64, 0, 0),
            done: true,
            text: "Cached.",
            ..Want::default()
        },
    );
}

#[test]
fn openrouter_body_joins_choices_with_a_space() {
    check(
        "responses/openrouter-chat.json",
        Protocol::OpenAiChat,
        Want {
            model: Some("anthropic/claude-3.5-sonnet"),
            tokens: Some((20, 8, 28)),
            done: true,
            text: "Two answers: yes and no",
            ..Want::default()
        },
    );
}

#[test]
fn anthropic_body_with_cache_and_tool_use() {
    check(
        "responses/anthropic-messages.json",
        Protocol::AnthropicMessages,
        Want {
            model: Some("claude-sonnet-4-20250514"),
            tokens: Some((2095, 503, 2598)),
            extra: (512, 1024, 0),
            done: true,
            text: "Hi! My name is Claude.",
            tools: true,
            ..Want::default()
        },
    );
}

#[test]
fn gemini_body_skips_thought_parts() {
    check(
        "responses/gemini-generatecontent.json",
        Protocol::Gemini,
        Want {
            model: Some("gemini-2.5-flash"),
            tokens: Some((9, 31, 40)),
            extra: (0, 0, 24),
            done: true,
            text: "Paris is the capital of France.",
            ..Want::default()
        },
    );
}

#[test]
fn vertex_generatecontent_body() {
    check(
        "responses/vertex-gemini-generatecontent.json",
        Protocol::Gemini,
        Want {
            model: Some("gemini-2.0-flash-001"),
            tokens: Some((5, 2, 7)),
            done: true,
            text: "Berlin.",
            ..Want::default()
        },
    );
}

#[test]
fn openai_responses_body() {
    check(
        "responses/openai-responses.json",
        Protocol::OpenAiResponses,
        Want {
            model: Some("gpt-4.1-2025-04-14"),
            tokens: Some((36, 87, 123)),
            extra: (10, 0, 64),
            done: true,
            text: "Hi there!",
            tools: true,
            ..Want::default()
        },
    );
}

#[test]
fn embeddings_bodies() {
    check(
        "responses/openai-embeddings.json",
        Protocol::OpenAiEmbeddings,
        Want {
            model: Some("text-embedding-3-small"),
            tokens: Some((8, 0, 8)),
            done: true,
            ..Want::default()
        },
    );
    check(
        "responses/vertex-predict-embeddings.json",
        Protocol::VertexPredict,
        Want {
            tokens: Some((10, 0, 10)),
            done: true,
            ..Want::default()
        },
    );
}
