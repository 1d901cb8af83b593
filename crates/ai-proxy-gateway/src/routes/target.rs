//! What a route runs: one `ai-proxy` instance, or an `ai-proxy-multi`
//! plugin's balancer and instances — each instance with its upstream
//! client (resolved once, at build time) and, for `auth.gcp`, its token
//! supplier.

use std::sync::Arc;

use ai_proxy::AiProxy;
use ai_proxy::config::AiProxyMultiConfig;
use ai_proxy::multi::{AiProxyMulti, Attempt, MultiOptions};

use crate::gcp::GcpToken;
use crate::upstream::{Clients, UpstreamClient};

/// Why a route's AI plugin cannot be served.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BuildError {
    /// The `ai-proxy` configuration does not compile.
    #[error(transparent)]
    Compile(#[from] ai_proxy::CompileError),
    /// The `ai-proxy-multi` configuration does not compile.
    #[error(transparent)]
    Multi(#[from] ai_proxy::multi::Error),
    /// No HTTP client for the instance's transport settings.
    #[error("TLS set-up failed: {0}")]
    Tls(#[from] rustls::Error),
}

/// How one instance is reached.
#[derive(Debug)]
pub(crate) struct Upstream {
    /// `picked_ai_instance_name`.
    pub(crate) name: Arc<str>,
    /// Google access tokens (`auth.gcp`).
    pub(crate) gcp: Option<GcpToken>,
    /// The pooled client for the instance's transport settings.
    pub(crate) client: UpstreamClient,
}

impl Upstream {
    fn new(proxy: &AiProxy, gcp: Option<GcpToken>, clients: &Clients) -> Result<Self, BuildError> {
        let client = clients.upstream(proxy.hints())?;
        Ok(Self {
            name: Arc::from(proxy.instance_name()),
            gcp,
            client,
        })
    }
}

/// One compiled `ai-proxy` plugin.
#[derive(Debug)]
pub(crate) struct Instance {
    pub(crate) proxy: AiProxy,
    pub(crate) upstream: Upstream,
}

impl Instance {
    pub(crate) fn compile(
        config: &ai_proxy::config::AiProxyConfig,
        registry: &ai_proxy::Registry,
        clients: &Clients,
    ) -> Result<Self, BuildError> {
        let proxy = AiProxy::compile(config, registry)?;
        let gcp = GcpToken::for_target(&config.upstream, proxy.instance_name());
        let upstream = Upstream::new(&proxy, gcp, clients)?;
        Ok(Self { proxy, upstream })
    }
}

/// One compiled `ai-proxy-multi` plugin.
#[derive(Debug)]
pub(crate) struct MultiRoute {
    pub(crate) multi: AiProxyMulti,
    /// Indexed by `InstanceId::index()`.
    upstreams: Vec<Upstream>,
}

impl MultiRoute {
    pub(crate) fn compile(
        config: &AiProxyMultiConfig,
        registry: &ai_proxy::Registry,
        clients: &Clients,
    ) -> Result<Self, BuildError> {
        let multi = AiProxyMulti::compile(config, registry, MultiOptions::default())?;
        let upstreams = config
            .instances
            .iter()
            .zip(multi.instances())
            .map(|(i, proxy)| {
                Upstream::new(proxy, GcpToken::for_target(&i.upstream, &i.name), clients)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { multi, upstreams })
    }

    /// The compiled instance an attempt goes to, and how to reach it.
    pub(crate) fn instance(&self, attempt: &Attempt) -> Option<(&AiProxy, &Upstream)> {
        let id = attempt.instance();
        Some((self.multi.instance(id)?, self.upstreams.get(id.index())?))
    }
}

/// What a route runs.
#[derive(Debug)]
pub(crate) enum Target {
    /// One `ai-proxy` plugin.
    Single(Box<Instance>),
    /// An `ai-proxy-multi` plugin (shared with its health probes).
    Multi(Arc<MultiRoute>),
}
