//! The Vertex adapter and converter driven by core's request preparation,
//! with the access token coming from the token cache: the upstream request
//! for chat and embeddings, and the embeddings response back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_proxy_core::config::AiProxyConfig;
use ai_proxy_core::{AiProxy, Protocol, Registry, Secret};
use ai_proxy_vertex::{EmbeddingsToPredict, TokenCache, TokenCacheKey, VertexAi};
use bytes::{Bytes, BytesMut};
use http::{Request, StatusCode};

const SA_JSON: &str = r#"{"type":"service_account","client_email":"sa@p.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\nU0VDUkVU\n-----END PRIVATE KEY-----\n"}"#;

fn proxy(extra: &str) -> (AiProxy, AiProxyConfig) {
    let config = format!(
        r#"{{"provider":"vertex-ai","auth":{{"gcp":{{"service_account_json":{},"max_ttl":600}}}},
            "provider_conf":{{"project_id":"my-project","region":"us-central1"}}{extra}}}"#,
        serde_json::to_string(SA_JSON).unwrap()
    );
    let config = AiProxyConfig::from_json(&config).unwrap();
    let registry = Registry::new()
        .with_adapter(Arc::new(VertexAi))
        .with_converter(Arc::new(EmbeddingsToPredict));
    (AiProxy::compile(&config, &registry).unwrap(), config)
}

fn post(body: &'static str) -> Request<Bytes> {
    Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .header("authorization", "Bearer client-key")
        .body(Bytes::from_static(body.as_bytes()))
        .unwrap()
}

/// The token for this proxy's instance, fetched (here: made up) once and
/// then served from the cache.
fn token(cache: &mut TokenCache, proxy: &AiProxy, config: &AiProxyConfig, now: Instant) -> Secret {
    let gcp = config.upstream.auth.gcp.as_ref().unwrap();
    let sa = gcp.service_account_json.clone().unwrap();
    let key = TokenCacheKey::new(sa, gcp, proxy.instance_name());
    if let Some(token) = cache.get(&key, now) {
        return token.clone();
    }
    let fetched = Secret::new(format!("ya29.token-{}", cache.len() + 1));
    cache.store(key, fetched.clone(), Some(Duration::from_secs(3599)), now);
    fetched
}

#[test]
fn chat_goes_to_the_openai_compatible_endpoint_with_the_cached_token() {
    let (proxy, config) = proxy("");
    assert!(proxy.needs_access_token());
    let mut cache = TokenCache::new();
    let t0 = Instant::now();
    let first = token(&mut cache, &proxy, &config, t0);
    let prepared = proxy
        .prepare(post(r#"{"model":"google/gemini-2.0-flash","messages":[{"role":"user","content":"hi"}]}"#), t0, Some(&first))
        .unwrap();
    assert_eq!(
        prepared.upstream.uri(),
        "https://us-central1-aiplatform.googleapis.com/v1beta1/projects/my-project/locations/us-central1/endpoints/openapi/chat/completions"
    );
    assert_eq!(
        prepared.upstream.headers()["authorization"],
        "Bearer ya29.token-1"
    );
    assert_eq!(prepared.context.target_protocol, Protocol::OpenAiChat);
    assert!(prepared.translator.is_none());

    // Same token until max_ttl (600 s) runs out, then a new one.
    assert_eq!(
        token(&mut cache, &proxy, &config, t0 + Duration::from_secs(599)).expose(),
        "ya29.token-1"
    );
    assert_eq!(
        token(&mut cache, &proxy, &config, t0 + Duration::from_secs(600)).expose(),
        "ya29.token-2"
    );
}

#[test]
fn llm_options_max_tokens_sets_max_completion_tokens_and_keeps_max_tokens() {
    let (proxy, _) = proxy(r#","override":{"llm_options":{"max_tokens":64}}"#);
    let token = Secret::new("t");
    let prepared = proxy
        .prepare(
            post(r#"{"model":"m","max_tokens":5,"messages":[]}"#),
            Instant::now(),
            Some(&token),
        )
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(prepared.upstream.body()).unwrap();
    assert_eq!(body["max_completion_tokens"], 64);
    assert_eq!(body["max_tokens"], 5);
}

#[test]
fn embeddings_are_converted_to_predict_and_back() {
    let (proxy, _) = proxy("");
    let token = Secret::new("t");
    let mut prepared = proxy
        .prepare(
            post(r#"{"model":"text-embedding-004","input":["a","b"]}"#),
            Instant::now(),
            Some(&token),
        )
        .unwrap();
    assert_eq!(
        prepared.upstream.uri(),
        "https://us-central1-aiplatform.googleapis.com/v1/projects/my-project/locations/us-central1/publishers/google/models/text-embedding-004:predict"
    );
    assert_eq!(
        prepared.upstream.body(),
        r#"{"instances":[{"content":"a"},{"content":"b"}]}"#
    );
    assert_eq!(prepared.context.client_protocol, Protocol::OpenAiEmbeddings);
    assert_eq!(prepared.context.target_protocol, Protocol::VertexPredict);

    let translator = prepared.translator.as_mut().unwrap();
    let mut out = BytesMut::new();
    translator
        .translate_body(
            StatusCode::OK,
            br#"{"predictions":[{"embeddings":{"values":[0.5],"statistics":{"token_count":1}}},{"embeddings":{"values":[0.25],"statistics":{"token_count":2}}}]}"#,
            &mut out,
        )
        .unwrap();
    assert_eq!(
        &out[..],
        br#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5]},{"object":"embedding","index":1,"embedding":[0.25]}],"model":"text-embedding-004","usage":{"prompt_tokens":3,"total_tokens":3}}"#
    );
}

#[test]
fn a_bad_embeddings_input_is_a_400_from_the_converter() {
    let (proxy, _) = proxy("");
    let token = Secret::new("t");
    let err = proxy
        .prepare(
            post(r#"{"model":"m","input":[1]}"#),
            Instant::now(),
            Some(&token),
        )
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        err.body(),
        Bytes::from_static(br#"{"error_msg":"unsupported input type at index 1"}"#)
    );
}

#[test]
fn responses_clients_are_told_what_vertex_supports() {
    let (proxy, _) = proxy("");
    let token = Secret::new("t");
    let req = Request::post("/v1/responses")
        .header("content-type", "application/json")
        .body(Bytes::from_static(br#"{"model":"m","input":"x"}"#))
        .unwrap();
    let err = proxy
        .prepare(req, Instant::now(), Some(&token))
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        err.to_string(),
        "provider vertex-ai does not support openai-responses protocol (supported: openai-chat, vertex-predict)"
    );
}
