//! Request preparation: the client's OpenAI-style `http::Request` in, the
//! exact upstream `http::Request` out (APISIX `ai-proxy`, spec §2–§4).
//!
//! [`AiProxy::compile`] resolves a validated config once (adapter, routes,
//! sensitive auth headers, encoded auth query). [`AiProxy::prepare`] then
//! runs, per request and without I/O:
//!
//! 1. `Content-Type` and size checks, one JSON parse (top level only),
//!    protocol detection ([`Protocol`]);
//! 2. routing through the [`Registry`]: native, or converted first;
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
mod detect;
mod endpoint;
mod error;
mod headers;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Uri, Version};
use serde_json::value::RawValue;

use crate::adapter::{
    Adapter, ConvertContext, DefaultEndpoint, EndpointContext, MaxTokensMapping, Registry, Route,
};
use crate::config::{
    AiProxyConfig, Endpoint, Limits, Logging, Options, ProviderConf, TargetConfig, Transport,
};
use crate::context::RequestContext;
use crate::protocol::{Protocol, RequestType};
use crate::provider::Provider;
use crate::secret::Secret;
use crate::translate::ResponseTranslator;

use body::{Body, RawObject, array_len, is_object};
use endpoint::{QueryPiece, endpoint_origin, merge_query};

pub use error::{CompileError, PrepareError};
pub use headers::{CLIENT_CREDENTIAL_HEADERS, HOP_BY_HOP_HEADERS};

/// Transport settings for the caller's HTTP client (`timeout`,
/// `keepalive*`, `ssl_verify`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientHints {
    /// Per connect/send/read operation (not the whole stream).
    pub timeout: Duration,
    /// Pool the connection after a fully read response.
    pub keepalive: bool,
    /// How long an idle pooled connection is kept.
    pub keepalive_timeout: Duration,
    /// Idle connections kept per upstream.
    pub keepalive_pool: u64,
    /// Verify the upstream's TLS certificate.
    pub ssl_verify: bool,
}

impl From<&Transport> for ClientHints {
    fn from(t: &Transport) -> Self {
        Self {
            timeout: Duration::from_millis(t.timeout_ms),
            keepalive: t.keepalive,
            keepalive_timeout: Duration::from_millis(t.keepalive_timeout_ms),
            keepalive_pool: t.keepalive_pool,
            ssl_verify: t.ssl_verify,
        }
    }
}

/// A prepared upstream attempt.
///
/// `Debug` hides credentials: auth headers print as `Sensitive` and
/// `auth.query` values as `<redacted>`. (`upstream`'s own `Debug`, from the
/// `http` crate, prints the URI whole: don't log it when `auth.query` is
/// configured.)
#[must_use = "a prepared request does nothing until it is sent"]
#[non_exhaustive]
pub struct Prepared {
    /// The request to send upstream.
    pub upstream: Request<Bytes>,
    /// What observing the response needs.
    pub context: RequestContext,
    /// Settings for the HTTP client that sends `upstream`.
    pub hints: ClientHints,
    /// Turns the response back into the client's protocol when a
    /// converter was used; `None` means the response goes back as is.
    pub translator: Option<Box<dyn ResponseTranslator>>,
    /// `auth.query` keys, to redact their values in `Debug`.
    redact_query_keys: Arc<[String]>,
}

impl Prepared {
    /// The upstream URI with `auth.query` values replaced by `<redacted>`,
    /// for logs and displays.
    pub fn redacted_uri(&self) -> String {
        redacted_uri(self.upstream.uri(), &self.redact_query_keys)
    }
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uri = self.redacted_uri();
        f.debug_struct("Prepared")
            .field("method", self.upstream.method())
            .field("uri", &uri)
            .field("headers", self.upstream.headers())
            .field("body_len", &self.upstream.body().len())
            .field("context", &self.context)
            .field("hints", &self.hints)
            .field("translator", &self.translator)
            .finish()
    }
}

