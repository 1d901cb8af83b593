//! # ai-proxy-multi
//!
//! APISIX `ai-proxy-multi` as a sans-IO decision engine: the crate decides,
//! the caller sends. A [`Balancer`] compiled from the plugin config picks
//! an instance per request ([`Balancer::pick`]), and after every attempt
//! answers [`Decision::Return`] or [`Decision::Retry`]
//! ([`Balancer::on_outcome`]) per `fallback_strategy`,
//! `fallback_http_statuses`, `max_retries` and `retry_on_failure_within_ms`.
//!
//! - **Selection**: priority groups high → low; smooth weighted round robin
//!   (nginx) inside a group, lock-free on the hot path; or consistent hashing
//!   exactly as `resty.chash` lays out its ring, keyed through [`KeyLookup`].
//! - **Health**: passive ejection with exponential back-off
//!   ([`PassiveHealth`], an SDK option), and [`Probe`] descriptions from
//!   `checks.active` for a caller that runs active checks and reports back
//!   with [`Balancer::report_probe`].
//! - **Token rate limiting** ([`limit`]): APISIX's `ai-rate-limiting`,
//!   whose out-of-quota instances the `rate_limiting` fallback strategy
//!   skips.
//! - **Model router** ([`ModelRouter`], an SDK option, not an APISIX field):
//!   the client's `model` picks a subset of instances; fallback stays inside
//!   it.
//!
//! No clocks are read: every timed call takes `now: Instant`. The
//! per-request state lives in the [`Attempt`] the caller holds, so one
//! balancer serves every thread.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod balancer;
mod chash;
mod error;
mod health;
mod keys;
pub mod limit;
mod plan;
mod policy;
mod probe;
mod proxy;
mod router;
mod wrr;

#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;

pub use balancer::{Balancer, MAX_INSTANCES};
pub use error::Error;
pub use health::{HealthChange, HealthStatus, PassiveHealth};
pub use keys::{KeyLookup, RequestKeys};
pub use plan::{Attempt, Decision, Finish, FinishReason, InstanceId, Outcome, Report};
pub use policy::{InstanceSpec, MultiOptions, Policy};
pub use probe::{Probe, ProbeKind, ProbeSchedule};
pub use proxy::AiProxyMulti;
pub use router::{ModelRoute, ModelRouter, Unmatched};

/// Re-exported config types the [`Policy`] builder takes.
pub use ai_proxy_core::config::{Algorithm, FallbackStrategy, HashOn};

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn balancer_is_send_and_sync() {
        assert_send_sync::<crate::Balancer>();
        assert_send_sync::<crate::Attempt>();
    }
}
