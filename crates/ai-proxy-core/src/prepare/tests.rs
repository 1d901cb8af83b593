//! Pipeline specifications, against small adapters defined here (the real
//! ones live in the adapter crates and have golden tests at the workspace
//! root).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, Request, StatusCode};
use serde_json::value::RawValue;

use super::request::content_length;
use super::*;
use crate::adapter::{
    ConvertContext, ConvertError, ConvertedRequest, Converter, EndpointContext, EndpointPath,
    MaxTokensMapping, Registry,
};
use crate::config::{
    Auth, GcpAuth, Limits, LlmOptions, Logging, Overrides, Transport, UpstreamConfig,
};
use crate::protocol::RequestType;
use crate::secret::Secret;
use crate::translate::{ResponseTranslator, TranslateError};

/// OpenAI's mapping, as in the spec's provider table.
#[derive(Debug)]
struct OpenAiLike;

impl Adapter for OpenAiLike {
    fn provider(&self) -> Provider {
        Provider::OpenAi
    }
    fn capabilities(&self) -> &[Protocol] {
        &[
            Protocol::OpenAiChat,
            Protocol::OpenAiResponses,
            Protocol::OpenAiEmbeddings,
        ]
    }
    fn default_endpoint(&self, target: Protocol, _: &EndpointContext<'_>) -> DefaultEndpoint {
        let path = match target {
            Protocol::OpenAiResponses => "/v1/responses",
            Protocol::OpenAiEmbeddings => "/v1/embeddings",
            _ => "/v1/chat/completions",
        };
        DefaultEndpoint::new("api.openai.com", path)
    }
    fn max_tokens_mapping(&self, target: Protocol) -> MaxTokensMapping {
        match target {
            Protocol::OpenAiChat => MaxTokensMapping::Set {
                field: "max_completion_tokens",
                remove: &["max_tokens"],
            },
            Protocol::OpenAiResponses => MaxTokensMapping::Set {
                field: "max_output_tokens",
                remove: &[],
            },
            _ => MaxTokensMapping::Ignore,
        }
    }
}

/// A host-less, model-removing, stream-options-refusing provider.
#[derive(Debug)]
struct AzureLike;

impl Adapter for AzureLike {
    fn provider(&self) -> Provider {
        Provider::AzureOpenAi
    }
    fn capabilities(&self) -> &[Protocol] {
        &[Protocol::OpenAiChat]
    }
    fn default_endpoint(&self, _: Protocol, _: &EndpointContext<'_>) -> DefaultEndpoint {
        DefaultEndpoint::path_only("/completions")
    }
    fn max_tokens_mapping(&self, _: Protocol) -> MaxTokensMapping {
        MaxTokensMapping::Set {
            field: "max_tokens",
            remove: &[],
        }
    }
    fn removes_model(&self) -> bool {
        true
    }
    fn accepts_stream_options(&self, upstream: &Uri) -> bool {
        upstream.query().is_some_and(|q| q.contains("new"))
    }
}

/// A provider whose path needs the model (like Vertex `:predict`).
#[derive(Debug)]
struct ModelPathLike;

impl Adapter for ModelPathLike {
    fn provider(&self) -> Provider {
        Provider::VertexAi
    }
    fn capabilities(&self) -> &[Protocol] {
        &[Protocol::OpenAiChat]
    }
    fn default_endpoint(&self, _: Protocol, ctx: &EndpointContext<'_>) -> DefaultEndpoint {
        DefaultEndpoint {
            host: Some("models.example".into()),
            path: ctx.llm_model.map(|m| format!("/models/{m}").into()),
            ..DefaultEndpoint::default()
        }
    }
    fn max_tokens_mapping(&self, _: Protocol) -> MaxTokensMapping {
        MaxTokensMapping::Ignore
    }
}

/// A provider whose endpoint names a collection the request picks from
/// (like Gemini's native `…/models` + `/{model}:generateContent`), with a
/// query piece of its own and options under a nested object.
#[derive(Debug)]
struct CollectionLike;

