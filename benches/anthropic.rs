//! ai-proxy-anthropic: OpenAI chat request → Anthropic Messages at 1.2 KB,
//! 16 KB and 258 KB (the sizes LiteLLM 1.110's Anthropic transform was
//! measured at: 155 µs / 610 µs / 7.65 ms), the reverse stream translation
//! (Anthropic SSE → OpenAI chunks) in MB/s, and the APISIX direction
//! (Anthropic request → OpenAI, OpenAI chunks → Anthropic events).
//!
//! Run: `cargo bench --bench anthropic -- --warm-up-time 1 --measurement-time 3`
//!
//! Every benchmark runs twice: `wall/…` (wall clock) and `cpu/…` (this
//! thread's CPU time, `cpu-time` crate), because the bench machine is shared
//! and wall time there also counts other processes holding the core.
//! Bodies: chat-like sentences (a newline each, an escaped quote pair
//! every ~600 bytes), tool calls every fourth turn; `258KB_quote_dense`
//! has an escaped quote every ~40 bytes (the scanner's worst case).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use ai_proxy::anthropic::{
    AnthropicToOpenAi, ChatToMessages, MessagesToChat, OpenAiToAnthropic, ToolNameMap,
};
use ai_proxy::core::adapter::ConvertContext;
use ai_proxy::core::translate::ResponseTranslator;
use ai_proxy::core::{Provider, RequestType};
use bytes::BytesMut;

mod common;

use common::{CpuTime, REQUEST_BODIES, clock, convert_request, openai_request, prose};
use criterion::measurement::{Measurement, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

/// The same conversation as an Anthropic request (for the APISIX direction).
fn anthropic_request(target: usize) -> Vec<u8> {
    let mut messages = Vec::new();
    let mut turn = 0;
    let mut size = 450;
    loop {
        if size >= target {
            let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "system": prose(1, 200),
                "stream": true, "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
                "messages": messages});
            return serde_json::to_vec(&body).unwrap();
        }
        let chunk = (target - size).clamp(40, 900);
        match turn % 3 {
            0 => messages.push(json!({"role": "user", "content": [{"type": "text", "text": prose(turn, chunk)}]})),
            1 => messages.push(json!({"role": "assistant", "content": [{"type": "text", "text": prose(turn, chunk / 2)},
                {"type": "tool_use", "id": format!("toolu_{turn}"), "name": "get_weather", "input": {"city": "Paris"}}]})),
            _ => messages.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": format!("toolu_{}", turn - 1), "content": prose(turn, chunk / 2)}]})),
        }
        size += messages.last().unwrap().to_string().len() + 1;
        turn += 1;
    }
}

/// An Anthropic SSE stream as decoded events: thinking, text, a tool call.
fn anthropic_stream() -> Vec<(String, String)> {
    let mut ev = vec![("message_start".to_owned(), json!({"type": "message_start", "message": {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 377, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 120, "output_tokens": 1}}}).to_string())];
    ev.push(("content_block_start".into(), json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}).to_string()));
    for i in 0..200 {
        ev.push(("content_block_delta".into(), json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": prose(i, 40)}}).to_string()));
    }
    ev.push((
        "content_block_stop".into(),
        json!({"type": "content_block_stop", "index": 0}).to_string(),
    ));
    ev.push(("content_block_start".into(), json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}).to_string()));
    for i in 0..800 {
        ev.push(("content_block_delta".into(), json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": prose(i, 24)}}).to_string()));
        if i % 100 == 0 {
            ev.push(("ping".into(), json!({"type": "ping"}).to_string()));
        }
    }
    ev.push((
        "content_block_stop".into(),
        json!({"type": "content_block_stop", "index": 1}).to_string(),
    ));
    ev.push(("content_block_start".into(), json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {}}}).to_string()));
    for part in ["{\"ci", "ty\": \"P", "aris\"}"] {
        ev.push(("content_block_delta".into(), json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": part}}).to_string()));
    }
    ev.push((
        "content_block_stop".into(),
        json!({"type": "content_block_stop", "index": 2}).to_string(),
    ));
    ev.push(("message_delta".into(), json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 1065}}).to_string()));
    ev.push((
        "message_stop".into(),
        json!({"type": "message_stop"}).to_string(),
    ));
    ev
}

