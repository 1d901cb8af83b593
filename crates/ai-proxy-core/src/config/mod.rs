//! The APISIX `ai-proxy` / `ai-proxy-multi` configuration model.
//!
//! Configurations are the plugin JSON exactly as APISIX takes it (same field
//! names, defaults and limits). Parsing validates everything at once and
//! reports every problem with its JSON path; where APISIX is lax and a
//! mistake would only show at request time, this is stricter (option types,
//! unknown fields with "did you mean", endpoint URLs, endpoints that
//! azure-openai / openai-compatible / vertex-ai need).
//!
//! ```
//! use ai_proxy_core::config::AiProxyConfig;
//!
//! let config = AiProxyConfig::from_json(r#"{
//!     "provider": "openai",
//!     "auth": {"header": {"Authorization": "Bearer sk-123"}},
//!     "options": {"model": "gpt-4", "temperature": 0.7}
//! }"#).unwrap();
//! assert_eq!(config.upstream.options.model.as_deref(), Some("gpt-4"));
//! assert_eq!(config.transport.timeout_ms, 30_000);
//! // Credentials never print.
//! assert!(!format!("{config:?}").contains("sk-123"));
//!
//! let errors = AiProxyConfig::from_json(r#"{"provider": "openai", "auth": {}, "timout": 5}"#)
//!     .unwrap_err();
//! assert_eq!(errors.to_string(), "timout: unknown field `timout`, did you mean `timeout`?");
//! ```

mod consumer;
pub mod cost_expr;
mod error;
pub mod model;
mod parse;
mod plugin;
pub mod prompt;
mod rate_limiting;
mod read;
mod redis;
mod template;
mod warnings;

pub use consumer::{Consumer, DEFAULT_KEY_NAME, DEFAULT_KEY_REALM, KEY_AUTH, KeyAuthConfig};
pub use cost_expr::{CostError, CostExpr, CostExprError};
pub use error::{ConfigError, ConfigErrorKind, ConfigErrors, MAX_LISTED_ERRORS, join_path};
pub use model::*;
pub use plugin::{AI_PROXY, AI_PROXY_MULTI, PluginConfig};
pub use prompt::*;
pub use rate_limiting::{
    AI_RATE_LIMITING, AiRateLimitingConfig, DEFAULT_REJECTED_CODE, InstanceLimit, LimitRule,
    LimitStrategy, LimitValue, MAX_LIMIT_VALUE, Quotas, WindowLimit,
};
pub use read::{
    MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_VALUES, Rejection, ValueReader, check_size, parse_json,
};
pub use redis::{
    CounterPolicy, DEFAULT_REDIS_KEEPALIVE_POOL, DEFAULT_REDIS_KEEPALIVE_TIMEOUT_MS,
    DEFAULT_REDIS_PORT, DEFAULT_REDIS_TIMEOUT_MS, DEFAULT_SENTINEL_KEEPALIVE_TIMEOUT_MS,
    RedisCluster, RedisConnection, RedisSentinel, RedisServer, SentinelRole,
};
pub use template::{Resolved, VarTemplate};

use serde_json::Value;

use parse::Validator;
pub use parse::check_service_account;

impl AiProxyConfig {
    /// Parses and validates an `ai-proxy` plugin object (strictly: see
    /// [`parse_json`]).
    pub fn from_json(text: &str) -> Result<Self, ConfigErrors> {
        Self::from_value(&parse_json(text)?)
    }

    /// Validates an already-parsed `ai-proxy` plugin object. A `Value` has
    /// already lost duplicate keys: prefer [`from_json`](Self::from_json)
    /// for text.
    pub fn from_value(value: &Value) -> Result<Self, ConfigErrors> {
        let mut v = Validator::default();
        match parse::ai_proxy(value, &mut v) {
            Some(config) if v.errors.is_empty() => Ok(config),
            _ => Err(ConfigErrors::new(v.errors)),
        }
    }
}

impl AiProxyMultiConfig {
    /// Parses and validates an `ai-proxy-multi` plugin object (strictly:
    /// see [`parse_json`]).
    pub fn from_json(text: &str) -> Result<Self, ConfigErrors> {
        Self::from_value(&parse_json(text)?)
    }

    /// Validates an already-parsed `ai-proxy-multi` plugin object (see
    /// [`AiProxyConfig::from_value`] on duplicate keys).
    pub fn from_value(value: &Value) -> Result<Self, ConfigErrors> {
        let mut v = Validator::default();
        match parse::ai_proxy_multi(value, &mut v) {
            Some(config) if v.errors.is_empty() => Ok(config),
            _ => Err(ConfigErrors::new(v.errors)),
        }
    }
}

/// `from_json` / `from_value` for a plugin object validated by `parse`.
macro_rules! plugin_parsers {
    ($($config:ty => $parse:path, $name:literal;)*) => {$(
        impl $config {
            #[doc = concat!("Parses and validates an `", $name, "` plugin object.")]
            pub fn from_json(text: &str) -> Result<Self, ConfigErrors> {
                Self::from_value(&parse_json(text)?)
            }

            #[doc = concat!("Validates an already-parsed `", $name, "` plugin object.")]
            pub fn from_value(value: &Value) -> Result<Self, ConfigErrors> {
                let mut v = Validator::default();
                match $parse(value, &mut v) {
                    Some(config) if v.errors.is_empty() => Ok(config),
                    _ => Err(ConfigErrors::new(v.errors)),
                }
            }
        }
    )*};
}

plugin_parsers! {
    PromptDecoratorConfig => parse::decorator, "ai-prompt-decorator";
    PromptTemplateConfig => parse::template, "ai-prompt-template";
    PromptGuardConfig => parse::guard, "ai-prompt-guard";
    AwsContentModerationConfig => parse::aws_content_moderation, "ai-aws-content-moderation";
    AiRateLimitingConfig => parse::ai_rate_limiting, "ai-rate-limiting";
}
