use super::*;

// ---- headers ------------------------------------------------------------

fn with_client_headers(uri: &str, body: &str) -> Request<Bytes> {
    Request::post(uri)
        .header("content-type", "application/json; charset=utf-8")
        .header("authorization", "Bearer client-key")
        .header("cookie", "session=s")
        .header("x-api-key", "client-x")
        .header("accept-encoding", "gzip")
        .header("host", "gateway.local")
        .header("connection", "x-hop")
        .header("x-hop", "1")
        .header("content-length", "3")
        .header("x-request-id", "rid-1")
        .header("test-type", "t")
        .header("anthropic-version", "2023-06-01")
        .body(Bytes::copy_from_slice(body.as_bytes()))
        .unwrap()
}

#[test]
fn client_credentials_never_reach_upstream_and_other_headers_do() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let p = prep(&proxy, with_client_headers("/", CHAT)).unwrap();
    let h = p.upstream.headers();
    for gone in [
        "authorization",
        "cookie",
        "x-api-key",
        "accept-encoding",
        "host",
        "connection",
        "x-hop",
    ] {
        assert!(h.get(gone).is_none(), "{gone} forwarded");
    }
    assert_eq!(h["x-request-id"], "rid-1");
    assert_eq!(h["test-type"], "t");
    assert_eq!(h["anthropic-version"], "2023-06-01");
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["content-length"], CHAT.len().to_string().as_str());
}

#[test]
fn configured_auth_header_wins_and_is_sensitive() {
    let proxy = Cfg::new(Provider::OpenAi)
        .header("authorization", "Bearer sk-config")
        .compile();
    let p = prep(&proxy, with_client_headers("/", CHAT)).unwrap();
    let v = &p.upstream.headers()["authorization"];
    assert_eq!(v, "Bearer sk-config");
    assert!(v.is_sensitive());
    assert_eq!(
        p.upstream.headers().get_all("authorization").iter().count(),
        1
    );
}

#[test]
fn the_client_authorization_goes_when_the_configured_auth_header_is_another() {
    let proxy = Cfg::new(Provider::OpenAi)
        .header("api-key", "sk-config")
        .compile();
    let p = prep(&proxy, with_client_headers("/", CHAT)).unwrap();
    let h = p.upstream.headers();
    assert!(h.get("authorization").is_none());
    assert_eq!(h["api-key"], "sk-config");
    assert_eq!(h.get_all("api-key").iter().count(), 1);
}

#[test]
fn every_client_value_of_a_configured_auth_header_is_replaced() {
    let proxy = Cfg::new(Provider::OpenAi)
        .header("x-api-key", "sk-config")
        .compile();
    let mut req = with_client_headers("/", CHAT);
    req.headers_mut()
        .append("x-api-key", HeaderValue::from_static("client-y"));
    let p = prep(&proxy, req).unwrap();
    let values: Vec<_> = p.upstream.headers().get_all("x-api-key").iter().collect();
    assert_eq!(values, ["sk-config"]);
    assert!(p.upstream.headers().get("authorization").is_none());
}

#[test]
fn a_stale_client_content_length_is_replaced_by_the_body_length() {
    let proxy = Cfg::new(Provider::OpenAi)
        .option("model", r#""gpt-4o""#)
        .compile();
    let mut req = post("/v1/chat/completions", CHAT);
    req.headers_mut()
        .append("content-length", HeaderValue::from_static("3"));
    req.headers_mut()
        .append("content-length", HeaderValue::from_static("4"));
    let p = prep(&proxy, req).unwrap();
    let values: Vec<_> = p
        .upstream
        .headers()
        .get_all("content-length")
        .iter()
        .collect();
    let len = p.upstream.body().len().to_string();
    assert_eq!(values, [len.as_str()]);
}

#[test]
fn a_client_content_length_and_type_that_already_match_are_kept() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let mut req = post("/v1/chat/completions", CHAT);
    let len = CHAT.len().to_string();
    req.headers_mut()
        .insert("content-length", HeaderValue::from_str(&len).unwrap());
    req.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    let p = prep(&proxy, req).unwrap();
    let h = p.upstream.headers();
    assert_eq!(
        h.get_all("content-length").iter().collect::<Vec<_>>(),
        [len.as_str()]
    );
    assert_eq!(
        h.get_all("content-type").iter().collect::<Vec<_>>(),
        ["application/json"]
    );
}

#[test]
fn a_client_content_type_with_parameters_is_replaced_by_plain_json() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let mut req = post("/v1/chat/completions", CHAT);
    req.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    req.headers_mut()
        .append("content-type", HeaderValue::from_static("application/json"));
    let p = prep(&proxy, req).unwrap();
    let values: Vec<_> = p
        .upstream
        .headers()
        .get_all("content-type")
        .iter()
        .collect();
    assert_eq!(values, ["application/json"]);
}

#[test]
fn gcp_token_replaces_the_client_authorization_without_an_auth_header() {
    let proxy = Cfg::new(Provider::OpenAi).gcp().compile();
    let token = Secret::new("ya29.token");
    let p = proxy
        .prepare(with_client_headers("/", CHAT), Instant::now(), Some(&token))
        .unwrap();
    let values: Vec<_> = p
        .upstream
        .headers()
        .get_all("authorization")
        .iter()
        .collect();
    assert_eq!(values, ["Bearer ya29.token"]);
}

