//! Request preparation: the client's OpenAI-style `http::Request` in, the
//! exact upstream `http::Request` out (APISIX `ai-proxy`, spec §2–§4).
//!
//! [`AiProxy::compile`] resolves a validated config once (adapter, deliveries,
//! sensitive auth headers, encoded auth query). [`AiProxy::prepare`] then
//! runs, per request and without I/O:
//!
//! 1. `Content-Type` and size checks, one JSON parse (top level only),
//!    protocol detection ([`Protocol`]);
//! 2. routing through the [`Registry`](crate::adapter::Registry): native, or converted first;
//! 3. body shaping in APISIX order: `options` overwrite top-level fields,
//!    `override.llm_options.max_tokens` per provider, `override.request_body`
//!    deep merge, `model` removal (azure-openai). Differs on purpose: a final
//!    body that streams on an OpenAI-chat wire gets
//!    `stream_options.include_usage = true` (other client `stream_options`
//!    keys kept). Unchanged bodies go upstream byte-identical;
//! 4. endpoint and query resolution, then the header policy (see
//!    [`CLIENT_CREDENTIAL_HEADERS`], [`HOP_BY_HOP_HEADERS`]).
//!
//! ```
//! use std::time::Instant;
//! use ai_proxy_core::Registry;
//! use ai_proxy_core::prepare::AiProxy;
//! # fn demo(config: &ai_proxy_core::config::AiProxyConfig, registry: &Registry)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! let proxy = AiProxy::compile(config, registry)?;
//! let request = http::Request::post("/v1/chat/completions")
//!     .header("content-type", "application/json")
//!     .body(bytes::Bytes::from_static(br#"{"messages":[{"role":"user","content":"hi"}]}"#))?;
//! let prepared = proxy.prepare(request, Instant::now(), None)?;
//! // send prepared.upstream with an HTTP client honouring prepared.hints,
//! // then observe the response with prepared.context.
//! # let _ = prepared; Ok(()) }
//! ```

mod body;
mod compile;
mod detect;
mod endpoint;
mod error;
mod headers;
mod hints;
mod layout;
mod prepared;
mod request;
mod shape;
mod uri;

use std::fmt;
use std::sync::Arc;

use http::Uri;
use http::header::{HeaderName, HeaderValue};

use crate::adapter::{Adapter, DefaultEndpoint, Delivery};
use crate::config::{Endpoint, Limits, Logging, Options, ProviderConf};
use crate::protocol::Protocol;
use crate::provider::Provider;
use crate::sign::RequestSigner;

use endpoint::QueryPiece;

pub use error::{BodyError, CompileError, PrepareError};
pub use headers::{CLIENT_CREDENTIAL_HEADERS, HOP_BY_HOP_HEADERS};
pub use hints::ClientHints;
pub use layout::ClientBodyLayout;
pub use prepared::Prepared;

/// One compiled `ai-proxy` config (or one `ai-proxy-multi` instance),
/// ready to prepare requests. Cheap to share (`&self` methods only).
pub struct AiProxy {
    instance_name: Arc<str>,
    provider: Provider,
    adapter: Arc<dyn Adapter>,
    /// How each client protocol reaches the provider (absent: unsupported).
    deliveries: Vec<(Protocol, Delivery)>,
    auth_headers: Vec<(HeaderName, HeaderValue)>,
    /// Client headers `prepare` sets itself after the strip
    /// (`content-length`, the auth headers, `authorization` under
    /// `auth.gcp`): replaced in place, not removed first.
    overwritten_headers: Vec<HeaderName>,
    auth_query: Vec<QueryPiece>,
    redact_query_keys: Arc<[String]>,
    gcp: bool,
    endpoint: Option<Endpoint>,
    options: Options,
    /// `options.model`, shared with every request's context.
    options_model: Option<Arc<str>>,
    /// `options.model` as the JSON string token a client writes for the
    /// same model (absent when the model needs escapes): a client `model`
    /// with exactly this text is `options_model`, shared.
    options_model_token: Option<Box<str>>,
    /// `override.llm_options.max_tokens` as JSON text.
    max_tokens: Option<String>,
    /// Upstream URIs resolved at compile time, per target protocol, with
    /// the default endpoint they came from (reused while the adapter
    /// answers the same).
    uri_cache: Vec<(Protocol, DefaultEndpoint, Uri)>,
    request_body: Vec<(Protocol, serde_json::Map<String, serde_json::Value>)>,
    /// Per target protocol whose wire names the settings differently: the
    /// adapter's patch carrying `options` and `max_tokens` (deep-merged with
    /// force instead of the flat overwrite).
    options_patches: Vec<(Protocol, serde_json::Map<String, serde_json::Value>)>,
    force_override: bool,
    provider_conf: Option<ProviderConf>,
    logging: Logging,
    limits: Limits,
    hints: ClientHints,
    inject_stream_usage: bool,
    forward_client_credentials: bool,
    /// Signs every upstream request last (Bedrock's SigV4).
    signer: Option<Arc<dyn RequestSigner>>,
}

impl fmt::Debug for AiProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URI cache is left out: its URIs carry auth.query values.
        f.debug_struct("AiProxy")
            .field("instance_name", &self.instance_name)
            .field("provider", &self.provider)
            .field("adapter", &self.adapter)
            .field("deliveries", &self.deliveries)
            .field("auth_headers", &self.auth_headers)
            .field("auth_query", &self.auth_query)
            .field("gcp", &self.gcp)
            .field("endpoint", &self.endpoint)
            .field("options", &self.options)
            .field("max_tokens", &self.max_tokens)
            .field("request_body", &self.request_body)
            .field("force_override", &self.force_override)
            .field("provider_conf", &self.provider_conf)
            .field("logging", &self.logging)
            .field("limits", &self.limits)
            .field("hints", &self.hints)
            .field("inject_stream_usage", &self.inject_stream_usage)
            .field(
                "forward_client_credentials",
                &self.forward_client_credentials,
            )
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
