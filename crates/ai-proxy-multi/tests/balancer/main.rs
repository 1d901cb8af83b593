//! `ai-proxy-multi` behaviour, driven like the APISIX test suite
//! (t/plugin/ai-proxy-multi*.t, spec §10 items 21–27) with a hand-moved
//! clock.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test code: failing loudly is the point

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use ai_proxy_multi::{
    Attempt, Balancer, Decision, Error, FinishReason, HashOn, HealthChange, InstanceSpec,
    KeyLookup, ModelRouter, MultiOptions, Outcome, PassiveHealth, Policy, Report, RequestKeys,
    Unmatched,
};

const FAST: Duration = Duration::from_millis(20);

fn spec(name: &str, priority: i64, weight: u32) -> InstanceSpec {
    InstanceSpec::new(name, priority, weight)
}

fn balancer(specs: Vec<InstanceSpec>, policy: Policy) -> Balancer {
    Balancer::from_instances(specs, policy, MultiOptions::default()).unwrap()
}

fn undelivered(outcome: Outcome) -> Report {
    Report {
        outcome,
        delivered: false,
    }
}

fn name(b: &Balancer, a: &Attempt) -> String {
    b.picked_ai_instance_name(a).to_owned()
}

/// Runs one request: `respond` answers each attempt by instance name.
/// Returns (final status, reason, instances tried in order).
fn run(
    b: &Balancer,
    keys: &dyn KeyLookup,
    now: Instant,
    mut respond: impl FnMut(&str) -> (Outcome, Duration),
) -> (u16, FinishReason, Vec<String>) {
    let mut attempt = b.pick(keys, now).unwrap();
    let mut path = Vec::new();
    loop {
        let n = name(b, &attempt);
        path.push(n.clone());
        let (outcome, elapsed) = respond(&n);
        let at = attempt.started() + elapsed;
        match b.on_outcome(attempt, undelivered(outcome), keys, at) {
            Decision::Retry(next) => attempt = next,
            Decision::Return(f) => return (f.status.as_u16(), f.reason, path),
        }
    }
}

fn counts(names: impl IntoIterator<Item = String>) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for n in names {
        *m.entry(n).or_default() += 1;
    }
    m
}

fn primary_backup(policy: Policy) -> Balancer {
    balancer(vec![spec("primary", 1, 1), spec("backup", 0, 1)], policy)
}

mod fallback;
mod health;
mod model_router;
mod selection;
