//! [`TokenLimiter`]: a compiled `ai-rate-limiting` plugin — which budgets
//! a request draws on, and what they answer.

use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_proxy_core::config::{
    AiRateLimitingConfig, ConfigError, ConfigErrorKind, ConfigErrors, CostError, CounterPolicy,
    LimitStrategy, LimitValue, Quotas, VarTemplate,
};
use ai_proxy_core::usage::Usage;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use sha2::{Digest, Sha256};

use super::admission::{LimitError, Rejection, RequestQuotas, Slot, Verdict};
use super::cost::{RawUsage, cost};
use super::quota::{Quota, QuotaHeaders};
use super::store::{Store, StoreError};
use crate::keys::KeyLookup;

/// Resolved rule keys longer than this are stored as their SHA-256.
const MAX_KEY_LEN: usize = 256;

/// A compiled `ai-rate-limiting` plugin for one route (or one consumer).
///
/// Sans-IO: it names the counters a request draws on and judges what the
/// store says about them; the caller owns the clock and the store.
/// Per request:
///
/// 1. [`quotas`](Self::quotas) resolves the budgets (variables in rule
///    keys, `count` and `time_window`);
/// 2. the caller reads their counters ([`RequestQuotas::read`] with a
///    [`Store`], or one by one with [`RequestQuotas::record`] from an
///    async store);
/// 3. `ai-proxy-multi` skips instances [`is_rate_limited`](Self::is_rate_limited)
///    says are out of quota, when its `fallback_strategy` includes
///    `rate_limiting`;
/// 4. [`admit`](Self::admit) judges the picked instance: quota headers,
///    and a rejection (`rejected_code`) when the budget is used up;
/// 5. after the response, [`cost`](Self::cost) of its usage is
///    [`charge`](Self::charge)d to the same budgets (it may overdraw them).
///
/// ```
/// use std::time::{Duration, Instant};
/// use ai_proxy_core::{Protocol, config::AiRateLimitingConfig, usage::Usage};
/// use ai_proxy_multi::limit::{MemoryStore, RawUsage, TokenLimiter};
///
/// let config = AiRateLimitingConfig::from_json(r#"{"limit": 30, "time_window": 60}"#).unwrap();
/// let limiter = TokenLimiter::new(&config, "route:1", &["ai-proxy-openai"]).unwrap();
/// let store = MemoryStore::default();
/// let t0 = Instant::now();
///
/// for (i, remaining) in ["30", "20", "10", "0"].into_iter().enumerate() {
///     let now = t0 + Duration::from_secs(i as u64);
///     let mut quotas = limiter.quotas(&());
///     quotas.read(&store, now);
///     let verdict = limiter.admit(&quotas, "ai-proxy-openai");
///     assert_eq!(verdict.headers["x-ai-ratelimit-remaining-ai-proxy-openai"], remaining);
///     if verdict.rejection.is_some() {
///         assert_eq!(i, 3); // 3 responses of 10 tokens used the 30
///         break;
///     }
///     let usage = Usage::new(4, 6);
///     let cost = limiter.cost(&usage, &RawUsage::from_usage(&usage, Protocol::OpenAiChat)).unwrap();
///     limiter.charge(&quotas, "ai-proxy-openai", cost, &store, now).unwrap();
/// }
/// ```
#[derive(Debug)]
pub struct TokenLimiter {
    mode: Mode,
    strategy: LimitStrategy,
    rejection: Rejection,
    allow_degradation: bool,
    policy: CounterPolicy,
}

#[derive(Debug)]
enum Mode {
    Instances {
        names: Box<[Box<str>]>,
        specs: Box<[Spec]>,
        /// Per route instance: its budget, if any.
        by_instance: Box<[Option<InstanceBudget>]>,
    },
    Rules {
        scope: Box<str>,
        rules: Box<[Rule]>,
    },
}

/// A route instance's spec and its header names (none when hidden).
type InstanceBudget = (usize, Option<Arc<QuotaHeaders>>);

#[derive(Debug)]
struct Spec {
    key: Arc<str>,
    limit: LimitValue,
    window: LimitValue,
}

