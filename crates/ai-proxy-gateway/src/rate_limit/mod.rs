//! `ai-rate-limiting` in the gateway: the SDK's sans-IO [`TokenLimiter`]
//! wired into the plugin pipeline, its counters in this process
//! (`policy: local`) or in Redis.
//!
//! Per request, as apache/apisix master `apisix/plugins/ai-rate-limiting.lua`:
//!
//! - **request** (after `key-auth`, which names the consumer): resolve the
//!   request's budgets — the consumer's own `ai-rate-limiting` when its
//!   `consumers:` entry has one, else the route's — and read their
//!   counters;
//! - **balancing**: `ai-proxy-multi` skips instances out of quota when its
//!   `fallback_strategy` includes `rate_limiting`; all of them out → the
//!   limiter's `rejected_code` and `rejected_msg`;
//! - **instance** (the picked instance known): a dry run of cost 1 — the
//!   `X-AI-RateLimit-*` headers, and `rejected_code` when the budget is
//!   used up (500 when the counters failed, unless `allow_degradation`);
//! - **log**: the response's real cost charged to the picked instance's
//!   budgets (never for a request the limiter rejected).

pub(crate) mod admission;
mod counters;
mod redis;

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use ai_proxy::config::{
    AI_RATE_LIMITING, AiRateLimitingConfig, ConfigError, ConfigErrors, PluginConfig,
};
use ai_proxy::multi::limit::{MemoryStore, RawUsage, Rejection, TokenLimiter};
use ai_proxy::multi::{KeyLookup, RequestKeys};
use http::header::{self, HeaderMap, HeaderValue};
use serde_json::Value;

use crate::access_log::record::AccessRecord;
use crate::plugin::{
    BoxFuture, Passed, Plugin, PluginContext, PluginFactory, PluginRejection, PluginRequest,
    RequestState,
};

use self::admission::{Admission, Limiting};
pub use self::counters::Counters;
pub use self::redis::RedisCounters;

/// APISIX's priority for `ai-rate-limiting` (after `ai-proxy-multi`'s
/// pick in APISIX; here the instance phase runs after the pick).
const PRIORITY: i64 = 1030;

/// Builds `ai-rate-limiting` for a route, and the limits of the consumers
/// that carry their own. Counters of `policy: local` live in one
/// [`MemoryStore`] shared by every route of the gateway (keys are scoped
/// by route or consumer).
#[derive(Debug, Default)]
pub struct RateLimitingFactory {
    memory: Arc<MemoryStore>,
}

impl RateLimitingFactory {
    /// A factory whose local counters live in `memory`.
    pub fn new(memory: Arc<MemoryStore>) -> Self {
        Self { memory }
    }

    fn compile(
        &self,
        value: &Value,
        path: &str,
        scope: &str,
        instances: &[&str],
    ) -> Result<Arc<Limiting>, ConfigErrors> {
        let prefixed = |e: ConfigErrors| {
            ConfigErrors::new(
                e.into_errors()
                    .into_iter()
                    .map(|e| e.prefixed(path))
                    .collect(),
            )
        };
        let config = AiRateLimitingConfig::from_value(value).map_err(prefixed)?;
        let limiter = TokenLimiter::new(&config, scope, instances).map_err(prefixed)?;
        let counters = Counters::for_policy(&config.policy, &self.memory)
            .map_err(|e: ConfigError| ConfigErrors::from(e.prefixed(path)))?;
        Ok(Arc::new(Limiting { limiter, counters }))
    }
}

impl PluginFactory for RateLimitingFactory {
    fn name(&self) -> &str {
        AI_RATE_LIMITING
    }

    /// `config` is the route's; `null` when only consumers carry the
    /// plugin.
    fn build(
        &self,
        config: &Value,
        context: &PluginContext<'_>,
    ) -> Result<Arc<dyn Plugin>, ConfigErrors> {
        let instances = instance_names(&context.route.plugin);
        let instances: Vec<&str> = instances.iter().map(String::as_str).collect();
        let route_id = context.route.id.as_deref().unwrap_or(&context.route.path);
        let mut errors = Vec::new();
        let route = if config.is_null() {
            None
        } else {
            match self.compile(
                config,
                context.path,
                &format!("route:{route_id}"),
                &instances,
            ) {
                Ok(l) => Some(l),
                Err(e) => {
                    errors.extend(e);
                    None
                }
            }
        };
        let mut by_consumer = HashMap::new();
        for (i, consumer) in context.document.consumers.iter().enumerate() {
            let Some(config) = consumer.plugins.get(AI_RATE_LIMITING) else {
                continue;
            };
            let path = format!("consumers[{i}].plugins.{AI_RATE_LIMITING}");
            // The consumer's budgets are its own on every route.
            let scope = format!("consumer:{}", consumer.username);
            match self.compile(config, &path, &scope, &instances) {
                Ok(l) => {
                    by_consumer.insert(consumer.username.clone(), l);
                }
                Err(e) => errors.extend(e),
            }
        }
        if !errors.is_empty() {
            return Err(ConfigErrors::new(errors));
        }
        Ok(Arc::new(RateLimiting { route, by_consumer }))
    }
}

/// `picked_ai_instance_name` of each instance a route can pick.
fn instance_names(plugin: &PluginConfig) -> Vec<String> {
    match plugin {
        PluginConfig::AiProxy(c) => vec![format!("ai-proxy-{}", c.upstream.provider)],
        PluginConfig::AiProxyMulti(c) => c.instances.iter().map(|i| i.name.clone()).collect(),
        _ => Vec::new(),
    }
}