impl Adapter for CollectionLike {
    fn provider(&self) -> Provider {
        Provider::Gemini
    }
    fn capabilities(&self) -> &[Protocol] {
        &[Protocol::OpenAiChat]
    }
    fn default_endpoint(&self, _: Protocol, ctx: &EndpointContext<'_>) -> DefaultEndpoint {
        DefaultEndpoint {
            host: Some("collection.example".into()),
            endpoint_path: match ctx.llm_model {
                Some(m) => EndpointPath::Extended(format!("/{m}:call").into()),
                None => EndpointPath::Unresolved,
            },
            query: (ctx.request_type == RequestType::AiStream).then_some("alt=sse".into()),
            ..DefaultEndpoint::default()
        }
    }
    fn max_tokens_mapping(&self, _: Protocol) -> MaxTokensMapping {
        MaxTokensMapping::Ignore
    }
    fn options_patch(
        &self,
        _: Protocol,
        options: &Options,
        max_tokens: Option<u64>,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, String> {
        if let Some((key, _)) = options.fields.iter().find(|(k, _)| k == "foo") {
            return Err(format!("options.{key} has no place here"));
        }
        let mut config = serde_json::Map::new();
        if let Some(t) = options.temperature {
            config.insert("temp".into(), t.into());
        }
        if let Some(n) = max_tokens {
            config.insert("max".into(), n.into());
        }
        let mut patch = serde_json::Map::new();
        patch.insert("config".into(), config.into());
        Ok(Some(patch))
    }
}

/// Anthropic → OpenAI chat, reduced to what the pipeline must honour.
#[derive(Debug)]
struct AnthropicToChat;

#[derive(Debug)]
struct EchoTranslator;

impl ResponseTranslator for EchoTranslator {
    fn translate_body(
        &mut self,
        _: StatusCode,
        body: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        out.extend_from_slice(body);
        Ok(())
    }
    fn translate_event(
        &mut self,
        _: &str,
        _: &str,
        _: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        Ok(())
    }
    fn finish(&mut self, _: &mut BytesMut) -> Result<(), TranslateError> {
        Ok(())
    }
}

impl Converter for AnthropicToChat {
    fn client_protocol(&self) -> Protocol {
        Protocol::AnthropicMessages
    }
    fn target_protocol(&self) -> Protocol {
        Protocol::OpenAiChat
    }
    fn convert_request(
        &self,
        body: &[u8],
        ctx: &ConvertContext<'_>,
    ) -> Result<ConvertedRequest, ConvertError> {
        let v: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| ConvertError::new("bad"))?;
        let messages = v
            .get("messages")
            .filter(|m| m.as_array().is_some_and(|a| !a.is_empty()))
            .ok_or_else(|| ConvertError::new("missing messages"))?;
        let mut out = serde_json::json!({"model": ctx.llm_model, "messages": messages});
        if let Some(n) = v.get("max_tokens") {
            out["max_completion_tokens"] = n.clone();
        }
        if v.get("stream") == Some(&serde_json::Value::Bool(true)) {
            out["stream"] = true.into();
        }
        Ok(ConvertedRequest::new(
            out.to_string().into_bytes(),
            Box::new(EchoTranslator),
        ))
    }
    fn convert_headers(&self, headers: &mut HeaderMap) {
        if let Some(key) = headers.remove("x-api-key")
            && !headers.contains_key("authorization")
        {
            let mut v = b"Bearer ".to_vec();
            v.extend_from_slice(key.as_bytes());
            if let Ok(v) = HeaderValue::from_bytes(&v) {
                headers.insert("authorization", v);
            }
        }
        let drop: Vec<HeaderName> = headers
            .keys()
            .filter(|k| k.as_str().starts_with("anthropic-"))
            .cloned()
            .collect();
        for k in drop {
            headers.remove(k);
        }
    }
}

