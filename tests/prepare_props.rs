//! Properties of `AiProxy::prepare` (the entry point the `prepare` fuzz
//! target drives):
//! - arbitrary bytes and arbitrary JSON never panic, and anything accepted
//!   goes upstream as valid JSON with a matching content-length;
//! - the raw-map shaping equals a straightforward `serde_json::Value`
//!   reference model of APISIX's order (options, max_tokens, request_body
//!   deep merge, stream usage, model removal);
//! - with nothing to change, the client's bytes go upstream untouched;
//! - the body's JSON is accepted exactly when `serde_json` accepts it
//!   (prepare validates with its own scanner, `serde_json` is the oracle).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use ai_proxy::AiProxy;
use ai_proxy::config::AiProxyConfig;
use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn compile(config: &str) -> AiProxy {
    AiProxy::compile(
        &AiProxyConfig::from_json(config).unwrap(),
        &ai_proxy::registry(),
    )
    .unwrap()
}

const SHAPING: &str = r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer k"}},
    "options":{"model":"gpt-4o","temperature":0.5},
    "override":{"llm_options":{"max_tokens":9},
      "request_body":{"openai-chat":{"stream_options":{"x":1},"stop":["a"],"metadata":{"k":{"z":true}}}}}}"#;

const AZURE: &str = r#"{"provider":"azure-openai","auth":{"header":{"api-key":"k"}},
    "override":{"endpoint":"https://r.example/openai/deployments/d/chat/completions?api-version=2024-10-21",
      "request_body":{"openai-chat":{"n":1}},"request_body_force_override":true}}"#;

fn prepare(proxy: &AiProxy, path: &str, body: Vec<u8>) -> Option<Bytes> {
    let request = http::Request::post(path)
        .header("content-type", "application/json")
        .body(Bytes::from(body))
        .unwrap();
    let prepared = proxy.prepare(request, Instant::now(), None).ok()?;
    let body = prepared.upstream.body().clone();
    assert!(
        serde_json::from_slice::<Value>(&body).is_ok(),
        "invalid JSON upstream"
    );
    assert_eq!(
        prepared.upstream.headers()["content-length"],
        body.len().to_string().as_str()
    );
    Some(body)
}

/// Whether `prepare` rejected the body as invalid JSON, against what
/// `serde_json` says. The one allowed difference: a key with an unpaired
/// `\uD8xx` escape cannot be read as a key (serde_json skipping a value
/// accepts it; reading it as a map key does not either).
fn check_json_verdict(proxy: &AiProxy, path: &str, bytes: &[u8]) {
    let request = http::Request::post(path)
        .header("content-type", "application/json")
        .body(Bytes::copy_from_slice(bytes))
        .unwrap();
    let verdict = proxy.prepare(request, Instant::now(), None);
    let rejected = match &verdict {
        Err(ai_proxy::PrepareError::Body(ai_proxy::core::prepare::BodyError::InvalidJson {
            reason,
        })) => Some(reason.clone()),
        _ => None,
    };
    let oracle = std::str::from_utf8(bytes).is_ok()
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
    match (oracle, rejected) {
        (true, Some(reason)) => assert!(
            reason.contains("invalid unicode escape in a key"),
            "valid JSON rejected: {reason} ({:?})",
            String::from_utf8_lossy(bytes)
        ),
        (false, None) => assert!(
            bytes.is_empty(),
            "invalid JSON accepted: {:?}",
            String::from_utf8_lossy(bytes)
        ),
        _ => {}
    }
}

/// JSON-like text built from grammar fragments, so most inputs get deep
/// into the scanner before failing (or don't fail at all).
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(r#"{"messages":["#.to_owned()),
        Just(r#""model":"#.to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just(" ".to_owned()),
        Just("true".to_owned()),
        Just("-0.5e+3".to_owned()),
        Just("\\u00e9".to_owned()),
        "[a-z]{1,6}",
        "[ -~é✓]{1,3}",
    ];
    prop::collection::vec(piece, 0..32).prop_map(|v| v.concat().into_bytes())
}

/// APISIX's deep merge on `Value`s.
fn merge(body: &mut Map<String, Value>, patch: &Map<String, Value>, force: bool) {
    for (k, pv) in patch {
        match (pv, body.get_mut(k)) {
            (Value::Object(p), Some(Value::Object(b))) => merge(b, p, force),
            (_, existing) => {
                if force || existing.is_none() {
                    body.insert(k.clone(), pv.clone());
                }
            }
        }
    }
}

