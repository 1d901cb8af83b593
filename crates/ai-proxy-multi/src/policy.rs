//! What a [`Balancer`](crate::Balancer) is built from besides its
//! instances: [`InstanceSpec`], the APISIX [`Policy`] fields and the SDK's
//! [`MultiOptions`].

use ai_proxy_core::config::{self, AiProxyMultiConfig, Algorithm, FallbackStrategy, HashOn};

use crate::health::PassiveHealth;
use crate::router::ModelRouter;

/// One instance as the balancer sees it: `name`, `priority`, `weight`.
/// For tests and embedders that do not start from an APISIX config.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceSpec {
    /// Unique name (1..=100 characters), the `picked_ai_instance_name`.
    pub name: String,
    /// Higher groups are tried first.
    pub priority: i64,
    /// Share inside its priority group; 0 is never picked.
    pub weight: u32,
}

impl InstanceSpec {
    /// An instance descriptor.
    pub fn new(name: impl Into<String>, priority: i64, weight: u32) -> Self {
        Self {
            name: name.into(),
            priority,
            weight,
        }
    }
}

/// The APISIX `ai-proxy-multi` fields that steer balancing and fallback.
///
/// Unhealthy instances are always skipped (as APISIX does for instances
/// with health checks), whatever `fallback_strategy` says; its
/// `rate_limiting` part (`instance_health_and_rate_limiting` or
/// `["rate_limiting", …]`) turns on [`KeyLookup::is_rate_limited`](crate::KeyLookup::is_rate_limited).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// `balancer`: algorithm, hash_on, key.
    pub balancer: config::BalancerConfig,
    /// `fallback_strategy`.
    pub fallback_strategy: FallbackStrategy,
    /// `fallback_http_statuses`.
    pub fallback_http_statuses: Vec<u16>,
    /// `max_retries` (`None`: until every instance was tried).
    pub max_retries: Option<u32>,
    /// `retry_on_failure_within_ms`.
    pub retry_on_failure_within_ms: Option<u64>,
}

impl Policy {
    /// The policy fields of a parsed config.
    pub fn from_config(config: &AiProxyMultiConfig) -> Self {
        Self {
            balancer: config.balancer.clone(),
            fallback_strategy: config.fallback_strategy,
            fallback_http_statuses: config.fallback_http_statuses.clone(),
            max_retries: config.max_retries,
            retry_on_failure_within_ms: config.retry_on_failure_within_ms,
        }
    }

    /// Consistent hashing on `hash_on` + `key`.
    pub fn with_chash(mut self, hash_on: HashOn, key: Option<&str>) -> Self {
        self.balancer.algorithm = Algorithm::Chash;
        self.balancer.hash_on = hash_on;
        self.balancer.key = key.map(str::to_owned);
        self
    }

    /// Falls back on 429 (`http_429`), on 5xx (`http_5xx`), and skips
    /// rate-limited instances (`rate_limiting`).
    pub fn with_fallback(mut self, http_429: bool, http_5xx: bool, rate_limiting: bool) -> Self {
        self.fallback_strategy.http_429 = http_429;
        self.fallback_strategy.http_5xx = http_5xx;
        self.fallback_strategy.rate_limiting = rate_limiting;
        self
    }

    /// `fallback_http_statuses`.
    pub fn with_fallback_statuses(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.fallback_http_statuses = statuses.into_iter().collect();
        self
    }

    /// `max_retries`.
    pub fn with_max_retries(mut self, max: Option<u32>) -> Self {
        self.max_retries = max;
        self
    }

    /// `retry_on_failure_within_ms`.
    pub fn with_retry_within_ms(mut self, ms: Option<u64>) -> Self {
        self.retry_on_failure_within_ms = ms;
        self
    }
}

/// SDK options beyond the APISIX config.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MultiOptions {
    /// Passive health (default on, [`PassiveHealth::default`]); `None`
    /// turns it off, as in APISIX.
    pub passive_health: Option<PassiveHealth>,
    /// The model router (default none).
    pub model_router: Option<ModelRouter>,
}

impl Default for MultiOptions {
    fn default() -> Self {
        Self {
            passive_health: Some(PassiveHealth::default()),
            model_router: None,
        }
    }
}

impl MultiOptions {
    /// Sets or clears passive health.
    pub fn with_passive_health(mut self, passive: Option<PassiveHealth>) -> Self {
        self.passive_health = passive;
        self
    }

    /// Sets the model router.
    pub fn with_model_router(mut self, router: ModelRouter) -> Self {
        self.model_router = Some(router);
        self
    }
}
