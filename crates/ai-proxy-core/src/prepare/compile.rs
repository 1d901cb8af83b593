//! [`AiProxy::compile`]: a validated config resolved once — adapter, deliveries,
//! sensitive auth headers, encoded auth query, upstream URIs.

use std::sync::Arc;

use http::Uri;

use super::AiProxy;
use super::endpoint::QueryPiece;
use super::error::CompileError;
use super::hints::ClientHints;
use crate::adapter::{EndpointContext, Registry};
use crate::config::{AiProxyConfig, Limits, Logging, Transport, UpstreamConfig};
use crate::protocol::{Protocol, RequestType};
use crate::provider::Provider;

impl AiProxy {
    /// Compiles an `ai-proxy` plugin config (instance name
    /// `ai-proxy-<provider>`, as in APISIX).
    pub fn compile(config: &AiProxyConfig, registry: &Registry) -> Result<Self, CompileError> {
        Self::compile_instance(
            format!("ai-proxy-{}", config.upstream.provider),
            &config.upstream,
            config.logging,
            config.transport,
            config.limits,
            registry,
        )
    }

    /// Compiles one upstream: an `ai-proxy-multi` instance (named `name`) or
    /// any [`UpstreamConfig`] with the plugin-level settings it runs under.
    pub fn compile_instance(
        name: impl Into<String>,
        upstream: &UpstreamConfig,
        logging: Logging,
        transport: Transport,
        limits: Limits,
        registry: &Registry,
    ) -> Result<Self, CompileError> {
        let provider = upstream.provider;
        let adapter = registry
            .adapter_for(provider, upstream.overrides.endpoint.as_ref())
            .cloned()
            .ok_or(CompileError::NoAdapter { provider })?;
        let deliveries = Protocol::ALL
            .into_iter()
            .filter_map(|p| registry.delivery(adapter.as_ref(), p).map(|r| (p, r)))
            .collect();
        let auth_headers = upstream
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
        let auth_query: Vec<QueryPiece> = upstream
            .auth
            .query
            .iter()
            .map(|(k, v)| QueryPiece::from_auth(k, v))
            .collect();
        let gcp = upstream.auth.gcp.is_some();
        let overwritten_headers = std::iter::once(http::header::CONTENT_LENGTH)
            .chain(auth_headers.iter().map(|(name, _)| name.clone()))
            .chain(gcp.then_some(http::header::AUTHORIZATION))
            .collect();
        let redact_query_keys = auth_query.iter().map(|p| p.key().to_owned()).collect();
        let signer = adapter
            .request_signer(upstream)
            .map_err(|reason| CompileError::Signer { provider, reason })?;
        let proxy = Self {
            instance_name: Arc::from(name.into()),
            provider,
            adapter,
            deliveries,
            auth_headers,
            overwritten_headers,
            auth_query,
            redact_query_keys,
            gcp,
            endpoint: upstream.overrides.endpoint.clone(),
            options: upstream.options.clone(),
            options_model: upstream.options.model.as_deref().map(Arc::from),
            options_model_token: upstream
                .options
                .model
                .as_deref()
                .filter(|m| {
                    !m.is_empty() && !m.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\')
                })
                .map(|m| format!("\"{m}\"").into_boxed_str()),
            max_tokens: upstream
                .overrides
                .llm_options
                .max_tokens
                .map(|n| n.to_string()),
            uri_cache: Vec::new(),
            request_body: upstream.overrides.request_body.clone(),
            options_patches: Vec::new(),
            force_override: upstream.overrides.request_body_force_override,
            provider_conf: upstream.provider_conf.clone(),
            logging,
            limits,
            hints: ClientHints::from(&transport),
            inject_stream_usage: true,
            forward_client_credentials: false,
            signer,
        };
        let has_endpoint_host = proxy
            .endpoint
            .as_ref()
            .is_some_and(|e| e.url.host_str().is_some());
        if !has_endpoint_host && proxy.provider_host().is_none() {
            return Err(CompileError::MissingEndpoint { provider });
        }
        let mut proxy = proxy;
        for &target in proxy.adapter.capabilities() {
            let patch = proxy
                .adapter
                .options_patch(
                    target,
                    &upstream.options,
                    upstream.overrides.llm_options.max_tokens,
                )
                .map_err(|reason| CompileError::UnsupportedOption { provider, reason })?;
            if let Some(patch) = patch {
                proxy.options_patches.push((target, patch));
            }
        }
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

    /// Whether requests are signed (Bedrock's SigV4), so they must be
    /// prepared with [`prepare_at`](Self::prepare_at) and the wall clock.
    pub fn needs_wall_clock(&self) -> bool {
        self.signer.is_some()
    }
}
