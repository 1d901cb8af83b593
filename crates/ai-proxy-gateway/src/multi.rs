//! An `ai-proxy-multi` route: the SDK's `AiProxyMulti` plus token
//! suppliers for `auth.gcp` instances.

use ai_proxy::AiProxy;
use ai_proxy::config::AiProxyMultiConfig;
use ai_proxy::multi::{AiProxyMulti, Attempt, Balancer, MultiOptions, RequestKeys};

use crate::gcp::GcpToken;
use http::request::Parts;

/// One compiled `ai-proxy-multi` plugin and, per instance, where its
/// Google access token comes from (`auth.gcp`).
#[derive(Debug)]
pub struct MultiRoute {
    multi: AiProxyMulti,
    /// Indexed by `InstanceId::index()`.
    gcp: Vec<Option<GcpToken>>,
}

impl MultiRoute {
    /// Compiles the balancer and every instance.
    pub fn compile(
        config: &AiProxyMultiConfig,
        registry: &ai_proxy::Registry,
    ) -> Result<Self, String> {
        let multi = AiProxyMulti::compile(config, registry, MultiOptions::default())
            .map_err(|e| e.to_string())?;
        let gcp = config
            .instances
            .iter()
            .map(|i| GcpToken::for_target(&i.upstream, &i.name))
            .collect();
        Ok(Self { multi, gcp })
    }

    /// The shared balancer.
    pub fn balancer(&self) -> &Balancer {
        self.multi.balancer()
    }

    /// The compiled instance an attempt goes to, and its token supplier.
    pub fn instance(&self, attempt: &Attempt) -> Option<(&AiProxy, Option<&GcpToken>)> {
        let id = attempt.instance();
        let proxy = self.multi.instance(id)?;
        Some((proxy, self.gcp.get(id.index()).and_then(Option::as_ref)))
    }

    /// The balancer's view of the request. No model: serve configures no
    /// model router, the only reader of it, so the body is not parsed for it.
    pub fn keys<'a>(&self, parts: &'a Parts, remote_ip: &'a str) -> RequestKeys<'a> {
        RequestKeys::new()
            .with_parts(parts)
            .with_remote_addr(remote_ip)
    }
}
