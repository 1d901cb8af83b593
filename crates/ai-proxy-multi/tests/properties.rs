//! Properties of selection and fallback over random configs.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test code: failing loudly is the point

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ai_proxy_multi::{Balancer, Decision, InstanceSpec, MultiOptions, Outcome, Policy, Report};
use proptest::prelude::*;

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn one_group(weights: &[u32]) -> Balancer {
    Balancer::from_instances(
        weights
            .iter()
            .enumerate()
            .map(|(i, &w)| InstanceSpec::new(format!("i{i}"), 0, w)),
        Policy::default(),
        MultiOptions::default(),
    )
    .unwrap()
}

proptest! {
    /// Picks follow nginx's smooth weighted round robin step for step
    /// (the reference below is its textbook form), so every full cycle (sum
    /// of the GCD-reduced weights) holds each instance exactly its weight.
    /// (A prefix can stray a little over one pick from its share: nginx's
    /// own sequence for weights 1/11/1/11/11/11 does after 21 picks.)
    #[test]
    fn picks_follow_nginx_smooth_wrr_and_every_cycle_is_exact(
        weights in proptest::collection::vec(1u32..12, 2..8),
        n in 1usize..300,
    ) {
        let b = one_group(&weights);
        let now = Instant::now();
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let g = weights.iter().fold(0u64, |g, &w| gcd(g, u64::from(w)));
        let cycle = total / g;
        let mut current = vec![0i64; weights.len()];
        let mut counts = vec![0u64; weights.len()];
        for k in 1..=n as u64 {
            let picked = b.pick(&(), now).unwrap().instance().index();
            // nginx: add each weight, take the largest current weight
            // (first on ties), subtract the total from it.
            let mut best = 0;
            for (i, &w) in weights.iter().enumerate() {
                current[i] += i64::from(w);
                if current[i] > current[best] {
                    best = i;
                }
            }
            current[best] -= total as i64;
            prop_assert_eq!(picked, best, "pick {}", k);
            counts[picked] += 1;
            if k % cycle == 0 {
                for (i, &w) in weights.iter().enumerate() {
                    prop_assert_eq!(counts[i] * total, k * u64::from(w), "instance {} after {} picks", i, k);
                }
            }
        }
    }

    /// Weight 0 is never picked, whatever the other weights.
    #[test]
    fn weight_zero_is_never_picked(
        weights in proptest::collection::vec(0u32..4, 2..8),
        picks in 1usize..100,
    ) {
        prop_assume!(weights.iter().any(|&w| w > 0));
        let b = one_group(&weights);
        let now = Instant::now();
        for _ in 0..picks {
            let a = b.pick(&(), now).unwrap();
            prop_assert!(weights[a.instance().index()] > 0);
        }
    }

    /// Retries never exceed max_retries and never revisit an instance,
    /// whatever the outcomes.
    #[test]
    fn retries_are_bounded_and_never_revisit(
        instances in proptest::collection::vec((0i64..3, 0u32..4), 2..8),
        max_retries in proptest::option::of(0u32..5),
        outcomes in proptest::collection::vec(0u8..6, 1..20),
    ) {
        let b = Balancer::from_instances(
            instances.iter().enumerate().map(|(i, &(p, w))| InstanceSpec::new(format!("i{i}"), p, w)),
            Policy::default().with_fallback(true, true, false).with_fallback_statuses([401]).with_max_retries(max_retries),
            MultiOptions::default(),
        ).unwrap();
        let now = Instant::now();
        let Ok(mut attempt) = b.pick(&(), now) else {
            prop_assert!(instances.iter().all(|&(_, w)| w == 0));
            return Ok(());
        };
        let mut seen = HashSet::new();
        for o in outcomes.iter().cycle() {
            prop_assert!(seen.insert(attempt.instance()), "revisited {:?}", attempt.instance());
            prop_assert!(max_retries.is_none_or(|m| attempt.retries() <= m));
            let outcome = match o {
                0 => Outcome::Status(200),
                1 => Outcome::Status(401),
                2 => Outcome::Status(429),
                3 => Outcome::Status(503),
                4 => Outcome::Transport { timeout: true },
                _ => Outcome::Transport { timeout: false },
            };
            let report = Report { outcome, delivered: false };
            match b.on_outcome(attempt, report, &(), now + Duration::from_millis(5)) {
                Decision::Retry(next) => attempt = next,
                Decision::Return(_) => break,
            }
        }
    }
}
