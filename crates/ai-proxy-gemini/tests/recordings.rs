//! Translation of the real Gemini API and Vertex AI recordings in
//! `../shared/fixtures/wire/` (skipped when absent), through core's
//! `Exchange` as a gateway runs it. Expectations are computed from the
//! recorded native chunks with `serde_json::Value` (the slow, obvious way),
//! independently of the translator, and the client's usage chunk is
//! compared with the usage the exchange meters for the access log. Every
//! stream is also fed at arbitrary chunkings (proptest): the client must
//! receive the same bytes whatever the upstream's TCP segmentation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Instant;

use ai_proxy_core::Protocol;
use ai_proxy_core::context::RequestContext;
use ai_proxy_core::exchange::Exchange;
use ai_proxy_core::metrics::Metrics;
use ai_proxy_gemini::GeminiToChat;
use bytes::Bytes;
use common::{Choice, check_openai, split_sse, wire_dir};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use proptest::prelude::*;
use serde_json::{Value, json};

/// `(file name, bytes)` of the Gemini / Vertex recordings in `sub`.
fn recordings(sub: &str, ext: &str) -> Vec<(String, Vec<u8>)> {
    let Some(dir) = wire_dir(sub) else {
        return Vec::new();
    };
    let mut out: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            (name.starts_with("gemini-") || name.starts_with("vertex-gemini-"))
                && name.ends_with(ext)
                && !name.ends_with(".request.json")
        })
        .map(|p: std::path::PathBuf| {
            (
                p.file_name().unwrap().to_str().unwrap().to_owned(),
                fs::read(Path::new(&p)).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn streams() -> Vec<(String, Vec<u8>)> {
    recordings("sse", ".sse")
}

/// The `finish_reason` a Gemini `finishReason` means.
fn mapped(reason: &str) -> &'static str {
    match reason {
        "MAX_TOKENS" => "length",
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => "content_filter",
        _ => "stop",
    }
}

/// What the client must see, read from the native chunks.
#[derive(Debug, Default)]
struct Expected {
    choices: BTreeMap<u64, Choice>,
    /// Tool arguments as JSON values, per choice.
    args: BTreeMap<u64, Vec<Value>>,
    /// prompt, completion, total, cached, reasoning.
    usage: Option<[u64; 5]>,
    model: Option<String>,
    id: Option<String>,
}

fn expected(chunks: &[Value], fallback_model: &str) -> Expected {
    let mut e = Expected::default();
    let mut finish: BTreeMap<u64, String> = BTreeMap::new();
    for (n, chunk) in chunks.iter().enumerate() {
        if n == 0 {
            e.model = Some(
                chunk["modelVersion"]
                    .as_str()
                    .filter(|m| !m.is_empty())
                    .unwrap_or(fallback_model)
                    .to_owned(),
            );
            e.id = Some(chunk["responseId"].as_str().unwrap_or("").to_owned());
        }
        if let Some(u) = chunk.get("usageMetadata").filter(|u| u.is_object()) {
            let get = |k: &str| u[k].as_u64().unwrap_or(0);
            let later = [
                get("promptTokenCount"),
                get("candidatesTokenCount") + get("thoughtsTokenCount"),
                get("totalTokenCount"),
                get("cachedContentTokenCount"),
                get("thoughtsTokenCount"),
            ];
            let usage = e.usage.get_or_insert(later);
            for (field, later) in usage.iter_mut().zip(later) {
                if later > 0 {
                    *field = later;
                }
            }
            usage[2] = usage[2].max(usage[0] + usage[1]);
        }
        let candidates = chunk["candidates"].as_array().cloned().unwrap_or_default();
        if candidates.is_empty() && chunk["promptFeedback"]["blockReason"].is_string() {
            e.choices.entry(0).or_default();
            finish.insert(0, "SAFETY".to_owned());
        }
        for (pos, c) in candidates.iter().enumerate() {
            let index = c["index"].as_u64().unwrap_or(pos as u64);
            let choice = e.choices.entry(index).or_default();
            for part in c["content"]["parts"].as_array().into_iter().flatten() {
                let sig = part["thoughtSignature"].as_str().map(str::to_owned);
                if let Some(call) = part.get("functionCall") {
                    choice.tools.push(common::ToolCall {
                        name: call["name"].as_str().unwrap().to_owned(),
                        signature: sig,
                        ..Default::default()
                    });
                    e.args
                        .entry(index)
                        .or_default()
                        .push(call.get("args").cloned().unwrap_or(json!({})));
                    continue;
                }
                if let Some(sig) = sig {
                    choice.signatures.push(sig);
                }
                if let Some(t) = part["text"].as_str() {
                    if part["thought"] == true {
                        choice.reasoning.push_str(t);
                    } else {
                        choice.content.push_str(t);
                    }
                }
            }
            if let Some(r) = c["finishReason"].as_str().filter(|r| !r.is_empty()) {
                finish.insert(index, r.to_owned());
            }
        }
    }
    for (index, choice) in &mut e.choices {
        let reason = mapped(finish.get(index).map_or("STOP", String::as_str));
        choice.finish_reason = Some(
            if reason == "stop" && !choice.tools.is_empty() {
                "tool_calls"
            } else {
                reason
            }
            .to_owned(),
        );
    }
    e
}

/// Runs `bytes` through an exchange with the translator, cut at `cuts`.
fn exchange(bytes: &[u8], cuts: &[usize], streaming: bool) -> (String, Metrics) {
    let start = Instant::now();
    let ctx = RequestContext::new(Protocol::OpenAiChat, Protocol::Gemini, start);
    let translator = GeminiToChat::new(true, Some("fallback-model"));
    let mut ex = Exchange::new(ctx, Some(Box::new(translator)));
    let mut headers = HeaderMap::new();
    let ct = if streaming {
        "text/event-stream"
    } else {
        "application/json"
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    let head = ex.on_head(StatusCode::OK, &headers, start).unwrap();
    assert_eq!(head.streaming, streaming);
    let mut out = Vec::new();
    let mut at = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.push(bytes.len());
    for cut in cuts {
        if cut > at {
            let piece = Bytes::copy_from_slice(&bytes[at..cut]);
            out.extend_from_slice(&ex.on_body(piece, start).unwrap());
            at = cut;
        }
    }
    out.extend_from_slice(&ex.on_eof(start).unwrap());
    (String::from_utf8(out).unwrap(), ex.finish(start))
}

fn metered(m: &Metrics) -> [u64; 3] {
    [
        "llm_prompt_tokens",
        "llm_completion_tokens",
        "llm_total_tokens",
    ]
    .map(|v| m.var(v).unwrap().parse().unwrap())
}

/// The translated stream says exactly what the recording says.
fn assert_stream_matches(name: &str, bytes: &[u8], out: &str, metrics: &Metrics) {
    let text = String::from_utf8_lossy(bytes);
    let chunks: Vec<Value> = split_sse(&text)
        .iter()
        .filter_map(|(_, d)| serde_json::from_str(d).ok())
        .collect();
    let want = expected(&chunks, "fallback-model");
    let got = check_openai(out, true);
    assert_eq!(got.model, want.model.map(Value::from), "{name}: model");
    assert_eq!(got.id, want.id.map(Value::from), "{name}: id");
    assert_eq!(got.choices.len(), want.choices.len(), "{name}: choices");
    for (index, w) in &want.choices {
        let g = &got.choices[index];
        assert_eq!(g.content, w.content, "{name}: content");
        assert_eq!(g.reasoning, w.reasoning, "{name}: reasoning");
        assert_eq!(g.signatures, w.signatures, "{name}: text signatures");
        assert_eq!(g.finish_reason, w.finish_reason, "{name}: finish");
        assert_eq!(g.tools.len(), w.tools.len(), "{name}: tool calls");
        for (k, (gt, wt)) in g.tools.iter().zip(&w.tools).enumerate() {
            assert_eq!(gt.name, wt.name, "{name}: tool name");
            assert_eq!(gt.signature, wt.signature, "{name}: tool signature");
            let args: Value = serde_json::from_str(&gt.arguments).unwrap();
            assert_eq!(args, want.args[index][k], "{name}: tool arguments");
            assert!(!gt.id.is_empty(), "{name}: tool id");
        }
    }
    let usage = got.usage.expect("usage chunk");
    let [p, c, t, cached, reasoning] = want.usage.unwrap_or_default();
    assert_eq!(
        usage,
        json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": t,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning}}),
        "{name}: usage"
    );
    // The client is told what the access log records.
    assert_eq!(metered(metrics), [p, c, t], "{name}: metered usage");
}

#[test]
fn every_recorded_stream_translates_exactly() {
    let all = streams();
    for (name, bytes) in &all {
        let (out, metrics) = exchange(bytes, &[], true);
        assert_stream_matches(name, bytes, &out, &metrics);
    }
    if wire_dir("sse").is_some() {
        assert!(all.len() >= 19, "found {} recordings", all.len());
    }
}

#[test]
fn the_gemini_3_tool_call_keeps_its_thought_signature() {
    let Some(dir) = wire_dir("sse") else { return };
    let bytes = fs::read(dir.join("gemini-stream-3-pro-tool-call-thought-signature.sse")).unwrap();
    let (out, _) = exchange(&bytes, &[], true);
    let got = check_openai(&out, true);
    let call = &got.choices[&0].tools[0];
    assert_eq!(call.name, "get_country");
    assert_eq!(call.arguments, "{}");
    assert!(
        call.signature
            .as_deref()
            .unwrap()
            .starts_with("EpwICpkIAXLI2nxl")
    );
    assert!(call.signature.as_deref().unwrap().ends_with("k15QuFyU="));
    assert_eq!(got.choices[&0].finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(
        got.usage.unwrap(),
        json!({"prompt_tokens": 29, "completion_tokens": 212, "total_tokens": 241,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 202}})
    );
}

#[test]
fn every_recorded_body_translates_exactly() {
    let bodies = recordings("responses", ".json");
    for (name, bytes) in &bodies {
        let (out, metrics) = exchange(bytes, &[], false);
        let v: Value = serde_json::from_str(&out).unwrap();
        let native: Value = serde_json::from_slice(bytes).unwrap();
        if native.get("error").is_some() {
            assert_eq!(v["error"]["message"], native["error"]["message"], "{name}");
            assert_eq!(v["error"]["type"], native["error"]["status"], "{name}");
            assert_eq!(v["error"]["code"], native["error"]["code"], "{name}");
            continue;
        }
        let want = expected(std::slice::from_ref(&native), "fallback-model");
        assert_eq!(v["object"], "chat.completion", "{name}");
        assert_eq!(v["model"], want.model.unwrap().as_str(), "{name}");
        for (index, w) in &want.choices {
            let c = &v["choices"][*index as usize];
            assert_eq!(c["index"], *index, "{name}");
            let m = &c["message"];
            assert_eq!(m["content"].as_str().unwrap_or(""), w.content, "{name}");
            assert_eq!(
                m["reasoning_content"].as_str().unwrap_or(""),
                w.reasoning,
                "{name}"
            );
            assert_eq!(
                c["finish_reason"],
                w.finish_reason.as_deref().unwrap(),
                "{name}"
            );
        }
        let [p, c, t, cached, reasoning] = want.usage.unwrap_or_default();
        assert_eq!(v["usage"]["prompt_tokens"], p, "{name}");
        assert_eq!(v["usage"]["completion_tokens"], c, "{name}");
        assert_eq!(v["usage"]["total_tokens"], t, "{name}");
        assert_eq!(
            v["usage"]["prompt_tokens_details"]["cached_tokens"], cached,
            "{name}"
        );
        assert_eq!(
            v["usage"]["completion_tokens_details"]["reasoning_tokens"], reasoning,
            "{name}"
        );
        assert_eq!(metered(&metrics), [p, c, t], "{name}: metered usage");
    }
    if wire_dir("responses").is_some() {
        assert!(bodies.len() >= 5, "found {} bodies", bodies.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any split of any recorded stream gives the client the same bytes.
    #[test]
    fn chunking_never_changes_the_output(
        which in any::<prop::sample::Index>(),
        cuts in prop::collection::vec(any::<usize>(), 0..40),
    ) {
        let all = streams();
        if all.is_empty() {
            return Ok(());
        }
        let (name, bytes) = &all[which.index(all.len())];
        let (whole, _) = exchange(bytes, &[], true);
        let (split, metrics) = exchange(bytes, &cuts, true);
        prop_assert_eq!(&split, &whole, "{}", name);
        assert_stream_matches(name, bytes, &split, &metrics);
    }
}

#[test]
fn one_byte_chunks_give_the_same_output_for_every_stream() {
    for (name, bytes) in streams() {
        let (whole, _) = exchange(&bytes, &[], true);
        let cuts: Vec<usize> = (1..bytes.len()).collect();
        let (split, _) = exchange(&bytes, &cuts, true);
        assert_eq!(split, whole, "{name}");
    }
}