#[derive(Debug)]
struct Rule {
    key: VarTemplate,
    count: LimitValue,
    window: LimitValue,
    headers: Option<Arc<QuotaHeaders>>,
}

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

    /// `policy`: which store the counters belong in.
    pub fn policy(&self) -> &CounterPolicy {
        &self.policy
    }

    /// `allow_degradation`: serve unlimited when counters fail.
    pub fn allow_degradation(&self) -> bool {
        self.allow_degradation
    }

    /// The answer when the budget is used up (`rejected_code`,
    /// `rejected_msg`); also for `ai-proxy-multi` when every instance is
    /// out of quota.
    pub fn rejection(&self) -> &Rejection {
        &self.rejection
    }

    /// The budgets of one request.
    pub fn quotas(&self, keys: &dyn KeyLookup) -> RequestQuotas {
        let var = |name: &str| keys.var(name);
        match &self.mode {
            Mode::Instances { specs, .. } => RequestQuotas {
                slots: specs
                    .iter()
                    .map(|s| {
                        Slot::new(resolve(&s.limit, "limit", var).and_then(|limit| {
                            Ok(Quota {
                                key: Arc::clone(&s.key),
                                limit,
                                window: seconds(resolve(&s.window, "time_window", var)?),
                            })
                        }))
                    })
                    .collect(),
                rules: Vec::new(),
                error: None,
            },
            Mode::Rules { scope, rules } => {
                let mut out = RequestQuotas::default();
                for (i, rule) in rules.iter().enumerate() {
                    // A rule whose key resolves no variable does not apply.
                    let key = rule.key.resolve(var);
                    if key.resolved == 0 {
                        continue;
                    }
                    let quota = resolve(&rule.count, "count", var).and_then(|limit| {
                        Ok(Quota {
                            key: rule_key(scope, i, &key.text).into(),
                            limit,
                            window: seconds(resolve(&rule.window, "time_window", var)?),
                        })
                    });
                    match quota {
                        Ok(q) => {
                            out.slots.push(Slot::new(Ok(q)));
                            out.rules.push(i);
                        }
                        // APISIX: an invalid value fails the request, so a
                        // client-set variable cannot switch limiting off.
                        Err(e) => {
                            out.error = Some(e);
                            return out;
                        }
                    }
                }
                if out.slots.is_empty() {
                    out.error = Some(LimitError::NoRuleApplies);
                }
                out
            }
        }
    }

    /// Whether `instance` is out of quota (or its counters failed and
    /// `allow_degradation` is off), as APISIX's `check_instance_status`:
    /// only per-instance budgets count; under `rules` no instance is
    /// skipped.
    pub fn is_rate_limited(&self, quotas: &RequestQuotas, instance: &str) -> bool {
        let Some((slot, _)) = self.instance_slot(instance) else {
            return false;
        };
        match quotas.slots.get(slot).map(Slot::state) {
            Some(Ok(Some((quota, counter)))) => !quota.check(counter).admitted,
            Some(Err(_)) => !self.allow_degradation,
            Some(Ok(None)) | None => false,
        }
    }

    /// Judges a request to `instance`: quota headers (when
    /// `show_limit_quota_header`), and a rejection when a budget is used up
    /// or its counter failed without `allow_degradation` (500).
    pub fn admit(&self, quotas: &RequestQuotas, instance: &str) -> Verdict {
        let mut verdict = Verdict::default();
        if let Some(error) = &quotas.error {
            return self.failed(verdict, error.clone());
        }
        match &self.mode {
            Mode::Instances { .. } => {
                if let Some((slot, headers)) = self.instance_slot(instance) {
                    let _ = self.judge(quotas, slot, headers, &mut verdict);
                }
            }
            Mode::Rules { rules, .. } => {
                for (slot, &rule) in quotas.rules.iter().enumerate() {
                    let headers = rules.get(rule).and_then(|r| r.headers.as_ref());
                    if self.judge(quotas, slot, headers, &mut verdict).is_break() {
                        break;
                    }
                }
            }
        }
        verdict
    }

    /// Judges one budget into `verdict`; `Break` once the request is
    /// rejected.
    fn judge(
        &self,
        quotas: &RequestQuotas,
        slot: usize,
        headers: Option<&Arc<QuotaHeaders>>,
        verdict: &mut Verdict,
    ) -> ControlFlow<()> {
        let (quota, counter) = match quotas.slots.get(slot).map(Slot::state) {
            Some(Ok(Some(read))) => read,
            Some(Ok(None)) | None => return ControlFlow::Continue(()),
            Some(Err(error)) => {
                if self.allow_degradation {
                    tracing::warn!(%error, "ai-rate-limiting degraded: serving without this limit");
                    verdict.error = Some(error);
                    return ControlFlow::Continue(());
                }
                *verdict = self.failed(std::mem::take(verdict), error);
                return ControlFlow::Break(());
            }
        };
        let check = quota.check(counter);
        if let Some(h) = headers {
            h.write(&check, &mut verdict.headers);
        }
        if check.admitted {
            return ControlFlow::Continue(());
        }
        verdict.rejection = Some(self.rejection.clone());
        ControlFlow::Break(())
    }

    fn failed(&self, mut verdict: Verdict, error: LimitError) -> Verdict {
        if self.allow_degradation {
            tracing::warn!(%error, "ai-rate-limiting degraded: serving without limits");
        } else {
            tracing::error!(%error, "ai-rate-limiting failed: answering 500");
            verdict.rejection = Some(Rejection::failure());
            verdict.headers = HeaderMap::new();
        }
        verdict.error = Some(error);
        verdict
    }

    /// What a response with `usage` costs under `limit_strategy`; `raw` is
    /// what `cost_expr` reads. An expression that is not finite costs
    /// nothing (APISIX logs it and charges nothing).
    pub fn cost(&self, usage: &Usage, raw: &RawUsage) -> Result<u64, CostError> {
        cost(&self.strategy, usage, raw)
    }

    /// The budgets a response from `instance` is charged to.
    pub fn charges<'q>(
        &self,
        quotas: &'q RequestQuotas,
        instance: &str,
    ) -> impl Iterator<Item = &'q Quota> + 'q {
        let slots = match &self.mode {
            _ if quotas.error.is_some() => 0..0,
            Mode::Instances { .. } => self
                .instance_slot(instance)
                .map_or(0..0, |(slot, _)| slot..slot + 1),
            Mode::Rules { .. } => 0..quotas.slots.len(),
        };
        slots.filter_map(|slot| quotas.slots.get(slot).and_then(Slot::quota))
    }

    /// Charges `cost` tokens to every budget of `instance` in a
    /// synchronous store. A cost of 0 charges nothing (as APISIX). Every
    /// budget is tried; the last failure is returned.
    pub fn charge(
        &self,
        quotas: &RequestQuotas,
        instance: &str,
        cost: u64,
        store: &dyn Store,
        now: Instant,
    ) -> Result<(), StoreError> {
        if cost == 0 {
            return Ok(());
        }
        let mut result = Ok(());
        for quota in self.charges(quotas, instance) {
            if let Err(e) = store.charge(quota.key(), cost, quota.window(), now) {
                result = Err(e);
            }
        }
        result
    }

    fn instance_slot(&self, instance: &str) -> Option<(usize, Option<&Arc<QuotaHeaders>>)> {
        let Mode::Instances {
            names, by_instance, ..
        } = &self.mode
        else {
            return None;
        };
        let i = names.iter().position(|n| **n == *instance)?;
        let (slot, headers) = by_instance.get(i)?.as_ref()?;
        Some((*slot, headers.as_ref()))
    }
}

