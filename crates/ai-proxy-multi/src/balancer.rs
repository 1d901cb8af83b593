//! [`Balancer`]: picks instances and decides retries.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ai_proxy_core::Registry;
use ai_proxy_core::config::{self, AiProxyMultiConfig, Algorithm, FallbackStrategy, HashOn};
use http::StatusCode;

use crate::Error;
use crate::chash::{Ring, crc32};
use crate::health::{Health, HealthChange, HealthStatus, PassiveHealth, ProbeThresholds};
use crate::keys::{KeyLookup, Template};
use crate::plan::{Attempt, Decision, Finish, FinishReason, InstanceId, Outcome, RequestPlan};
use crate::probe::{self, Probe};
use crate::router::{self, ModelRouter, Unmatched};
use crate::wrr::SmoothWrr;

/// The most instances one balancer indexes.
pub const MAX_INSTANCES: usize = 65_535;

/// One instance as the balancer sees it: `name`, `priority`, `weight`.
/// For tests and embedders that do not start from an APISIX config.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceSpec {
    /// Unique name (1..=100 characters), the `picked_ai_instance_name`.
    pub name: String,
    /// Higher groups are tried first.
    pub priority: i64,
    /// Share inside its priority group; 0 is never picked.
    pub weight: u32,
}

impl InstanceSpec {
    /// An instance descriptor.
    pub fn new(name: impl Into<String>, priority: i64, weight: u32) -> Self {
        Self {
            name: name.into(),
            priority,
            weight,
        }
    }
}

/// The APISIX `ai-proxy-multi` fields that steer balancing and fallback.
///
/// Unhealthy instances are always skipped (as APISIX does for instances
/// with health checks), whatever `fallback_strategy` says; its
/// `rate_limiting` part (`instance_health_and_rate_limiting` or
/// `["rate_limiting", …]`) turns on [`KeyLookup::is_rate_limited`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// `balancer`: algorithm, hash_on, key.
    pub balancer: config::BalancerConfig,
    /// `fallback_strategy`.
    pub fallback_strategy: FallbackStrategy,
    /// `fallback_http_statuses`.
    pub fallback_http_statuses: Vec<u16>,
    /// `max_retries` (`None`: until every instance was tried).
    pub max_retries: Option<u32>,
    /// `retry_on_failure_within_ms`.
    pub retry_on_failure_within_ms: Option<u64>,
}

impl Policy {
    /// The policy fields of a parsed config.
    pub fn from_config(config: &AiProxyMultiConfig) -> Self {
        Self {
            balancer: config.balancer.clone(),
            fallback_strategy: config.fallback_strategy,
            fallback_http_statuses: config.fallback_http_statuses.clone(),
            max_retries: config.max_retries,
            retry_on_failure_within_ms: config.retry_on_failure_within_ms,
        }
    }

    /// Consistent hashing on `hash_on` + `key`.
    pub fn with_chash(mut self, hash_on: HashOn, key: Option<&str>) -> Self {
        self.balancer.algorithm = Algorithm::Chash;
        self.balancer.hash_on = hash_on;
        self.balancer.key = key.map(str::to_owned);
        self
    }

    /// Falls back on 429 (`http_429`), on 5xx (`http_5xx`), and skips
    /// rate-limited instances (`rate_limiting`).
    pub fn with_fallback(mut self, http_429: bool, http_5xx: bool, rate_limiting: bool) -> Self {
        self.fallback_strategy.http_429 = http_429;
        self.fallback_strategy.http_5xx = http_5xx;
        self.fallback_strategy.rate_limiting = rate_limiting;
        self
    }

    /// `fallback_http_statuses`.
    pub fn with_fallback_statuses(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.fallback_http_statuses = statuses.into_iter().collect();
        self
    }

    /// `max_retries`.
    pub fn with_max_retries(mut self, max: Option<u32>) -> Self {
        self.max_retries = max;
        self
    }

