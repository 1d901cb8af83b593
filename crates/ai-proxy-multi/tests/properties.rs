//! Properties of selection and fallback over random configs.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test code: failing loudly is the point

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ai_proxy_multi::{Balancer, Decision, InstanceSpec, MultiOptions, Outcome, Policy};
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
    /// Over any N picks every instance's count is within ±1 of its share,
    /// and exact after every full cycle (sum of GCD-reduced weights).
    #[test]
    fn distribution_matches_weights_within_one_per_cycle(
        weights in proptest::collection::vec(1u32..12, 2..8),
        n in 1usize..300,
    ) {
        let b = one_group(&weights);
        let now = Instant::now();
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let g = weights.iter().fold(0u64, |g, &w| gcd(g, u64::from(w)));
        let cycle = total / g;
        let mut counts = vec![0u64; weights.len()];
        for k in 1..=n as u64 {
            let a = b.pick(&(), now).unwrap();
            counts[a.instance().index()] += 1;
            for (i, &w) in weights.iter().enumerate() {
                // |count·total − k·w| ≤ total  ⇔  |count − k·w/total| ≤ 1
                let lhs = counts[i] * total;
                let rhs = k * u64::from(w);
                prop_assert!(lhs.abs_diff(rhs) <= total, "instance {i} off by more than one after {k} picks: {counts:?}");
                if k % cycle == 0 {
                    prop_assert_eq!(lhs, rhs);
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
            match b.on_outcome(attempt, outcome, Duration::from_millis(5), false, &(), now) {
                Decision::Retry(next) => attempt = next,
                Decision::Return(_) => break,
            }
        }
    }
}