fn resolve<'k>(
    value: &LimitValue,
    field: &'static str,
    var: impl FnMut(&str) -> Option<std::borrow::Cow<'k, str>>,
) -> Result<u64, LimitError> {
    match value {
        LimitValue::Fixed(n) => Ok(*n),
        LimitValue::Var(template) => {
            LimitValue::parse(&template.resolve(var).text).ok_or(LimitError::InvalidValue { field })
        }
    }
}

fn seconds(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `<scope>:r<rule>:<key>`; long keys (client-chosen header values) as
/// their SHA-256, so a counter key stays small.
fn rule_key(scope: &str, rule: usize, key: &str) -> String {
    if key.len() <= MAX_KEY_LEN {
        return format!("{scope}:r{rule}:{key}");
    }
    let digest = Sha256::digest(key.as_bytes());
    let mut out = format!("{scope}:r{rule}:sha256:");
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl Rejection {
    fn new(code: u16, message: Option<&str>) -> Self {
        let message = message.unwrap_or(
            "rate limit exceeded: the token budget of this time window is used up; retry when it resets",
        );
        Self {
            status: StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            body: Bytes::from(serde_json::json!({ "error_msg": message }).to_string()),
        }
    }

    fn failure() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: Bytes::from_static(br#"{"error_msg":"failed to limit count"}"#),
        }
    }
}
