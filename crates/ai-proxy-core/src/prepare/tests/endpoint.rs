use super::*;

// ---- endpoint and query -------------------------------------------------

#[test]
fn default_endpoint_is_https_on_the_provider_host() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let p = ok(&proxy, "/anything", CHAT);
    assert_eq!(p.upstream.method(), Method::POST);
    assert_eq!(
        p.upstream.uri(),
        "https://api.openai.com/v1/chat/completions"
    );
}

#[test]
fn host_only_endpoint_gets_the_default_path() {
    let proxy = Cfg::new(Provider::OpenAi)
        .endpoint("http://127.0.0.1:1980")
        .compile();
    let p = ok(&proxy, "/", CHAT);
    assert_eq!(
        p.upstream.uri(),
        "http://127.0.0.1:1980/v1/chat/completions"
    );
}

#[test]
fn full_endpoint_is_used_verbatim() {
    let proxy = Cfg::new(Provider::OpenAi)
        .endpoint("http://127.0.0.1:1980/random")
        .compile();
    assert_eq!(
        ok(&proxy, "/", CHAT).upstream.uri(),
        "http://127.0.0.1:1980/random"
    );
    let proxy = Cfg::new(Provider::OpenAi)
        .endpoint("https://h.example/")
        .compile();
    assert_eq!(ok(&proxy, "/", CHAT).upstream.uri(), "https://h.example/");
}

#[test]
fn auth_query_and_endpoint_query_are_both_sent_and_auth_query_never_changes() {
    let proxy = Cfg::new(Provider::OpenAi)
        .query("api_key", "k1")
        .endpoint("http://127.0.0.1:1980/v1/chat/completions?some_query=yes&api_key=ep")
        .compile();
    for _ in 0..2 {
        let p = ok(&proxy, "/", CHAT);
        assert_eq!(
            p.upstream.uri(),
            "http://127.0.0.1:1980/v1/chat/completions?api_key=ep&some_query=yes"
        );
    }
    let proxy = Cfg::new(Provider::OpenAi).query("api_key", "k 1").compile();
    assert_eq!(
        ok(&proxy, "/", CHAT).upstream.uri(),
        "https://api.openai.com/v1/chat/completions?api_key=k+1"
    );
}

#[test]
fn model_dependent_path_uses_options_model_then_body_model() {
    let proxy = Cfg::new(Provider::VertexAi).compile();
    let p = ok(&proxy, "/", r#"{"model":"a","messages":[]}"#);
    assert_eq!(p.upstream.uri(), "https://models.example/models/a");
    let proxy = Cfg::new(Provider::VertexAi)
        .option("model", "\"b\"")
        .compile();
    let p = ok(&proxy, "/", r#"{"model":"a","messages":[]}"#);
    assert_eq!(p.upstream.uri(), "https://models.example/models/b");
}

#[test]
fn passthrough_keeps_client_method_path_and_query_but_not_auth_query_keys() {
    let proxy = Cfg::new(Provider::OpenAi)
        .query("key", "secret")
        .endpoint("http://127.0.0.1:1980")
        .compile();
    let req = Request::put("/v1/images/generations?key=evil&size=2")
        .header("content-type", "application/json")
        .body(Bytes::from_static(
            br#"{"model":"dall-e-3","prompt":"cat"}"#,
        ))
        .unwrap();
    let p = prep(&proxy, req).unwrap();
    assert_eq!(p.upstream.method(), Method::PUT);
    assert_eq!(
        p.upstream.uri(),
        "http://127.0.0.1:1980/v1/images/generations?key=secret&size=2"
    );
    assert_eq!(p.context.target_protocol, Protocol::Passthrough);
    assert_eq!(body_text(&p), r#"{"model":"dall-e-3","prompt":"cat"}"#);
}

#[test]
fn passthrough_without_endpoint_goes_to_the_provider_host() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let p = ok(&proxy, "/v1/models/x", r#"{"a":1}"#);
    assert_eq!(p.upstream.uri(), "https://api.openai.com/v1/models/x");
}

// ---- endpoints naming a collection, options under a nested object ------

fn collection() -> Cfg {
    Cfg::new(Provider::Gemini).endpoint("https://collection.example/v1/models")
}

#[test]
fn an_extended_endpoint_path_gets_the_request_part_and_query_appended() {
    let proxy = collection().query("key", "k").compile();
    let p = ok(
        &proxy,
        "/v1/chat/completions",
        r#"{"model":"m1","stream":true,"messages":[]}"#,
    );
    assert_eq!(
        p.upstream.uri(),
        "https://collection.example/v1/models/m1:call?key=k&alt=sse"
    );
}

#[test]
fn an_unresolved_extension_is_the_unresolved_path_400() {
    let proxy = collection().compile();
    let e = err(&proxy, post("/v1/chat/completions", r#"{"messages":[]}"#));
    assert_eq!(e, PrepareError::UnresolvedPath);
}

#[test]
fn an_options_patch_replaces_the_flat_overwrite() {
    let proxy = collection()
        .option("model", "\"m2\"")
        .option("temperature", "0.5")
        .max_tokens(9)
        .compile();
    let p = ok(
        &proxy,
        "/v1/chat/completions",
        r#"{"model":"m1","messages":[],"config":{"temp":1,"keep":true}}"#,
    );
    assert_eq!(p.upstream.uri().path(), "/v1/models/m2:call");
    assert_eq!(
        body_json(&p),
        serde_json::json!({"model": "m1", "messages": [], "config": {"temp": 0.5, "keep": true, "max": 9}})
    );
}

#[test]
fn an_options_patch_refusal_refuses_the_config() {
    let cfg = collection().option("foo", "1");
    let e = AiProxy::compile_instance("x", &cfg.0, cfg.2, Transport::default(), cfg.1, &registry())
        .err()
        .unwrap();
    assert_eq!(
        e,
        CompileError::UnsupportedOption {
            provider: Provider::Gemini,
            reason: "options.foo has no place here".to_owned()
        }
    );
}

#[test]
fn a_native_gemini_request_is_passthrough_where_the_provider_does_not_speak_it() {
    let proxy = Cfg::new(Provider::OpenAi).option("foo", "1").compile();
    let p = ok(
        &proxy,
        "/v1beta/models/g:generateContent",
        r#"{"contents":[]}"#,
    );
    assert_eq!(p.context.client_protocol, Protocol::Gemini);
    assert_eq!(p.context.target_protocol, Protocol::Passthrough);
    assert_eq!(p.upstream.uri().path(), "/v1beta/models/g:generateContent");
    assert_eq!(body_json(&p)["foo"], 1);
}
