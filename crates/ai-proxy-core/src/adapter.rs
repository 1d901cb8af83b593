//! The provider contract: [`Adapter`] (what a provider speaks and where it
//! lives) and [`Converter`] (turning one client protocol into another), as in
//! APISIX's `ai-providers/` and `ai-protocols/converters/`.
//!
//! Adapters and converters are registered separately, as in APISIX: a client
//! protocol the provider speaks natively goes straight through; otherwise a
//! converter from the client protocol to one of the provider's
//! [`capabilities`](Adapter::capabilities) is looked up in the [`Registry`].
//! Both are pure: no I/O, no clock, no environment.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::config::{Options, ProviderConf, UpstreamConfig};
use crate::framing::StreamFraming;
use crate::protocol::{Protocol, RequestType};
use crate::provider::Provider;
use crate::sign::RequestSigner;
use crate::translate::ResponseTranslator;

/// One provider's mapping (object_store style: one module per provider,
/// implementing this trait; the whole mapping readable in one file).
pub trait Adapter: Send + Sync + fmt::Debug {
    /// The provider served.
    fn provider(&self) -> Provider;

    /// Target protocols the provider speaks natively, in APISIX's
    /// capability order (used in "supported: …" messages).
    fn capabilities(&self) -> &[Protocol];

    /// Where a request of `target` protocol goes when `override.endpoint`
    /// does not say (its host and/or path are missing). `None` fields are
    /// "no default": a missing host with no endpoint host is a config error
    /// caught at compile time, a missing path is APISIX's 400 `could not
    /// resolve upstream path`.
    fn default_endpoint(&self, target: Protocol, ctx: &EndpointContext<'_>) -> DefaultEndpoint;

    /// How `override.llm_options.max_tokens` is written for `target`.
    fn max_tokens_mapping(&self, target: Protocol) -> MaxTokensMapping;

    /// The host `ai-proxy-multi`'s active health checks connect to when
    /// `override.endpoint` names none (APISIX's `get_node`). By default the
    /// host of the first capability's default endpoint; `None` when the
    /// host must come from `override.endpoint`.
    fn health_check_host(&self, provider_conf: Option<&ProviderConf>) -> Option<Cow<'static, str>> {
        let target = *self.capabilities().first()?;
        let ctx = EndpointContext::new(provider_conf, None, RequestType::AiChat);
        self.default_endpoint(target, &ctx).host
    }

    /// Whether the provider takes the model from the URL and `model` must
    /// be removed from the body (azure-openai).
    fn removes_model(&self) -> bool {
        false
    }

    /// How `options` and `override.llm_options.max_tokens` are written
    /// into bodies of `target`. `Ok(None)` (the default): APISIX's flat
    /// overwrite of top-level fields, then [`max_tokens_mapping`](Self::max_tokens_mapping).
    /// `Ok(Some(patch))`: the wire names these settings differently
    /// (Gemini's `generationConfig`), and `patch` is deep-merged with force
    /// instead. `Err(reason)`: an option cannot be honoured; the config is
    /// refused (`reason` names the option and the fix). Called once, when
    /// the config is compiled.
    fn options_patch(
        &self,
        target: Protocol,
        options: &Options,
        max_tokens: Option<u64>,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, String> {
        let _ = (target, options, max_tokens);
        Ok(None)
    }

    /// Whether a streaming OpenAI-chat request to `upstream` may carry
    /// `stream_options` (the pipeline then sets `include_usage: true` so
    /// usage can be metered). Servers that reject the field say no here;
    /// Azure OpenAI accepts it only from api-version `2024-08-01-preview`.
    fn accepts_stream_options(&self, upstream: &http::Uri) -> bool {
        let _ = upstream;
        true
    }

    /// How `target`'s responses stream when they are not SSE (Bedrock: AWS
    /// event streams). The exchange decodes a response whose
    /// `Content-Type` the framing recognises with it. Default: SSE only.
    fn stream_framing(&self, target: Protocol) -> Option<Arc<dyn StreamFraming>> {
        let _ = target;
        None
    }

    /// A signer for every request to `upstream` (Bedrock: AWS SigV4 from
    /// `auth.aws` and `provider_conf.region`), built once when the config
    /// is compiled. `Err` is a config the provider cannot sign with (its
    /// message names the field and the fix). Default: no signing.
    fn request_signer(
        &self,
        upstream: &UpstreamConfig,
    ) -> Result<Option<Arc<dyn RequestSigner>>, String> {
        let _ = upstream;
        Ok(None)
    }
}

/// What an adapter may look at to build its default endpoint.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct EndpointContext<'a> {
    /// `provider_conf` (Vertex AI's project and region).
    pub provider_conf: Option<&'a ProviderConf>,
    /// `$llm_model`: `options.model`, else the client body's `model` (for
    /// a native Gemini request, the model its path names).
    pub llm_model: Option<&'a str>,
    /// `ai_chat` or `ai_stream`.
    pub request_type: RequestType,
    /// The client request's path (no query), when a request is being
    /// prepared (`None` at compile time). Bedrock's `InvokeModel`
    /// passthrough takes the model from it when no model is configured;
    /// a native Gemini client's path names its method.
    pub client_path: Option<&'a str>,
    /// The client request's query, when it has one (a native Gemini
    /// client's `alt=sse` framing).
    pub client_query: Option<&'a str>,
}

