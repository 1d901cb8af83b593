//! `key-auth` (apache/apisix master `apisix/plugins/key-auth.lua`): the
//! consumer is the one whose `plugins.key-auth.key` the request carries in
//! the `apikey` header (or the configured one), else in the `apikey` query
//! argument. A missing key is answered 401 `Missing API key in request`,
//! an unknown one 401 `Invalid API key in request` — unless the route
//! names an `anonymous_consumer`, which the request then becomes.
//!
//! The key never reaches an upstream: the header or query argument it came
//! in is taken off the request whatever `hide_credentials` says (accepted
//! for APISIX compatibility; APISIX forwards the key unless it is set, but
//! here client credentials never reach an upstream).

use std::collections::HashMap;
use std::sync::Arc;

use ai_proxy::config::{
    ConfigError, ConfigErrorKind, ConfigErrors, Consumer, KEY_AUTH, KeyAuthConfig,
};
use http::header::{HeaderValue, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{StatusCode, Uri};
use serde_json::Value;

use crate::plugin::{
    BoxFuture, Phase, Plugin, PluginContext, PluginFactory, PluginRejection, PluginRequest,
};

/// APISIX's priority for `key-auth`.
const PRIORITY: i64 = 2500;

/// Builds `key-auth` for a route from its config and the document's
/// consumers.
#[derive(Debug, Default)]
pub struct KeyAuthFactory;

impl PluginFactory for KeyAuthFactory {
    fn name(&self) -> &str {
        KEY_AUTH
    }

    fn build(
        &self,
        config: &Value,
        context: &PluginContext<'_>,
    ) -> Result<Arc<dyn Plugin>, ConfigErrors> {
        let config = KeyAuthConfig::from_value(config).map_err(|e| context.prefixed(e))?;
        let consumers = &context.document.consumers;
        let anonymous = match &config.anonymous_consumer {
            None => None,
            Some(name) => match consumers.iter().find(|c| c.username == *name) {
                Some(c) => Some(Arc::from(c.username.as_str())),
                None => {
                    return Err(ConfigError::new(
                        format!("{}.anonymous_consumer", context.path),
                        ConfigErrorKind::Invalid,
                        format!("names no consumer: add '{name}' to `consumers:`"),
                    )
                    .into());
                }
            },
        };
        let realm =
            HeaderValue::from_str(&format!("apikey realm=\"{}\"", config.realm)).map_err(|_| {
                ConfigErrors::from(ConfigError::new(
                    format!("{}.realm", context.path),
                    ConfigErrorKind::Invalid,
                    "cannot form a WWW-Authenticate header",
                ))
            })?;
        Ok(Arc::new(KeyAuth {
            keys: keys_of(consumers),
            config,
            anonymous,
            realm,
        }))
    }
}

/// Consumer keys → usernames.
fn keys_of(consumers: &[Consumer]) -> HashMap<Box<str>, Arc<str>> {
    consumers
        .iter()
        .filter_map(|c| Some((c.key.as_ref()?.expose().into(), c.username.as_str().into())))
        .collect()
}

/// `key-auth` on one route.
struct KeyAuth {
    config: KeyAuthConfig,
    /// Never printed (`Debug` shows how many).
    keys: HashMap<Box<str>, Arc<str>>,
    anonymous: Option<Arc<str>>,
    realm: HeaderValue,
}

impl std::fmt::Debug for KeyAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyAuth")
            .field("config", &self.config)
            .field("keys", &self.keys.len())
            .field("anonymous", &self.anonymous)
            .finish()
    }
}

/// Where the key was found.
enum Found {
    Header,
    Query,
}

impl KeyAuth {
    /// The consumer of the request, or the 401 message.
    fn consumer(&self, parts: &mut Parts) -> Result<Arc<str>, &'static str> {
        let (key, found) = match parts.headers.get(&self.config.header) {
            Some(value) => (value.to_str().ok().map(str::to_owned), Found::Header),
            None => (
                parts
                    .uri
                    .query()
                    .and_then(|q| query_arg(q, &self.config.query)),
                Found::Query,
            ),
        };
        let Some(key) = key else {
            return Err("Missing API key in request");
        };
        // Off the request before the lookup: an unknown key served as the
        // anonymous consumer stays off the upstream too.
        match found {
            Found::Header => {
                parts.headers.remove(&self.config.header);
            }
            Found::Query => parts.uri = without_query_arg(&parts.uri, &self.config.query),
        }
        let consumer = self
            .keys
            .get(key.as_str())
            .ok_or("Invalid API key in request")?;
        Ok(Arc::clone(consumer))
    }
}

impl Plugin for KeyAuth {
    fn name(&self) -> &str {
        KEY_AUTH
    }

    fn priority(&self) -> i64 {
        PRIORITY
    }

    /// APISIX authenticates in `rewrite`: the consumer is known before the
    /// prompt plugins rewrite the body and before any access plugin.
    fn phase(&self) -> Phase {
        Phase::Rewrite
    }

    fn request<'a>(
        &'a self,
        request: PluginRequest<'a>,
    ) -> BoxFuture<'a, Result<(), PluginRejection>> {
        let outcome = match self.consumer(request.parts) {
            Ok(consumer) => Ok(consumer),
            Err(message) => match &self.anonymous {
                Some(anonymous) => Ok(Arc::clone(anonymous)),
                None => {
                    let mut rejection = PluginRejection::message(StatusCode::UNAUTHORIZED, message);
                    rejection
                        .headers
                        .insert(WWW_AUTHENTICATE, self.realm.clone());
                    Err(rejection)
                }
            },
        };
        let result = outcome.map(|consumer| request.state.consumer = Some(consumer.to_string()));
        Box::pin(std::future::ready(result))
    }
}

/// The decoded value of query argument `name` (the first one).
fn query_arg(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `uri` without the query arguments named `name`; the others keep their
/// bytes.
fn without_query_arg(uri: &Uri, name: &str) -> Uri {
    let Some(query) = uri.query() else {
        return uri.clone();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            url::form_urlencoded::parse(pair.as_bytes())
                .next()
                .is_none_or(|(k, _)| k != name)
        })
        .collect();
    let mut path_and_query = uri.path().to_owned();
    if !kept.is_empty() {
        path_and_query.push('?');
        path_and_query.push_str(&kept.join("&"));
    }
    let mut parts = uri.clone().into_parts();
    match path_and_query.parse() {
        Ok(pq) => parts.path_and_query = Some(pq),
        // The pieces came from a valid URI.
        Err(_) => return uri.clone(),
    }
    Uri::from_parts(parts).unwrap_or_else(|_| uri.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_args_are_decoded_and_removed_without_touching_the_others() {
        assert_eq!(
            query_arg("a=1&apikey=k%2By&b", "apikey").as_deref(),
            Some("k+y")
        );
        let uri: Uri = "/v1/chat?a=%20&apikey=k&b=2&apikey=x".parse().unwrap();
        assert_eq!(without_query_arg(&uri, "apikey"), "/v1/chat?a=%20&b=2");
        let uri: Uri = "/v1/chat?apikey=k".parse().unwrap();
        assert_eq!(without_query_arg(&uri, "apikey"), "/v1/chat");
    }
}
