//! SSE throughput: passthrough observation (usage only, the fast path),
//! full decoding with text, and the bare decoder, against an in-bench
//! baseline (`memchr` count of `\n` over the same buffer).
//!
//! The stream is realistic OpenAI `include_usage` output: `"usage":null` in
//! every chunk, the usage object in the last one, then `[DONE]`; it is fed
//! in 64 KiB network-sized chunks. A second group runs an Anthropic
//! Messages stream of the same size (named events, text deltas, pings).
//!
//! `sse_observe_per_event` measures thread CPU per event on the stream
//! `gateway_cpu.py --stream 1000` sends (one response of 1000 chunk events,
//! then usage and `[DONE]`), in 16 KiB reads, against the same baseline.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::hint::black_box;
use std::time::Instant;

use ai_proxy::core::Protocol;
use ai_proxy::core::context::RequestContext;
use ai_proxy::core::exchange::Exchange;
use ai_proxy::core::sse::SseDecoder;
use bytes::Bytes;
use common::{CpuTime, relay};
use criterion::measurement::WallTime;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const STREAM_BYTES: usize = 64 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

fn openai_stream() -> Bytes {
    let words = [
        "Hello", " world", ",", " how", " are", " you", " today", "?",
    ];
    let mut out = Vec::with_capacity(STREAM_BYTES + 4096);
    out.extend_from_slice(b"data: {\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion.chunk\",\"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_eb9dce56a8\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n");
    let mut i = 0;
    while out.len() < STREAM_BYTES {
        let word = words[i % words.len()];
        out.extend_from_slice(b"data: {\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion.chunk\",\"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_eb9dce56a8\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"");
        out.extend_from_slice(word.as_bytes());
        out.extend_from_slice(
            b"\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
        );
        i += 1;
    }
    out.extend_from_slice(b"data: {\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion.chunk\",\"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_eb9dce56a8\",\"choices\":[],\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":1000000,\"total_tokens\":1000019,\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}}\n\ndata: [DONE]\n\n");
    Bytes::from(out)
}

/// An Anthropic Messages stream of the same size: named events, text
/// deltas and pings, usage in `message_start` and the last `message_delta`.
fn anthropic_stream() -> Bytes {
    let mut out = Vec::with_capacity(STREAM_BYTES + 4096);
    out.extend_from_slice(b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
    let mut i = 0u64;
    while out.len() < STREAM_BYTES {
        if i % 50 == 49 {
            out.extend_from_slice(b"event: ping\ndata: {\"type\": \"ping\"}\n\n");
        } else {
            out.extend_from_slice(b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" token\"}}\n\n");
        }
        i += 1;
    }
    out.extend_from_slice(b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1000000}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    Bytes::from(out)
}

/// The stream `gateway_cpu.py --stream N` answers with: `n` chunk events
/// (`"usage":null` in each), the usage event, `[DONE]`.
fn gateway_stream(n: usize) -> Bytes {
    let mut out = String::new();
    for i in 0..n {
        out.push_str(&format!("data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_1\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" token{i}\"}},\"logprobs\":null,\"finish_reason\":null}}],\"usage\":null}}\n\n"));
    }
    out.push_str(&format!("data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":{{\"prompt_tokens\":512,\"completion_tokens\":{n},\"total_tokens\":{}}}}}\n\ndata: [DONE]\n\n", 512 + n));
    Bytes::from(out)
}

fn chunks(stream: &Bytes) -> Vec<Bytes> {
    chunks_of(stream, CHUNK)
}

fn chunks_of(stream: &Bytes, size: usize) -> Vec<Bytes> {
    (0..stream.len())
        .step_by(size)
        .map(|at| stream.slice(at..(at + size).min(stream.len())))
        .collect()
}

fn observe(chunks: &[Bytes], text: bool) -> u64 {
    observe_protocol(Protocol::OpenAiChat, chunks, text)
}

fn observe_protocol(protocol: Protocol, chunks: &[Bytes], text: bool) -> u64 {
    let start = Instant::now();
    let mut ctx = RequestContext::new(protocol, protocol, start);
    ctx.logging.payloads = text;
    let mut exchange = Exchange::new(ctx, None);
    black_box(relay(&mut exchange, "text/event-stream", chunks, start));
    let metrics = exchange.finish(start);
    assert!(metrics.done);
    metrics.usage.unwrap().total_tokens
}

fn decode(chunks: &[Bytes]) -> usize {
    let mut decoder = SseDecoder::new();
    let mut events = 0;
    for chunk in chunks {
        decoder.feed(chunk.clone());
        while let Some(event) = decoder.poll_event().unwrap() {
            events += event.data_bytes().len() & 1;
        }
    }
    events
}

fn bench(c: &mut Criterion) {
    let stream = openai_stream();
    let chunks = chunks(&stream);
    assert_eq!(observe(&chunks, false), 1_000_019);
    let mut group = c.benchmark_group("sse_64MiB_openai");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("baseline_memchr_count_lf", |b| {
        b.iter(|| memchr::memchr_iter(b'\n', black_box(&stream)).count())
    });
    group.bench_function("passthrough_observe_usage", |b| {
        b.iter(|| observe(black_box(&chunks), false))
    });
    group.bench_function("full_decode_with_text", |b| {
        b.iter(|| observe(black_box(&chunks), true))
    });
    group.bench_function("decoder_only", |b| b.iter(|| decode(black_box(&chunks))));
    group.finish();

    let stream = anthropic_stream();
    let anthropic = self::chunks(&stream);
    assert_eq!(
        observe_protocol(Protocol::AnthropicMessages, &anthropic, false),
        1_000_025
    );
    let mut group = c.benchmark_group("sse_64MiB_anthropic");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("passthrough_observe_usage", |b| {
        b.iter(|| observe_protocol(Protocol::AnthropicMessages, black_box(&anthropic), false))
    });
    group.bench_function("decoder_only", |b| b.iter(|| decode(black_box(&anthropic))));
    group.finish();
}

fn per_event(c: &mut Criterion<CpuTime>) {
    const EVENTS: usize = 1000;
    let stream = gateway_stream(EVENTS);
    let chunks = chunks_of(&stream, 16 * 1024);
    assert_eq!(observe(&chunks, false), (512 + EVENTS) as u64);
    let mut group = c.benchmark_group("sse_observe_per_event");
    // Per event: the chunk events, the usage event and `[DONE]`.
    group.throughput(Throughput::Elements(EVENTS as u64 + 2));
    group.bench_function("baseline_memchr_count_lf", |b| {
        b.iter(|| memchr::memchr_iter(b'\n', black_box(&stream)).count())
    });
    group.bench_function("passthrough_observe_usage", |b| {
        b.iter(|| observe(black_box(&chunks), false))
    });
    group.bench_function("decoder_only", |b| b.iter(|| decode(black_box(&chunks))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_group! {
    name = per_event_cpu;
    config = Criterion::default().with_measurement(CpuTime(WallTime));
    targets = per_event
}
criterion_main!(benches, per_event_cpu);