#[test]
fn forwarding_client_credentials_is_an_explicit_switch() {
    let proxy = Cfg::new(Provider::OpenAi)
        .compile()
        .dangerous_forward_client_credentials(true);
    let p = prep(&proxy, with_client_headers("/", CHAT)).unwrap();
    assert_eq!(p.upstream.headers()["authorization"], "Bearer client-key");
    assert_eq!(p.upstream.headers()["cookie"], "session=s");
    assert!(p.upstream.headers().get("connection").is_none());
}

#[test]
fn converter_headers_run_before_the_credential_strip() {
    let proxy = Cfg::new(Provider::OpenAi)
        .header("authorization", "Bearer sk-config")
        .compile();
    let p = prep(
        &proxy,
        with_client_headers(
            "/v1/messages",
            r#"{"messages":[{"role":"user","content":"x"}]}"#,
        ),
    )
    .unwrap();
    let h = p.upstream.headers();
    assert_eq!(h["authorization"], "Bearer sk-config");
    assert!(h.get("x-api-key").is_none());
    assert!(h.get("anthropic-version").is_none());
    assert!(p.translator.is_some());
    assert_eq!(p.context.client_protocol, Protocol::AnthropicMessages);
    assert_eq!(p.context.target_protocol, Protocol::OpenAiChat);
}

#[test]
fn converted_streaming_request_gets_usage() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let p = ok(
        &proxy,
        "/v1/messages",
        r#"{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}"#,
    );
    assert_eq!(body_json(&p)["stream_options"]["include_usage"], true);
    assert_eq!(p.context.request_type, RequestType::AiStream);
}

#[test]
fn gcp_token_is_the_bearer_and_overrides_auth_header() {
    let proxy = Cfg::new(Provider::OpenAi)
        .header("authorization", "Bearer config")
        .gcp()
        .compile();
    let token = Secret::new("ya29.token");
    let p = proxy
        .prepare(post("/", CHAT), Instant::now(), Some(&token))
        .unwrap();
    let v = &p.upstream.headers()["authorization"];
    assert_eq!(v, "Bearer ya29.token");
    assert!(v.is_sensitive());
}

#[test]
fn debug_of_prepared_never_shows_secrets() {
    let proxy = Cfg::new(Provider::OpenAi)
        .header("api-key", "sk-header-secret")
        .query("key", "query-secret")
        .gcp()
        .compile();
    let token = Secret::new("gcp-token-secret");
    let p = proxy
        .prepare(post("/", CHAT), Instant::now(), Some(&token))
        .unwrap();
    let printed = format!("{p:?} {proxy:?}");
    for secret in ["sk-header-secret", "query-secret", "gcp-token-secret"] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
    assert!(printed.contains("key=<redacted>"));
}

// ---- context ------------------------------------------------------------

#[test]
fn context_carries_protocols_models_tools_user_and_start() {
    let proxy = Cfg::new(Provider::OpenAi).payloads().compile();
    let now = Instant::now();
    let body = r#"{"model":"m","user":"u1","tools":[{"type":"function"},{"type":"function"}],"messages":[{"role":"user","content":"hi"}]}"#;
    let p = proxy.prepare(post("/", body), now, None).unwrap();
    let c = &p.context;
    assert_eq!(c.client_protocol, Protocol::OpenAiChat);
    assert_eq!(c.target_protocol, Protocol::OpenAiChat);
    assert_eq!(c.request_type, RequestType::AiChat);
    assert_eq!(c.llm_model.as_deref(), Some("m"));
    assert_eq!(c.tool_count, 2);
    assert_eq!(c.end_user_id.as_deref(), Some("u1"));
    assert_eq!(c.started, now);
    assert_eq!(&*c.instance_name, "ai-proxy-openai");
    assert_eq!(
        c.request_messages.as_ref().map(|m| m.get()),
        Some(r#"[{"role":"user","content":"hi"}]"#)
    );
    assert_eq!(p.hints.timeout, Duration::from_millis(30_000));
    assert!(p.hints.keepalive && p.hints.ssl_verify);
}

#[test]
fn safety_identifier_wins_over_user() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let p = ok(
        &proxy,
        "/",
        r#"{"messages":[],"user":"u","safety_identifier":"s"}"#,
    );
    assert_eq!(p.context.end_user_id.as_deref(), Some("s"));
}

#[test]
fn escaped_model_is_read_unescaped() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let raw = r#"{"model":"gpt\u002d4\/o","messages":[]}"#;
    let p = ok(&proxy, "/", raw);
    assert_eq!(p.context.request_llm_model.as_deref(), Some("gpt-4/o"));
    assert_eq!(body_text(&p), raw);
}

#[test]
fn the_upstream_request_does_not_inherit_the_client_http_version_or_extensions() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let mut req = post("/v1/chat/completions", CHAT);
    *req.version_mut() = http::Version::HTTP_2;
    req.extensions_mut().insert(7u8);
    let p = prep(&proxy, req).unwrap();
    assert_eq!(p.upstream.version(), http::Version::HTTP_11);
    assert!(p.upstream.extensions().get::<u8>().is_none());
}

#[test]
fn content_length_values_are_the_decimal_length() {
    for n in [0, 7, 9, 10, 99, 100, 65_535, 1_234_567_890_123, usize::MAX] {
        assert_eq!(content_length(n), n.to_string().as_str(), "{n}");
    }
}
