//! Bedrock errors fall into `ai-proxy-multi`'s fallback classes by the
//! status they map to: a throttling exception is a 429 (`http_429`), a
//! service-unavailable one a 503 (`http_5xx`) — whether Bedrock answers
//! with the status or with an exception at the start of its event stream.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Instant, SystemTime};

use ai_proxy::bedrock::eventstream::encode_exception;
use ai_proxy::bedrock::{EVENT_STREAM_CONTENT_TYPE, exception_status};
use ai_proxy::config::AiProxyMultiConfig;
use ai_proxy::multi::{AiProxyMulti, Decision, MultiOptions, Outcome, Report};
use ai_proxy::{Exchange, Provider};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};

fn multi(strategy: &str) -> AiProxyMulti {
    let config = AiProxyMultiConfig::from_json(&format!(
        r#"{{"fallback_strategy": {strategy}, "instances": [
            {{"name": "bedrock", "provider": "bedrock", "priority": 10, "weight": 1,
              "auth": {{"aws": {{"access_key_id": "AKID", "secret_access_key": "s"}}}},
              "provider_conf": {{"region": "us-east-1"}}, "options": {{"model": "amazon.nova-micro-v1:0"}}}},
            {{"name": "openai", "provider": "openai", "priority": 0, "weight": 1,
              "auth": {{"header": {{"Authorization": "Bearer sk"}}}}, "options": {{"model": "gpt-4o"}}}}
        ]}}"#
    ))
    .unwrap();
    AiProxyMulti::compile(&config, &ai_proxy::registry(), MultiOptions::default()).unwrap()
}

/// An attempt that ended with `status` before any byte reached the client.
fn undelivered(status: u16) -> Report {
    Report {
        outcome: Outcome::Status(status),
        delivered: false,
    }
}

/// The status the gateway reports for a stream that opens with `exception`.
fn stream_exception_status(multi: &AiProxyMulti, exception: &str) -> u16 {
    let now = Instant::now();
    let attempt = multi.pick(&(), now).unwrap();
    let request = http::Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(Bytes::from_static(
            br#"{"stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
        ))
        .unwrap();
    let prepared = multi
        .prepare_at(&attempt, request, now, SystemTime::now(), None)
        .unwrap();
    assert_eq!(prepared.context.provider, Provider::Bedrock);
    let mut exchange = Exchange::new(prepared.context, prepared.translator);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(EVENT_STREAM_CONTENT_TYPE),
    );
    let _ = exchange.on_head(StatusCode::OK, &headers, now).unwrap();
    let mut wire = Vec::new();
    encode_exception(&mut wire, exception, br#"{"message":"busy"}"#).unwrap();
    let error = exchange.on_body(Bytes::from(wire), now).unwrap_err();
    assert!(!error.truncated(), "nothing reached the client yet");
    error.status().as_u16()
}

#[test]
fn a_throttling_exception_falls_back_under_http_429() {
    let multi = multi(r#"["http_429"]"#);
    let status = stream_exception_status(&multi, "throttlingException");
    assert_eq!(status, 429);
    assert_eq!(exception_status("ThrottlingException").as_u16(), 429);
    let attempt = multi.pick(&(), Instant::now()).unwrap();
    let decision = multi
        .balancer()
        .on_outcome(attempt, undelivered(status), &(), Instant::now());
    let Decision::Retry(next) = decision else {
        panic!("expected a fallback, got {decision:?}");
    };
    assert_eq!(multi.balancer().picked_ai_instance_name(&next), "openai");
}

#[test]
fn service_unavailable_falls_back_under_http_5xx_but_not_http_429() {
    let status = stream_exception_status(&multi(r#"["http_5xx"]"#), "serviceUnavailableException");
    assert_eq!(status, 503);
    for (strategy, falls_back) in [(r#"["http_5xx"]"#, true), (r#"["http_429"]"#, false)] {
        let multi = multi(strategy);
        let attempt = multi.pick(&(), Instant::now()).unwrap();
        let decision =
            multi
                .balancer()
                .on_outcome(attempt, undelivered(status), &(), Instant::now());
        assert_eq!(
            matches!(decision, Decision::Retry(_)),
            falls_back,
            "{strategy}"
        );
    }
}