    /// `retry_on_failure_within_ms`.
    pub fn with_retry_within_ms(mut self, ms: Option<u64>) -> Self {
        self.retry_on_failure_within_ms = ms;
        self
    }
}

/// SDK options beyond the APISIX config.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MultiOptions {
    /// Passive health (default on, [`PassiveHealth::default`]); `None`
    /// turns it off, as in APISIX.
    pub passive_health: Option<PassiveHealth>,
    /// The model router (default none).
    pub model_router: Option<ModelRouter>,
}

impl Default for MultiOptions {
    fn default() -> Self {
        Self {
            passive_health: Some(PassiveHealth::default()),
            model_router: None,
        }
    }
}

impl MultiOptions {
    /// Sets or clears passive health.
    pub fn with_passive_health(mut self, passive: Option<PassiveHealth>) -> Self {
        self.passive_health = passive;
        self
    }

    /// Sets the model router.
    pub fn with_model_router(mut self, router: ModelRouter) -> Self {
        self.model_router = Some(router);
        self
    }
}

#[derive(Debug)]
struct Instance {
    name: Box<str>,
    priority: i64,
    weight: u32,
    health: Health,
    probe: Option<Probe>,
}

#[derive(Debug)]
struct Group {
    members: Box<[u32]>,
    wrr: SmoothWrr,
    ring: Option<Ring>,
}

#[derive(Debug)]
struct Pool {
    members: Box<[u32]>,
    groups: Box<[Group]>,
}

#[derive(Debug)]
enum HashKey {
    Var(String),
    Header(String),
    Cookie(String),
    Consumer,
    Template(Template),
}

/// The `ai-proxy-multi` decision engine: which instance gets an attempt,
/// and whether a failed attempt is retried elsewhere.
///
/// Build it once per route ([`Balancer::new`] from the APISIX config, or
/// [`Balancer::from_instances`]) and share it (`Send + Sync`, e.g. in an
/// `Arc`). Per request:
///
/// 1. [`pick`](Self::pick) → an [`Attempt`] naming the instance;
/// 2. send the request (always built from the original client body) to it;
/// 3. [`on_outcome`](Self::on_outcome) with the status or transport error,
///    the attempt's duration and whether a byte reached the client →
///    [`Decision::Return`] (answer the client) or [`Decision::Retry`] (go to
///    step 2 with the new attempt).
///
/// Selection: priority groups from the highest number down, moving down
/// only when a group has no pickable instance; inside a group smooth
/// weighted round robin (lock-free when nothing is skipped) or consistent
/// hashing. Unhealthy (passively ejected or actively down) instances are
/// skipped unless every weighted instance is unhealthy, then all are used.
/// A request never revisits an instance.
///
/// ```
/// use std::time::{Duration, Instant};
/// use ai_proxy_multi::{Balancer, Decision, InstanceSpec, MultiOptions, Outcome, Policy};
///
/// let balancer = Balancer::from_instances(
///     [InstanceSpec::new("primary", 1, 1), InstanceSpec::new("backup", 0, 1)],
///     Policy::default().with_fallback(true, true, false),
///     MultiOptions::default(),
/// )?;
/// let now = Instant::now();
/// let attempt = balancer.pick(&(), now)?;
/// assert_eq!(balancer.picked_ai_instance_name(&attempt), "primary");
///
/// // The primary answers 429: fall back to the backup.
/// let decision = balancer.on_outcome(attempt, Outcome::Status(429), Duration::from_millis(80), false, &(), now);
/// let Decision::Retry(retry) = decision else { panic!("expected a retry") };
/// assert_eq!(balancer.picked_ai_instance_name(&retry), "backup");
///
/// // The backup succeeds: answer the client.
/// let Decision::Return(done) = balancer.on_outcome(retry, Outcome::Status(200), Duration::from_millis(90), false, &(), now) else {
///     panic!("expected the end")
/// };
/// assert_eq!(done.status, 200);
/// # Ok::<(), ai_proxy_multi::Error>(())
/// ```
#[derive(Debug)]
pub struct Balancer {
    instances: Box<[Instance]>,
    pools: Box<[Pool]>,
    router: Option<ModelRouter>,
    chash: Option<HashKey>,
    fallback: FallbackStrategy,
    fallback_statuses: Box<[u16]>,
    max_retries: Option<u32>,
    retry_within_ms: Option<u64>,
    passive: Option<PassiveHealth>,
    /// Instances currently flagged unhealthy (0 keeps picks on the fast path).
    flagged: AtomicU32,
}

