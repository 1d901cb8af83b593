//! Where a limiter's counters live: [`Counters`] reads a request's budgets
//! before admission and charges the real cost after the response.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_proxy::config::{ConfigError, ConfigErrorKind, CounterPolicy};
use ai_proxy::multi::limit::{MemoryStore, RequestQuotas, Store};

/// The counters of one `ai-rate-limiting` configuration.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Counters {
    /// `policy: local`: in this process.
    Memory(Arc<MemoryStore>),
}

impl Counters {
    /// The counters `policy` names; `memory` for `local`. Errors have
    /// paths relative to the plugin's config.
    pub(crate) fn for_policy(
        policy: &CounterPolicy,
        memory: &Arc<MemoryStore>,
    ) -> Result<Self, ConfigError> {
        match policy {
            CounterPolicy::Local => Ok(Self::Memory(Arc::clone(memory))),
            other => Err(ConfigError::new(
                "policy",
                ConfigErrorKind::Unsupported,
                format!(
                    "`{}` is not supported by ai-proxy serve yet; use `local`",
                    other.as_str()
                ),
            )),
        }
    }

    /// Reads every budget of a request (a read never changes a counter).
    pub(crate) async fn read(&self, quotas: &mut RequestQuotas) {
        match self {
            Self::Memory(store) => quotas.read(&**store, Instant::now()),
        }
    }

    /// Charges `cost` to each `(key, window)` budget. A failure is logged:
    /// the response is already on its way.
    pub(crate) fn charge(&self, budgets: Vec<(Arc<str>, Duration)>, cost: u64) {
        match self {
            Self::Memory(store) => {
                let now = Instant::now();
                for (key, window) in budgets {
                    if let Err(error) = store.charge(&key, cost, window, now) {
                        tracing::warn!(%error, "ai-rate-limiting: charge failed");
                    }
                }
            }
        }
    }
}
