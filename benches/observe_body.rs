//! Non-streaming `openai-chat` bodies read for usage, model, finish reason
//! and tool calls (`Observer::on_body`, the one-pass read), against the
//! serde parse it must agree with (`on_body_reference`) and the limit
//! (UTF-8 check + serde_json `IgnoredAny`: validating the body at all), in
//! the same group.
//!
//! Bodies: the `gateway_cpu.py` completion (`json.dumps` layout, ~0.9 KB),
//! an indented completion with tool calls and usage details as OpenAI
//! sends it, and a long compact one with escapes and non-ASCII text.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::hint::black_box;

use ai_proxy::core::Protocol;
use ai_proxy::core::exchange::Observer;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

fn bodies() -> Vec<(&'static str, Vec<u8>)> {
    let bench = json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Rayleigh scattering: shorter wavelengths scatter more. ".repeat(12)}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 512, "completion_tokens": 160, "total_tokens": 672}});
    // Python's `json.dumps` separators: `", "` and `": "`.
    let spaced = serde_json::to_string(&bench)
        .unwrap()
        .replace("\",\"", "\", \"")
        .replace("\":", "\": ")
        .replace(",\"", ", \"");
    let tools = json!({"id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion", "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": common::prose(3, 600), "refusal": null,
            "tool_calls": [{"id": "call_abc123", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\",\"unit\":\"celsius\"}"}}],
            "annotations": []}, "logprobs": null, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
        "service_tier": "default", "system_fingerprint": "fp_eb9dce56a8"});
    let long = json!({"id": "chatcmpl-2", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": common::prose(5, 32 * 1024)}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 90, "completion_tokens": 7000, "total_tokens": 7090}});
    vec![
        ("gateway_cpu_0.9k", spaced.into_bytes()),
        (
            "indented_tools_2k",
            serde_json::to_vec_pretty(&tools).unwrap(),
        ),
        ("compact_32k", serde_json::to_vec(&long).unwrap()),
    ]
}

fn observe(body: &[u8], reference: bool) -> u64 {
    let mut observer = Observer::new(Protocol::OpenAiChat, false);
    if reference {
        observer.on_body_reference(body);
    } else {
        observer.on_body(body);
    }
    let seen = observer.observation();
    seen.usage().map_or(0, |u| u.total_tokens) + u64::from(seen.done())
}

fn limit(body: &[u8]) -> bool {
    std::str::from_utf8(body).is_ok()
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

fn observe_body(c: &mut Criterion) {
    let mut group = c.benchmark_group("observe_body");
    for (name, body) in bodies() {
        assert_eq!(observe(&body, false), observe(&body, true), "{name}");
        assert!(observe(&body, false) > 1, "{name} read no usage");
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(format!("{name}/one_pass"), |b| {
            b.iter(|| observe(black_box(&body), false))
        });
        group.bench_function(format!("{name}/serde_reference"), |b| {
            b.iter(|| observe(black_box(&body), true))
        });
        group.bench_function(format!("{name}/limit_utf8_ignored_any"), |b| {
            b.iter(|| limit(black_box(&body)))
        });
    }
    group.finish();
}

criterion_group!(benches, observe_body);
criterion_main!(benches);
