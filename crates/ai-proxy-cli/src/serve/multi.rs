//! An `ai-proxy-multi` route: the SDK's balancer plus one prepared
//! `AiProxy` per instance.

use std::borrow::Cow;
use std::collections::BTreeMap;

use ai_proxy::AiProxy;
use ai_proxy::config::AiProxyMultiConfig;
use ai_proxy::multi::{Attempt, Balancer, MultiOptions, RequestKeys};
use bytes::Bytes;
use http::request::Parts;
use serde_json::value::RawValue;

/// One compiled `ai-proxy-multi` plugin.
#[derive(Debug)]
pub struct MultiRoute {
    balancer: Balancer,
    /// Indexed by `InstanceId::index()`.
    instances: Vec<AiProxy>,
    fallback_statuses: Vec<u16>,
    http_429: bool,
    http_5xx: bool,
}

impl MultiRoute {
    /// Compiles the balancer and every instance.
    pub fn compile(
        config: &AiProxyMultiConfig,
        registry: &ai_proxy::Registry,
    ) -> Result<Self, String> {
        let balancer = Balancer::new(config, MultiOptions::default()).map_err(|e| e.to_string())?;
        let mut instances = Vec::with_capacity(config.instances.len());
        for (i, instance) in config.instances.iter().enumerate() {
            let proxy = AiProxy::compile_instance(
                instance.name.clone(),
                &instance.target,
                config.logging,
                config.transport,
                config.limits,
                registry,
            )
            .map_err(|e| format!("instances[{i}]: {e}"))?;
            instances.push(proxy);
        }
        Ok(Self {
            balancer,
            instances,
            fallback_statuses: config.fallback_http_statuses.clone(),
            http_429: config.fallback_strategy.http_429,
            http_5xx: config.fallback_strategy.http_5xx,
        })
    }

    /// The shared balancer.
    pub fn balancer(&self) -> &Balancer {
        &self.balancer
    }

    /// The prepared instance an attempt goes to.
    pub fn instance(&self, attempt: &Attempt) -> Option<&AiProxy> {
        self.instances.get(attempt.instance().index())
    }

    /// Whether a response with `status` may be retried elsewhere, so its
    /// body must be read before answering (APISIX's error path).
    pub fn may_fall_back(&self, status: u16) -> bool {
        self.instances.len() > 1
            && ((status == 429 && self.http_429)
                || (status >= 500 && self.http_5xx)
                || self.fallback_statuses.contains(&status))
    }

    /// The balancer's view of the request.
    pub fn keys<'a>(
        &self,
        parts: &'a Parts,
        remote_ip: &'a str,
        model: Option<&'a str>,
    ) -> RequestKeys<'a> {
        let keys = RequestKeys::new()
            .with_parts(parts)
            .with_remote_addr(remote_ip);
        match model {
            Some(m) => keys.with_model(m),
            None => keys,
        }
    }

    /// The client body's `model`, for the model router.
    pub fn client_model(body: &Bytes) -> Option<String> {
        let top: BTreeMap<Cow<'_, str>, &RawValue> = serde_json::from_slice(body).ok()?;
        serde_json::from_str::<String>(top.get("model")?.get()).ok()
    }
}
