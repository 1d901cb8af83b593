//! Request conversion and preparation on bodies shaped like agentic
//! traffic (`common::agentic`: system prompt, two tools, many short turns,
//! a tool call and its result every third turn, escapes every ~25 bytes,
//! non-ASCII) at 1.6 KB, 17 KB, 268 KB and 2.1 MB, each group next to
//! two references measured on the same body:
//!
//! - `limit`: `from_utf8` + serde_json `IgnoredAny` + a copy — the least
//!   anything that validates and forwards the body does;
//! - `value_round_trip`: serde_json `Value` parse + `to_vec`, the naive
//!   converter's floor.
//!
//! Groups: `openai_to_anthropic/<size>` and `anthropic_to_openai/<size>`
//! (`convert_request` alone), `prepare_openai/<size>` (an OpenAI route
//! rewriting model, temperature and max_tokens of a body with `tools`),
//! and `prepare_converted/<size>` (both converted routes end to end, on
//! the OpenAI and Anthropic forms).
//!
//! CPU time of the benchmark thread (the bench machine is shared).
//! Run: `cargo bench --bench agentic -- --warm-up-time 1 --measurement-time 3`.
//! `AGENTIC_BODIES_DIR=dir` also writes the bodies there, for
//! `benches/litellm_transforms.py`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::hint::black_box;
use std::time::Instant;

use ai_proxy::AiProxy;
use ai_proxy::anthropic::{AnthropicToOpenAi, OpenAiToAnthropic};
use ai_proxy::config::AiProxyConfig;
use ai_proxy::core::adapter::{ConvertContext, Converter};
use ai_proxy::core::{Provider, RequestType};
use bytes::Bytes;
use common::CpuTime;
use common::agentic::{SIZES, bodies};
use criterion::measurement::WallTime;
use criterion::{
    BatchSize, BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main,
};

fn limit(body: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(body).unwrap();
    serde_json::from_str::<serde::de::IgnoredAny>(text).unwrap();
    body.to_vec()
}

fn value_round_trip(body: &[u8]) -> Vec<u8> {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap();
    serde_json::to_vec(&value).unwrap()
}

/// `limit` and `value_round_trip` on `body`, in `g`.
fn references(g: &mut BenchmarkGroup<'_, CpuTime>, body: &[u8]) {
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("limit", |b| b.iter(|| limit(black_box(body))));
    g.bench_function("value_round_trip", |b| {
        b.iter(|| value_round_trip(black_box(body)))
    });
}

fn proxy(config: &str) -> AiProxy {
    AiProxy::compile(
        &AiProxyConfig::from_json(config).unwrap(),
        &ai_proxy::registry(),
    )
    .unwrap()
}

fn request(path: &str, body: &Bytes) -> http::Request<Bytes> {
    http::Request::post(path)
        .header("content-type", "application/json")
        .header("authorization", "Bearer client")
        .body(body.clone())
        .unwrap()
}

fn dump(label: &str, openai: &[u8], anthropic: &[u8]) {
    let Some(dir) = std::env::var_os("AGENTIC_BODIES_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("openai_{label}.json")), openai).unwrap();
    std::fs::write(dir.join(format!("anthropic_{label}.json")), anthropic).unwrap();
}

fn converters(c: &mut Criterion<CpuTime>) {
    let ctx = ConvertContext::new(
        Provider::Anthropic,
        None,
        Some("claude-sonnet-4-5"),
        RequestType::AiStream,
    );
    for (label, size) in SIZES {
        let (openai, anthropic) = bodies(size);
        dump(label, &openai, &anthropic);
        eprintln!(
            "{label}: openai {} bytes, anthropic {} bytes",
            openai.len(),
            anthropic.len()
        );

        let mut g = c.benchmark_group(format!("openai_to_anthropic/{label}"));
        references(&mut g, &openai);
        let converter = OpenAiToAnthropic::new();
        converter.convert_request(&openai, &ctx).unwrap();
        g.bench_function("convert", |b| {
            b.iter(|| converter.convert_request(black_box(&openai), &ctx).unwrap())
        });
        g.finish();

        let mut g = c.benchmark_group(format!("anthropic_to_openai/{label}"));
        references(&mut g, &anthropic);
        AnthropicToOpenAi.convert_request(&anthropic, &ctx).unwrap();
        g.bench_function("convert", |b| {
            b.iter(|| {
                AnthropicToOpenAi
                    .convert_request(black_box(&anthropic), &ctx)
                    .unwrap()
            })
        });
        g.finish();
    }
}

/// The OpenAI route of `benches/prepare.rs`: model and temperature set,
/// `llm_options.max_tokens` mapped, so the body really is rewritten.
const OPENAI: &str = r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer sk-bench"}},
    "options":{"model":"gpt-4o","temperature":0.2},
    "override":{"llm_options":{"max_tokens":512}}}"#;

/// Anthropic clients to an OpenAI provider (APISIX's converter).
const ANTHROPIC_TO_OPENAI: &str =
    r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer sk-bench"}}}"#;

/// OpenAI clients to Anthropic's native Messages API.
const OPENAI_TO_ANTHROPIC: &str = r#"{"provider":"anthropic","auth":{"header":{"x-api-key":"sk-bench"}},
    "override":{"endpoint":"https://api.anthropic.com/v1/messages"}}"#;

/// `route.prepare` at `now` on a fresh request each iteration (built
/// untimed).
fn bench_prepare(
    g: &mut BenchmarkGroup<'_, CpuTime>,
    name: &str,
    (route, now): (&AiProxy, Instant),
    path: &str,
    body: &Bytes,
) {
    g.bench_function(name, |b| {
        b.iter_batched(
            || request(path, body),
            |r| route.prepare(r, now, None).unwrap(),
            BatchSize::SmallInput,
        )
    });
}

fn prepare(c: &mut Criterion<CpuTime>) {
    let now = Instant::now();
    let openai_route = proxy(OPENAI);
    let to_openai = proxy(ANTHROPIC_TO_OPENAI);
    let to_anthropic = proxy(OPENAI_TO_ANTHROPIC);
    for (label, size) in SIZES {
        let (openai, anthropic) = bodies(size);
        let (openai, anthropic) = (Bytes::from(openai), Bytes::from(anthropic));

        let mut g = c.benchmark_group(format!("prepare_openai/{label}"));
        references(&mut g, &openai);
        bench_prepare(
            &mut g,
            "prepare",
            (&openai_route, now),
            "/v1/chat/completions",
            &openai,
        );
        g.finish();

        let mut g = c.benchmark_group(format!("prepare_converted/{label}"));
        bench_prepare(
            &mut g,
            "openai_to_anthropic",
            (&to_anthropic, now),
            "/v1/chat/completions",
            &openai,
        );
        bench_prepare(
            &mut g,
            "anthropic_to_openai",
            (&to_openai, now),
            "/v1/messages",
            &anthropic,
        );
        g.finish();
    }
}

criterion_group! {
    name = agentic;
    config = Criterion::default().with_measurement(CpuTime(WallTime));
    targets = converters, prepare
}
criterion_main!(agentic);
