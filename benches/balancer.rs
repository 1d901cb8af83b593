//! `ai-proxy-multi` pick cost: 8 instances, single-threaded and with two
//! threads picking from the same balancer at once.
//!
//! Run: `cargo bench --bench balancer -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test code: failing loudly is the point

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use ai_proxy::multi::{
    Balancer, HashOn, InstanceSpec, MultiOptions, Outcome, Policy, Report, RequestKeys,
};
use criterion::{Criterion, criterion_group, criterion_main};

fn eight(policy: Policy) -> Balancer {
    let specs = (0..8).map(|i| InstanceSpec::new(format!("instance-{i}"), 0, 1 + i % 4));
    Balancer::from_instances(specs, policy, MultiOptions::default()).unwrap()
}

/// Wall time per pick of each of `threads` threads picking concurrently.
fn contended(balancer: &Balancer, threads: usize, iters: u64, now: Instant) -> Duration {
    let barrier = Barrier::new(threads);
    let times: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        let _ = black_box(balancer.pick(black_box(&()), now).unwrap());
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    times.into_iter().max().unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let now = Instant::now();
    let rr = eight(Policy::default());
    let mut g = c.benchmark_group("pick_8_instances");
    // Calibration on a shared machine: one uncontended atomic increment,
    // the floor of a lock-free pick.
    let counter = std::sync::atomic::AtomicU64::new(0);
    g.bench_function("baseline_atomic_increment", |b| {
        b.iter(|| black_box(counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed)))
    });
    g.bench_function("roundrobin", |b| {
        b.iter(|| black_box(rr.pick(black_box(&()), now).unwrap()))
    });
    g.bench_function("roundrobin_2_threads_contending", |b| {
        b.iter_custom(|iters| contended(&rr, 2, iters, now))
    });

    let ch = eight(Policy::default().with_chash(HashOn::Vars, Some("remote_addr")));
    let keys = RequestKeys::new().with_remote_addr("192.0.2.17");
    g.bench_function("chash", |b| {
        b.iter(|| black_box(ch.pick(black_box(&keys), now).unwrap()))
    });

    g.bench_function("roundrobin_pick_and_outcome_200", |b| {
        b.iter(|| {
            let attempt = rr.pick(&(), now).unwrap();
            let report = Report {
                outcome: Outcome::Status(200),
                delivered: false,
            };
            black_box(rr.on_outcome(attempt, report, &(), now + Duration::from_millis(5)))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