impl Balancer {
    /// Compiles a parsed `ai-proxy-multi` config (instance names, priorities,
    /// weights, `checks.active`, balancer and fallback settings). An active
    /// check of an instance without an endpoint host goes to the host
    /// `registry`'s adapter for its provider names
    /// ([`Adapter::health_check_host`](ai_proxy_core::Adapter::health_check_host)).
    pub fn new(
        config: &AiProxyMultiConfig,
        registry: &Registry,
        options: MultiOptions,
    ) -> Result<Self, Error> {
        let mut instances = Vec::with_capacity(config.instances.len());
        for (i, inst) in config.instances.iter().enumerate() {
            let probe = probe::from_instance(i + 1, inst, registry)?;
            instances.push((
                InstanceSpec::new(inst.name.clone(), inst.priority, inst.weight),
                probe,
            ));
        }
        Self::build(instances, Policy::from_config(config), options)
    }

    /// A balancer over plain descriptors (no active checks).
    pub fn from_instances(
        instances: impl IntoIterator<Item = InstanceSpec>,
        policy: Policy,
        options: MultiOptions,
    ) -> Result<Self, Error> {
        Self::build(
            instances.into_iter().map(|s| (s, None)).collect(),
            policy,
            options,
        )
    }

    fn build(
        specs: Vec<(InstanceSpec, Option<Probe>)>,
        policy: Policy,
        options: MultiOptions,
    ) -> Result<Self, Error> {
        if specs.is_empty() {
            return Err(Error::NoInstances);
        }
        if specs.len() > MAX_INSTANCES {
            return Err(Error::TooManyInstances {
                count: specs.len(),
                max: MAX_INSTANCES,
            });
        }
        for (i, (spec, _)) in specs.iter().enumerate() {
            let chars = spec.name.chars().count();
            if chars == 0 || chars > 100 {
                return Err(Error::InvalidName { index: i + 1 });
            }
            if let Some(j) = specs.iter().take(i).position(|(s, _)| s.name == spec.name) {
                return Err(Error::DuplicateName {
                    name: spec.name.clone(),
                    first: j + 1,
                    second: i + 1,
                });
            }
        }
        if let Some(passive) = &options.passive_health {
            passive.validate()?;
        }
        let chash = match policy.balancer.algorithm {
            Algorithm::Chash => Some(hash_key(&policy.balancer)?),
            _ => None,
        };
        let instances: Box<[Instance]> = specs
            .into_iter()
            .map(|(spec, probe)| Instance {
                name: spec.name.into_boxed_str(),
                priority: spec.priority,
                weight: spec.weight,
                health: Health::default(),
                probe,
            })
            .collect();

        let all: Vec<u32> = (0..instances.len())
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        let mut pools = vec![build_pool(&instances, all, chash.is_some())];
        if let Some(router) = &options.model_router {
            for (r, route) in router.routes.iter().enumerate() {
                if route.models.is_empty() {
                    return Err(Error::EmptyRoute {
                        route: r,
                        field: "models",
                    });
                }
                if route.instances.is_empty() {
                    return Err(Error::EmptyRoute {
                        route: r,
                        field: "instances",
                    });
                }
                let mut members: Vec<u32> = Vec::with_capacity(route.instances.len());
                for name in &route.instances {
                    let id = instances
                        .iter()
                        .position(|i| *i.name == **name)
                        .and_then(|i| u32::try_from(i).ok())
                        .ok_or_else(|| Error::UnknownRouteInstance {
                            route: r,
                            name: name.clone(),
                        })?;
                    if !members.contains(&id) {
                        members.push(id);
                    }
                }
                // Config order inside groups, whatever order the route lists.
                members.sort_unstable();
                pools.push(build_pool(&instances, members, chash.is_some()));
            }
        }

        Ok(Self {
            instances,
            pools: pools.into_boxed_slice(),
            router: options.model_router,
            chash,
            fallback: policy.fallback_strategy,
            fallback_statuses: policy.fallback_http_statuses.into_boxed_slice(),
            max_retries: policy.max_retries,
            retry_within_ms: policy.retry_on_failure_within_ms,
            passive: options.passive_health,
            flagged: AtomicU32::new(0),
        })
    }

