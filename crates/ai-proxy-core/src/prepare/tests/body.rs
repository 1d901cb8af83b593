use super::*;

// ---- body shaping -------------------------------------------------------

#[test]
fn unchanged_body_is_sent_byte_identical() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let raw = "{ \"model\" :\"gpt-4o\",\n  \"messages\": [ {\"role\":\"user\",\"content\":\"hi\"} ] ,\"x\":1.50}";
    let p = ok(&proxy, "/v1/chat/completions", raw);
    assert_eq!(body_text(&p), raw);
}

#[test]
fn options_overwrite_top_level_fields_and_add_new_ones() {
    let proxy = Cfg::new(Provider::OpenAi)
        .option("model", "\"gpt-4.1\"")
        .option("foo", "\"bar\"")
        .compile();
    let p = ok(&proxy, "/", CHAT);
    assert_eq!(
        body_text(&p),
        r#"{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"foo":"bar"}"#
    );
    assert_eq!(p.context.llm_model.as_deref(), Some("gpt-4.1"));
    assert_eq!(p.context.request_llm_model.as_deref(), Some("gpt-4o"));
}

#[test]
fn option_equal_to_the_client_value_keeps_bytes() {
    let proxy = Cfg::new(Provider::OpenAi)
        .option("model", "\"gpt-4o\"")
        .compile();
    let raw = r#"{"model":"gpt-4o",  "messages":[]}"#;
    assert_eq!(body_text(&ok(&proxy, "/", raw)), raw);
}

