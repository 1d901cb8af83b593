//! Golden tests: for every provider × protocol it supports, a client
//! request and config (APISIX plugin JSON) in, the exact upstream request
//! out (method, URL, every header, body bytes). Cases live in
//! `tests/golden/*.json`:
//!
//! ```json
//! {"description": "...", "config": {...}, "access_token": "optional",
//!  "wall_clock": <optional Unix seconds: prepare_at, for signed routes>,
//!  "request": {"method", "uri", "headers": {..}, "body": <JSON> | "body_text": "<raw>"},
//!  "upstream": {"method", "url", "headers": {..}, "body": <JSON> | "body_text": "<raw>"}
//!  | "error": {"status", "message"}}
//! ```
//!
//! An expected `body` must equal the upstream bytes exactly once written
//! compactly in the file's key order; `body_text` compares raw bytes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use ai_proxy::config::AiProxyConfig;
use ai_proxy::{AiProxy, Protocol, Provider, Secret};
use bytes::Bytes;
use serde_json::Value;

fn golden_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn body_of(v: &Value) -> Bytes {
    match (v.get("body_text"), v.get("body")) {
        (Some(Value::String(text)), _) => Bytes::from(text.clone()),
        (_, Some(body)) => Bytes::from(serde_json::to_string(body).unwrap()),
        _ => Bytes::new(),
    }
}

struct Outcome {
    provider: Provider,
    client: Option<Protocol>,
}

fn run_case(file: &Path) -> Outcome {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let case: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let config = AiProxyConfig::from_json(&case["config"].to_string())
        .unwrap_or_else(|e| panic!("{name}: config: {e}"));
    let proxy = AiProxy::compile(&config, &ai_proxy::registry())
        .unwrap_or_else(|e| panic!("{name}: compile: {e}"));
    let req = &case["request"];
    let mut builder = http::Request::builder()
        .method(req["method"].as_str().unwrap())
        .uri(req["uri"].as_str().unwrap());
    for (k, v) in req["headers"].as_object().unwrap() {
        builder = builder.header(k.as_str(), v.as_str().unwrap());
    }
    let request = builder.body(body_of(req)).unwrap();
    let token = case
        .get("access_token")
        .and_then(Value::as_str)
        .map(Secret::new);
    let result = match case.get("wall_clock").and_then(Value::as_u64) {
        Some(secs) => proxy.prepare_at(
            request,
            Instant::now(),
            UNIX_EPOCH + Duration::from_secs(secs),
            token.as_ref(),
        ),
        None => proxy.prepare(request, Instant::now(), token.as_ref()),
    };
    let provider = config.upstream.provider;
    match (result, case.get("upstream"), case.get("error")) {
        (Ok(prepared), Some(want), None) => {
            let up = &prepared.upstream;
            assert_eq!(up.method().as_str(), want["method"], "{name}: method");
            assert_eq!(up.uri().to_string(), want["url"], "{name}: url");
            let mut got_headers = serde_json::Map::new();
            for (k, v) in up.headers() {
                got_headers.insert(
                    k.as_str().to_owned(),
                    Value::String(v.to_str().unwrap().to_owned()),
                );
            }
            assert_eq!(
                Value::Object(got_headers),
                want["headers"],
                "{name}: headers"
            );
            let want_body = body_of(want);
            assert_eq!(
                std::str::from_utf8(up.body()).unwrap(),
                std::str::from_utf8(&want_body).unwrap(),
                "{name}: body"
            );
            Outcome {
                provider,
                client: Some(prepared.context.client_protocol),
            }
        }
        (Err(e), None, Some(want)) => {
            assert_eq!(e.status().as_u16(), want["status"], "{name}: status");
            assert_eq!(e.to_string(), want["message"], "{name}: message");
            Outcome {
                provider,
                client: None,
            }
        }
        (Ok(p), _, _) => panic!("{name}: expected an error, got {p:?}"),
        (Err(e), _, _) => panic!("{name}: expected an upstream request, got {e}"),
    }
}

#[test]
fn golden_cases_match_exactly() {
    let files = golden_files();
    assert!(files.len() >= 33, "golden cases missing");
    for file in &files {
        run_case(file);
    }
}

#[test]
fn every_provider_and_client_protocol_the_registry_routes_has_a_golden_case() {
    let covered: BTreeSet<(Provider, Protocol)> = golden_files()
        .iter()
        .map(|f| run_case(f))
        .filter_map(|o| o.client.map(|c| (o.provider, c)))
        .collect();
    let registry = ai_proxy::registry();
    let mut required = 0;
    for provider in Provider::ALL {
        let Some(adapter) = registry.adapter(provider) else {
            continue;
        };
        for protocol in [
            Protocol::OpenAiChat,
            Protocol::OpenAiResponses,
            Protocol::OpenAiEmbeddings,
            Protocol::AnthropicMessages,
        ] {
            if registry.delivery(adapter.as_ref(), protocol).is_some() {
                required += 1;
                assert!(
                    covered.contains(&(provider, protocol)),
                    "no golden case for {provider} × {protocol}"
                );
            }
        }
    }
    assert!(required >= 23, "only {required} routes required");
    assert!(covered.contains(&(Provider::OpenAi, Protocol::Passthrough)));
}