    /// Picks the instance for a request's first attempt.
    ///
    /// `keys` answers the chash key, the client's model (model router) and
    /// the rate-limit hook; `now` ends passive ejections whose window is
    /// over. Errors: [`Error::AllServersTried`] /
    /// [`Error::AllUpstreamServersTried`] (503) when nothing is pickable,
    /// [`Error::NoRouteForModel`] (404) when the router rejects the model.
    pub fn pick(&self, keys: &dyn KeyLookup, now: Instant) -> Result<Attempt, Error> {
        let mut plan = RequestPlan {
            pool: self.pool_for(keys)?,
            ..RequestPlan::default()
        };
        let instance = self.select(&mut plan, keys, now)?;
        Ok(Attempt {
            instance: InstanceId(instance),
            number: 1,
            plan,
        })
    }

    /// Reports how `attempt` ended and decides what comes next.
    ///
    /// `elapsed` is the attempt's own duration (checked against
    /// `retry_on_failure_within_ms`); `bytes_sent_to_client` must be `true`
    /// once any response byte was forwarded (no retry is possible then).
    /// The outcome also feeds passive health. A retry never goes to an
    /// instance this request already tried; when none is left the answer is
    /// [`FinishReason::Exhausted`] with status 502.
    pub fn on_outcome(
        &self,
        attempt: Attempt,
        outcome: Outcome,
        elapsed: Duration,
        bytes_sent_to_client: bool,
        keys: &dyn KeyLookup,
        now: Instant,
    ) -> Decision {
        let Attempt {
            instance,
            number,
            mut plan,
        } = attempt;
        let code = outcome.status();
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
        let finish = |reason, status| {
            Decision::Return(Finish {
                instance,
                status,
                reason,
                attempts: number,
            })
        };
        if self.instances.len() > 1 {
            self.record_health(instance, outcome, now);
        }
        let single = self
            .pools
            .get(index(plan.pool))
            .is_none_or(|p| p.members.len() <= 1);
        if single {
            return finish(FinishReason::SingleInstance, status);
        }
        plan.tried.insert(instance.0);
        if !self.falls_back(code) {
            return finish(FinishReason::Delivered, status);
        }
        if bytes_sent_to_client {
            return finish(FinishReason::ClientStarted, status);
        }
        if let Some(within_ms) = self.retry_within_ms
            && elapsed > Duration::from_millis(within_ms)
        {
            tracing::warn!(
                instance = self.name_of(instance),
                status = code,
                "exceeding retry_on_failure_within_ms {within_ms}"
            );
            return finish(FinishReason::RetryWindowExceeded { within_ms }, status);
        }
        if let Some(max_retries) = self.max_retries
            && plan.retries.saturating_add(1) > max_retries
        {
            tracing::warn!(
                instance = self.name_of(instance),
                status = code,
                "reached max_retries {max_retries}"
            );
            return finish(FinishReason::MaxRetries { max_retries }, status);
        }
        plan.retries = plan.retries.saturating_add(1);
        match self.select(&mut plan, keys, now) {
            Ok(next) => {
                tracing::warn!(
                    "ai instance {} returned status {code}, falling back to {}",
                    self.name_of(instance),
                    self.name_of(InstanceId(next))
                );
                Decision::Retry(Attempt {
                    instance: InstanceId(next),
                    number: number.saturating_add(1),
                    plan,
                })
            }
            Err(err) => {
                tracing::warn!(
                    instance = self.name_of(instance),
                    status = code,
                    "no ai instance left to fall back to: {err}"
                );
                finish(FinishReason::Exhausted, StatusCode::BAD_GATEWAY)
            }
        }
    }

