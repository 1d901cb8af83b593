//! ai-proxy-bedrock: OpenAI chat request → Bedrock Converse at 1.2 KB,
//! 16 KB and 258 KB, next to two references in the same group —
//! `serde_validate` (serde_json skipping the same body: the least any
//! converter that validates its input costs) and `openai_to_anthropic`
//! (the sibling converter over the same body); and AWS event-stream
//! decoding of a long ConverseStream (tool call, reasoning, 2,000 text
//! deltas) in MB/s, next to `crc32_only` (the two checksums every byte
//! needs: the decoder's floor) and the same stream through the exchange
//! (passthrough metering, and translation to OpenAI chunks).
//!
//! Run: `cargo bench --bench bedrock -- --warm-up-time 1 --measurement-time 3`
//! (`wall/…` and `cpu/…`: thread CPU time, as the bench machine is shared).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::hint::black_box;
use std::time::Instant;

use ai_proxy::bedrock::eventstream::{EventStreamDecoder, encode_event};
use ai_proxy::bedrock::{Bedrock, ConverseToChat, EVENT_STREAM_CONTENT_TYPE, OpenAiToConverse};
use ai_proxy::core::adapter::{Adapter, ConvertContext};
use ai_proxy::core::context::RequestContext;
use ai_proxy::core::exchange::Exchange;
use ai_proxy::core::{Protocol, Provider, RequestType};
use bytes::Bytes;
use common::{CpuTime, clock, convert_request, openai_request, openai_to_anthropic, prose, relay};
use criterion::measurement::{Measurement, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

fn requests<M: Measurement>(c: &mut Criterion<M>) {
    let ctx = ConvertContext::new(
        Provider::Bedrock,
        Some("anthropic.claude-sonnet-4-20250514-v1:0"),
        None,
        RequestType::AiStream,
    );
    let mut g = c.benchmark_group(format!("{}/converse_request", clock::<M>()));
    for (label, size) in [("1.2KB", 1_200), ("16KB", 16_000), ("258KB", 258_000)] {
        let body = openai_request(size, prose);
        g.throughput(Throughput::Bytes(body.len() as u64));
        let id = format!("openai_to_converse/{label}");
        convert_request(&mut g, id, &OpenAiToConverse, &body, &ctx);
        openai_to_anthropic(&mut g, label, &body, &ctx);
        g.bench_function(format!("serde_validate/{label}"), |b| {
            b.iter(|| serde_json::from_slice::<serde::de::IgnoredAny>(black_box(&body)).is_ok())
        });
    }
    g.finish();
}

/// A long ConverseStream: reasoning, 2,000 text deltas, a tool call, usage.
fn converse_stream() -> Vec<u8> {
    let mut wire = Vec::new();
    let mut event = |kind: &str, payload: serde_json::Value| {
        encode_event(&mut wire, kind, payload.to_string().as_bytes()).unwrap();
    };
    event("messageStart", json!({"role": "assistant"}));
    for i in 0..200 {
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": prose(i, 40)}}, "p": "abcdefghijklmnop"}),
        );
    }
    event("contentBlockStop", json!({"contentBlockIndex": 0}));
    for i in 0..2000 {
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"text": prose(i, 24)}, "p": "abcdefghijklmnopqrstuvwxyz"}),
        );
    }
    event("contentBlockStop", json!({"contentBlockIndex": 1}));
    event(
        "contentBlockStart",
        json!({"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather"}}}),
    );
    for part in ["{\"ci", "ty\": \"P", "aris\"}"] {
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 2, "delta": {"toolUse": {"input": part}}}),
        );
    }
    event("contentBlockStop", json!({"contentBlockIndex": 2}));
    event("messageStop", json!({"stopReason": "tool_use"}));
    event(
        "metadata",
        json!({"usage": {"inputTokens": 1200, "outputTokens": 2300, "totalTokens": 3500, "cacheReadInputTokens": 800}, "metrics": {"latencyMs": 4000}}),
    );
    wire
}

/// The stream cut as a network would deliver it (16 KiB reads).
fn chunks(wire: &[u8]) -> Vec<Bytes> {
    wire.chunks(16 * 1024).map(Bytes::copy_from_slice).collect()
}

fn through_exchange(chunks: &[Bytes], translate: bool) -> u64 {
    let start = Instant::now();
    let (client, translator): (
        _,
        Option<Box<dyn ai_proxy::core::translate::ResponseTranslator>>,
    ) = if translate {
        (
            Protocol::OpenAiChat,
            Some(Box::new(ConverseToChat::new(Some("m")))),
        )
    } else {
        (Protocol::BedrockConverse, None)
    };
    let mut ctx = RequestContext::new(client, Protocol::BedrockConverse, start);
    ctx.framing = Bedrock.stream_framing(Protocol::BedrockConverse);
    let mut exchange = Exchange::new(ctx, translator);
    let sent = relay(&mut exchange, EVENT_STREAM_CONTENT_TYPE, chunks, start) as u64;
    let metrics = exchange.finish(start);
    assert_eq!(metrics.usage.unwrap().completion_tokens, 2300);
    sent
}

fn streams<M: Measurement>(c: &mut Criterion<M>) {
    let wire = converse_stream();
    let pieces = chunks(&wire);
    eprintln!(
        "converse stream: {} bytes, {} chunks",
        wire.len(),
        pieces.len()
    );
    let mut g = c.benchmark_group(format!("{}/eventstream", clock::<M>()));
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("decode", |b| {
        b.iter(|| {
            let mut decoder = EventStreamDecoder::new();
            let mut payload = 0;
            for chunk in &pieces {
                decoder.feed(chunk.clone());
                while let Some(m) = decoder.next_message().unwrap() {
                    payload += m.payload().len();
                }
            }
            decoder.finish().unwrap();
            payload
        })
    });
    g.bench_function("crc32_only", |b| {
        b.iter(|| crc32fast::hash(black_box(&wire)) ^ crc32fast::hash(black_box(&wire[..12])))
    });
    g.bench_function("exchange_passthrough_metering", |b| {
        b.iter(|| through_exchange(black_box(&pieces), false))
    });
    g.bench_function("exchange_translate_to_openai", |b| {
        b.iter(|| through_exchange(black_box(&pieces), true))
    });
    g.finish();
}

criterion_group!(wall, requests, streams);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(CpuTime(WallTime));
    targets = requests, streams
}
criterion_main!(wall, cpu);