impl<'a> EndpointContext<'a> {
    /// A context from its parts.
    pub fn new(
        provider_conf: Option<&'a ProviderConf>,
        llm_model: Option<&'a str>,
        request_type: RequestType,
    ) -> Self {
        Self {
            provider_conf,
            llm_model,
            request_type,
            client_path: None,
            client_query: None,
        }
    }

    /// The same context with the client request's path.
    pub fn with_client_path(mut self, path: &'a str) -> Self {
        self.client_path = Some(path);
        self
    }

    /// The same context with the client request's query.
    pub fn with_client_query(mut self, query: Option<&'a str>) -> Self {
        self.client_query = query;
        self
    }
}

/// A provider's default location for one target protocol. Scheme is always
/// `https` and the port the scheme's default, as in APISIX.
///
/// Parts are `Cow<'static, str>` so fixed hosts and paths (most providers)
/// cost no allocation per request; computed ones (Vertex) are owned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DefaultEndpoint {
    /// Host, e.g. `api.openai.com`; `None` when the provider has none
    /// (azure-openai, openai-compatible, vertex-ai without a region).
    pub host: Option<Cow<'static, str>>,
    /// Path, e.g. `/v1/chat/completions`; `None` when it cannot be formed
    /// (vertex-ai without project/region or model).
    pub path: Option<Cow<'static, str>>,
    /// What becomes of an `override.endpoint` path (APISIX: used as is).
    pub endpoint_path: EndpointPath,
    /// Query pieces (`key=value`, encoded) the request itself needs, added
    /// after `auth.query` and the endpoint's query (Gemini's `alt=sse`).
    pub query: Option<Cow<'static, str>>,
}

/// What becomes of the path of a configured `override.endpoint`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointPath {
    /// Used as is (APISIX).
    #[default]
    AsConfigured,
    /// The endpoint names a collection and the request picks from it:
    /// this is appended (Gemini's native `…/models` + `/{model}:generateContent`).
    Extended(Cow<'static, str>),
    /// The request lacks what the extension needs (no model): APISIX's
    /// 400 `could not resolve upstream path`.
    Unresolved,
}

impl DefaultEndpoint {
    /// An endpoint with both parts.
    pub fn new(host: impl Into<Cow<'static, str>>, path: impl Into<Cow<'static, str>>) -> Self {
        Self {
            host: Some(host.into()),
            path: Some(path.into()),
            ..Self::default()
        }
    }

    /// An endpoint with a path only (the host must come from
    /// `override.endpoint`).
    pub fn path_only(path: impl Into<Cow<'static, str>>) -> Self {
        Self {
            path: Some(path.into()),
            ..Self::default()
        }
    }
}

/// How `override.llm_options.max_tokens` lands in the body (APISIX applies
/// it with force: the configured value always wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MaxTokensMapping {
    /// The target protocol has no such field (embeddings): ignored.
    Ignore,
    /// Set `field`, then remove each of `remove` (OpenAI chat sets
    /// `max_completion_tokens` and removes `max_tokens`).
    Set {
        /// The field set.
        field: &'static str,
        /// Fields removed after setting.
        remove: &'static [&'static str],
    },
    /// Set `field` inside the top-level object `object`, creating the
    /// object when absent or not an object (Bedrock Converse:
    /// `inferenceConfig.maxTokens`).
    SetIn {
        /// The top-level member holding the field.
        object: &'static str,
        /// The field set inside it.
        field: &'static str,
    },
}