    /// Whether [`on_outcome`](Self::on_outcome) may retry `attempt` if it
    /// ends with `status` (before any byte reached the client): the status
    /// falls back, the request has more than one instance to go to, and
    /// `max_retries` is not used up. A gateway reads such an error body
    /// whole (to answer with it if no retry happens) instead of streaming
    /// it. `retry_on_failure_within_ms` and whether an untried instance is
    /// left are only known at `on_outcome`.
    pub fn may_fall_back(&self, attempt: &Attempt, status: u16) -> bool {
        let pooled = self
            .pools
            .get(index(attempt.plan.pool))
            .is_some_and(|p| p.members.len() > 1);
        pooled
            && self.falls_back(status)
            && self
                .max_retries
                .is_none_or(|max| attempt.plan.retries < max)
    }

    /// The attempt's instance name: APISIX's `picked_ai_instance_name`.
    pub fn picked_ai_instance_name(&self, attempt: &Attempt) -> &str {
        self.name_of(attempt.instance)
    }

    /// The name of an instance.
    pub fn instance_name(&self, id: InstanceId) -> Option<&str> {
        self.instances.get(id.index()).map(|i| &*i.name)
    }

    /// The instance with this name.
    pub fn instance_id(&self, name: &str) -> Option<InstanceId> {
        self.instances
            .iter()
            .position(|i| *i.name == *name)
            .and_then(|i| u32::try_from(i).ok())
            .map(InstanceId)
    }