#[test]
fn the_client_model_reads_the_same_whether_or_not_options_name_it() {
    let configured = Cfg::new(Provider::OpenAi)
        .option("model", "\"gpt-4o\"")
        .compile();
    let plain = Cfg::new(Provider::OpenAi).compile();
    for (model, read) in [
        (r#""gpt-4o""#, Some("gpt-4o")),
        (r#""gpt\u002d4o""#, Some("gpt-4o")),
        (r#""gpt-4""#, Some("gpt-4")),
        (r#""""#, None),
        ("7", None),
    ] {
        let body = format!(r#"{{"model":{model},"messages":[]}}"#);
        for proxy in [&configured, &plain] {
            let p = ok(proxy, "/", &body);
            assert_eq!(p.context.request_llm_model.as_deref(), read, "{model}");
        }
    }
}

#[test]
fn max_tokens_maps_to_max_completion_tokens_for_openai_chat_and_drops_max_tokens() {
    let proxy = Cfg::new(Provider::OpenAi).max_tokens(555).compile();
    let p = ok(&proxy, "/", r#"{"messages":[],"max_tokens":999}"#);
    assert_eq!(
        body_text(&p),
        r#"{"messages":[],"max_completion_tokens":555}"#
    );
}

#[test]
fn max_tokens_maps_to_max_output_tokens_for_responses() {
    let proxy = Cfg::new(Provider::OpenAi).max_tokens(333).compile();
    let p = ok(&proxy, "/v1/responses", r#"{"input":"x","stream":true}"#);
    assert_eq!(
        body_json(&p),
        serde_json::json!({"input":"x","stream":true,"max_output_tokens":333})
    );
    assert_eq!(p.upstream.uri(), "https://api.openai.com/v1/responses");
}

#[test]
fn max_tokens_is_ignored_for_embeddings() {
    let proxy = Cfg::new(Provider::OpenAi).max_tokens(5).compile();
    let raw = r#"{"input":"x"}"#;
    assert_eq!(body_text(&ok(&proxy, "/v1/embeddings", raw)), raw);
}

#[test]
fn request_body_patch_fills_absent_fields_only_without_force() {
    let proxy = Cfg::new(Provider::OpenAi)
        .patch(
            Protocol::OpenAiChat,
            serde_json::json!({"max_tokens": 555, "n": 2}),
        )
        .compile();
    let p = ok(&proxy, "/", r#"{"messages":[],"max_tokens":999}"#);
    assert_eq!(
        body_json(&p),
        serde_json::json!({"messages":[],"max_tokens":999,"n":2})
    );
}

#[test]
fn request_body_patch_with_force_wins() {
    let proxy = Cfg::new(Provider::OpenAi)
        .patch(
            Protocol::OpenAiChat,
            serde_json::json!({"max_tokens": 555, "stop": ["z"]}),
        )
        .force()
        .compile();
    let p = ok(
        &proxy,
        "/",
        r#"{"messages":[],"max_tokens":999,"stop":["a","b"]}"#,
    );
    assert_eq!(
        body_json(&p),
        serde_json::json!({"messages":[],"max_tokens":555,"stop":["z"]})
    );
}

#[test]
fn request_body_patch_runs_after_llm_options() {
    let proxy = Cfg::new(Provider::OpenAi)
        .max_tokens(100)
        .patch(
            Protocol::OpenAiChat,
            serde_json::json!({"max_completion_tokens": 200}),
        )
        .force()
        .compile();
    let p = ok(&proxy, "/", r#"{"messages":[]}"#);
    assert_eq!(body_json(&p)["max_completion_tokens"], 200);
}

#[test]
fn request_body_patch_for_another_protocol_is_ignored() {
    let proxy = Cfg::new(Provider::OpenAi)
        .patch(
            Protocol::AnthropicMessages,
            serde_json::json!({"max_tokens": 1}),
        )
        .compile();
    let raw = r#"{"messages":[]}"#;
    assert_eq!(body_text(&ok(&proxy, "/", raw)), raw);
}

#[test]
fn request_body_patch_is_keyed_by_target_protocol_after_conversion() {
    let proxy = Cfg::new(Provider::OpenAi)
        .patch(
            Protocol::OpenAiChat,
            serde_json::json!({"max_completion_tokens": 77}),
        )
        .patch(
            Protocol::AnthropicMessages,
            serde_json::json!({"max_completion_tokens": 999}),
        )
        .force()
        .compile();
    let p = ok(
        &proxy,
        "/v1/messages",
        r#"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"1+1"}]}"#,
    );
    assert_eq!(body_json(&p)["max_completion_tokens"], 77);
}

#[test]
fn model_is_removed_for_model_removing_providers() {
    let proxy = Cfg::new(Provider::AzureOpenAi)
        .endpoint("https://r.example/openai/deployments/d/chat/completions?api-version=old")
        .compile();
    let p = ok(&proxy, "/", CHAT);
    assert_eq!(
        body_text(&p),
        r#"{"messages":[{"role":"user","content":"hi"}]}"#
    );
    assert_eq!(p.context.request_llm_model.as_deref(), Some("gpt-4o"));
}

// ---- stream_options -----------------------------------------------------

#[test]
fn streaming_chat_gets_include_usage_and_keeps_other_stream_options() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let p = ok(
        &proxy,
        "/",
        r#"{"messages":[],"stream":true,"stream_options":{"extra":1}}"#,
    );
    assert_eq!(
        body_text(&p),
        r#"{"messages":[],"stream":true,"stream_options":{"extra":1,"include_usage":true}}"#
    );
    assert_eq!(p.context.request_type, RequestType::AiStream);
}

#[test]
fn include_usage_already_true_keeps_bytes() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let raw = r#"{"messages":[], "stream":true,"stream_options":{ "include_usage" : true }}"#;
    assert_eq!(body_text(&ok(&proxy, "/", raw)), raw);
}

#[test]
fn include_usage_false_is_turned_on() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let p = ok(
        &proxy,
        "/",
        r#"{"messages":[],"stream":true,"stream_options":{"include_usage":false}}"#,
    );
    assert_eq!(
        body_json(&p)["stream_options"],
        serde_json::json!({"include_usage": true})
    );
}

#[test]
fn options_stream_true_also_gets_usage() {
    let proxy = Cfg::new(Provider::OpenAi)
        .option("stream", "true")
        .compile();
    let p = ok(&proxy, "/", r#"{"messages":[]}"#);
    assert_eq!(
        body_text(&p),
        r#"{"messages":[],"stream":true,"stream_options":{"include_usage":true}}"#
    );
    // $request_type follows the client's body, as in APISIX.
    assert_eq!(p.context.request_type, RequestType::AiChat);
}

#[test]
fn request_body_stream_options_patch_merges_with_injected_usage() {
    let proxy = Cfg::new(Provider::OpenAi)
        .patch(
            Protocol::OpenAiChat,
            serde_json::json!({"stream_options": {"extra": 1}}),
        )
        .compile();
    let p = ok(&proxy, "/", r#"{"messages":[],"stream":true}"#);
    assert_eq!(
        body_json(&p)["stream_options"],
        serde_json::json!({"include_usage": true, "extra": 1})
    );
}

#[test]
fn responses_and_embeddings_never_get_stream_options() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let raw = r#"{"input":"x","stream":true}"#;
    assert_eq!(body_text(&ok(&proxy, "/v1/responses", raw)), raw);
    assert_eq!(body_text(&ok(&proxy, "/v1/embeddings", raw)), raw);
}

#[test]
fn non_streaming_chat_gets_no_stream_options() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let raw = r#"{"messages":[],"stream":false}"#;
    assert_eq!(body_text(&ok(&proxy, "/", raw)), raw);
}

#[test]
fn injection_can_be_turned_off_per_instance() {
    let proxy = Cfg::new(Provider::OpenAi)
        .compile()
        .with_stream_usage_injection(false);
    let raw = r#"{"messages":[],"stream":true}"#;
    assert_eq!(body_text(&ok(&proxy, "/", raw)), raw);
}

#[test]
fn adapter_may_refuse_stream_options_per_upstream() {
    let old = Cfg::new(Provider::AzureOpenAi)
        .endpoint("https://r.example/x?api-version=old")
        .compile();
    let p = ok(&old, "/", r#"{"messages":[],"stream":true}"#);
    assert_eq!(body_text(&p), r#"{"messages":[],"stream":true}"#);
    let new = Cfg::new(Provider::AzureOpenAi)
        .endpoint("https://r.example/x?api-version=new")
        .compile();
    let p = ok(&new, "/", r#"{"messages":[],"stream":true}"#);
    assert_eq!(body_json(&p)["stream_options"]["include_usage"], true);
}