/// `uri` with the values of `keys` in its query replaced by `<redacted>`.
fn redacted_uri(uri: &Uri, keys: &[String]) -> String {
    let Some(query) = uri.query() else {
        return uri.to_string();
    };
    let mut out = String::with_capacity(uri.to_string().len());
    if let Some(scheme) = uri.scheme_str() {
        out.push_str(scheme);
        out.push_str("://");
    }
    if let Some(authority) = uri.authority() {
        out.push_str(authority.as_str());
    }
    out.push_str(uri.path());
    out.push('?');
    for (i, piece) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let raw_key = piece.split('=').next().unwrap_or(piece);
        let key = url::form_urlencoded::parse(raw_key.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default();
        if keys.contains(&key) {
            out.push_str(raw_key);
            out.push('=');
            out.push_str(crate::secret::REDACTED);
        } else {
            out.push_str(piece);
        }
    }
    out
}

/// One compiled `ai-proxy` config (or one `ai-proxy-multi` instance),
/// ready to prepare requests. Cheap to share (`&self` methods only).
pub struct AiProxy {
    instance_name: Arc<str>,
    provider: Provider,
    adapter: Arc<dyn Adapter>,
    /// How each client protocol reaches the provider (absent: unsupported).
    routes: Vec<(Protocol, Route)>,
    auth_headers: Vec<(HeaderName, HeaderValue)>,
    auth_query: Vec<QueryPiece>,
    redact_query_keys: Arc<[String]>,
    gcp: bool,
    endpoint: Option<Endpoint>,
    options: Options,
    /// `options.model`, shared with every request's context.
    options_model: Option<Arc<str>>,
    /// `override.llm_options.max_tokens` as JSON text.
    max_tokens: Option<String>,
    /// Upstream URIs resolved at compile time, per target protocol, with
    /// the default endpoint they came from (reused while the adapter
    /// answers the same).
    uri_cache: Vec<(Protocol, DefaultEndpoint, Uri)>,
    request_body: Vec<(Protocol, serde_json::Map<String, serde_json::Value>)>,
    force_override: bool,
    provider_conf: Option<ProviderConf>,
    logging: Logging,
    limits: Limits,
    hints: ClientHints,
    inject_stream_usage: bool,
    forward_client_credentials: bool,
}

impl fmt::Debug for AiProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URI cache is left out: its URIs carry auth.query values.
        f.debug_struct("AiProxy")
            .field("instance_name", &self.instance_name)
            .field("provider", &self.provider)
            .field("adapter", &self.adapter)
            .field("routes", &self.routes)
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
            .finish_non_exhaustive()
    }
}

impl AiProxy {
    /// Compiles an `ai-proxy` plugin config (instance name
    /// `ai-proxy-<provider>`, as in APISIX).
    pub fn compile(config: &AiProxyConfig, registry: &Registry) -> Result<Self, CompileError> {
        Self::compile_instance(
            format!("ai-proxy-{}", config.target.provider),
            &config.target,
            config.logging,
            config.transport,
            config.limits,
            registry,
        )
    }