/// Converts requests of one client protocol into a target protocol and
/// hands back the matching [`ResponseTranslator`] for the response.
pub trait Converter: Send + Sync + fmt::Debug {
    /// The client protocol converted from.
    fn client_protocol(&self) -> Protocol;

    /// The target protocol converted to.
    fn target_protocol(&self) -> Protocol;

    /// Converts the client's body (raw JSON bytes, already size-checked and
    /// known to be JSON).
    fn convert_request(
        &self,
        body: &[u8],
        ctx: &ConvertContext<'_>,
    ) -> Result<ConvertedRequest, ConvertError>;

    /// Rewrites client headers for the target protocol (Anthropic →
    /// OpenAI: `x-api-key` → bearer, `anthropic-*` dropped). Runs on the
    /// client's headers, before the credential strip and the `auth.header`
    /// overlay (so configured auth always wins). The default changes nothing.
    fn convert_headers(&self, headers: &mut HeaderMap) {
        let _ = headers;
    }
}

/// What a converter may look at.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ConvertContext<'a> {
    /// The provider the converted request goes to.
    pub provider: Provider,
    /// `$llm_model`: `options.model`, else the client body's `model`.
    pub llm_model: Option<&'a str>,
    /// `$request_llm_model`: the client body's `model`.
    pub request_llm_model: Option<&'a str>,
    /// `ai_chat` or `ai_stream`.
    pub request_type: RequestType,
}

impl<'a> ConvertContext<'a> {
    /// A context from its parts.
    pub fn new(
        provider: Provider,
        llm_model: Option<&'a str>,
        request_llm_model: Option<&'a str>,
        request_type: RequestType,
    ) -> Self {
        Self {
            provider,
            llm_model,
            request_llm_model,
            request_type,
        }
    }
}

/// A converted request.
#[derive(Debug)]
#[non_exhaustive]
pub struct ConvertedRequest {
    /// The body in the target protocol (JSON). `Bytes`, so a converter may
    /// hand out part of the buffer it wrote (a body that starts after a
    /// gap it reserved for members only known at the end) without a copy.
    pub body: Bytes,
    /// Turns the upstream response back into the client protocol.
    pub translator: Box<dyn ResponseTranslator>,
    /// Where the body's top-level members are, when the converter reports
    /// it: `prepare` then shapes the body without parsing it again.
    pub layout: Option<BodyLayout>,
}

impl ConvertedRequest {
    /// A converted body and its response translator (a `Vec<u8>` or
    /// `Bytes`; neither is copied).
    pub fn new(body: impl Into<Bytes>, translator: Box<dyn ResponseTranslator>) -> Self {
        Self {
            body: body.into(),
            translator,
            layout: None,
        }
    }

    /// Adds the body's layout (see [`BodyLayout`]).
    pub fn with_layout(mut self, layout: BodyLayout) -> Self {
        self.layout = Some(layout);
        self
    }
}

/// What a converter knows about the JSON object it wrote, so that
/// `prepare` applies options, `max_tokens`, the `request_body` patch and
/// usage injection to it without parsing it again, and reads its facts
/// (tools, end user, stream) from it.
///
/// The contract: the body is one JSON object whose top-level members are
/// exactly `members`, in order, each key unique and written without
/// escapes. A layout whose ranges do not fit the body is ignored (the body
/// is then parsed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BodyLayout {
    /// Each top-level member's key and the byte range of its value.
    pub members: Vec<(&'static str, Range<usize>)>,
    /// The number of elements of `tools` (0 without tools).
    pub tool_count: usize,
}

impl BodyLayout {
    /// A layout from its parts.
    pub fn new(members: Vec<(&'static str, Range<usize>)>, tool_count: usize) -> Self {
        Self {
            members,
            tool_count,
        }
    }
}

/// A client request the converter cannot map (APISIX answers 400
/// `{"error_msg": "<message>"}`, e.g. `missing messages`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct ConvertError {
    /// What is wrong, for the client.
    pub message: String,
}

impl ConvertError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// Always 400: the client's request cannot be converted.
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }
}

