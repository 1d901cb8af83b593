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

mod body;
mod endpoint;
mod headers;
mod layout;
mod rejections;
