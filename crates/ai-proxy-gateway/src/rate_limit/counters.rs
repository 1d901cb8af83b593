//! Where a limiter's counters live: [`Counters`] reads a request's budgets
//! before admission and charges the real cost after the response.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_proxy::config::{ConfigError, ConfigErrorKind, CounterPolicy};
use ai_proxy::multi::limit::{MemoryStore, RequestQuotas, TokenLimiter};

use super::redis::RedisCounters;

/// The counters of one `ai-rate-limiting` configuration.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Counters {
    /// `policy: local`: in this process.
    Memory(Arc<MemoryStore>),
    /// `policy: redis`, `redis-cluster` or `redis-sentinel`: shared by
    /// every gateway using the same Redis.
    Redis(Arc<RedisCounters>),
}

impl Counters {
    /// The counters `policy` names; `memory` for `local`. Errors have
    /// paths relative to the plugin's config.
    pub(crate) fn for_policy(
        policy: &CounterPolicy,
        memory: &Arc<MemoryStore>,
    ) -> Result<Self, ConfigError> {
        let redis = match policy {
            CounterPolicy::Local => return Ok(Self::Memory(Arc::clone(memory))),
            CounterPolicy::Redis(c) => RedisCounters::server(c)?,
            CounterPolicy::RedisCluster(c) => RedisCounters::cluster(c)?,
            CounterPolicy::RedisSentinel(c) => RedisCounters::sentinel(c)?,
            other => {
                return Err(ConfigError::new(
                    "policy",
                    ConfigErrorKind::Unsupported,
                    format!("`{}` is not supported by ai-proxy serve", other.as_str()),
                ));
            }
        };
        Ok(Self::Redis(Arc::new(redis)))
    }

    /// Reads every budget of a request (a read never changes a counter).
    pub(crate) async fn read(&self, quotas: &mut RequestQuotas) {
        match self {
            Self::Memory(store) => quotas.read(&**store, Instant::now()),
            Self::Redis(redis) => {
                for i in 0..quotas.len() {
                    let Some(quota) = quotas.quota(i) else {
                        continue;
                    };
                    let counter = redis.peek(quota.key(), quota.window()).await;
                    quotas.record(i, counter);
                }
            }
        }
    }

    /// Charges `cost` to the budgets `limiter` charges a response from
    /// `instance` to: in place, or in a task for Redis (the log phase must
    /// not wait on the network). A cost of 0 charges nothing (as APISIX).
    /// A failure is logged: the response is already on its way.
    pub(crate) fn charge(
        &self,
        limiter: &TokenLimiter,
        quotas: &RequestQuotas,
        instance: &str,
        cost: u64,
    ) {
        if cost == 0 {
            return;
        }
        match self {
            Self::Memory(store) => {
                let now = Instant::now();
                if let Err(error) = limiter.charge(quotas, instance, cost, &**store, now) {
                    tracing::warn!(%error, "ai-rate-limiting: charge failed");
                }
            }
            Self::Redis(redis) => {
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    tracing::warn!("ai-rate-limiting: no runtime to charge Redis from");
                    return;
                };
                if !redis.reserve_charge() {
                    tracing::warn!(
                        dropped = redis.dropped_charges(),
                        "ai-rate-limiting: too many charges on their way to Redis; one dropped"
                    );
                    return;
                }
                let budgets: Vec<(Arc<str>, Duration)> = limiter
                    .charges(quotas, instance)
                    .map(|q| (Arc::from(q.key()), q.window()))
                    .collect();
                let redis = Arc::clone(redis);
                runtime.spawn(async move {
                    for (key, window) in budgets {
                        if let Err(error) = redis.charge(&key, cost, window).await {
                            tracing::warn!(%error, "ai-rate-limiting: charge failed");
                        }
                    }
                    redis.release_charge();
                });
            }
        }
    }
}
