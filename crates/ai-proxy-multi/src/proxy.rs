//! [`AiProxyMulti`]: the balancer plus one prepared [`AiProxy`] per
//! instance — everything an `ai-proxy-multi` route needs, still sans-IO.

use std::time::{Instant, SystemTime};

use ai_proxy_core::Registry;
use ai_proxy_core::Secret;
use ai_proxy_core::config::AiProxyMultiConfig;
use ai_proxy_core::prepare::{AiProxy, PrepareError, Prepared};
use bytes::Bytes;
use http::Request;

use crate::{Attempt, Balancer, Error, InstanceId, KeyLookup, MultiOptions};

/// A compiled `ai-proxy-multi` plugin.
///
/// Per request: [`pick`](Self::pick) an attempt, [`prepare`](Self::prepare)
/// the ORIGINAL client request for it (each attempt starts from the client's
/// body, so one instance's options never leak into the next), send it, then
/// report the outcome to [`balancer`](Self::balancer)`().on_outcome(…)`,
/// which answers `Return` or `Retry(next attempt)`.
///
/// ```
/// use std::time::{Instant, SystemTime};
/// use ai_proxy_core::config::AiProxyMultiConfig;
/// use ai_proxy_multi::{AiProxyMulti, MultiOptions};
///
/// let config = AiProxyMultiConfig::from_json(r#"{"instances": [
///     {"name": "a", "provider": "openai", "weight": 1, "auth": {}, "options": {"model": "gpt-4o"}},
///     {"name": "b", "provider": "deepseek", "weight": 1, "auth": {}, "options": {"model": "deepseek-chat"}}
/// ]}"#).unwrap();
/// # let registry = ai_proxy_core::Registry::new()
/// #     .with_adapter(std::sync::Arc::new(Fake(ai_proxy_core::Provider::OpenAi)))
/// #     .with_adapter(std::sync::Arc::new(Fake(ai_proxy_core::Provider::DeepSeek)));
/// let multi = AiProxyMulti::compile(&config, &registry, MultiOptions::default()).unwrap();
/// let attempt = multi.pick(&(), Instant::now()).unwrap();
/// let request = http::Request::post("/v1/chat/completions")
///     .header("content-type", "application/json")
///     .body(bytes::Bytes::from_static(br#"{"messages":[]}"#)).unwrap();
/// let prepared = multi.prepare(&attempt, request, Instant::now(), None).unwrap();
/// assert_eq!(&*prepared.context.instance_name, multi.balancer().picked_ai_instance_name(&attempt));
/// # #[derive(Debug)] struct Fake(ai_proxy_core::Provider);
/// # impl ai_proxy_core::Adapter for Fake {
/// #     fn provider(&self) -> ai_proxy_core::Provider { self.0 }
/// #     fn capabilities(&self) -> &[ai_proxy_core::Protocol] { &[ai_proxy_core::Protocol::OpenAiChat] }
/// #     fn default_endpoint(&self, _: ai_proxy_core::Protocol, _: &ai_proxy_core::adapter::EndpointContext<'_>) -> ai_proxy_core::adapter::DefaultEndpoint {
/// #         ai_proxy_core::adapter::DefaultEndpoint::new("example.com", "/v1/chat/completions")
/// #     }
/// #     fn max_tokens_mapping(&self, _: ai_proxy_core::Protocol) -> ai_proxy_core::adapter::MaxTokensMapping {
/// #         ai_proxy_core::adapter::MaxTokensMapping::Ignore
/// #     }
/// # }
/// ```
#[derive(Debug)]
pub struct AiProxyMulti {
    balancer: Balancer,
    /// Indexed by [`InstanceId::index`].
    instances: Vec<AiProxy>,
}

impl AiProxyMulti {
    /// Compiles the balancer and every instance (each under its own name,
    /// with the plugin's logging, transport and limits).
    pub fn compile(
        config: &AiProxyMultiConfig,
        registry: &Registry,
        options: MultiOptions,
    ) -> Result<Self, Error> {
        let balancer = Balancer::new(config, registry, options)?;
        let instances = config
            .instances
            .iter()
            .enumerate()
            .map(|(index, i)| {
                AiProxy::compile_instance(
                    i.name.clone(),
                    &i.upstream,
                    config.logging,
                    config.transport,
                    config.limits,
                    registry,
                )
                .map_err(|source| Error::Instance {
                    index,
                    name: i.name.clone(),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            balancer,
            instances,
        })
    }

    /// The shared balancer (`on_outcome`, health, probes).
    pub fn balancer(&self) -> &Balancer {
        &self.balancer
    }

    /// Picks the first attempt's instance.
    pub fn pick(&self, keys: &dyn KeyLookup, now: Instant) -> Result<Attempt, Error> {
        self.balancer.pick(keys, now)
    }

    /// The compiled target of an instance.
    pub fn instance(&self, id: InstanceId) -> Option<&AiProxy> {
        self.instances.get(id.index())
    }

    /// Every compiled instance, by [`InstanceId`] order.
    pub fn instances(&self) -> &[AiProxy] {
        &self.instances
    }

    /// Prepares the client request for `attempt`'s instance (see
    /// [`AiProxy::prepare`]; signed instances need [`prepare_at`](Self::prepare_at)).
    pub fn prepare(
        &self,
        attempt: &Attempt,
        request: Request<Bytes>,
        now: Instant,
        access_token: Option<&Secret>,
    ) -> Result<Prepared, PrepareError> {
        self.proxy(attempt)?.prepare(request, now, access_token)
    }

    /// Prepares the client request for `attempt`'s instance with the wall
    /// clock, which signed instances (Bedrock's SigV4) need (see
    /// [`AiProxy::prepare_at`]).
    pub fn prepare_at(
        &self,
        attempt: &Attempt,
        request: Request<Bytes>,
        now: Instant,
        wall_clock: SystemTime,
        access_token: Option<&Secret>,
    ) -> Result<Prepared, PrepareError> {
        self.proxy(attempt)?
            .prepare_at(request, now, wall_clock, access_token)
    }

    fn proxy(&self, attempt: &Attempt) -> Result<&AiProxy, PrepareError> {
        self.instance(attempt.instance())
            // Attempts come from this balancer, whose ids index `instances`.
            .ok_or_else(|| PrepareError::Upstream {
                reason: "the attempt belongs to another ai-proxy-multi route".to_owned(),
            })
    }
}
