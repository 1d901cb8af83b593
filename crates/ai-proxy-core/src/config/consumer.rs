//! Consumers and `key-auth` (apache/apisix master
//! `apisix/plugins/key-auth.lua`, `apisix/schema_def.lua` `consumer`).
//!
//! ```
//! use ai_proxy_core::config::{Consumer, KeyAuthConfig};
//!
//! let consumers = Consumer::list_from_json(r#"[
//!     {"username": "jack", "plugins": {
//!         "key-auth": {"key": "jack-key"},
//!         "ai-rate-limiting": {"limit": 1000, "time_window": 60}
//!     }}
//! ]"#).unwrap();
//! assert_eq!(consumers[0].username, "jack");
//! assert_eq!(consumers[0].key.as_ref().map(|k| k.expose()), Some("jack-key"));
//! assert!(consumers[0].plugins.contains_key("ai-rate-limiting"));
//! // Keys never print.
//! assert!(!format!("{consumers:?}").contains("jack-key"));
//!
//! let route = KeyAuthConfig::from_json("{}").unwrap();
//! assert_eq!((route.header.as_str(), route.query.as_str()), ("apikey", "apikey"));
//! ```

use http::HeaderName;
use serde_json::{Map, Value};

use super::error::ConfigErrors;
use super::parse::{self, Validator};
use super::read::parse_json;
use crate::secret::Secret;

/// Plugin name of key authentication.
pub const KEY_AUTH: &str = "key-auth";
/// APISIX default for key-auth's `header` and `query`.
pub const DEFAULT_KEY_NAME: &str = "apikey";
/// APISIX default for key-auth's `realm`.
pub const DEFAULT_KEY_REALM: &str = "key";

/// `key-auth` on a route.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyAuthConfig {
    /// `header` (default `apikey`): read first.
    pub header: HeaderName,
    /// `query` (default `apikey`): the query argument read when the header
    /// is absent.
    pub query: String,
    /// `realm` (default `key`), in `WWW-Authenticate: apikey realm="…"`.
    pub realm: String,
    /// `hide_credentials` (default false). Accepted for APISIX
    /// compatibility: the gateway takes the key off the request either way
    /// (client credentials never reach an upstream).
    pub hide_credentials: bool,
    /// `anonymous_consumer`: the consumer a request without a valid key
    /// becomes, instead of a 401.
    pub anonymous_consumer: Option<String>,
}

impl Default for KeyAuthConfig {
    fn default() -> Self {
        Self {
            header: HeaderName::from_static(DEFAULT_KEY_NAME),
            query: DEFAULT_KEY_NAME.to_owned(),
            realm: DEFAULT_KEY_REALM.to_owned(),
            hide_credentials: false,
            anonymous_consumer: None,
        }
    }
}

impl KeyAuthConfig {
    /// Parses and validates a route's `key-auth` object.
    pub fn from_json(text: &str) -> Result<Self, ConfigErrors> {
        Self::from_value(&parse_json(text)?)
    }

    /// Validates an already-parsed `key-auth` object.
    pub fn from_value(value: &Value) -> Result<Self, ConfigErrors> {
        let mut v = Validator::default();
        match parse::key_auth(value, &mut v) {
            Some(config) if v.errors.is_empty() => Ok(config),
            _ => Err(ConfigErrors::new(v.errors)),
        }
    }
}

/// One entry of `consumers:`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Consumer {
    /// `username` (`^[a-zA-Z0-9_-]+$`, 1..=256 characters, unique): the
    /// `$consumer_name`.
    pub username: String,
    /// `plugins.key-auth.key` (unique across consumers, non-empty).
    pub key: Option<Secret>,
    /// The consumer's other plugins, as configured: they apply to this
    /// consumer's requests on top of the route's (the runtime decides which
    /// it supports).
    pub plugins: Map<String, Value>,
}

impl Consumer {
    /// Parses and validates a `consumers` list (JSON).
    pub fn list_from_json(text: &str) -> Result<Vec<Self>, ConfigErrors> {
        Self::list_from_value(&parse_json(text)?, "")
    }

    /// Validates an already-parsed `consumers` list; error paths start with
    /// `path` (`consumers`).
    pub fn list_from_value(value: &Value, path: &str) -> Result<Vec<Self>, ConfigErrors> {
        let mut v = Validator::default();
        let consumers = parse::consumers(value, &mut v);
        match consumers {
            Some(list) if v.errors.is_empty() => Ok(list),
            _ => Err(ConfigErrors::new(
                v.errors.into_iter().map(|e| e.prefixed(path)).collect(),
            )),
        }
    }
}
