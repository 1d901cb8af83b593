//! [`PluginRegistry`]: the plugin factories a gateway builds routes'
//! pipelines from — the ones `ai-proxy serve` runs, and an embedder's own.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use ai_proxy::config::{ConfigError, ConfigErrorKind, ConfigErrors, KEY_AUTH};
use serde_json::Value;

use super::{Pipeline, PluginContext, PluginFactory};
use crate::config::{AI_PROXY, AI_PROXY_MULTI, Document, RouteConfig};
use crate::key_auth::KeyAuthFactory;
use crate::rate_limit::RateLimitingFactory;

/// The plugins a gateway runs, by name.
#[derive(Clone, Default)]
pub struct PluginRegistry {
    factories: BTreeMap<String, Arc<dyn PluginFactory>>,
}

impl fmt::Debug for PluginRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.factories.keys()).finish()
    }
}

impl PluginRegistry {
    /// The plugins `ai-proxy serve` runs next to `ai-proxy` and
    /// `ai-proxy-multi`: `key-auth`, `ai-rate-limiting`, `ai-prompt-template`,
    /// `ai-prompt-decorator`, `ai-prompt-guard` and `ai-aws-content-moderation`.
    pub fn new() -> Self {
        crate::prompt::factories()
            .into_iter()
            .fold(Self::default(), Self::with)
            .with(Arc::new(
                crate::moderation::AwsContentModerationFactory::new(),
            ))
            .with(Arc::new(KeyAuthFactory))
            .with(Arc::new(RateLimitingFactory::default()))
    }

    /// A registry without any plugin (every plugin refused).
    pub fn empty() -> Self {
        Self::default()
    }

    /// This registry with `factory` added (replacing one of the same name).
    pub fn with(mut self, factory: Arc<dyn PluginFactory>) -> Self {
        self.factories.insert(factory.name().to_owned(), factory);
        self
    }

    /// The names of the plugins this registry builds.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.factories.keys().map(String::as_str)
    }

    /// Checks that every plugin on every route of `document` is one this
    /// registry runs, with a valid configuration; every problem with its
    /// JSON path.
    pub fn check(&self, document: &Document) -> Result<(), ConfigErrors> {
        let mut errors = self.check_consumers(document);
        for route in &document.routes {
            if let Err(e) = self.pipeline(route, document) {
                errors.extend(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors::new(errors))
        }
    }

    /// A consumer's plugins apply on top of the routes': one the gateway
    /// does not run would leave its requests unprotected.
    pub(crate) fn check_consumers(&self, document: &Document) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        for (i, consumer) in document.consumers.iter().enumerate() {
            for name in consumer.plugins.keys() {
                if !self.factories.contains_key(name) {
                    errors.push(self.unsupported(&format!("consumers[{i}].plugins.{name}")));
                }
            }
        }
        errors
    }

    /// Builds a route's pipeline: rewrite-phase plugins, then access-phase
    /// ones, each highest priority first.
    pub(crate) fn pipeline(
        &self,
        route: &RouteConfig,
        document: &Document,
    ) -> Result<Pipeline, ConfigErrors> {
        let mut plugins = Vec::with_capacity(route.plugins.len());
        let mut errors = Vec::new();
        for (name, config) in &route.plugins {
            let path = route.plugin_path_of(name);
            let Some(factory) = self.factories.get(name) else {
                errors.push(self.unsupported(&path));
                continue;
            };
            let context = PluginContext {
                path: &path,
                route,
                document,
            };
            match factory.build(config, &context) {
                Ok(plugin) => plugins.push(plugin),
                Err(e) => errors.extend(e),
            }
        }
        // Plugins only consumers carry run on routes that authenticate
        // consumers, built without a route config (`null`).
        if route.plugins.iter().any(|(name, _)| name == KEY_AUTH) {
            for name in consumer_plugins(document) {
                if route.plugins.iter().any(|(n, _)| n == name) {
                    continue;
                }
                let Some(factory) = self.factories.get(name) else {
                    continue; // refused by `check` with the consumer's path
                };
                let path = route.plugin_path_of(name);
                let context = PluginContext {
                    path: &path,
                    route,
                    document,
                };
                match factory.build(&Value::Null, &context) {
                    Ok(plugin) => plugins.push(plugin),
                    Err(e) => errors.extend(e),
                }
            }
        }
        if !errors.is_empty() {
            return Err(ConfigErrors::new(errors));
        }
        // Stable: equal priorities keep document order.
        plugins.sort_by_key(|p| (p.phase(), std::cmp::Reverse(p.priority())));
        Ok(Pipeline { plugins })
    }

    fn unsupported(&self, path: &str) -> ConfigError {
        let mut runs = vec![AI_PROXY, AI_PROXY_MULTI];
        runs.extend(self.names());
        ConfigError::new(
            path,
            ConfigErrorKind::Unsupported,
            format!(
                "plugin not supported by ai-proxy serve; remove it from the route, or serve \
                 the route with APISIX (ai-proxy serve runs: {})",
                runs.join(", ")
            ),
        )
    }
}

/// The names of the plugins consumers carry besides their credentials,
/// each once.
fn consumer_plugins(document: &Document) -> std::collections::BTreeSet<&str> {
    document
        .consumers
        .iter()
        .flat_map(|c| c.plugins.keys())
        .map(String::as_str)
        .filter(|name| *name != KEY_AUTH)
        .collect()
}