    /// Every instance, in config order.
    pub fn instances(&self) -> impl ExactSizeIterator<Item = InstanceId> + '_ {
        (0..self.instances.len()).map(|i| InstanceId(u32::try_from(i).unwrap_or(u32::MAX)))
    }

    /// An instance's priority and weight.
    pub fn priority_and_weight(&self, id: InstanceId) -> Option<(i64, u32)> {
        self.instances
            .get(id.index())
            .map(|i| (i.priority, i.weight))
    }

    /// The active probes to run: one per instance with `checks.active`.
    pub fn probes(&self) -> impl Iterator<Item = (InstanceId, &Probe)> + '_ {
        self.instances()
            .zip(self.instances.iter())
            .filter_map(|(id, i)| i.probe.as_ref().map(|p| (id, p)))
    }

    /// Reports an active probe verdict. Consecutive verdicts past the
    /// probe's thresholds (`healthy.successes`, `unhealthy.*_failures`;
    /// APISIX's defaults for instances without `checks`) take the instance
    /// out of or back into rotation.
    pub fn report_probe(&self, id: InstanceId, healthy: bool, now: Instant) -> HealthChange {
        let Some(instance) = self.instances.get(id.index()) else {
            return HealthChange::Unchanged;
        };
        let thresholds = instance
            .probe
            .as_ref()
            .map_or_else(ProbeThresholds::default, Probe::thresholds);
        let change = instance
            .health
            .on_probe(healthy, now, thresholds, &self.flagged);
        if change != HealthChange::Unchanged {
            tracing::info!(
                instance = &*instance.name,
                ?change,
                "ai instance active health changed"
            );
        }
        change
    }

    /// A snapshot of an instance's health at `now`.
    pub fn health(&self, id: InstanceId, now: Instant) -> Option<HealthStatus> {
        self.instances.get(id.index()).map(|i| i.health.status(now))
    }

    fn name_of(&self, id: InstanceId) -> &str {
        self.instance_name(id).unwrap_or("")
    }

    fn falls_back(&self, code: u16) -> bool {
        (code == 429 && self.fallback.http_429)
            || ((500..=599).contains(&code) && self.fallback.http_5xx)
            || self.fallback_statuses.contains(&code)
    }

    fn skips_rate_limited(&self) -> bool {
        self.fallback.rate_limiting
    }

    fn record_health(&self, id: InstanceId, outcome: Outcome, now: Instant) {
        let (Some(passive), Some(instance)) = (&self.passive, self.instances.get(id.index()))
        else {
            return;
        };
        if outcome.is_failure() {
            instance.health.on_failure(now, passive, &self.flagged);
        } else if outcome.status() != 429 {
            instance.health.on_success(&self.flagged);
        }
    }

    fn is_healthy(&self, i: u32, now: Instant) -> bool {
        self.instances.get(index(i)).is_some_and(|inst| {
            inst.health
                .is_healthy(now, self.passive.as_ref(), &self.flagged)
        })
    }

    fn weight(&self, i: u32) -> u32 {
        self.instances.get(index(i)).map_or(0, |inst| inst.weight)
    }

    fn pool_for(&self, keys: &dyn KeyLookup) -> Result<u32, Error> {
        let Some(router) = &self.router else {
            return Ok(0);
        };
        let model = keys.model();
        let route = model.as_deref().and_then(|m| router::route_for(router, m));
        match (route, router.unmatched) {
            (Some(r), _) => Ok(u32::try_from(r + 1).unwrap_or(0)),
            (None, Unmatched::Reject) => Err(Error::NoRouteForModel {
                model: truncate(model.as_deref().unwrap_or(""), 128),
            }),
            (None, _) => Ok(0),
        }
    }

    fn select(
        &self,
        plan: &mut RequestPlan,
        keys: &dyn KeyLookup,
        now: Instant,
    ) -> Result<u32, Error> {
        let Some(pool) = self.pools.get(index(plan.pool)) else {
            return Err(Error::AllUpstreamServersTried);
        };
        if let [only] = *pool.members {
            // APISIX: one instance is used directly (no health, no limits).
            return Ok(only);
        }
        // Skip unhealthy instances unless none with weight is healthy.
        let filter = self.flagged.load(Ordering::Relaxed) > 0
            && pool
                .members
                .iter()
                .any(|&i| self.weight(i) > 0 && self.is_healthy(i, now));
        for (g, group) in pool.groups.iter().enumerate() {
            loop {
                let candidate = if self.chash.is_some() {
                    self.ring_pick(g, group, plan, keys, filter, now)
                } else {
                    self.wrr_pick(group, plan, filter, now)
                };
                let Some(i) = candidate else {
                    break;
                };
                if self.skips_rate_limited() && keys.is_rate_limited(self.name_of(InstanceId(i))) {
                    // APISIX marks a rate-limited instance tried and picks again.
                    plan.tried.insert(i);
                    continue;
                }
                return Ok(i);
            }
        }
        Err(if pool.groups.len() > 1 {
            Error::AllServersTried
        } else {
            Error::AllUpstreamServersTried
        })
    }

    fn wrr_pick(
        &self,
        group: &Group,
        plan: &RequestPlan,
        filter: bool,
        now: Instant,
    ) -> Option<u32> {
        if plan.tried.is_empty() {
            // Lock-free even during an ejection: only a pick that lands on an
            // unhealthy member takes the locked path. Both paths follow the
            // weights, so their mix does too.
            let i = group.members.get(group.wrr.pick_all()?).copied()?;
            if !filter || self.is_healthy(i, now) {
                return Some(i);
            }
        }
        let member = group.wrr.pick_where(|m| {
            group
                .members
                .get(m)
                .is_some_and(|&i| !plan.tried.contains(i) && (!filter || self.is_healthy(i, now)))
        });
        group.members.get(member?).copied()
    }

    fn ring_pick(
        &self,
        g: usize,
        group: &Group,
        plan: &mut RequestPlan,
        keys: &dyn KeyLookup,
        filter: bool,
        now: Instant,
    ) -> Option<u32> {
        let ring = group.ring.as_ref()?;
        let eligible = |i: u32| !plan.tried.contains(i) && (!filter || self.is_healthy(i, now));
        // Walk the ring only if the walk can end somewhere.
        let any = group
            .members
            .iter()
            .enumerate()
            .any(|(m, &i)| group.wrr.weight(m) > 0 && eligible(i));
        if !any {
            return None;
        }
        let g32 = u32::try_from(g).ok()?;
        let start = match plan.ring_at {
            Some((rg, p)) if rg == g32 => index(p).saturating_add(1),
            _ => {
                let hash = match plan.key_hash {
                    Some(h) => h,
                    None => {
                        let h = self.key_hash(keys);
                        plan.key_hash = Some(h);
                        h
                    }
                };
                ring.find(hash)?
            }
        };
        let len = ring.len();
        for step in 0..len {
            let p = (start + step) % len;
            let i = group.members.get(ring.member(p)?).copied()?;
            if eligible(i) {
                plan.ring_at = Some((g32, u32::try_from(p).ok()?));
                return Some(i);
            }
        }
        None
    }

    fn key_hash(&self, keys: &dyn KeyLookup) -> u32 {
        // Hash borrowed values in place: no allocation on the pick path.
        let hashed = match &self.chash {
            Some(HashKey::Var(name)) => keys.var(name).map(|v| crc32(v.as_bytes())),
            Some(HashKey::Header(name)) => keys.header(name).map(|v| crc32(v.as_bytes())),
            Some(HashKey::Cookie(name)) => keys.cookie(name).map(|v| crc32(v.as_bytes())),
            Some(HashKey::Consumer) => keys.consumer().map(|v| crc32(v.as_bytes())),
            Some(HashKey::Template(t)) => t.resolve(keys).map(|v| crc32(v.as_bytes())),
            None => None,
        };
        hashed.unwrap_or_else(|| crc32(keys.remote_addr().as_deref().unwrap_or("").as_bytes()))
    }
}

