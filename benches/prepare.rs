//! Request preparation cost against an in-bench baseline that only
//! validates the client's JSON and copies it (the least any proxy that
//! looks at the body must do). Target: prepare ≤ 1.5× baseline at 1 KB,
//! 16 KB and 256 KB.
//!
//! Two baselines, because "validate" has two readings:
//! - `baseline`: full JSON validation — UTF-8 (RFC 8259 §8.1) and syntax —
//!   with `std` and `serde_json`, then a copy. `prepare` validates exactly
//!   as much (every byte it forwards is checked to be valid UTF-8 JSON), with
//!   SIMD UTF-8 validation and its own grammar scanner.
//! - `baseline_syntax`: serde_json's `IgnoredAny` only (it skips string
//!   contents without checking UTF-8), then a copy; a lower bound.
//!
//! The request is an OpenAI chat request setting model, temperature,
//! max_tokens and stream; the config overrides model and temperature and
//! maps `llm_options.max_tokens`, so the body really is rewritten
//! (model replaced, max_tokens → max_completion_tokens,
//! stream_options.include_usage added).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use ai_proxy::AiProxy;
use ai_proxy::config::AiProxyConfig;
use bytes::Bytes;
use common::client_request;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const CONFIG: &str = r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer sk-bench"}},
    "options":{"model":"gpt-4o","temperature":0.2},
    "override":{"llm_options":{"max_tokens":512}}}"#;

/// A chat body of about `size` bytes: many short conversational turns,
/// with escapes and non-ASCII text as real prompts have.
fn chat_body(size: usize) -> Bytes {
    let mut messages = String::new();
    let turn = r#"{"role":"user","content":"Explain the \"borrow checker\" in Rust, briefly — with an example:\n fn main() { let s = String::new(); }"},{"role":"assistant","content":"Ownership rules: each value has one owner; borrows are checked at compile time. Ünïcödé ✓"}"#;
    while messages.len() + turn.len() < size.saturating_sub(120) {
        if !messages.is_empty() {
            messages.push(',');
        }
        messages.push_str(turn);
    }
    Bytes::from(format!(
        r#"{{"model":"gpt-4o-mini","temperature":0.7,"max_tokens":1024,"stream":true,"messages":[{messages}]}}"#
    ))
}

fn baseline(body: &Bytes) -> Bytes {
    let text = std::str::from_utf8(body).unwrap();
    serde_json::from_str::<serde::de::IgnoredAny>(text).unwrap();
    Bytes::copy_from_slice(body)
}

fn baseline_syntax(body: &Bytes) -> Bytes {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).unwrap();
    Bytes::copy_from_slice(body)
}

fn bench(c: &mut Criterion) {
    let proxy = AiProxy::compile(
        &AiProxyConfig::from_json(CONFIG).unwrap(),
        &ai_proxy::registry(),
    )
    .unwrap();
    let now = Instant::now();
    let mut group = c.benchmark_group("prepare");
    for (label, size) in [("1KB", 1 << 10), ("16KB", 16 << 10), ("256KB", 256 << 10)] {
        let body = chat_body(size);
        group.throughput(Throughput::Bytes(body.len() as u64));
        // Every variant receives the same client request by value, built
        // outside the timed section, and returns what it would send.
        group.bench_with_input(BenchmarkId::new("baseline", label), &body, |b, body| {
            b.iter_batched(
                || client_request(body),
                |request| baseline(request.body()),
                BatchSize::SmallInput,
            );
        });
        group.bench_with_input(
            BenchmarkId::new("baseline_syntax", label),
            &body,
            |b, body| {
                b.iter_batched(
                    || client_request(body),
                    |request| baseline_syntax(request.body()),
                    BatchSize::SmallInput,
                );
            },
        );
        group.bench_with_input(BenchmarkId::new("prepare", label), &body, |b, body| {
            b.iter_batched(
                || client_request(body),
                |request| proxy.prepare(request, now, None).unwrap(),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