/// The reference model of shaping an OpenAI-chat body under `SHAPING`.
fn reference_openai_chat(mut body: Map<String, Value>) -> Map<String, Value> {
    body.insert("model".into(), json!("gpt-4o"));
    body.insert("temperature".into(), json!(0.5));
    body.insert("max_completion_tokens".into(), json!(9));
    body.remove("max_tokens");
    let patch = json!({"stream_options":{"x":1},"stop":["a"],"metadata":{"k":{"z":true}}});
    merge(&mut body, patch.as_object().unwrap(), false);
    if body.get("stream") == Some(&Value::Bool(true)) {
        match body.get_mut("stream_options") {
            Some(Value::Object(o)) => {
                o.insert("include_usage".into(), Value::Bool(true));
            }
            _ => {
                body.insert("stream_options".into(), json!({"include_usage": true}));
            }
        }
    }
    body
}

/// The reference model under `AZURE`.
fn reference_azure(mut body: Map<String, Value>) -> Map<String, Value> {
    merge(&mut body, json!({"n":1}).as_object().unwrap(), true);
    if body.get("stream") == Some(&Value::Bool(true)) {
        match body.get_mut("stream_options") {
            Some(Value::Object(o)) => {
                o.insert("include_usage".into(), Value::Bool(true));
            }
            _ => {
                body.insert("stream_options".into(), json!({"include_usage": true}));
            }
        }
    }
    body.remove("model");
    body
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        "[a-z\\\\\"/\u{e9}\u{1F600}]{0,6}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Keys the pipeline cares about, plus escapes and strangers.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("model".to_owned()),
        Just("stream".to_owned()),
        Just("stream_options".to_owned()),
        Just("include_usage".to_owned()),
        Just("max_tokens".to_owned()),
        Just("stop".to_owned()),
        Just("metadata".to_owned()),
        Just("k".to_owned()),
        Just("z".to_owned()),
        Just("n".to_owned()),
        "[a-z\"\\\\\u{e9}]{1,5}",
    ]
}

/// A chat body: `messages` plus arbitrary extra fields.
fn chat_body() -> impl Strategy<Value = Map<String, Value>> {
    (
        prop::collection::vec((key(), value()), 0..8),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(fields, stream)| {
            let mut m = Map::new();
            m.insert("messages".into(), json!([{"role":"user","content":"hi"}]));
            for (k, v) in fields {
                if k != "messages" {
                    m.insert(k, v);
                }
            }
            if let Some(s) = stream {
                m.insert("stream".into(), Value::Bool(s));
            }
            m
        })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), path in 0usize..4) {
        let paths = ["/v1/chat/completions", "/v1/responses", "/v1/messages", "/x"];
        for config in [SHAPING, AZURE] {
            let _ = prepare(&compile(config), paths[path], bytes.clone());
        }
    }

    #[test]
    fn json_is_accepted_exactly_when_serde_json_accepts_it(
        bytes in prop_oneof![jsonish(), prop::collection::vec(any::<u8>(), 0..64)],
        path in 0usize..3,
    ) {
        let paths = ["/v1/chat/completions", "/v1/messages", "/x"];
        check_json_verdict(&compile(SHAPING), paths[path], &bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(v in value(), path in 0usize..4) {
        let paths = ["/v1/chat/completions", "/v1/responses", "/v1/messages", "/v1/embeddings"];
        let _ = prepare(&compile(SHAPING), paths[path], serde_json::to_vec(&v).unwrap());
    }

    #[test]
    fn openai_shaping_matches_the_reference_model(body in chat_body()) {
        let sent = prepare(&compile(SHAPING), "/v1/chat/completions", serde_json::to_vec(&body).unwrap()).unwrap();
        let got: Map<String, Value> = serde_json::from_slice(&sent).unwrap();
        prop_assert_eq!(got, reference_openai_chat(body));
    }

    #[test]
    fn azure_shaping_matches_the_reference_model(body in chat_body()) {
        let sent = prepare(&compile(AZURE), "/v1/chat/completions", serde_json::to_vec_pretty(&body).unwrap()).unwrap();
        let got: Map<String, Value> = serde_json::from_slice(&sent).unwrap();
        prop_assert_eq!(got, reference_azure(body));
    }

    #[test]
    fn nothing_to_change_means_identical_bytes(body in chat_body()) {
        let mut body = body;
        body.insert("stream".into(), Value::Bool(false));
        let bytes = serde_json::to_vec_pretty(&body).unwrap();
        let proxy = compile(r#"{"provider":"deepseek","auth":{}}"#);
        let sent = prepare(&proxy, "/v1/chat/completions", bytes.clone()).unwrap();
        prop_assert_eq!(&sent[..], &bytes[..]);
    }
}
