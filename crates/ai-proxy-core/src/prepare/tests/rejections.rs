use super::*;

// ---- rejections ---------------------------------------------------------

#[test]
fn form_content_type_is_rejected_with_400() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let req = Request::post("/v1/chat/completions")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from_static(b"a=1"))
        .unwrap();
    let e = err(&proxy, req);
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        e.to_string(),
        "unsupported content-type: application/x-www-form-urlencoded, only application/json is supported"
    );
    assert_eq!(e.content_type(), "text/plain");
}

#[test]
fn missing_content_type_and_charset_suffix_are_accepted() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let req = Request::post("/")
        .body(Bytes::from_static(CHAT.as_bytes()))
        .unwrap();
    assert!(prep(&proxy, req).is_ok());
    let req = Request::post("/")
        .header("content-type", "Application/JSON; charset=utf-8")
        .body(Bytes::from_static(CHAT.as_bytes()))
        .unwrap();
    assert!(prep(&proxy, req).is_ok());
}

#[test]
fn oversized_body_is_413() {
    let proxy = Cfg::new(Provider::OpenAi).max_body(10).compile();
    let e = err(&proxy, post("/", CHAT));
    assert_eq!(e.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        e.to_string(),
        format!(
            "could not get body: request size {} is greater than the maximum size 10 allowed",
            CHAT.len()
        )
    );
    assert_eq!(
        e.body(),
        Bytes::from(format!(
            r#"{{"message":"could not get body: request size {} is greater than the maximum size 10 allowed"}}"#,
            CHAT.len()
        ))
    );
}

#[test]
fn announced_content_length_over_the_cap_is_413() {
    let proxy = Cfg::new(Provider::OpenAi).max_body(100).compile();
    let req = Request::post("/")
        .header("content-length", "5000")
        .body(Bytes::from_static(CHAT.as_bytes()))
        .unwrap();
    let e = err(&proxy, req);
    assert_eq!(
        e,
        PrepareError::Body(BodyError::TooLarge {
            size: 5000,
            max: 100
        })
    );
}

#[test]
fn empty_body_is_400() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let e = err(&proxy, post("/", ""));
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    assert_eq!(e.to_string(), "could not get body: request body is empty");
}

#[test]
fn bad_json_is_400_with_the_parser_position() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let e = err(&proxy, post("/", r#"{}"messages": []"#));
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        e.to_string(),
        "could not parse JSON request body: trailing characters at line 1 column 3"
    );
    assert!(
        e.body()
            .starts_with(br#"{"message":"could not parse JSON request body"#)
    );
}

#[test]
fn invalid_utf8_is_400_even_inside_a_string() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let req = Request::post("/")
        .body(Bytes::from_static(b"{\"messages\":[],\"x\":\"\xff\"}"))
        .unwrap();
    let e = err(&proxy, req);
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        e.to_string(),
        "could not parse JSON request body: invalid UTF-8 at byte 20"
    );
}

#[test]
fn empty_object_matches_no_protocol() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let e = err(&proxy, post("/", "{}"));
    assert_eq!(e, PrepareError::NoProtocol);
    assert_eq!(e.to_string(), "no matching AI protocol for the request");
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn unsupported_protocol_names_provider_protocol_and_capabilities() {
    let proxy = Cfg::new(Provider::AzureOpenAi)
        .endpoint("https://r.example")
        .compile();
    let e = err(&proxy, post("/v1/embeddings", r#"{"input":"x"}"#));
    assert_eq!(
        e.to_string(),
        "provider azure-openai does not support openai-embeddings protocol (supported: openai-chat)"
    );
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn converter_rejection_is_400_error_msg() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let e = err(&proxy, post("/v1/messages", r#"{"messages":[]}"#));
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        e.body(),
        Bytes::from_static(br#"{"error_msg":"missing messages"}"#)
    );
}

#[test]
fn unresolvable_path_is_400() {
    let proxy = Cfg::new(Provider::VertexAi).compile();
    let e = err(&proxy, post("/", r#"{"messages":[]}"#));
    assert_eq!(e, PrepareError::UnresolvedPath);
    assert!(
        e.body()
            .starts_with(br#"{"error_msg":"could not resolve upstream path"#)
    );
}

#[test]
fn gcp_without_token_is_500() {
    let proxy = Cfg::new(Provider::OpenAi).gcp().compile();
    let e = err(&proxy, post("/", CHAT));
    assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        e.to_string()
            .starts_with("failed to get gcp access token: ")
    );
}

#[test]
fn host_less_provider_without_endpoint_fails_to_compile() {
    let cfg = Cfg::new(Provider::AzureOpenAi);
    let e = AiProxy::compile_instance("x", &cfg.0, cfg.2, Transport::default(), cfg.1, &registry())
        .err();
    assert_eq!(
        e,
        Some(CompileError::MissingEndpoint {
            provider: Provider::AzureOpenAi
        })
    );
}

#[test]
fn provider_without_adapter_fails_to_compile() {
    let cfg = Cfg::new(Provider::DeepSeek);
    let e = AiProxy::compile_instance("x", &cfg.0, cfg.2, Transport::default(), cfg.1, &registry())
        .err();
    assert_eq!(
        e,
        Some(CompileError::NoAdapter {
            provider: Provider::DeepSeek
        })
    );
}
