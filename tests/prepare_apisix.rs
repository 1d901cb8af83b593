//! APISIX's own acceptance cases (spec §10, `t/plugin/ai-proxy*.t`,
//! `request-body-override.t`), replayed through the real adapters from
//! plugin JSON. Where the issue differs from APISIX on purpose, the test
//! says so.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use ai_proxy::config::AiProxyConfig;
use ai_proxy::{AiProxy, PrepareError, Prepared, Protocol, RequestType};
use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};

fn proxy(config: Value) -> AiProxy {
    let config = AiProxyConfig::from_json(&config.to_string()).unwrap();
    AiProxy::compile(&config, &ai_proxy::registry()).unwrap()
}

fn request(uri: &str, headers: &[(&str, &str)], body: &str) -> http::Request<Bytes> {
    let mut b = http::Request::post(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Bytes::copy_from_slice(body.as_bytes())).unwrap()
}

fn prepare(p: &AiProxy, uri: &str, body: &str) -> Result<Prepared, PrepareError> {
    p.prepare(
        request(uri, &[("content-type", "application/json")], body),
        Instant::now(),
        None,
    )
}

fn sent(p: &Prepared) -> Value {
    serde_json::from_slice(p.upstream.body()).unwrap()
}

fn openai(extra: Value) -> AiProxy {
    let mut config = json!({
        "provider": "openai",
        "auth": {"header": {"Authorization": "Bearer token"}},
        "override": {"endpoint": "http://127.0.0.1:1980"}
    });
    for (k, v) in extra.as_object().unwrap() {
        if let (Some(Value::Object(into)), Value::Object(from)) = (config.get_mut(k), v) {
            into.extend(from.clone());
        } else {
            config[k] = v.clone();
        }
    }
    proxy(config)
}

const CHAT: &str = r#"{"messages":[{"role":"system","content":"You are a mathematician"},{"role":"user","content":"What is 1+1?"}]}"#;

#[test]
fn t3_get_with_a_chat_body_is_sent_as_post() {
    let p = openai(json!({}));
    let req = http::Request::get("/anything")
        .header("content-type", "application/json")
        .body(Bytes::from_static(CHAT.as_bytes()))
        .unwrap();
    let prepared = p.prepare(req, Instant::now(), None).unwrap();
    assert_eq!(prepared.upstream.method(), http::Method::POST);
    assert_eq!(
        prepared.upstream.uri(),
        "http://127.0.0.1:1980/v1/chat/completions"
    );
}

