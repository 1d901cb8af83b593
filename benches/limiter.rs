//! `ai-rate-limiting` cost per request with the in-memory store, next to
//! the `ai-proxy-multi` pick it rides on (same group): budgets resolved,
//! counters read, instances skipped, admission with headers, the charge.
//!
//! Twice: wall time, then thread CPU time (steadier on a loaded machine).
//!
//! Run: `cargo bench --bench limiter -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test code: failing loudly is the point

use std::hint::black_box;
use std::time::{Duration, Instant};

use ai_proxy::core::Protocol;
use ai_proxy::core::config::{AiRateLimitingConfig, CostExpr};
use ai_proxy::core::usage::Usage;
use ai_proxy::multi::limit::{MemoryStore, RawUsage, TokenLimiter};
use ai_proxy::multi::{Balancer, InstanceSpec, MultiOptions, Policy, RequestKeys};
use criterion::measurement::WallTime;
use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use common::CpuTime;

const NAMES: [&str; 8] = [
    "instance-0",
    "instance-1",
    "instance-2",
    "instance-3",
    "instance-4",
    "instance-5",
    "instance-6",
    "instance-7",
];

fn balancer() -> Balancer {
    let specs = NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| InstanceSpec::new(*n, 0, 1 + i as u32 % 4));
    // fallback_strategy: [rate_limiting]
    let policy = Policy::default().with_fallback(false, false, true);
    Balancer::from_instances(specs, policy, MultiOptions::default()).unwrap()
}

fn limiter(json: &str) -> TokenLimiter {
    let config = AiRateLimitingConfig::from_json(json).unwrap();
    TokenLimiter::new(&config, "route:bench", &NAMES).unwrap()
}

fn bench<M: criterion::measurement::Measurement>(c: &mut Criterion<M>) {
    let t0 = Instant::now();
    let b = balancer();
    let per_instance = limiter(
        r#"{"limit": 1000000000000, "time_window": 60, "instances": [
            {"name": "instance-0", "limit": 1000000000000, "time_window": 60},
            {"name": "instance-1", "limit": 1000000000000, "time_window": 60}]}"#,
    );
    let by_consumer = limiter(
        r#"{"rules": [{"count": 1000000000000, "time_window": 60, "key": "$consumer_name"},
                      {"count": 1000000000000, "time_window": 60, "key": "${http_x_team}"}]}"#,
    );
    let store = MemoryStore::default();
    let usage = Usage::new(1200, 350).with_cache(800, 0);
    let raw = RawUsage::from_usage(&usage, Protocol::AnthropicMessages);
    let (parts, ()) = http::Request::post("/v1/chat/completions")
        .header("x-team", "search")
        .body(())
        .unwrap()
        .into_parts();
    let mut tick = 0u64;
    let mut now = || {
        tick += 1;
        t0 + Duration::from_nanos(tick)
    };

    let mut g = c.benchmark_group("rate_limited_request_8_instances");
    g.bench_function("baseline_pick_without_limiter", |bench| {
        bench.iter(|| black_box(b.pick(black_box(&RequestKeys::new()), t0).unwrap()))
    });
    g.bench_function("per_instance_read_pick_admit_charge", |bench| {
        bench.iter(|| {
            let at = now();
            let mut quotas = per_instance.quotas(&());
            quotas.read(&store, at);
            let hook = |n: &str| per_instance.is_rate_limited(&quotas, n);
            let keys = RequestKeys::new().with_rate_limited(&hook);
            let attempt = b.pick(&keys, at).unwrap();
            let name = b.picked_ai_instance_name(&attempt);
            let verdict = per_instance.admit(&quotas, name);
            let cost = per_instance.cost(&usage, &raw).unwrap();
            per_instance
                .charge(&quotas, name, cost, &store, at)
                .unwrap();
            black_box(verdict)
        })
    });
    g.bench_function("rules_by_consumer_and_header_read_admit_charge", |bench| {
        bench.iter(|| {
            let at = now();
            let keys = RequestKeys::new().with_parts(&parts).with_consumer("jack");
            let mut quotas = by_consumer.quotas(&keys);
            quotas.read(&store, at);
            let verdict = by_consumer.admit(&quotas, "instance-3");
            by_consumer
                .charge(&quotas, "instance-3", 1550, &store, at)
                .unwrap();
            black_box(verdict)
        })
    });
    let expr = CostExpr::parse(
        "input_tokens + cache_read_input_tokens * 0.1 + cache_creation_input_tokens * 1.25 + output_tokens",
    )
    .unwrap();
    g.bench_function("cost_expr_4_terms", |bench| {
        bench.iter(|| black_box(expr.cost(|n| raw.get(n)).unwrap()))
    });
    g.finish();
}

criterion_group!(wall, bench);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(CpuTime(WallTime));
    targets = bench
}
criterion_main!(wall, cpu);