/// The adapters and converters a compiled config may use.
///
/// The facade crate `ai-proxy` builds the default registry with every
/// provider of the workspace; tests and embedders may build their own.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    adapters: Vec<Arc<dyn Adapter>>,
    converters: Vec<Arc<dyn Converter>>,
    /// `(provider, endpoint path suffix, adapter)`: a provider whose
    /// `override.endpoint` path ends with the suffix uses this adapter.
    variants: Vec<(Provider, &'static str, Arc<dyn Adapter>)>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the adapter for its provider.
    pub fn with_adapter(mut self, adapter: Arc<dyn Adapter>) -> Self {
        self.adapters.retain(|a| a.provider() != adapter.provider());
        self.adapters.push(adapter);
        self
    }

    /// Adds (or replaces) the converter for its `from → to` pair.
    pub fn with_converter(mut self, converter: Arc<dyn Converter>) -> Self {
        self.converters.retain(|c| {
            (c.client_protocol(), c.target_protocol())
                != (converter.client_protocol(), converter.target_protocol())
        });
        self.converters.push(converter);
        self
    }

    /// Adds an endpoint-selected variant of a provider's adapter: a target
    /// whose provider is `adapter.provider()` and whose `override.endpoint`
    /// path ends with `path_suffix` uses `adapter` instead of the
    /// provider's default one. The facade registers Anthropic's native
    /// Messages API this way: `provider: anthropic` with
    /// `override.endpoint: https://api.anthropic.com/v1/messages` makes
    /// OpenAI chat clients go through the OpenAI → Anthropic converter
    /// instead of Anthropic's OpenAI-compatible endpoint.
    pub fn with_endpoint_variant(
        mut self,
        path_suffix: &'static str,
        adapter: Arc<dyn Adapter>,
    ) -> Self {
        let provider = adapter.provider();
        self.variants
            .retain(|(p, suffix, _)| (*p, *suffix) != (provider, path_suffix));
        self.variants.push((provider, path_suffix, adapter));
        self
    }

    /// The adapter for `provider`, if registered.
    pub fn adapter(&self, provider: Provider) -> Option<&Arc<dyn Adapter>> {
        self.adapters.iter().find(|a| a.provider() == provider)
    }

    /// The adapter a target uses: an endpoint variant whose suffix ends
    /// the path of `endpoint` (see
    /// [`with_endpoint_variant`](Self::with_endpoint_variant)), else the
    /// provider's adapter.
    pub fn adapter_for(
        &self,
        provider: Provider,
        endpoint: Option<&crate::config::Endpoint>,
    ) -> Option<&Arc<dyn Adapter>> {
        let path = endpoint.filter(|e| e.has_path).map(|e| e.url.path());
        path.and_then(|path| {
            self.variants
                .iter()
                .find(|(p, suffix, _)| *p == provider && path.ends_with(suffix))
                .map(|(_, _, adapter)| adapter)
        })
        .or_else(|| self.adapter(provider))
    }

    /// How a `client` protocol reaches `adapter`: natively, through a
    /// converter to one of its capabilities (first capability wins), or not
    /// at all.
    ///
    /// A native Gemini request (detected by its `:generateContent` path)
    /// to a provider that does not speak Gemini is passthrough, as any
    /// other JSON body would be there.
    pub fn delivery(&self, adapter: &dyn Adapter, client: Protocol) -> Option<Delivery> {
        let caps = adapter.capabilities();
        if caps.contains(&client) {
            return Some(Delivery::Native(client));
        }
        if matches!(client, Protocol::Passthrough | Protocol::Gemini) {
            return Some(Delivery::Native(Protocol::Passthrough));
        }
        caps.iter().find_map(|&target| {
            self.converters
                .iter()
                .find(|c| c.client_protocol() == client && c.target_protocol() == target)
                .map(|c| Delivery::Converted(Arc::clone(c)))
        })
    }
}

/// How a client protocol reaches a provider.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Delivery {
    /// The provider speaks it: target = client protocol.
    Native(Protocol),
    /// Converted first; target = the converter's `target_protocol`.
    Converted(Arc<dyn Converter>),
}

impl Delivery {
    /// The protocol the upstream receives.
    pub fn target_protocol(&self) -> Protocol {
        match self {
            Delivery::Native(p) => *p,
            Delivery::Converted(c) => c.target_protocol(),
        }
    }
}