    /// Compiles one target: an `ai-proxy-multi` instance (named `name`) or
    /// any [`TargetConfig`] with the plugin-level settings it runs under.
    pub fn compile_instance(
        name: impl Into<String>,
        target: &TargetConfig,
        logging: Logging,
        transport: Transport,
        limits: Limits,
        registry: &Registry,
    ) -> Result<Self, CompileError> {
        let provider = target.provider;
        let adapter = registry
            .adapter_for(provider, target.overrides.endpoint.as_ref())
            .cloned()
            .ok_or(CompileError::NoAdapter { provider })?;
        let routes = Protocol::ALL
            .into_iter()
            .filter_map(|p| registry.route(adapter.as_ref(), p).map(|r| (p, r)))
            .collect();
        let auth_headers = target
            .auth
            .header
            .iter()
            .map(|(name, value)| {
                value
                    .to_header_value()
                    .map(|v| (name.clone(), v))
                    .ok_or_else(|| CompileError::InvalidAuthHeader {
                        name: name.as_str().to_owned(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let auth_query: Vec<QueryPiece> = target
            .auth
            .query
            .iter()
            .map(|(k, v)| QueryPiece::from_auth(k, v))
            .collect();
        let redact_query_keys = auth_query.iter().map(|p| p.key().to_owned()).collect();
        let proxy = Self {
            instance_name: Arc::from(name.into()),
            provider,
            adapter,
            routes,
            auth_headers,
            auth_query,
            redact_query_keys,
            gcp: target.auth.gcp.is_some(),
            endpoint: target.overrides.endpoint.clone(),
            options: target.options.clone(),
            options_model: target.options.model.as_deref().map(Arc::from),
            max_tokens: target
                .overrides
                .llm_options
                .max_tokens
                .map(|n| n.to_string()),
            uri_cache: Vec::new(),
            request_body: target.overrides.request_body.clone(),
            force_override: target.overrides.request_body_force_override,
            provider_conf: target.provider_conf.clone(),
            logging,
            limits,
            hints: ClientHints::from(&transport),
            inject_stream_usage: true,
            forward_client_credentials: false,
        };
        let has_endpoint_host = proxy
            .endpoint
            .as_ref()
            .is_some_and(|e| e.url.host_str().is_some());
        if !has_endpoint_host && proxy.provider_host().is_none() {
            return Err(CompileError::MissingEndpoint { provider });
        }
        let mut proxy = proxy;
        let ctx = EndpointContext::new(proxy.provider_conf.as_ref(), None, RequestType::AiChat);
        let no_client_uri = Uri::from_static("/");
        proxy.uri_cache = proxy
            .adapter
            .capabilities()
            .iter()
            .filter_map(|&target| {
                let default = proxy.adapter.default_endpoint(target, &ctx);
                let uri = proxy
                    .build_uri(target, &no_client_uri, Some(default.clone()))
                    .ok()?;
                Some((target, default, uri))
            })
            .collect();
        Ok(proxy)
    }

    /// Turns `stream_options.include_usage` injection on or off (default
    /// on). Turn it off for OpenAI-compatible servers that reject
    /// `stream_options`; streamed usage is then only metered when the
    /// client asks for it.
    pub fn with_stream_usage_injection(mut self, on: bool) -> Self {
        self.inject_stream_usage = on;
        self
    }

    /// Forwards the client's own credential headers (`authorization`,
    /// `api-key`, `x-api-key`, `cookie`, …) upstream (default off).
    /// Only for passthrough set-ups where clients bring their own provider
    /// keys; configured `auth.header` values still win.
    pub fn dangerous_forward_client_credentials(mut self, on: bool) -> Self {
        self.forward_client_credentials = on;
        self
    }

    /// `picked_ai_instance_name`: `ai-proxy-<provider>` or the instance name.
    pub fn instance_name(&self) -> &str {
        &self.instance_name
    }

    /// The provider called.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Transport settings for the caller's HTTP client.
    pub fn hints(&self) -> ClientHints {
        self.hints
    }

    /// Whether `auth.gcp` is configured, so [`prepare`](Self::prepare)
    /// needs an access token.
    pub fn needs_access_token(&self) -> bool {
        self.gcp
    }

    /// The provider's own host (first capability), used for passthrough.
    fn provider_host(&self) -> Option<Cow<'static, str>> {
        let first = self.adapter.capabilities().first().copied()?;
        let ctx = EndpointContext::new(self.provider_conf.as_ref(), None, RequestType::AiChat);
        self.adapter.default_endpoint(first, &ctx).host
    }

    /// Prepares the upstream request for one client request.
    ///
    /// `now` starts the attempt's clock; `access_token` is the Google
    /// access token when `auth.gcp` is configured (fetch and cache it
    /// outside, e.g. with `ai-proxy-vertex`'s token cache).
    pub fn prepare(
        &self,
        request: Request<Bytes>,
        now: Instant,
        access_token: Option<&Secret>,
    ) -> Result<Prepared, PrepareError> {
        let (mut parts, body) = request.into_parts();
        check_content_type(&parts.headers)?;
        self.check_size(&parts.headers, &body)?;
        if body.is_empty() {
            return Err(PrepareError::EmptyBody);
        }
        let client_body =
            Body::parse(&body).map_err(|reason| PrepareError::InvalidJson { reason })?;
        let client_protocol =
            detect::detect(parts.uri.path(), &client_body).ok_or(PrepareError::NoProtocol)?;
        let request_type = if detect::is_streaming(client_protocol, &client_body) {
            RequestType::AiStream
        } else {
            RequestType::AiChat
        };
        let request_llm_model = match &client_body {
            Body::Object(obj) => obj
                .get_str("model")
                .filter(|m| !m.is_empty())
                .map(Arc::from),
            _ => None,
        };
        let llm_model = self
            .options_model
            .clone()
            .or_else(|| request_llm_model.clone());
        let route = self
            .routes
            .iter()
            .find(|(p, _)| *p == client_protocol)
            .map(|(_, r)| r)
            .ok_or_else(|| self.unsupported(client_protocol))?;
        let target = route.target();
        let uri = self.upstream_uri(target, &parts.uri, llm_model.as_deref(), request_type)?;

        let (shaped, facts, translator, converter) = match route {
            Route::Native(_) => {
                let (shaped, facts) = self.shape(client_body, &body, target, &uri)?;
                (shaped, facts, None, None)
            }
            Route::Converted(converter) => {
                drop(client_body);
                let ctx = ConvertContext::new(
                    self.provider,
                    llm_model.as_deref(),
                    request_llm_model.as_deref(),
                    request_type,
                );
                let converted = converter.convert_request(&body, &ctx)?;
                let source = Bytes::from(converted.body);
                let parsed = Body::parse(&source).map_err(|e| PrepareError::Upstream {
                    reason: format!("the {client_protocol} converter produced invalid JSON: {e}"),
                })?;
                let (shaped, facts) = self.shape(parsed, &source, target, &uri)?;
                (shaped, facts, Some(converted.translator), Some(converter))
            }
        };

        let headers = &mut parts.headers;
        headers.reserve(self.auth_headers.len() + 3);
        if let Some(converter) = converter {
            converter.convert_headers(headers);
        }
        headers::strip_client_headers(headers, self.forward_client_credentials);
        for (name, value) in &self.auth_headers {
            headers.insert(name.clone(), value.clone());
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CONTENT_LENGTH, content_length(shaped.len()));
        if self.gcp {
            headers.insert(header::AUTHORIZATION, self.bearer(access_token)?);
        }

        if target != Protocol::Passthrough {
            parts.method = Method::POST;
        }
        parts.uri = uri;
        // The client's HTTP version and server-side extensions say nothing
        // about the upstream connection.
        parts.version = Version::default();
        parts.extensions.clear();
        let upstream = Request::from_parts(parts, shaped);

        let context = RequestContext {
            client_protocol,
            target_protocol: target,
            request_type,
            request_llm_model,
            llm_model,
            started: now,
            tool_count: facts.tool_count,
            end_user_id: facts.end_user_id,
            instance_name: Arc::clone(&self.instance_name),
            provider: self.provider,
            logging: self.logging,
            limits: self.limits,
            request_messages: facts.request_messages,
        };
        Ok(Prepared {
            upstream,
            context,
            hints: self.hints,
            translator,
            redact_query_keys: Arc::clone(&self.redact_query_keys),
        })
    }

    fn check_size(&self, headers: &HeaderMap, body: &Bytes) -> Result<(), PrepareError> {
        let max = self.limits.max_req_body_size;
        let announced = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let size = u64::try_from(body.len()).unwrap_or(u64::MAX);
        match announced {
            Some(n) if n > max => Err(PrepareError::BodyTooLarge { size: n, max }),
            _ if size > max => Err(PrepareError::BodyTooLarge { size, max }),
            _ => Ok(()),
        }
    }

    fn unsupported(&self, protocol: Protocol) -> PrepareError {
        let supported = self
            .adapter
            .capabilities()
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        PrepareError::UnsupportedProtocol {
            provider: self.provider,
            protocol,
            supported,
        }
    }

    fn bearer(&self, token: Option<&Secret>) -> Result<HeaderValue, PrepareError> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| PrepareError::GcpToken {
                reason: "no access token was supplied; fetch one for auth.gcp (ai-proxy-vertex's \
                     token cache and source) and pass it to prepare"
                    .to_owned(),
            })?;
        Secret::new(format!("Bearer {}", token.expose()))
            .to_header_value()
            .ok_or_else(|| PrepareError::GcpToken {
                reason: "the access token contains characters not allowed in a header".to_owned(),
            })
    }

    /// Resolves scheme, authority, path and query (spec §2).
    fn upstream_uri(
        &self,
        target: Protocol,
        client_uri: &Uri,
        llm_model: Option<&str>,
        request_type: RequestType,
    ) -> Result<Uri, PrepareError> {
        let ctx = EndpointContext::new(self.provider_conf.as_ref(), llm_model, request_type);
        let default = if target == Protocol::Passthrough {
            None
        } else {
            Some(self.adapter.default_endpoint(target, &ctx))
        };
        if let Some(default) = &default {
            let cached = self
                .uri_cache
                .iter()
                .find(|(p, d, _)| *p == target && d == default);
            if let Some((_, _, uri)) = cached {
                return Ok(uri.clone());
            }
        }
        self.build_uri(target, client_uri, default)
    }

    fn build_uri(
        &self,
        target: Protocol,
        client_uri: &Uri,
        default: Option<DefaultEndpoint>,
    ) -> Result<Uri, PrepareError> {
        let endpoint = self.endpoint.as_ref();
        let (scheme, authority) = match endpoint.map(|e| endpoint_origin(&e.url)) {
            Some((scheme, authority)) if !authority.is_empty() => (scheme.to_owned(), authority),
            configured => {
                let host = default
                    .as_ref()
                    .and_then(|d| d.host.clone())
                    .or_else(|| self.provider_host())
                    .map(Cow::into_owned)
                    .ok_or_else(|| PrepareError::Upstream {
                        reason: format!(
                            "provider {} has no host; set override.endpoint",
                            self.provider
                        ),
                    })?;
                let scheme = configured.map_or("https", |(s, _)| s);
                (scheme.to_owned(), host)
            }
        };
        let path = match endpoint.filter(|e| e.has_path) {
            Some(e) => e.url.path().to_owned(),
            None if target == Protocol::Passthrough => client_uri.path().to_owned(),
            None => default
                .and_then(|d| d.path)
                .map(Cow::into_owned)
                .ok_or(PrepareError::UnresolvedPath)?,
        };
        let client_query = (target == Protocol::Passthrough)
            .then(|| client_uri.query())
            .flatten();
        let query = merge_query(
            &self.auth_query,
            endpoint.and_then(|e| e.url.query()),
            client_query,
        );
        let mut text = format!("{scheme}://{authority}{path}");
        if let Some(query) = query {
            text.push('?');
            text.push_str(&query);
        }
        Uri::try_from(text).map_err(|e| PrepareError::Upstream {
            reason: format!("the upstream URL is invalid: {e}"),
        })
    }

    /// Applies options, `max_tokens`, the `request_body` patch, usage
    /// injection and model removal; returns the bytes to send (the source
    /// itself when nothing changed) and what the final body says.
    fn shape<'a>(
        &'a self,
        parsed: Body<'a>,
        source: &Bytes,
        target: Protocol,
        uri: &Uri,
    ) -> Result<(Bytes, BodyFacts), PrepareError> {
        let Body::Object(mut obj) = parsed else {
            // Arrays have no top-level fields to shape.
            return Ok((source.clone(), BodyFacts::default()));
        };
        for (key, value) in &self.options.fields {
            obj.set_raw(key, value);
        }
        if let (Some(n), MaxTokensMapping::Set { field, remove }) =
            (&self.max_tokens, self.adapter.max_tokens_mapping(target))
        {
            obj.set(field, n.as_str());
            for r in remove {
                obj.remove(r);
            }
        }
        if let Some((_, patch)) = self.request_body.iter().find(|(p, _)| *p == target) {
            body::deep_merge(&mut obj, patch, self.force_override);
        }
        if self.inject_stream_usage
            && target == Protocol::OpenAiChat
            && obj.get("stream") == Some("true")
            && self.adapter.accepts_stream_options(uri)
        {
            include_usage(&mut obj);
        }
        if self.adapter.removes_model() {
            obj.remove("model");
        }
        let facts = self.facts(&obj, target);
        let bytes = if obj.is_changed() {
            // Exact capacity: `Bytes::from` a full Vec takes it without
            // another allocation.
            let mut out = Vec::with_capacity(obj.text_len());
            obj.write(&mut out);
            Bytes::from(out)
        } else {
            source.clone()
        };
        Ok((bytes, facts))
    }

    fn facts(&self, obj: &RawObject<'_>, target: Protocol) -> BodyFacts {
        let tool_count = obj.get("tools").map_or(0, array_len);
        let end_user_id = match target {
            Protocol::AnthropicMessages => obj
                .get("metadata")
                .filter(|m| is_object(m))
                .and_then(|m| RawObject::parse_str(m).ok())
                .and_then(|m| m.get_str("user_id").map(|u| u.into_owned())),
            Protocol::OpenAiChat | Protocol::OpenAiResponses => obj
                .get_str("safety_identifier")
                .or_else(|| obj.get_str("user"))
                .map(|u| u.into_owned()),
            _ => None,
        };
        let messages_key = match target {
            Protocol::OpenAiChat | Protocol::AnthropicMessages => Some("messages"),
            Protocol::OpenAiEmbeddings | Protocol::OpenAiResponses => Some("input"),
            _ => None,
        };
        let request_messages = messages_key
            .filter(|_| self.logging.payloads)
            .and_then(|k| obj.get(k))
            .and_then(|text| RawValue::from_string(text.to_owned()).ok());
        BodyFacts {
            tool_count,
            end_user_id,
            request_messages,
        }
    }
}

/// What the final upstream body says, for logs and metrics.
#[derive(Debug, Default)]
struct BodyFacts {
    tool_count: usize,
    end_user_id: Option<String>,
    request_messages: Option<Box<RawValue>>,
}

/// Sets `stream_options.include_usage = true`, keeping the client's other
/// `stream_options` keys (a non-object `stream_options` is replaced).
fn include_usage(obj: &mut RawObject<'_>) {
    const ONLY_USAGE: &str = r#"{"include_usage":true}"#;
    let updated = match obj.get("stream_options") {
        Some(current) if is_object(current) => match RawObject::parse_str(current) {
            Ok(mut options) => {
                options.set("include_usage", "true");
                options.is_changed().then(|| Cow::Owned(options.to_json()))
            }
            Err(_) => Some(Cow::Borrowed(ONLY_USAGE)),
        },
        _ => Some(Cow::Borrowed(ONLY_USAGE)),
    };
    if let Some(text) = updated {
        obj.set("stream_options", text);
    }
}

/// `Content-Length` in one allocation (`HeaderValue::from(u64)` takes
/// two: a growable buffer, then its conversion to shared bytes).
fn content_length(len: usize) -> HeaderValue {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut n = len;
    loop {
        start -= 1;
        if let Some(d) = digits.get_mut(start) {
            // `n % 10` is a single digit.
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    let text = digits.get(start..).unwrap_or_default();
    HeaderValue::from_bytes(text).unwrap_or_else(|_| HeaderValue::from(len))
}

/// APISIX accepts a missing `Content-Type` and anything starting with
/// `application/json` (case-insensitive here, as media types are).
fn check_content_type(headers: &HeaderMap) -> Result<(), PrepareError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let bytes = value.as_bytes();
    let prefix = b"application/json";
    let ok = bytes
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix));
    if ok {
        Ok(())
    } else {
        Err(PrepareError::UnsupportedContentType {
            content_type: String::from_utf8_lossy(bytes).into_owned(),
        })
    }
}

#[cfg(test)]
mod tests;
