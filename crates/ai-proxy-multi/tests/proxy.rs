//! `AiProxyMulti`: each attempt is prepared from the original client
//! request (spec §10 item 25: no option leaks from one instance to the next).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_proxy_core::Registry;
use ai_proxy_core::config::AiProxyMultiConfig;
use ai_proxy_multi::{AiProxyMulti, Decision, MultiOptions, Outcome, Report};
use bytes::Bytes;

fn registry() -> Registry {
    ai_proxy_openai::adapters()
        .into_iter()
        .fold(Registry::new(), Registry::with_adapter)
}

fn request() -> http::Request<Bytes> {
    http::Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(Bytes::from_static(
            br#"{"model":"client-model","messages":[{"role":"user","content":"hi"}]}"#,
        ))
        .unwrap()
}

#[test]
fn retry_prepares_the_next_instance_from_the_original_body() {
    let config = AiProxyMultiConfig::from_json(
        r#"{
        "fallback_strategy": ["http_5xx"],
        "instances": [
            {"name": "a", "provider": "openai", "priority": 1, "weight": 1, "auth": {},
             "options": {"model": "model-a", "temperature": 0.9}},
            {"name": "b", "provider": "deepseek", "priority": 0, "weight": 1, "auth": {},
             "options": {"model": "model-b"}}
        ]}"#,
    )
    .unwrap();
    let multi = AiProxyMulti::compile(&config, &registry(), MultiOptions::default()).unwrap();
    let now = Instant::now();
    let first = multi.pick(&(), now).unwrap();
    let a = multi.prepare(&first, request(), now, None).unwrap();
    let a_body: serde_json::Value = serde_json::from_slice(a.upstream.body()).unwrap();
    assert_eq!(&*a.context.instance_name, "a");
    assert_eq!(a_body["model"], "model-a");
    assert_eq!(a_body["temperature"], 0.9);

    let report = Report {
        outcome: Outcome::Status(500),
        delivered: false,
    };
    let decision = multi
        .balancer()
        .on_outcome(first, report, &(), now + Duration::from_millis(5));
    let Decision::Retry(second) = decision else {
        panic!("expected a retry, got {decision:?}")
    };
    let b = multi.prepare(&second, request(), now, None).unwrap();
    let b_body: serde_json::Value = serde_json::from_slice(b.upstream.body()).unwrap();
    assert_eq!(&*b.context.instance_name, "b");
    assert_eq!(
        b.upstream.uri(),
        "https://api.deepseek.com/chat/completions"
    );
    assert_eq!(b_body["model"], "model-b");
    assert!(b_body.get("temperature").is_none(), "{b_body}");
}

#[test]
fn an_instance_without_adapter_is_a_compile_error_naming_it() {
    let config = AiProxyMultiConfig::from_json(
        r#"{"instances": [{"name": "v", "provider": "vertex-ai", "weight": 1, "auth": {},
            "provider_conf": {"project_id": "p", "region": "r"}}]}"#,
    )
    .unwrap();
    let err = AiProxyMulti::compile(&config, &registry(), MultiOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with("instances[0] (v): "), "{err}");
}

#[test]
fn arc_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    let config = AiProxyMultiConfig::from_json(
        r#"{"instances": [{"name": "a", "provider": "openai", "weight": 1, "auth": {}}]}"#,
    )
    .unwrap();
    let multi =
        Arc::new(AiProxyMulti::compile(&config, &registry(), MultiOptions::default()).unwrap());
    assert_send_sync(&multi);
}