/// `ai-rate-limiting` on one route.
#[derive(Debug)]
struct RateLimiting {
    /// The route's own limits (none when only consumers carry the plugin).
    route: Option<Arc<Limiting>>,
    /// Consumers with their own `ai-rate-limiting`: it replaces the
    /// route's for their requests (APISIX merges consumer plugins over the
    /// route's).
    by_consumer: HashMap<String, Arc<Limiting>>,
}

/// The request's keys, with `remote_addr` written only when a budget's
/// key or value names it (most do not: the text was a tenth of the
/// limiter's cost per request).
struct ClientKeys<'a> {
    keys: RequestKeys<'a>,
    remote: IpAddr,
}

impl KeyLookup for ClientKeys<'_> {
    fn var(&self, name: &str) -> Option<Cow<'_, str>> {
        if name == "remote_addr" {
            return Some(Cow::Owned(self.remote.to_string()));
        }
        self.keys.var(name)
    }

    fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        self.keys.header(name)
    }

    fn cookie(&self, name: &str) -> Option<Cow<'_, str>> {
        self.keys.cookie(name)
    }

    fn consumer(&self) -> Option<Cow<'_, str>> {
        self.keys.consumer()
    }

    fn remote_addr(&self) -> Option<Cow<'_, str>> {
        self.var("remote_addr")
    }

    fn model(&self) -> Option<Cow<'_, str>> {
        self.keys.model()
    }

    fn is_rate_limited(&self, instance: &str) -> bool {
        self.keys.is_rate_limited(instance)
    }
}

fn admission(state: &RequestState) -> Option<&Admission> {
    state.rate_limit.as_ref()
}

fn plugin_rejection(rejection: &Rejection) -> PluginRejection {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(Rejection::CONTENT_TYPE),
    );
    PluginRejection {
        status: rejection.status,
        headers,
        body: rejection.body.clone(),
    }
}

impl Plugin for RateLimiting {
    fn name(&self) -> &str {
        AI_RATE_LIMITING
    }

    fn priority(&self) -> i64 {
        PRIORITY
    }

    fn request<'a>(
        &'a self,
        request: PluginRequest<'a>,
    ) -> BoxFuture<'a, Result<(), PluginRejection>> {
        let consumer = request.state.consumer.as_deref();
        let limiting = consumer
            .and_then(|c| self.by_consumer.get(c))
            .or(self.route.as_ref());
        let Some(limiting) = limiting else {
            return Box::pin(Passed);
        };
        let mut quotas = {
            let mut keys = RequestKeys::new().with_parts(request.parts);
            if let Some(c) = consumer {
                keys = keys.with_consumer(c);
            }
            limiting.limiter.quotas(&ClientKeys {
                keys,
                remote: request.remote.ip(),
            })
        };
        let admission = move |quotas| Admission {
            limiting: Arc::clone(limiting),
            quotas,
            rejected: AtomicBool::new(false),
        };
        if let Counters::Memory(store) = &limiting.counters {
            // Read in place: nothing to wait for, and `Passed`'s box
            // allocates nothing.
            quotas.read(&**store, Instant::now());
            request.state.rate_limit = Some(admission(quotas));
            return Box::pin(Passed);
        }
        let state = request.state;
        Box::pin(async move {
            limiting.counters.read(&mut quotas).await;
            state.rate_limit = Some(admission(quotas));
            Ok(())
        })
    }

    fn rate_limited(&self, state: &RequestState, instance: &str) -> bool {
        admission(state).is_some_and(|a| a.limiting.limiter.is_rate_limited(&a.quotas, instance))
    }

    fn picked(
        &self,
        state: &RequestState,
        instance: &str,
        headers: &mut HeaderMap,
    ) -> Option<PluginRejection> {
        let a = admission(state)?;
        let verdict = a.limiting.limiter.admit_into(&a.quotas, instance, headers);
        let rejection = verdict.rejection?;
        a.rejected.store(true, Ordering::Relaxed);
        Some(plugin_rejection(&rejection))
    }

    fn exhausted(&self, state: &RequestState) -> Option<PluginRejection> {
        let a = admission(state)?;
        a.rejected.store(true, Ordering::Relaxed);
        Some(plugin_rejection(a.limiting.limiter.rejection()))
    }

    fn log(&self, state: &RequestState, record: &AccessRecord) {
        let Some(a) = admission(state) else {
            return;
        };
        let instance = record.picked_instance();
        if a.rejected.load(Ordering::Relaxed) || instance.is_empty() {
            return;
        }
        let Some(metrics) = &record.metrics else {
            return;
        };
        let Some(usage) = &metrics.usage else {
            return;
        };
        let limiter = &a.limiting.limiter;
        let raw = if limiter.reads_raw_usage() {
            RawUsage::from_usage(usage, metrics.client_protocol)
        } else {
            RawUsage::default()
        };
        let cost = match limiter.cost(usage, &raw) {
            Ok(cost) => cost,
            Err(error) => {
                tracing::warn!(%error, route = %record.route_id, "ai-rate-limiting: no cost charged");
                return;
            }
        };
        a.limiting
            .counters
            .charge(limiter, &a.quotas, instance, cost);
    }
}