fn registry() -> Registry {
    Registry::new()
        .with_adapter(Arc::new(OpenAiLike))
        .with_adapter(Arc::new(AzureLike))
        .with_adapter(Arc::new(ModelPathLike))
        .with_adapter(Arc::new(CollectionLike))
        .with_converter(Arc::new(AnthropicToChat))
}

/// A target config built field by field.
struct Cfg(UpstreamConfig, Limits, Logging);

impl Cfg {
    fn new(provider: Provider) -> Self {
        Cfg(
            UpstreamConfig {
                provider,
                auth: Auth::default(),
                options: Options::default(),
                overrides: Overrides::default(),
                provider_conf: None,
            },
            Limits::default(),
            Logging::default(),
        )
    }
    fn header(mut self, k: &str, v: &str) -> Self {
        self.0.auth.header.push((
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            Secret::new(v),
        ));
        self
    }
    fn query(mut self, k: &str, v: &str) -> Self {
        self.0.auth.query.push((k.to_owned(), Secret::new(v)));
        self
    }
    fn gcp(mut self) -> Self {
        self.0.auth.gcp = Some(GcpAuth::default());
        self
    }
    fn option(mut self, k: &str, raw: &str) -> Self {
        let o = &mut self.0.options;
        match k {
            "model" => o.model = serde_json::from_str(raw).ok(),
            "stream" => o.stream = serde_json::from_str(raw).ok(),
            "temperature" => o.temperature = serde_json::from_str(raw).ok(),
            _ => {}
        }
        o.fields
            .push((k.to_owned(), RawValue::from_string(raw.to_owned()).unwrap()));
        self
    }
    fn endpoint(mut self, url: &str) -> Self {
        let has_path = url
            .split_once("://")
            .is_some_and(|(_, rest)| rest.contains('/'));
        self.0.overrides.endpoint = Some(Endpoint {
            url: url::Url::parse(url).unwrap(),
            has_path,
        });
        self
    }
    fn max_tokens(mut self, n: u64) -> Self {
        self.0.overrides.llm_options = LlmOptions {
            max_tokens: Some(n),
        };
        self
    }
    fn patch(mut self, p: Protocol, v: serde_json::Value) -> Self {
        let serde_json::Value::Object(m) = v else {
            unreachable!()
        };
        self.0.overrides.request_body.push((p, m));
        self
    }
    fn force(mut self) -> Self {
        self.0.overrides.request_body_force_override = true;
        self
    }
    fn max_body(mut self, n: u64) -> Self {
        self.1.max_req_body_size = n;
        self
    }
    fn payloads(mut self) -> Self {
        self.2.payloads = true;
        self
    }
    fn compile(self) -> AiProxy {
        AiProxy::compile_instance(
            format!("ai-proxy-{}", self.0.provider),
            &self.0,
            self.2,
            Transport::default(),
            self.1,
            &registry(),
        )
        .unwrap()
    }
}

fn post(uri: &str, body: &str) -> Request<Bytes> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Bytes::copy_from_slice(body.as_bytes()))
        .unwrap()
}

fn prep(proxy: &AiProxy, req: Request<Bytes>) -> Result<Prepared, PrepareError> {
    proxy.prepare(req, Instant::now(), None)
}

fn ok(proxy: &AiProxy, uri: &str, body: &str) -> Prepared {
    prep(proxy, post(uri, body)).unwrap()
}

fn err(proxy: &AiProxy, req: Request<Bytes>) -> PrepareError {
    prep(proxy, req).err().unwrap()
}

fn body_json(p: &Prepared) -> serde_json::Value {
    serde_json::from_slice(p.upstream.body()).unwrap()
}

fn body_text(p: &Prepared) -> &str {
    std::str::from_utf8(p.upstream.body()).unwrap()
}

const CHAT: &str = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#;

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
        PrepareError::BodyTooLarge {
            size: 5000,
            max: 100
        }
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
