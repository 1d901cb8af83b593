//! [`Balancer`]: picks instances and decides retries.

mod hash_key;
mod outcome;
mod pick;
mod pool;

use std::sync::atomic::AtomicU32;
use std::time::Instant;

use ai_proxy_core::Registry;
use ai_proxy_core::config::{AiProxyMultiConfig, Algorithm, FallbackStrategy};

use self::hash_key::{HashKey, hash_key};
use self::pool::{Instance, Pool, build_pool};
use crate::Error;
use crate::health::{Health, HealthChange, HealthStatus, PassiveHealth, ProbeThresholds};
use crate::plan::{Attempt, InstanceId};
use crate::policy::{InstanceSpec, MultiOptions, Policy};
use crate::probe::{self, Probe};
use crate::router::ModelRouter;

/// The most instances one balancer indexes.
pub const MAX_INSTANCES: usize = 65_535;

/// The `ai-proxy-multi` decision engine: which instance gets an attempt,
/// and whether a failed attempt is retried elsewhere.
///
/// Build it once per route ([`Balancer::new`] from the APISIX config, or
/// [`Balancer::from_instances`]) and share it (`Send + Sync`, e.g. in an
/// `Arc`). Per request:
///
/// 1. [`pick`](Self::pick) → an [`Attempt`] naming the instance;
/// 2. send the request (always built from the original client body) to it;
/// 3. [`on_outcome`](Self::on_outcome) with a [`Report`](crate::Report):
///    the status or transport error, and whether the response went to the
///    client → [`Decision::Return`](crate::Decision::Return) (answer the
///    client) or [`Decision::Retry`](crate::Decision::Retry) (go to step 2
///    with the new attempt). The attempt knows when it started.
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
/// use ai_proxy_multi::{Balancer, Decision, InstanceSpec, MultiOptions, Outcome, Policy, Report};
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
/// // The primary answers 429 after 80 ms: fall back to the backup.
/// let report = Report { outcome: Outcome::Status(429), delivered: false };
/// let now = now + Duration::from_millis(80);
/// let Decision::Retry(retry) = balancer.on_outcome(attempt, report, &(), now) else {
///     panic!("expected a retry")
/// };
/// assert_eq!(balancer.picked_ai_instance_name(&retry), "backup");
///
/// // The backup succeeds: answer the client.
/// let report = Report { outcome: Outcome::Status(200), delivered: true };
/// let now = now + Duration::from_millis(90);
/// let Decision::Return(done) = balancer.on_outcome(retry, report, &(), now) else {
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
}
