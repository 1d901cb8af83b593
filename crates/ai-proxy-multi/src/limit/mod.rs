//! APISIX `ai-rate-limiting` as a sans-IO token limiter
//! (apache/apisix master `apisix/plugins/ai-rate-limiting.lua` on top of
//! limit-count's fixed windows, `apisix/plugins/limit-count/`).
//!
//! - [`TokenLimiter`] compiles an [`AiRateLimitingConfig`](ai_proxy_core::config::AiRateLimitingConfig)
//!   for a route: per-instance budgets (`limit` + `time_window`,
//!   `instances[]`) or `rules[]` keyed by request variables
//!   (`$consumer_name`, `${http_x_team}`), with `count` and `time_window`
//!   that may come from variables too.
//! - Admission is a dry run of cost 1 against what is left; the real cost
//!   (`limit_strategy`: total, prompt or completion tokens, or
//!   `cost_expr` over the raw usage) is charged once the response's usage
//!   is known and may overdraw the budget.
//! - Counters live in a [`Store`]: [`MemoryStore`] in process; a shared
//!   one (Redis, in the gateway) performs the same read and charge on the
//!   keys and windows this module computes.
//! - Time is the caller's: every call that needs it takes `now`.
//!
//! One deliberate difference from APISIX: admission only *reads* a
//! counter, so a window opens at the first charge, not at the first check.
//! Rejected or unauthenticated traffic then never creates counters, and a
//! shared store's admission is a read. The headers of a first request are
//! the same (`Remaining` = limit, `Reset` = the whole window).

mod admission;
mod compile;
mod cost;
mod limiter;
mod quota;
mod store;

pub use admission::{LimitError, Rejection, RequestQuotas, Verdict};
pub use cost::RawUsage;
pub use limiter::TokenLimiter;
pub use quota::{Quota, QuotaCheck, reset_seconds};
pub use store::{Counter, DEFAULT_MEMORY_CAPACITY, MemoryStore, Store, StoreError};
