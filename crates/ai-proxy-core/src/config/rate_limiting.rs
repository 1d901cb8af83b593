//! The `ai-rate-limiting` plugin configuration (apache/apisix master
//! `apisix/plugins/ai-rate-limiting.lua`), with limit-count's counter
//! policies (`apisix/plugins/limit-count/init.lua`,
//! `apisix/utils/redis-schema.lua`).
//!
//! ```
//! use ai_proxy_core::config::{AiRateLimitingConfig, LimitStrategy, Quotas};
//!
//! let config = AiRateLimitingConfig::from_json(r#"{
//!     "instances": [{"name": "gpt-4o", "limit": 1000, "time_window": 60}],
//!     "limit_strategy": "expression",
//!     "cost_expr": "input_tokens + cache_creation_input_tokens + output_tokens",
//!     "rejected_code": 429
//! }"#).unwrap();
//! assert!(matches!(config.quotas, Quotas::Instances { global: None, .. }));
//! assert!(matches!(config.limit_strategy, LimitStrategy::Expression(_)));
//!
//! let errors = AiRateLimitingConfig::from_json(r#"{"limit": 10}"#).unwrap_err();
//! assert_eq!(errors.to_string(), "time_window: is required when `limit` is set");
//! ```

use super::cost_expr::CostExpr;
use super::redis::CounterPolicy;
use super::template::VarTemplate;

/// Plugin name of the token rate limiter.
pub const AI_RATE_LIMITING: &str = "ai-rate-limiting";
/// APISIX default for `rejected_code`.
pub const DEFAULT_REJECTED_CODE: u16 = 503;
/// The largest `limit`, `count` or `time_window` (APISIX: 2^53 - 1, the
/// largest integer a Lua number holds exactly).
pub const MAX_LIMIT_VALUE: u64 = 9_007_199_254_740_991;

/// One `ai-rate-limiting` configuration.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AiRateLimitingConfig {
    /// What is counted against which budget: per instance, or by rules.
    pub quotas: Quotas,
    /// `limit_strategy` (default `total_tokens`), with `cost_expr` for
    /// `expression`.
    pub limit_strategy: LimitStrategy,
    /// `show_limit_quota_header` (default true).
    pub show_limit_quota_header: bool,
    /// `rejected_code` (200..=599, default 503).
    pub rejected_code: u16,
    /// `rejected_msg`: answered as `{"error_msg": …}` when set.
    pub rejected_msg: Option<String>,
    /// `policy` and its Redis fields: where counters live.
    pub policy: CounterPolicy,
    /// `allow_degradation` (default false): when the counters cannot be
    /// read or written, serve without limiting (true) or answer 500.
    pub allow_degradation: bool,
}

/// The budgets: APISIX's `oneOf` between instance limits and `rules`.
#[derive(Clone, Debug, PartialEq)]
pub enum Quotas {
    /// `limit` + `time_window` and/or `instances`: one budget per AI
    /// instance. An instance listed in `instances` has its own; every other
    /// instance shares the `global` one (none: unlimited).
    Instances {
        /// `limit` + `time_window`.
        global: Option<WindowLimit>,
        /// `instances` (names unique).
        instances: Vec<InstanceLimit>,
    },
    /// `rules`: budgets keyed by request variables, applied in order to
    /// every instance.
    Rules(Vec<LimitRule>),
}

/// `limit` + `time_window`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WindowLimit {
    /// Tokens per window.
    pub limit: LimitValue,
    /// Window length in seconds.
    pub time_window: LimitValue,
}

/// One entry of `instances`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceLimit {
    /// `name`: the `ai-proxy-multi` instance (or `ai-proxy-<provider>`
    /// for `ai-proxy`).
    pub name: String,
    /// `limit` and `time_window`.
    pub window: WindowLimit,
}

/// One entry of `rules`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitRule {
    /// `count`: tokens per window.
    pub count: LimitValue,
    /// `time_window` in seconds.
    pub time_window: LimitValue,
    /// `key`: the budget's key, e.g. `$consumer_name`; a rule whose key
    /// resolves no variable does not apply to the request.
    pub key: VarTemplate,
    /// `header_prefix`: quota headers become `X-AI-<prefix>-RateLimit-*`;
    /// default the rule's 1-based position.
    pub header_prefix: Option<String>,
}

/// A positive integer, configured or read from request variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitValue {
    /// A number (1..=[`MAX_LIMIT_VALUE`]).
    Fixed(u64),
    /// A template such as `${http_x_limit ?? 100}`, resolved per request;
    /// a result that is not a positive integer fails the request (500, or
    /// no limiting under `allow_degradation`).
    Var(VarTemplate),
}

impl LimitValue {
    /// A resolved value as APISIX accepts it at request time (`tonumber`,
    /// then an integer in 1..=2^53 - 1): decimal, surrounding blanks, a
    /// zero fraction or an exponent allowed.
    ///
    /// ```
    /// use ai_proxy_core::config::LimitValue;
    /// assert_eq!(LimitValue::parse(" 30 "), Some(30));
    /// assert_eq!(LimitValue::parse("1e2"), Some(100));
    /// assert_eq!(LimitValue::parse("2.5"), None);
    /// assert_eq!(LimitValue::parse("0"), None);
    /// ```
    pub fn parse(text: &str) -> Option<u64> {
        let t = text.trim();
        if let Ok(n) = t.parse::<u64>() {
            return (1..=MAX_LIMIT_VALUE).contains(&n).then_some(n);
        }
        let f = t.parse::<f64>().ok()?;
        // Exact: the range check keeps f below 2^53.
        (f.is_finite() && f.fract() == 0.0 && f >= 1.0 && f <= MAX_LIMIT_VALUE as f64)
            .then_some(f as u64)
    }
}

/// `limit_strategy`: what a response costs.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum LimitStrategy {
    /// `total_tokens` (the default).
    #[default]
    TotalTokens,
    /// `prompt_tokens`.
    PromptTokens,
    /// `completion_tokens`.
    CompletionTokens,
    /// `expression` with its `cost_expr`.
    Expression(CostExpr),
}

impl LimitStrategy {
    /// The APISIX name.
    pub fn as_str(&self) -> &'static str {
        match self {
            LimitStrategy::TotalTokens => "total_tokens",
            LimitStrategy::PromptTokens => "prompt_tokens",
            LimitStrategy::CompletionTokens => "completion_tokens",
            LimitStrategy::Expression(_) => "expression",
        }
    }
}