#[test]
fn t3_bad_json_and_form_content_type_are_400() {
    let p = openai(json!({}));
    let e = prepare(&p, "/", r#"{}"messages": [ { "role": "system", "cont"#).unwrap_err();
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    assert!(
        e.to_string()
            .starts_with("could not parse JSON request body: ")
    );
    let e = p
        .prepare(
            request(
                "/",
                &[("content-type", "application/x-www-form-urlencoded")],
                "a=b",
            ),
            Instant::now(),
            None,
        )
        .unwrap_err();
    assert_eq!(
        (e.status(), e.body()),
        (
            StatusCode::BAD_REQUEST,
            Bytes::from_static(
                b"unsupported content-type: application/x-www-form-urlencoded, only application/json is supported"
            )
        )
    );
}

#[test]
fn t4_options_add_arbitrary_fields_and_full_endpoints_are_verbatim() {
    let p = openai(json!({"options": {"model": "gpt-35-turbo-instruct", "foo": "bar"}}));
    let prepared = prepare(&p, "/", CHAT).unwrap();
    assert_eq!(sent(&prepared)["foo"], "bar");
    assert_eq!(sent(&prepared)["model"], "gpt-35-turbo-instruct");
    let p = openai(json!({"override": {"endpoint": "http://127.0.0.1:1980/random"}}));
    assert_eq!(
        prepare(&p, "/", CHAT).unwrap().upstream.uri(),
        "http://127.0.0.1:1980/random"
    );
}

#[test]
fn t5_config_authorization_wins_custom_headers_pass_accept_encoding_does_not() {
    let p = openai(json!({}));
    let prepared = p
        .prepare(
            request(
                "/",
                &[
                    ("content-type", "application/json"),
                    ("authorization", "Bearer client"),
                    ("test-type", "x"),
                    ("x-request-id", "abc"),
                    ("accept-encoding", "gzip, deflate"),
                ],
                CHAT,
            ),
            Instant::now(),
            None,
        )
        .unwrap();
    let h = prepared.upstream.headers();
    assert_eq!(h["authorization"], "Bearer token");
    assert_eq!(h["test-type"], "x");
    assert_eq!(h["x-request-id"], "abc");
    assert!(h.get("accept-encoding").is_none());
}

#[test]
fn differs_client_cookie_and_authorization_never_reach_upstream_without_config_auth() {
    let p = proxy(json!({"provider": "deepseek", "auth": {}}));
    let prepared = p
        .prepare(
            request(
                "/",
                &[("authorization", "Bearer client"), ("cookie", "sid=1")],
                CHAT,
            ),
            Instant::now(),
            None,
        )
        .unwrap();
    assert!(prepared.upstream.headers().get("authorization").is_none());
    assert!(prepared.upstream.headers().get("cookie").is_none());
}

#[test]
fn t6_responses_stream_gets_no_stream_options() {
    let p = openai(json!({}));
    let prepared = prepare(
        &p,
        "/v1/responses",
        r#"{"model":"gpt-4o","input":"hi","stream":true}"#,
    )
    .unwrap();
    assert_eq!(prepared.context.target_protocol, Protocol::OpenAiResponses);
    assert_eq!(prepared.context.request_type, RequestType::AiStream);
    assert!(sent(&prepared).get("stream_options").is_none());
    assert_eq!(
        prepared.upstream.uri(),
        "http://127.0.0.1:1980/v1/responses"
    );
}

#[test]
fn t7_auth_query_and_endpoint_query_both_sent_auth_query_unchanged() {
    let p = proxy(json!({
        "provider": "openai",
        "auth": {"query": {"api_key": "apikey"}},
        "override": {"endpoint": "http://127.0.0.1:1980/v1/chat/completions?some_query=yes"}
    }));
    for _ in 0..3 {
        let prepared = prepare(&p, "/", CHAT).unwrap();
        assert_eq!(
            prepared.upstream.uri(),
            "http://127.0.0.1:1980/v1/chat/completions?api_key=apikey&some_query=yes"
        );
    }
}

#[test]
fn t9_raw_body_with_odd_spacing_is_sent_identically() {
    let p = openai(json!({}));
    let raw = "{\n  \"messages\" : [ {\"role\":\"user\" , \"content\":\"hi\"}\t],\n  \"model\":\"gpt-4\" }";
    assert_eq!(
        prepare(&p, "/", raw).unwrap().upstream.body(),
        raw.as_bytes()
    );
}

#[test]
fn t10_llm_options_max_tokens_per_provider_and_protocol() {
    let body = r#"{"messages":[{"role":"user","content":"x"}],"max_tokens":999}"#;
    let p = openai(json!({"override": {"llm_options": {"max_tokens": 555}}}));
    let v = sent(&prepare(&p, "/", body).unwrap());
    assert_eq!(
        (v["max_completion_tokens"].clone(), v.get("max_tokens")),
        (json!(555), None)
    );
    let p = proxy(json!({"provider": "openai-compatible", "auth": {},
        "override": {"endpoint": "http://127.0.0.1:1980", "llm_options": {"max_tokens": 444}}}));
    assert_eq!(sent(&prepare(&p, "/", body).unwrap())["max_tokens"], 444);
    let p = openai(json!({"override": {"llm_options": {"max_tokens": 333}}}));
    let v = sent(&prepare(&p, "/v1/responses", r#"{"input":"x"}"#).unwrap());
    assert_eq!(v["max_output_tokens"], 333);
}

#[test]
fn t12_request_body_merges_stream_options_replaces_arrays_and_ignores_other_protocols() {
    let p = openai(
        json!({"override": {"request_body": {"openai-chat": {"stream_options": {"extra": 1}}}}}),
    );
    let v = sent(&prepare(&p, "/", r#"{"messages":[],"stream":true}"#).unwrap());
    assert_eq!(
        v["stream_options"],
        json!({"include_usage": true, "extra": 1})
    );

    let p = openai(
        json!({"override": {"request_body": {"openai-chat": {"stop": ["a"]}},
        "request_body_force_override": true}}),
    );
    let v = sent(&prepare(&p, "/", r#"{"messages":[],"stop":["x","y"]}"#).unwrap());
    assert_eq!(v["stop"], json!(["a"]));

    let p =
        openai(json!({"override": {"request_body": {"anthropic-messages": {"max_tokens": 5}}}}));
    let raw = r#"{"messages":[]}"#;
    assert_eq!(
        prepare(&p, "/", raw).unwrap().upstream.body(),
        raw.as_bytes()
    );

    let patch = json!({"override": {"request_body": {"openai-chat": {"max_tokens": 555}}}});
    let p = openai(patch.clone());
    let v = sent(&prepare(&p, "/", r#"{"messages":[],"max_tokens":999}"#).unwrap());
    assert_eq!(v["max_tokens"], 999);
    let mut forced = patch;
    forced["override"]["request_body_force_override"] = json!(true);
    let p = openai(forced);
    let v = sent(&prepare(&p, "/", r#"{"messages":[],"max_tokens":999}"#).unwrap());
    assert_eq!(v["max_tokens"], 555);
}

#[test]
fn t13_request_body_runs_after_llm_options() {
    let p = openai(json!({"override": {"llm_options": {"max_tokens": 100},
        "request_body": {"openai-chat": {"max_completion_tokens": 200}},
        "request_body_force_override": true}}));
    let v = sent(&prepare(&p, "/", r#"{"messages":[]}"#).unwrap());
    assert_eq!(v["max_completion_tokens"], 200);
}

#[test]
fn differs_options_stream_true_gets_include_usage() {
    let p = openai(json!({"options": {"stream": true}}));
    let v = sent(&prepare(&p, "/", r#"{"messages":[]}"#).unwrap());
    assert_eq!(v["stream_options"], json!({"include_usage": true}));
}

#[test]
fn differs_client_stream_options_keys_are_kept() {
    let p = openai(json!({}));
    let v = sent(
        &prepare(
            &p,
            "/",
            r#"{"messages":[],"stream":true,"stream_options":{"continuous_usage_stats":true}}"#,
        )
        .unwrap(),
    );
    assert_eq!(
        v["stream_options"],
        json!({"continuous_usage_stats": true, "include_usage": true})
    );
}

#[test]
fn t18_passthrough_to_host_only_endpoint_keeps_the_client_path() {
    let p = openai(json!({}));
    let prepared = prepare(
        &p,
        "/v1/images/generations",
        r#"{"model":"dall-e-3","prompt":"A cute baby sea otter"}"#,
    )
    .unwrap();
    assert_eq!(
        prepared.upstream.uri(),
        "http://127.0.0.1:1980/v1/images/generations"
    );
    assert_eq!(prepared.context.client_protocol, Protocol::Passthrough);
}

#[test]
fn t20_oversized_body_is_413() {
    let p = proxy(json!({"provider": "openai", "auth": {}, "max_req_body_size": 10}));
    let e = prepare(&p, "/", CHAT).unwrap_err();
    assert_eq!(e.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[test]
fn unsupported_protocol_names_provider_protocol_and_what_it_supports() {
    let p = proxy(json!({"provider": "deepseek", "auth": {}}));
    let e = prepare(&p, "/v1/responses", r#"{"input":"x"}"#).unwrap_err();
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        e.to_string(),
        "provider deepseek does not support openai-responses protocol (supported: openai-chat)"
    );
}

#[test]
fn azure_seed_config_gets_no_stream_options_and_no_model() {
    let p = proxy(json!({
        "provider": "azure-openai",
        "auth": {"header": {"api-key": "k"}},
        "options": {"model": "gpt-4"},
        "override": {"endpoint": "https://myresource.openai.azure.com/openai/deployments/gpt-4/chat/completions?api-version=2024-02-15-preview"}
    }));
    let v = sent(&prepare(&p, "/", r#"{"messages":[],"stream":true}"#).unwrap());
    assert_eq!(v, json!({"messages": [], "stream": true}));
}

#[test]
fn stream_usage_injection_can_be_switched_off_per_instance() {
    let p = proxy(json!({"provider": "openai-compatible", "auth": {},
        "override": {"endpoint": "http://127.0.0.1:8000"}}))
    .with_stream_usage_injection(false);
    let raw = r#"{"messages":[],"stream":true}"#;
    assert_eq!(
        prepare(&p, "/", raw).unwrap().upstream.body(),
        raw.as_bytes()
    );
}

#[test]
fn anthropic_client_to_anthropic_is_native() {
    let p = proxy(json!({"provider": "anthropic", "auth": {"header": {"x-api-key": "sk-ant"}}}));
    let raw = r#"{"model":"claude","max_tokens":10,"messages":[{"role":"user","content":"x"}],"stream":true}"#;
    let prepared = prepare(&p, "/v1/messages", raw).unwrap();
    assert_eq!(
        prepared.upstream.uri(),
        "https://api.anthropic.com/v1/messages"
    );
    assert_eq!(prepared.upstream.body(), raw.as_bytes());
    assert!(prepared.translator.is_none());
    assert_eq!(
        prepared.context.target_protocol,
        Protocol::AnthropicMessages
    );
}

#[test]
fn no_secret_reaches_debug_output() {
    let p = proxy(json!({
        "provider": "openai",
        "auth": {"header": {"Authorization": "Bearer sk-live-SECRET1"}, "query": {"key": "SECRET2"}},
        "override": {"endpoint": "https://h.example/v1/chat/completions?x=1"}
    }));
    let prepared = prepare(&p, "/", CHAT).unwrap();
    let printed = format!("{prepared:?}{p:?}");
    assert!(
        !printed.contains("SECRET1") && !printed.contains("SECRET2"),
        "{printed}"
    );
    assert_eq!(
        prepared.redacted_uri(),
        "https://h.example/v1/chat/completions?key=<redacted>&x=1"
    );
}