/// An OpenAI chunk stream as decoded events.
fn openai_stream() -> Vec<(String, String)> {
    let head = |delta: serde_json::Value, finish: serde_json::Value| {
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
            "system_fingerprint": "fp", "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}], "usage": null}).to_string()
    };
    let mut ev = vec![(
        "message".to_owned(),
        head(json!({"role": "assistant", "content": ""}), json!(null)),
    )];
    for i in 0..1000 {
        ev.push((
            "message".into(),
            head(json!({"content": prose(i, 24)}), json!(null)),
        ));
    }
    ev.push(("message".into(), head(json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}), json!(null))));
    ev.push(("message".into(), head(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":\"Paris\"}"}}]}), json!(null))));
    ev.push(("message".into(), head(json!({}), json!("tool_calls"))));
    ev.push(("message".into(), json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 53, "completion_tokens": 1015, "total_tokens": 1068, "prompt_tokens_details": {"cached_tokens": 0}}}).to_string()));
    ev.push(("message".into(), "[DONE]".into()));
    ev
}

fn requests<M: Measurement>(c: &mut Criterion<M>) {
    let clock = clock::<M>();
    let ctx = ConvertContext::new(
        Provider::Anthropic,
        None,
        Some("claude-sonnet-4-5"),
        RequestType::AiStream,
    );
    let mut g = c.benchmark_group(format!("{clock}/openai_to_anthropic_request"));
    for (label, size, text) in REQUEST_BODIES {
        let body = openai_request(size, text);
        eprintln!(
            "openai request {label}: {} bytes, {} quotes",
            body.len(),
            body.iter().filter(|b| **b == b'"').count()
        );
        g.throughput(Throughput::Bytes(body.len() as u64));
        convert_request(&mut g, label, &OpenAiToAnthropic::new(), &body, &ctx);
    }
    g.finish();
}

/// The APISIX direction (no LiteLLM reference; CPU time only).
fn apisix_requests<M: Measurement>(c: &mut Criterion<M>) {
    let clock = clock::<M>();
    let ctx = ConvertContext::new(
        Provider::OpenAi,
        None,
        Some("claude-sonnet-4-5"),
        RequestType::AiStream,
    );
    let mut g = c.benchmark_group(format!("{clock}/anthropic_to_openai_request"));
    for (label, size) in [("1.2KB", 1_200), ("16KB", 16_000), ("258KB", 258_000)] {
        let body = anthropic_request(size);
        g.throughput(Throughput::Bytes(body.len() as u64));
        convert_request(&mut g, label, &AnthropicToOpenAi, &body, &ctx);
    }
    g.finish();
}

fn feed(t: &mut dyn ResponseTranslator, events: &[(String, String)], out: &mut BytesMut) {
    out.clear();
    for (k, d) in events {
        t.translate_event(k, d, out).unwrap();
    }
    t.finish(out).unwrap();
}

fn streams<M: Measurement>(c: &mut Criterion<M>) {
    let clock = clock::<M>();
    let mut g = c.benchmark_group(format!("{clock}/stream_translation"));
    let events = anthropic_stream();
    let bytes: usize = events.iter().map(|(k, d)| k.len() + d.len() + 16).sum();
    g.throughput(Throughput::Bytes(bytes as u64));
    let mut out = BytesMut::with_capacity(1 << 20);
    g.bench_function("anthropic_sse_to_openai_chunks", |b| {
        b.iter(|| {
            let mut t = MessagesToChat::new();
            feed(&mut t, black_box(&events), &mut out);
            out.len()
        })
    });
    let events = openai_stream();
    let bytes: usize = events.iter().map(|(_, d)| d.len() + 8).sum();
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("openai_chunks_to_anthropic_sse", |b| {
        b.iter(|| {
            let mut t = ChatToMessages::new(ToolNameMap::new(), None);
            feed(&mut t, black_box(&events), &mut out);
            out.len()
        })
    });
    g.finish();
}

criterion_group!(wall, requests);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(CpuTime(WallTime));
    targets = requests, apisix_requests, streams
}
criterion_main!(wall, cpu);
