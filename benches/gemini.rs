//! ai-proxy-gemini: OpenAI chat request → Gemini `generateContent` at
//! 1.2 KB, 16 KB and 258 KB (and the 258 KB body with an escaped quote
//! every ~40 bytes), next to three references in the same group over the
//! same bodies — `openai_to_anthropic` (the sibling converter),
//! `serde_value_round_trip` (parse into a `serde_json::Value` and write it
//! back: what a DOM-based converter costs at least) and `parse_copy` (one
//! scan with core's JSON scanner plus a copy of the bytes: the least any
//! converter that reads and rewrites the body can do); and a long Gemini
//! stream (thought summaries, 800 text chunks, a signed function call,
//! usage in every chunk) translated to OpenAI chunks in MB/s, next to the
//! events' `Value` round trip and the same stream through the exchange
//! (passthrough metering of a native client, and translation).
//!
//! Run: `cargo bench --bench gemini -- --warm-up-time 1 --measurement-time 3`
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

use ai_proxy::core::adapter::ConvertContext;
use ai_proxy::core::context::RequestContext;
use ai_proxy::core::exchange::Exchange;
use ai_proxy::core::json::scan::Scanner;
use ai_proxy::core::translate::ResponseTranslator;
use ai_proxy::core::{Protocol, Provider, RequestType};
use ai_proxy::gemini::{GeminiToChat, OpenAiToGemini};
use bytes::{Bytes, BytesMut};
use common::{
    CpuTime, REQUEST_BODIES, clock, convert_request, openai_request, openai_to_anthropic, prose,
    relay,
};
use criterion::measurement::{Measurement, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

fn requests<M: Measurement>(c: &mut Criterion<M>) {
    let ctx = ConvertContext::new(
        Provider::Gemini,
        Some("gemini-2.5-pro"),
        None,
        RequestType::AiStream,
    );
    let mut g = c.benchmark_group(format!("{}/gemini_request", clock::<M>()));
    for (label, size, text) in REQUEST_BODIES {
        let body = openai_request(size, text);
        g.throughput(Throughput::Bytes(body.len() as u64));
        let id = format!("openai_to_gemini/{label}");
        convert_request(&mut g, id, &OpenAiToGemini, &body, &ctx);
        openai_to_anthropic(&mut g, label, &body, &ctx);
        g.bench_function(format!("serde_value_round_trip/{label}"), |b| {
            b.iter(|| {
                let v: serde_json::Value = serde_json::from_slice(black_box(&body)).unwrap();
                serde_json::to_vec(&v).unwrap().len()
            })
        });
        g.bench_function(format!("parse_copy/{label}"), |b| {
            b.iter(|| {
                let body = black_box(&body);
                let raw = Scanner::new(body).value().unwrap();
                let mut out = Vec::with_capacity(body.len());
                out.extend_from_slice(raw.bytes());
                out.len()
            })
        });
    }
    g.finish();
}

/// A `streamGenerateContent?alt=sse` stream: thought summaries, text, a
/// signed function call; usage in every chunk, as Gemini sends it.
fn gemini_stream() -> Vec<String> {
    let chunk = |part: serde_json::Value, n: usize, finish: Option<&str>| {
        let mut candidate = json!({"content": {"parts": [part], "role": "model"}, "index": 0});
        if let Some(f) = finish {
            candidate["finishReason"] = json!(f);
        }
        let body = json!({"candidates": [candidate],
            "usageMetadata": {"promptTokenCount": 377, "candidatesTokenCount": n, "totalTokenCount": 677 + n,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 377}], "thoughtsTokenCount": 300},
            "modelVersion": "gemini-2.5-pro", "responseId": "beHBaJfEMIi-qtsP3769-Q8"});
        body.to_string()
    };
    let mut events = Vec::new();
    for i in 0..200 {
        events.push(chunk(
            json!({"text": prose(i, 40), "thought": true}),
            0,
            None,
        ));
    }
    for i in 0..800 {
        events.push(chunk(json!({"text": prose(i, 24)}), i, None));
    }
    events.push(chunk(
        json!({"functionCall": {"name": "get_weather", "args": {"city": "Zürich", "unit": "c"}},
            "thoughtSignature": "CiQBjz1rX+z7CAOCNB0aLI7ypObFNPY+MRlb2NP1K12YF4ii184KZgGPPWtf8hWSKLNch1ghUKZUmYaaRmvo"}),
        801,
        Some("STOP"),
    ));
    events
}

/// The stream's bytes through an exchange, in 16 KB reads: a native
/// client's passthrough (`translate: false`) or an OpenAI client's.
fn through_exchange(pieces: &[Bytes], translate: bool) -> usize {
    let start = Instant::now();
    let client = if translate {
        Protocol::OpenAiChat
    } else {
        Protocol::Gemini
    };
    let ctx = RequestContext::new(client, Protocol::Gemini, start);
    let translator =
        translate.then(|| Box::new(GeminiToChat::new(true, None)) as Box<dyn ResponseTranslator>);
    let mut exchange = Exchange::new(ctx, translator);
    relay(&mut exchange, "text/event-stream", pieces, start)
}

fn streams<M: Measurement>(c: &mut Criterion<M>) {
    let events = gemini_stream();
    let wire: Vec<u8> = events
        .iter()
        .flat_map(|e| format!("data: {e}\r\n\r\n").into_bytes())
        .collect();
    let pieces: Vec<Bytes> = wire.chunks(16 * 1024).map(Bytes::copy_from_slice).collect();
    let mut g = c.benchmark_group(format!("{}/gemini_stream", clock::<M>()));
    g.throughput(Throughput::Bytes(wire.len() as u64));
    let mut out = BytesMut::with_capacity(1 << 20);
    g.bench_function("translate_to_openai_chunks", |b| {
        b.iter(|| {
            out.clear();
            let mut t = GeminiToChat::new(true, None);
            for e in black_box(&events) {
                t.translate_event("message", e, &mut out).unwrap();
            }
            t.finish(&mut out).unwrap();
            out.len()
        })
    });
    g.bench_function("events_value_round_trip", |b| {
        b.iter(|| {
            let mut n = 0;
            for e in black_box(&events) {
                let v: serde_json::Value = serde_json::from_str(e).unwrap();
                n += serde_json::to_vec(&v).unwrap().len();
            }
            n
        })
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