fn index(i: u32) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX)
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("").to_owned()
}

fn hash_key(balancer: &config::BalancerConfig) -> Result<HashKey, Error> {
    let key = balancer.key.clone();
    Ok(match balancer.hash_on {
        HashOn::Consumer => HashKey::Consumer,
        HashOn::Header => HashKey::Header(key.ok_or(Error::MissingHashKey)?),
        HashOn::Cookie => HashKey::Cookie(key.ok_or(Error::MissingHashKey)?),
        HashOn::VarsCombinations => {
            HashKey::Template(Template::parse(&key.ok_or(Error::MissingHashKey)?))
        }
        _ => HashKey::Var(key.ok_or(Error::MissingHashKey)?),
    })
}

fn build_pool(instances: &[Instance], members: Vec<u32>, chash: bool) -> Pool {
    let mut priorities: Vec<i64> = members
        .iter()
        .filter_map(|&i| instances.get(index(i)).map(|inst| inst.priority))
        .collect();
    priorities.sort_unstable_by(|a, b| b.cmp(a));
    priorities.dedup();
    let groups = priorities
        .into_iter()
        .map(|priority| {
            let group: Vec<(u32, &Instance)> = members
                .iter()
                .filter_map(|&i| instances.get(index(i)).map(|inst| (i, inst)))
                .filter(|(_, inst)| inst.priority == priority)
                .collect();
            let ring =
                chash.then(|| Ring::new(group.iter().map(|(_, inst)| (&*inst.name, inst.weight))));
            Group {
                wrr: SmoothWrr::new(group.iter().map(|(_, inst)| inst.weight).collect()),
                members: group.iter().map(|(i, _)| *i).collect(),
                ring,
            }
        })
        .collect();
    Pool {
        members: members.into_boxed_slice(),
        groups,
    }
}
