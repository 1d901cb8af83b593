//! [`PluginConfig`]: either AI plugin's configuration, told apart by name
//! or by its fields.

use serde_json::Value;

use super::error::{ConfigError, ConfigErrorKind, ConfigErrors};
use super::model::{AiProxyConfig, AiProxyMultiConfig};
use super::parse::{self, Validator};
use super::read::parse_json;

/// Plugin name of the single-provider plugin.
pub const AI_PROXY: &str = "ai-proxy";
/// Plugin name of the multi-instance plugin.
pub const AI_PROXY_MULTI: &str = "ai-proxy-multi";

/// Either plugin's configuration.
// Built once per route at load time; boxing would only add noise to matches.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PluginConfig {
    /// An `ai-proxy` plugin.
    AiProxy(AiProxyConfig),
    /// An `ai-proxy-multi` plugin.
    AiProxyMulti(AiProxyMultiConfig),
}

impl PluginConfig {
    /// The APISIX plugin name.
    pub fn plugin_name(&self) -> &'static str {
        match self {
            PluginConfig::AiProxy(_) => AI_PROXY,
            PluginConfig::AiProxyMulti(_) => AI_PROXY_MULTI,
        }
    }

    /// Parses a bare plugin object, telling the two plugins apart by their
    /// fields (`instances` → `ai-proxy-multi`, else `ai-proxy`).
    pub fn from_json(text: &str) -> Result<Self, ConfigErrors> {
        let value = parse_json(text)?;
        Self::from_value(&value, "")
    }

    /// Validates a bare plugin object, choosing the plugin by its fields;
    /// every error path is prefixed with `path`.
    pub fn from_value(value: &Value, path: &str) -> Result<Self, ConfigErrors> {
        let Value::Object(map) = value else {
            return Err(ConfigError::new(
                path,
                ConfigErrorKind::Type,
                "must be an object (an ai-proxy or ai-proxy-multi plugin configuration)",
            )
            .into());
        };
        if map.contains_key("instances") {
            Self::from_named_value(AI_PROXY_MULTI, value, path)
        } else if map.contains_key("provider") {
            Self::from_named_value(AI_PROXY, value, path)
        } else {
            Err(ConfigError::new(
                path,
                ConfigErrorKind::Missing,
                "neither `provider` (ai-proxy) nor `instances` (ai-proxy-multi) is set",
            )
            .into())
        }
    }

    /// Validates `value` as the plugin called `name` ([`AI_PROXY_MULTI`],
    /// else [`AI_PROXY`]), prefixing every error path with `path`.
    pub fn from_named_value(name: &str, value: &Value, path: &str) -> Result<Self, ConfigErrors> {
        let mut v = Validator::default();
        let plugin = if name == AI_PROXY_MULTI {
            parse::ai_proxy_multi(value, &mut v).map(PluginConfig::AiProxyMulti)
        } else {
            parse::ai_proxy(value, &mut v).map(PluginConfig::AiProxy)
        };
        match plugin {
            Some(plugin) if v.errors.is_empty() => Ok(plugin),
            _ => Err(ConfigErrors::new(
                v.errors.into_iter().map(|e| e.prefixed(path)).collect(),
            )),
        }
    }
}
