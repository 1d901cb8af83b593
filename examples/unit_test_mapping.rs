//! Unit-testing a provider mapping: a plain `#[test]`, no network, no
//! runtime. `cargo test --example unit_test_mapping` runs the tests;
//! `cargo run --example unit_test_mapping` prints the mapped request.

// Test code: a failed expectation is the test failing.
#![allow(clippy::expect_used)]

use std::time::Instant;

use ai_proxy::config::AiProxyConfig;
use ai_proxy::{AiProxy, Prepared};
use bytes::Bytes;

/// Your route's configuration, exactly as in APISIX.
const AZURE_ROUTE: &str = r#"{
    "provider": "azure-openai",
    "auth": {"header": {"api-key": "test-key"}},
    "options": {"temperature": 0.2},
    "override": {
        "endpoint": "https://myresource.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
        "llm_options": {"max_tokens": 512}
    }
}"#;

/// What a client sends.
const CLIENT_BODY: &str =
    r#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;

fn prepare(config: &str, uri: &str, body: &str) -> Prepared {
    let config = AiProxyConfig::from_json(config).expect("valid config");
    let proxy = AiProxy::compile(&config, &ai_proxy::registry()).expect("compiles");
    let request = http::Request::post(uri)
        .header("content-type", "application/json")
        .header("authorization", "Bearer the-client-own-key")
        .body(Bytes::from(body.to_owned()))
        .expect("request");
    proxy
        .prepare(request, Instant::now(), None)
        .expect("prepared")
}

fn main() {
    let prepared = prepare(AZURE_ROUTE, "/v1/chat/completions", CLIENT_BODY);
    println!("{} {}", prepared.upstream.method(), prepared.redacted_uri());
    println!("{}", String::from_utf8_lossy(prepared.upstream.body()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn body(p: &Prepared) -> Value {
        serde_json::from_slice(p.upstream.body()).expect("JSON body")
    }

    #[test]
    fn azure_request_goes_to_the_deployment_url() {
        let p = prepare(AZURE_ROUTE, "/v1/chat/completions", CLIENT_BODY);
        assert_eq!(p.upstream.method(), http::Method::POST);
        assert_eq!(
            p.upstream.uri().to_string(),
            "https://myresource.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
        );
    }

    #[test]
    fn azure_auth_replaces_the_client_credentials() {
        let p = prepare(AZURE_ROUTE, "/v1/chat/completions", CLIENT_BODY);
        let headers = p.upstream.headers();
        assert_eq!(headers["api-key"], "test-key");
        assert!(headers.get("authorization").is_none());
    }

    #[test]
    fn azure_body_drops_model_and_applies_options() {
        let b = body(&prepare(AZURE_ROUTE, "/v1/chat/completions", CLIENT_BODY));
        assert!(b.get("model").is_none(), "the deployment names the model");
        assert_eq!(b["temperature"], 0.2);
        assert_eq!(b["max_tokens"], 512);
        // api-version 2024-10-21 accepts stream_options: usage is metered.
        assert_eq!(b["stream_options"]["include_usage"], true);
    }

    #[test]
    fn stream_requests_are_classified_for_the_access_log() {
        let p = prepare(AZURE_ROUTE, "/v1/chat/completions", CLIENT_BODY);
        assert_eq!(p.context.request_type.as_str(), "ai_stream");
        assert_eq!(p.context.request_llm_model.as_deref(), Some("gpt-4o"));
    }
}
