//! [`TokenLimiter`]: a compiled `ai-rate-limiting` plugin — which budgets
//! a request draws on, and what they answer.

use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_proxy_core::config::{CostError, CounterPolicy, LimitStrategy, LimitValue, VarTemplate};
use ai_proxy_core::usage::Usage;
use http::HeaderMap;
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
    pub(super) mode: Mode,
    pub(super) strategy: LimitStrategy,
    pub(super) rejection: Rejection,
    pub(super) allow_degradation: bool,
    pub(super) policy: CounterPolicy,
}

#[derive(Debug)]
pub(super) enum Mode {
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
pub(super) type InstanceBudget = (usize, Option<Arc<QuotaHeaders>>);

#[derive(Debug)]
pub(super) struct Spec {
    pub(super) key: Arc<str>,
    pub(super) limit: LimitValue,
    pub(super) window: LimitValue,
}

#[derive(Debug)]
pub(super) struct Rule {
    pub(super) key: VarTemplate,
    pub(super) count: LimitValue,
    pub(super) window: LimitValue,
    pub(super) headers: Option<Arc<QuotaHeaders>>,
}

impl TokenLimiter {
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
        let mut headers = HeaderMap::new();
        let mut verdict = self.admit_into(quotas, instance, &mut headers);
        verdict.headers = headers;
        verdict
    }

    /// [`admit`](Self::admit) writing the quota headers straight into
    /// `headers` (a response's own map; the verdict's map stays empty).
    /// On a 500 the quota headers written are taken back off `headers`.
    pub fn admit_into(
        &self,
        quotas: &RequestQuotas,
        instance: &str,
        headers: &mut HeaderMap,
    ) -> Verdict {
        let mut verdict = Verdict::default();
        if let Some(error) = &quotas.error {
            return self.failed(verdict, error.clone());
        }
        match &self.mode {
            Mode::Instances { .. } => {
                if let Some((slot, names)) = self.instance_slot(instance) {
                    let _ = self.judge(quotas, slot, names, headers, &mut verdict);
                }
            }
            Mode::Rules { rules, .. } => {
                for (slot, &rule) in quotas.rules.iter().enumerate() {
                    let names = rules.get(rule).and_then(|r| r.headers.as_ref());
                    if let ControlFlow::Break(failed) =
                        self.judge(quotas, slot, names, headers, &mut verdict)
                    {
                        if failed {
                            // A 500 shows no quota: drop the earlier rules'.
                            for &rule in quotas.rules.get(..slot).unwrap_or_default() {
                                let names = rules.get(rule).and_then(|r| r.headers.as_ref());
                                for name in names.into_iter().flat_map(|n| n.names()) {
                                    headers.remove(name);
                                }
                            }
                        }
                        break;
                    }
                }
            }
        }
        verdict
    }

    /// Judges one budget, its headers into `headers`; `Break` once the
    /// request is rejected (`Break(true)`: its counter failed, a 500).
    fn judge(
        &self,
        quotas: &RequestQuotas,
        slot: usize,
        names: Option<&Arc<QuotaHeaders>>,
        headers: &mut HeaderMap,
        verdict: &mut Verdict,
    ) -> ControlFlow<bool> {
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
                return ControlFlow::Break(true);
            }
        };
        let check = quota.check(counter);
        if let Some(h) = names {
            h.write(&check, headers);
        }
        if check.admitted {
            return ControlFlow::Continue(());
        }
        verdict.rejection = Some(self.rejection.clone());
        ControlFlow::Break(false)
    }

    fn failed(&self, mut verdict: Verdict, error: LimitError) -> Verdict {
        if self.allow_degradation {
            tracing::warn!(%error, "ai-rate-limiting degraded: serving without limits");
        } else {
            tracing::error!(%error, "ai-rate-limiting failed: answering 500");
            verdict.rejection = Some(Rejection::failure());
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

    /// Whether [`cost`](Self::cost) reads its `raw` usage (only
    /// `cost_expr` does): callers may skip building it.
    pub fn reads_raw_usage(&self) -> bool {
        matches!(self.strategy, LimitStrategy::Expression(_))
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
