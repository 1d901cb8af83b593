//! Any bytes as a client request body (and a few path / config choices)
//! into `AiProxy::prepare`: never a panic; an accepted request always
//! yields a valid JSON body and a matching content-length; the body's JSON
//! is rejected exactly when serde_json rejects it (the oracle for
//! prepare's own scanner; a key with an unpaired surrogate escape is the
//! one documented difference).
#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use ai_proxy::AiProxy;
use ai_proxy_core::config::AiProxyConfig;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

const CONFIGS: [&str; 4] = [
    r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer k"}},
        "options":{"model":"gpt-4o","temperature":0.5,"stream":true},
        "override":{"llm_options":{"max_tokens":9},
          "request_body":{"openai-chat":{"stream_options":{"x":1},"stop":["a"]},"openai-responses":{"m":{"n":{}}}}}}"#,
    r#"{"provider":"azure-openai","auth":{"header":{"api-key":"k"}},
        "override":{"endpoint":"https://r.example/openai/deployments/d/chat/completions?api-version=2024-10-21"}}"#,
    r#"{"provider":"anthropic","auth":{"header":{"x-api-key":"k"}},"override":{"llm_options":{"max_tokens":5}}}"#,
    r#"{"provider":"openai-compatible","auth":{"query":{"key":"v"}},
        "override":{"endpoint":"http://127.0.0.1:1980?a=b","request_body_force_override":true,
          "request_body":{"passthrough":{"a":{"b":[1]}},"openai-embeddings":{"model":"e"}}}}"#,
];
const PATHS: [&str; 5] = [
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/messages",
    "/v1/embeddings",
    "/x?y=z&key=w",
];

fn proxies() -> &'static Vec<AiProxy> {
    static P: OnceLock<Vec<AiProxy>> = OnceLock::new();
    P.get_or_init(|| {
        let registry = ai_proxy::registry();
        CONFIGS
            .iter()
            .map(|c| AiProxy::compile(&AiProxyConfig::from_json(c).unwrap(), &registry).unwrap())
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let (Some(&selector), Some(rest)) = (data.first(), data.get(1..)) else {
        return;
    };
    let proxy = &proxies()[usize::from(selector & 3)];
    let path = PATHS[usize::from(selector >> 2) % PATHS.len()];
    let request = http::Request::post(path)
        .header("content-type", "application/json")
        .body(Bytes::copy_from_slice(rest))
        .unwrap();
    let verdict = proxy.prepare(request, Instant::now(), None);
    let oracle = std::str::from_utf8(rest).is_ok()
        && serde_json::from_slice::<serde::de::IgnoredAny>(rest).is_ok();
    match &verdict {
        Err(ai_proxy::PrepareError::Body(ai_proxy::core::prepare::BodyError::InvalidJson { reason })) => assert!(
            !oracle || reason.contains("invalid unicode escape in a key"),
            "valid JSON rejected: {reason}"
        ),
        _ => assert!(oracle || rest.is_empty(), "invalid JSON accepted"),
    }
    if let Ok(prepared) = verdict {
        let body = prepared.upstream.body();
        assert!(serde_json::from_slice::<&serde_json::value::RawValue>(body).is_ok());
        assert_eq!(
            prepared.upstream.headers()["content-length"],
            body.len().to_string().as_str()
        );
    }
});
