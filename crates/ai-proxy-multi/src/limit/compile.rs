//! Compiling an `ai-rate-limiting` config into a [`TokenLimiter`]: budget
//! specs, counter keys and quota header names, checked against the route's
//! instances.

use ai_proxy_core::config::{
    AiRateLimitingConfig, ConfigError, ConfigErrorKind, ConfigErrors, Quotas,
};

use super::admission::Rejection;
use super::limiter::{Mode, Rule, Spec, TokenLimiter};
use super::quota::QuotaHeaders;

impl TokenLimiter {
    /// Compiles `config` for a route whose AI instances are `instances`
    /// (the `ai-proxy-multi` names, or `ai-proxy-<provider>` for
    /// `ai-proxy`). `scope` namespaces the counters (e.g. `route:<id>`, or
    /// `consumer:<name>` for a consumer's own limits); two limiters with one
    /// scope share budgets. Errors carry the config's JSON paths: an
    /// `instances[].name` the route does not have, or a name that cannot
    /// form a header.
    pub fn new(
        config: &AiRateLimitingConfig,
        scope: &str,
        instances: &[&str],
    ) -> Result<Self, ConfigErrors> {
        let headers = config.show_limit_quota_header;
        let mut errors = Vec::new();
        let mode = match &config.quotas {
            Quotas::Rules(rules) => {
                let mut out = Vec::with_capacity(rules.len());
                for (i, rule) in rules.iter().enumerate() {
                    let prefix = rule
                        .header_prefix
                        .clone()
                        .unwrap_or_else(|| (i + 1).to_string());
                    let names = QuotaHeaders::for_rule(&prefix);
                    if headers && names.is_none() {
                        errors.push(ConfigError::new(
                            format!("rules[{i}].header_prefix"),
                            ConfigErrorKind::Invalid,
                            "cannot be part of the X-AI-<prefix>-RateLimit-* header names",
                        ));
                    }
                    out.push(Rule {
                        key: rule.key.clone(),
                        count: rule.count.clone(),
                        window: rule.time_window.clone(),
                        headers: names.filter(|_| headers),
                    });
                }
                Mode::Rules {
                    scope: scope.into(),
                    rules: out.into(),
                }
            }
            Quotas::Instances {
                global,
                instances: listed,
            } => {
                let mut specs = Vec::new();
                let global_spec = global.as_ref().map(|g| {
                    specs.push(Spec {
                        key: format!("{scope}:global").into(),
                        limit: g.limit.clone(),
                        window: g.time_window.clone(),
                    });
                    specs.len() - 1
                });
                let mut by_instance = vec![None; instances.len()];
                for (j, limit) in listed.iter().enumerate() {
                    let Some(i) = instances.iter().position(|n| *n == limit.name) else {
                        errors.push(ConfigError::new(
                            format!("instances[{j}].name"),
                            ConfigErrorKind::Invalid,
                            format!(
                                "the route has no instance `{}` (its instances: {}); a misspelt \
                                 name would leave the instance unlimited",
                                limit.name,
                                instances.join(", ")
                            ),
                        ));
                        continue;
                    };
                    specs.push(Spec {
                        key: format!("{scope}:i:{}", limit.name).into(),
                        limit: limit.window.limit.clone(),
                        window: limit.window.time_window.clone(),
                    });
                    if let Some(slot) = by_instance.get_mut(i) {
                        *slot = Some(specs.len() - 1);
                    }
                }
                let mut resolved = Vec::with_capacity(instances.len());
                for (name, spec) in instances.iter().zip(by_instance) {
                    let Some(spec) = spec.or(global_spec) else {
                        resolved.push(None);
                        continue;
                    };
                    let names = QuotaHeaders::for_instance(name);
                    if headers && names.is_none() {
                        errors.push(ConfigError::new(
                            "limit",
                            ConfigErrorKind::Invalid,
                            format!(
                                "instance `{name}` cannot be part of the \
                                 X-AI-RateLimit-*-<instance> header names; rename it or set \
                                 show_limit_quota_header: false"
                            ),
                        ));
                    }
                    resolved.push(Some((spec, names.filter(|_| headers))));
                }
                Mode::Instances {
                    names: instances.iter().map(|n| Box::from(*n)).collect(),
                    specs: specs.into(),
                    by_instance: resolved.into(),
                }
            }
        };
        if !errors.is_empty() {
            return Err(ConfigErrors::new(errors));
        }
        Ok(Self {
            mode,
            strategy: config.limit_strategy.clone(),
            rejection: Rejection::new(config.rejected_code, config.rejected_msg.as_deref()),
            allow_degradation: config.allow_degradation,
            policy: config.policy.clone(),
        })
    }
}
