//! ai-proxy-prompt next to `prepare`: the prompt plugins' cost on the
//! client body before `prepare`, at 1.6 KB, 16 KB and 258 KB (many turns,
//! tools and tool calls, escapes, non-ASCII), in the same group as plain
//! `prepare` of the same request.
//!
//! - `prepare`: the reference (an OpenAI route; the body is rewritten:
//!   model, `stream_options`).
//! - `decorate+prepare`: `ai-prompt-decorator` (a system message prepended,
//!   a user message appended) on the request, then `prepare`, which reads
//!   the decorated body through the layout the decorator hands it. Target:
//!   ≤ 1.5× `prepare` at 16 KB.
//! - `decorate+prepare(parsed-again)`: the same with the decorator on the
//!   body bytes alone, so `prepare` parses the decorated body again.
//! - `decorate+guard+prepare`: the decorator, then `ai-prompt-guard` over
//!   the whole conversation (every role, every turn, three deny patterns)
//!   then `prepare`.
//! - `decorate`, `guard`: each plugin alone.
//! - `template+prepare` (small bodies only: the template replaces the body).
//!
//! Run: `cargo bench --bench prompt -- --warm-up-time 1 --measurement-time 3`
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

use ai_proxy::AiProxy;
use ai_proxy::config::AiProxyConfig;
use ai_proxy::prompt::{PromptDecorator, PromptGuard, PromptTemplate};
use bytes::Bytes;
use common::{CpuTime, client_request, clock, openai_request, prose};
use criterion::measurement::{Measurement, WallTime};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

const CONFIG: &str = r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer sk-bench"}},
    "options":{"model":"gpt-4o"}}"#;

fn prompt<M: Measurement>(c: &mut Criterion<M>) {
    let proxy = AiProxy::compile(
        &AiProxyConfig::from_json(CONFIG).unwrap(),
        &ai_proxy::registry(),
    )
    .unwrap();
    let decorator = PromptDecorator::from_value(&json!({
        "prepend": [{"role": "system", "content": "You are a careful assistant. Answer in the user's language — précisément."}],
        "append": [{"role": "user", "content": "Keep the answer under 200 words and cite \"sources\"."}]
    }))
    .unwrap();
    let guard = PromptGuard::from_value(&json!({
        "match_all_roles": true, "match_all_conversation_history": true,
        "deny_patterns": ["(?i)ignore (all )?previous instructions", "\\b\\d{3}-\\d{2}-\\d{4}\\b", "BEGIN RSA PRIVATE KEY"]
    }))
    .unwrap();
    let now = Instant::now();
    let path = "/v1/chat/completions";
    let mut g = c.benchmark_group(format!("{}/prompt", clock::<M>()));
    for (label, size) in [("1.6KB", 1_600), ("16KB", 16_000), ("258KB", 258_000)] {
        let body = Bytes::from(openai_request(size, prose));
        g.throughput(Throughput::Bytes(body.len() as u64));
        assert!(
            guard
                .check(path, &decorator.apply(path, body.clone()).unwrap())
                .is_ok()
        );
        g.bench_function(format!("prepare/{label}"), |b| {
            b.iter_batched(
                || client_request(&body),
                |request| proxy.prepare(request, now, None).unwrap(),
                BatchSize::SmallInput,
            )
        });
        g.bench_function(format!("decorate+prepare/{label}"), |b| {
            b.iter_batched(
                || client_request(&body),
                |request| {
                    let request = decorator.apply_request(request).unwrap();
                    proxy.prepare(request, now, None).unwrap()
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_function(format!("decorate+prepare(parsed-again)/{label}"), |b| {
            b.iter_batched(
                || client_request(&body),
                |request| {
                    let (parts, body) = request.into_parts();
                    let body = decorator.apply(parts.uri.path(), body).unwrap();
                    proxy
                        .prepare(http::Request::from_parts(parts, body), now, None)
                        .unwrap()
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_function(format!("decorate+guard+prepare/{label}"), |b| {
            b.iter_batched(
                || client_request(&body),
                |request| {
                    let request = decorator.apply_request(request).unwrap();
                    guard.check(path, request.body()).unwrap();
                    proxy.prepare(request, now, None).unwrap()
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_function(format!("decorate/{label}"), |b| {
            b.iter(|| {
                decorator
                    .apply(path, black_box(body.clone()))
                    .unwrap()
                    .len()
            })
        });
        g.bench_function(format!("guard/{label}"), |b| {
            b.iter(|| guard.check(path, black_box(&body)).unwrap())
        });
    }
    let template = PromptTemplate::from_value(&json!({"templates": [{"name": "review", "template": {
        "model": "gpt-4o", "temperature": 0.2,
        "messages": [{"role": "system", "content": "You review {{ language }} code for {{ team.name }}."},
                     {"role": "user", "content": "Review this:\n{{ code }}"}]}}]}))
    .unwrap();
    let code = prose(3, 1_200);
    let body = Bytes::from(
        json!({"template_name": "review", "language": "Rust", "team": {"name": "Über-platform"}, "code": code})
            .to_string(),
    );
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("template+prepare/1.4KB", |b| {
        b.iter_batched(
            || client_request(&body),
            |request| {
                let (parts, body) = request.into_parts();
                let body = template.apply(&body).unwrap();
                proxy
                    .prepare(http::Request::from_parts(parts, body), now, None)
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(wall, prompt);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(CpuTime(WallTime));
    targets = prompt
}
criterion_main!(wall, cpu);
