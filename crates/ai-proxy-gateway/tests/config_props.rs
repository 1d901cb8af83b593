//! Property tests: no input makes the configuration parsers panic, and
//! every error they return is located and printable. Same entry point as
//! `fuzz/fuzz_targets/config.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ai_proxy::config::{AiProxyConfig, AiProxyMultiConfig};
use ai_proxy_gateway::config::Document;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Field names the parsers look at, so generated objects reach deep code.
const KEYS: &[&str] = &[
    "provider",
    "auth",
    "header",
    "query",
    "gcp",
    "service_account_json",
    "max_ttl",
    "expire_early_secs",
    "options",
    "model",
    "temperature",
    "top_p",
    "max_tokens",
    "stream",
    "override",
    "endpoint",
    "llm_options",
    "request_body",
    "openai-chat",
    "request_body_force_override",
    "provider_conf",
    "project_id",
    "region",
    "logging",
    "summaries",
    "payloads",
    "timeout",
    "keepalive",
    "keepalive_timeout",
    "keepalive_pool",
    "ssl_verify",
    "max_req_body_size",
    "max_stream_duration_ms",
    "max_response_bytes",
    "streaming_flush_interval_ms",
    "balancer",
    "algorithm",
    "hash_on",
    "key",
    "instances",
    "name",
    "priority",
    "weight",
    "checks",
    "active",
    "fallback_strategy",
    "fallback_http_statuses",
    "max_retries",
    "retry_on_failure_within_ms",
    "plugins",
    "ai-proxy",
    "ai-proxy-multi",
    "routes",
    "version",
    "uri",
    "uris",
    "methods",
    "vars",
    "id",
    "_meta",
    "Authorization",
];

const STRINGS: &[&str] = &[
    "openai",
    "vertex-ai",
    "azure-openai",
    "bedrock",
    "chash",
    "roundrobin",
    "http_5xx",
    "rate_limiting",
    "https://h/x",
    "http://127.0.0.1:1980",
    "http//x",
    "1",
    "",
    "POST",
    "/v1/chat/completions",
    "==",
    "{}",
    "us-central1",
    "\u{0}\n",
];

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1000i64..700_000).prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(STRINGS).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

fn check_all(text: &str) {
    for errors in [
        AiProxyConfig::from_json(text).err(),
        AiProxyMultiConfig::from_json(text).err(),
        Document::parse(text).err(),
    ]
    .into_iter()
    .flatten()
    {
        assert!(!errors.errors().is_empty());
        for e in errors.errors() {
            assert!(!e.to_string().is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_json_never_panics(value in json()) {
        check_all(&value.to_string());
        // Also as a route and as a config-sync document.
        check_all(&serde_json::json!({"plugins": {"ai-proxy": value.clone()}}).to_string());
        check_all(&serde_json::json!({"version": "1", "routes": [{"uri": "/x", "plugins": {"ai-proxy-multi": value}}]}).to_string());
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        check_all(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check_all(&String::from_utf8_lossy(&bytes));
    }
}
