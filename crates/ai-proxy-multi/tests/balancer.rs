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

// ---- selection -------------------------------------------------------------

#[test]
fn roundrobin_weights_4_and_1_serve_8_and_2_of_10_requests() {
    let b = balancer(
        vec![spec("openai", 0, 4), spec("deepseek", 0, 1)],
        Policy::default(),
    );
    let now = Instant::now();
    let picked: Vec<String> = (0..10)
        .map(|_| name(&b, &b.pick(&(), now).unwrap()))
        .collect();
    let c = counts(picked);
    assert_eq!(c["openai"], 8);
    assert_eq!(c["deepseek"], 2);
}

#[test]
fn roundrobin_weights_8_and_2_interleave_within_every_10_picks() {
    let b = balancer(vec![spec("a", 0, 8), spec("b", 0, 2)], Policy::default());
    let now = Instant::now();
    let picked: Vec<String> = (0..50)
        .map(|_| name(&b, &b.pick(&(), now).unwrap()))
        .collect();
    for window in picked.chunks(10) {
        assert_eq!(window.iter().filter(|n| *n == "b").count(), 2);
        // Interleaved: never two b in a row.
        assert!(!window.windows(2).any(|w| w[0] == "b" && w[1] == "b"));
    }
}

#[test]
fn chash_on_query_string_weights_4_and_1_serve_8_and_2() {
    // APISIX balancer.t TEST 3-4: queries index=1..10.
    let b = balancer(
        vec![spec("openai", 0, 4), spec("deepseek", 0, 1)],
        Policy::default().with_chash(HashOn::Vars, Some("query_string")),
    );
    let now = Instant::now();
    let picked: Vec<String> = (1..=10)
        .map(|i| {
            let (parts, ()) = http::Request::post(format!("/anything?index={i}"))
                .body(())
                .unwrap()
                .into_parts();
            name(
                &b,
                &b.pick(&RequestKeys::new().with_parts(&parts), now).unwrap(),
            )
        })
        .collect();
    let c = counts(picked);
    assert_eq!(c["openai"], 8);
    assert_eq!(c["deepseek"], 2);
}

#[test]
fn chash_same_key_always_lands_on_the_same_instance() {
    let b = balancer(
        (0..5).map(|i| spec(&format!("i{i}"), 0, 1)).collect(),
        Policy::default().with_chash(HashOn::Header, Some("x-user")),
    );
    let now = Instant::now();
    for user in ["alice", "bob", "carol"] {
        let (parts, ()) = http::Request::get("/")
            .header("x-user", user)
            .body(())
            .unwrap()
            .into_parts();
        let keys = RequestKeys::new().with_parts(&parts);
        let first = name(&b, &b.pick(&keys, now).unwrap());
        for _ in 0..5 {
            assert_eq!(name(&b, &b.pick(&keys, now).unwrap()), first);
        }
    }
}

#[test]
fn chash_missing_key_hashes_the_remote_address() {
    let b = balancer(
        (0..5).map(|i| spec(&format!("i{i}"), 0, 1)).collect(),
        Policy::default().with_chash(HashOn::Cookie, Some("session")),
    );
    let now = Instant::now();
    let by_addr = |addr: &'static str| {
        name(
            &b,
            &b.pick(&RequestKeys::new().with_remote_addr(addr), now)
                .unwrap(),
        )
    };
    let vars = [("remote_addr", "203.0.113.9")];
    let explicit = name(
        &b,
        &b.pick(&RequestKeys::new().with_vars(&vars), now).unwrap(),
    );
    // Same address → same instance, whichever way the address is supplied.
    assert_eq!(by_addr("203.0.113.9"), explicit);
    let spread: std::collections::HashSet<String> = [
        "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7",
        "10.0.0.8",
    ]
    .into_iter()
    .map(by_addr)
    .collect();
    assert!(spread.len() > 1, "addresses should spread over instances");
}

#[test]
fn chash_vars_combinations_resolve_the_template() {
    let b = balancer(
        (0..4).map(|i| spec(&format!("i{i}"), 0, 1)).collect(),
        Policy::default().with_chash(HashOn::VarsCombinations, Some("$arg_u-$http_x_team")),
    );
    let now = Instant::now();
    let pick = |uri: &str, team: &str| {
        let (parts, ()) = http::Request::get(uri)
            .header("x-team", team)
            .body(())
            .unwrap()
            .into_parts();
        name(
            &b,
            &b.pick(&RequestKeys::new().with_parts(&parts), now).unwrap(),
        )
    };
    assert_eq!(pick("/?u=1", "red"), pick("/?u=1&z=9", "red"));
}

#[test]
fn chash_vars_combinations_defaults_stand_in_for_unset_variables() {
    let b = balancer(
        (0..8).map(|i| spec(&format!("i{i}"), 0, 1)).collect(),
        Policy::default().with_chash(HashOn::VarsCombinations, Some("${http_x_team ?? blue}")),
    );
    let now = Instant::now();
    let pick = |team: Option<&str>, addr: &str| {
        let mut req = http::Request::get("/");
        if let Some(t) = team {
            req = req.header("x-team", t);
        }
        let (parts, ()) = req.body(()).unwrap().into_parts();
        let keys = RequestKeys::new().with_parts(&parts).with_remote_addr(addr);
        name(&b, &b.pick(&keys, now).unwrap())
    };
    // The default counts as resolved: no fallback to remote_addr.
    assert_eq!(pick(None, "10.0.0.1"), pick(Some("blue"), "10.0.0.2"));
    assert_eq!(pick(None, "10.0.0.3"), pick(None, "10.0.0.4"));
}

#[test]
fn chash_ejecting_an_instance_moves_only_its_keys() {
    let b = Balancer::from_instances(
        (0..4)
            .map(|i| spec(&format!("i{i}"), 0, 1))
            .collect::<Vec<_>>(),
        Policy::default().with_chash(HashOn::Vars, Some("remote_addr")),
        MultiOptions::default(),
    )
    .unwrap();
    let now = Instant::now();
    let addrs: Vec<String> = (0..200)
        .map(|i| format!("10.1.{}.{}", i / 250, i % 250))
        .collect();
    let before: Vec<String> = addrs
        .iter()
        .map(|a| {
            name(
                &b,
                &b.pick(&RequestKeys::new().with_remote_addr(a), now)
                    .unwrap(),
            )
        })
        .collect();
    let victim = b.instance_id("i2").unwrap();
    for _ in 0..5 {
        b.report_probe(victim, false, now);
    }
    for (addr, was) in addrs.iter().zip(&before) {
        let is = name(
            &b,
            &b.pick(&RequestKeys::new().with_remote_addr(addr), now)
                .unwrap(),
        );
        if was == "i2" {
            assert_ne!(is, "i2");
        } else {
            assert_eq!(&is, was, "a key of a healthy instance moved");
        }
    }
}

#[test]
fn higher_priority_group_takes_all_traffic() {
    let b = balancer(
        vec![spec("low", 0, 10), spec("high", 5, 1), spec("mid", 3, 10)],
        Policy::default(),
    );
    let now = Instant::now();
    for _ in 0..20 {
        assert_eq!(name(&b, &b.pick(&(), now).unwrap()), "high");
    }
}

#[test]
fn weight_zero_is_never_picked_and_an_all_zero_group_is_skipped() {
    let b = balancer(
        vec![
            spec("zero-high", 9, 0),
            spec("a", 0, 1),
            spec("zero", 0, 0),
            spec("b", 0, 3),
        ],
        Policy::default(),
    );
    let now = Instant::now();
    let c = counts((0..40).map(|_| name(&b, &b.pick(&(), now).unwrap())));
    assert_eq!(c.get("a"), Some(&10));
    assert_eq!(c.get("b"), Some(&30));
    assert_eq!(c.get("zero"), None);
    assert_eq!(c.get("zero-high"), None);
}

#[test]
fn nothing_pickable_at_access_time_is_503() {
    let one_group = balancer(vec![spec("a", 0, 0), spec("b", 0, 0)], Policy::default());
    let err = one_group.pick(&(), Instant::now()).unwrap_err();
    assert_eq!(err, Error::AllUpstreamServersTried);
    assert_eq!(err.status(), 503);

    let groups = balancer(vec![spec("a", 1, 0), spec("b", 0, 0)], Policy::default());
    let err = groups.pick(&(), Instant::now()).unwrap_err();
    assert_eq!(err, Error::AllServersTried);
    assert!(err.to_string().starts_with("all servers tried"));
}

#[test]
fn one_instance_is_used_directly_without_retries() {
    let b = balancer(
        vec![spec("only", 0, 0)],
        Policy::default().with_fallback(true, true, true),
    );
    let keys = RequestKeys::new();
    let (status, reason, path) = run(&b, &keys, Instant::now(), |_| (Outcome::Status(500), FAST));
    assert_eq!(
        (status, reason, path.len()),
        (500, FinishReason::SingleInstance, 1)
    );
}

#[test]
fn concurrent_picks_keep_the_exact_distribution() {
    let b = balancer(vec![spec("a", 0, 3), spec("b", 0, 1)], Policy::default());
    let now = Instant::now();
    let all: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    (0..400)
                        .map(|_| name(&b, &b.pick(&(), now).unwrap()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let c = counts(all);
    assert_eq!((c["a"], c["b"]), (600, 200));
}

// ---- fallback --------------------------------------------------------------

fn primary_backup(policy: Policy) -> Balancer {
    balancer(vec![spec("primary", 1, 1), spec("backup", 0, 1)], policy)
}

#[test]
fn http_5xx_strategy_falls_back_to_the_other_instance() {
    let b = primary_backup(Policy::default().with_fallback(false, true, false));
    for _ in 0..5 {
        let (status, reason, path) = run(&b, &(), Instant::now(), |n| {
            (
                Outcome::Status(if n == "primary" { 500 } else { 200 }),
                FAST,
            )
        });
        assert_eq!(status, 200);
        assert_eq!(reason, FinishReason::Delivered);
        assert_eq!(path.last().map(String::as_str), Some("backup"));
    }
}

#[test]
fn http_429_strategy_falls_back_to_the_other_instance() {
    let b = primary_backup(Policy::default().with_fallback(true, false, false));
    let (status, _, path) = run(&b, &(), Instant::now(), |n| {
        (
            Outcome::Status(if n == "primary" { 429 } else { 200 }),
            FAST,
        )
    });
    assert_eq!(
        (status, path),
        (200, vec!["primary".to_owned(), "backup".to_owned()])
    );
}

#[test]
fn status_outside_the_strategy_is_returned_as_is() {
    let b = primary_backup(Policy::default().with_fallback(true, false, false));
    let (status, reason, path) = run(&b, &(), Instant::now(), |_| (Outcome::Status(500), FAST));
    assert_eq!(
        (status, reason, path.len()),
        (500, FinishReason::Delivered, 1)
    );
}

#[test]
fn unreachable_primary_falls_back_on_transport_errors() {
    let b = primary_backup(Policy::default().with_fallback(false, true, false));
    let (status, _, path) = run(&b, &(), Instant::now(), |n| {
        if n == "primary" {
            (Outcome::Transport { timeout: false }, FAST)
        } else {
            (Outcome::Status(200), FAST)
        }
    });
    assert_eq!((status, path.len()), (200, 2));
}

#[test]
fn all_instances_failing_gives_502_every_time() {
    let b = balancer(
        vec![spec("a", 0, 1), spec("b", 0, 1), spec("c", 0, 1)],
        Policy::default().with_fallback(true, true, false),
    );
    let now = Instant::now();
    for _ in 0..6 {
        let (status, reason, path) = run(&b, &(), now, |_| (Outcome::Status(500), FAST));
        assert_eq!((status, reason), (502, FinishReason::Exhausted));
        let mut sorted = path.clone();
        sorted.sort();
        assert_eq!(sorted, ["a", "b", "c"], "each instance tried exactly once");
    }
}

#[test]
fn max_retries_1_with_three_failing_instances_returns_the_upstream_500() {
    let b = balancer(
        vec![spec("a", 0, 1), spec("b", 0, 1), spec("c", 0, 1)],
        Policy::default()
            .with_fallback(false, true, false)
            .with_max_retries(Some(1)),
    );
    let (status, reason, path) = run(&b, &(), Instant::now(), |_| (Outcome::Status(500), FAST));
    assert_eq!(status, 500);
    assert_eq!(reason, FinishReason::MaxRetries { max_retries: 1 });
    assert_eq!(path.len(), 2);
}

#[test]
fn max_retries_0_never_retries() {
    let b = primary_backup(
        Policy::default()
            .with_fallback(true, true, false)
            .with_max_retries(Some(0)),
    );
    let (status, reason, path) = run(&b, &(), Instant::now(), |_| (Outcome::Status(503), FAST));
    assert_eq!(
        (status, reason, path.len()),
        (503, FinishReason::MaxRetries { max_retries: 0 }, 1)
    );
}

#[test]
fn slow_failure_beyond_retry_window_is_returned() {
    let b = primary_backup(
        Policy::default()
            .with_fallback(false, true, false)
            .with_retry_within_ms(Some(200)),
    );
    let (status, reason, path) = run(&b, &(), Instant::now(), |n| {
        if n == "primary" {
            (Outcome::Status(500), Duration::from_millis(300))
        } else {
            (Outcome::Status(200), FAST)
        }
    });
    assert_eq!(
        (status, reason, path.len()),
        (500, FinishReason::RetryWindowExceeded { within_ms: 200 }, 1)
    );
}

#[test]
fn fast_failure_within_retry_window_falls_back() {
    let b = primary_backup(
        Policy::default()
            .with_fallback(false, true, false)
            .with_retry_within_ms(Some(5000)),
    );
    let (status, _, path) = run(&b, &(), Instant::now(), |n| {
        (
            Outcome::Status(if n == "primary" { 500 } else { 200 }),
            Duration::from_millis(10),
        )
    });
    assert_eq!((status, path.len()), (200, 2));
}

fn three_priorities(policy: Policy) -> Balancer {
    balancer(
        vec![spec("p20", 20, 1), spec("p10", 10, 1), spec("p0", 0, 1)],
        policy,
    )
}

fn auth_failures(n: &str) -> (Outcome, Duration) {
    let status = match n {
        "p20" => 401,
        "p10" => 402,
        _ => 200,
    };
    (Outcome::Status(status), FAST)
}

#[test]
fn fallback_http_statuses_walk_down_the_priorities() {
    let b = three_priorities(Policy::default().with_fallback_statuses([401, 402]));
    let (status, _, path) = run(&b, &(), Instant::now(), auth_failures);
    assert_eq!(status, 200);
    assert_eq!(path, ["p20", "p10", "p0"]);
}

#[test]
fn fallback_http_statuses_with_max_retries_0_return_the_401() {
    let b = three_priorities(
        Policy::default()
            .with_fallback_statuses([401, 402])
            .with_max_retries(Some(0)),
    );
    let (status, _, path) = run(&b, &(), Instant::now(), auth_failures);
    assert_eq!((status, path.len()), (401, 1));
}

#[test]
fn without_fallback_http_statuses_401_is_not_retried() {
    let b = three_priorities(Policy::default().with_fallback(true, true, false));
    let (status, reason, _) = run(&b, &(), Instant::now(), auth_failures);
    assert_eq!((status, reason), (401, FinishReason::Delivered));
}

#[test]
fn no_retry_once_a_byte_reached_the_client() {
    let b = primary_backup(Policy::default().with_fallback(true, true, false));
    let now = Instant::now();
    let a = b.pick(&(), now).unwrap();
    let Decision::Return(f) = b.on_outcome(
        a,
        Report {
            outcome: Outcome::Status(502),
            delivered: true,
        },
        &(),
        now,
    ) else {
        panic!("retried after the client got bytes");
    };
    assert_eq!(
        (f.status.as_u16(), f.reason),
        (502, FinishReason::ClientStarted)
    );
    assert!(f.passes_response_through());
}

#[test]
fn rate_limited_instances_are_skipped_and_count_as_tried() {
    let b = primary_backup(Policy::default().with_fallback(false, true, true));
    let limited = |n: &str| n == "primary";
    let keys = RequestKeys::new().with_rate_limited(&limited);
    let (status, reason, path) = run(&b, &keys, Instant::now(), |_| (Outcome::Status(500), FAST));
    // The primary was skipped at pick time; when the backup fails nothing is left.
    assert_eq!(path, ["backup"]);
    assert_eq!((status, reason), (502, FinishReason::Exhausted));
}

#[test]
fn rate_limiting_hook_is_ignored_without_the_strategy() {
    let b = primary_backup(Policy::default().with_fallback(false, true, false));
    let limited = |n: &str| n == "primary";
    let keys = RequestKeys::new().with_rate_limited(&limited);
    assert_eq!(name(&b, &b.pick(&keys, Instant::now()).unwrap()), "primary");
}

#[test]
fn every_instance_rate_limited_is_a_rate_limit_rejection_at_access_time() {
    let b = primary_backup(Policy::default().with_fallback(false, false, true));
    let all = |_: &str| true;
    let err = b
        .pick(&RequestKeys::new().with_rate_limited(&all), Instant::now())
        .unwrap_err();
    // The gateway answers the limiter's rejected_code (APISIX: 503 all servers tried).
    assert_eq!(err, Error::RateLimited);
    assert_eq!(err.status(), 503);
    assert!(err.is_request_error());
}

#[test]
fn chash_retry_walks_to_the_next_untried_instance() {
    let b = balancer(
        (0..4).map(|i| spec(&format!("i{i}"), 0, 1)).collect(),
        Policy::default()
            .with_chash(HashOn::Vars, Some("remote_addr"))
            .with_fallback(false, true, false),
    );
    let keys = RequestKeys::new().with_remote_addr("198.51.100.4");
    let (status, reason, path) = run(&b, &keys, Instant::now(), |_| (Outcome::Status(500), FAST));
    assert_eq!((status, reason), (502, FinishReason::Exhausted));
    let mut sorted = path.clone();
    sorted.sort();
    assert_eq!(sorted, ["i0", "i1", "i2", "i3"]);
    // The walk is deterministic for a key.
    let (_, _, again) = run(&b, &keys, Instant::now(), |_| (Outcome::Status(500), FAST));
    assert_eq!(path, again);
}

// ---- health ----------------------------------------------------------------

#[test]
fn consecutive_failures_eject_an_instance_until_its_window_ends() {
    let b = Balancer::from_instances(
        vec![spec("flaky", 0, 1), spec("steady", 0, 1)],
        Policy::default(),
        MultiOptions::default().with_passive_health(Some(
            PassiveHealth::default()
                .with_consecutive_failures(2)
                .with_ejection(Duration::from_secs(10), Duration::from_secs(60)),
        )),
    )
    .unwrap();
    let t0 = Instant::now();
    let flaky = b.instance_id("flaky").unwrap();
    let mut failures = 0;
    while failures < 2 {
        let a = b.pick(&(), t0).unwrap();
        let outcome = if a.instance() == flaky {
            failures += 1;
            Outcome::Transport { timeout: true }
        } else {
            Outcome::Status(200)
        };
        let _ = b.on_outcome(a, undelivered(outcome), &(), t0);
    }
    assert!(!b.health(flaky, t0).unwrap().healthy);
    for _ in 0..10 {
        assert_eq!(
            name(&b, &b.pick(&(), t0 + Duration::from_secs(9)).unwrap()),
            "steady"
        );
    }
    let later = t0 + Duration::from_secs(10);
    let c = counts((0..10).map(|_| name(&b, &b.pick(&(), later).unwrap())));
    assert_eq!(c.get("flaky"), Some(&5));
}

#[test]
fn all_unhealthy_instances_are_all_used() {
    let b = Balancer::from_instances(
        vec![spec("a", 0, 1), spec("b", 0, 1)],
        Policy::default(),
        MultiOptions::default()
            .with_passive_health(Some(PassiveHealth::default().with_consecutive_failures(1))),
    )
    .unwrap();
    let now = Instant::now();
    for _ in 0..2 {
        let a = b.pick(&(), now).unwrap();
        let _ = b.on_outcome(a, undelivered(Outcome::Status(500)), &(), now);
    }
    assert!(b.instances().all(|id| !b.health(id, now).unwrap().healthy));
    let c = counts((0..4).map(|_| name(&b, &b.pick(&(), now).unwrap())));
    assert_eq!((c["a"], c["b"]), (2, 2));
}

#[test]
fn unhealthy_group_yields_to_the_next_priority() {
    let b = Balancer::from_instances(
        vec![spec("main", 1, 1), spec("spare", 0, 1)],
        Policy::default(),
        MultiOptions::default()
            .with_passive_health(Some(PassiveHealth::default().with_consecutive_failures(1))),
    )
    .unwrap();
    let now = Instant::now();
    let a = b.pick(&(), now).unwrap();
    assert_eq!(name(&b, &a), "main");
    let _ = b.on_outcome(a, undelivered(Outcome::Status(503)), &(), now);
    assert_eq!(name(&b, &b.pick(&(), now).unwrap()), "spare");
}

#[test]
fn passive_health_can_be_turned_off() {
    let b = Balancer::from_instances(
        vec![spec("a", 1, 1), spec("b", 0, 1)],
        Policy::default(),
        MultiOptions::default().with_passive_health(None),
    )
    .unwrap();
    let now = Instant::now();
    for _ in 0..10 {
        let a = b.pick(&(), now).unwrap();
        assert_eq!(name(&b, &a), "a");
        let _ = b.on_outcome(a, undelivered(Outcome::Status(500)), &(), now);
    }
}

#[test]
fn active_check_marking_one_instance_unhealthy_sends_all_traffic_to_the_other() {
    let b = balancer(
        vec![spec("sick", 0, 1), spec("well", 0, 1)],
        Policy::default(),
    );
    let now = Instant::now();
    let sick = b.instance_id("sick").unwrap();
    let changes: Vec<HealthChange> = (0..5).map(|_| b.report_probe(sick, false, now)).collect();
    assert_eq!(changes.last(), Some(&HealthChange::BecameUnhealthy));
    for _ in 0..10 {
        assert_eq!(name(&b, &b.pick(&(), now).unwrap()), "well");
    }
    b.report_probe(sick, true, now);
    assert_eq!(b.report_probe(sick, true, now), HealthChange::BecameHealthy);
    let c = counts((0..10).map(|_| name(&b, &b.pick(&(), now).unwrap())));
    assert_eq!(c["sick"], 5);
}

// ---- model router ----------------------------------------------------------

fn routed(unmatched: Unmatched) -> Balancer {
    Balancer::from_instances(
        vec![
            spec("oa-1", 1, 1),
            spec("oa-2", 0, 1),
            spec("claude", 0, 1),
            spec("any", 0, 1),
        ],
        Policy::default().with_fallback(true, true, false),
        MultiOptions::default().with_model_router(
            ModelRouter::new()
                .route(["gpt-4o", "gpt-4o-*"], ["oa-2", "oa-1"])
                .route(["claude-*"], ["claude"])
                .unmatched(unmatched),
        ),
    )
    .unwrap()
}

struct Model(&'static str);
impl KeyLookup for Model {
    fn model(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(self.0))
    }
}

#[test]
fn model_router_sends_each_model_to_its_instances() {
    let b = routed(Unmatched::AllInstances);
    let now = Instant::now();
    assert_eq!(name(&b, &b.pick(&Model("gpt-4o"), now).unwrap()), "oa-1");
    assert_eq!(
        name(&b, &b.pick(&Model("gpt-4o-mini"), now).unwrap()),
        "oa-1"
    );
    assert_eq!(
        name(&b, &b.pick(&Model("claude-3-5"), now).unwrap()),
        "claude"
    );
}

#[test]
fn model_router_fallback_stays_inside_the_subset() {
    let b = routed(Unmatched::AllInstances);
    let (status, reason, path) = run(&b, &Model("gpt-4o"), Instant::now(), |_| {
        (Outcome::Status(500), FAST)
    });
    assert_eq!(path, ["oa-1", "oa-2"]);
    assert_eq!((status, reason), (502, FinishReason::Exhausted));
}

#[test]
fn model_router_single_instance_route_returns_the_upstream_status() {
    let b = routed(Unmatched::AllInstances);
    let (status, reason, _) = run(&b, &Model("claude-x"), Instant::now(), |_| {
        (Outcome::Status(429), FAST)
    });
    assert_eq!((status, reason), (429, FinishReason::SingleInstance));
}

#[test]
fn model_router_unmatched_models_use_every_instance_or_are_rejected() {
    let now = Instant::now();
    let open = routed(Unmatched::AllInstances);
    assert_eq!(
        name(&open, &open.pick(&Model("mistral"), now).unwrap()),
        "oa-1"
    );
    let strict = routed(Unmatched::Reject);
    let err = strict.pick(&Model("mistral"), now).unwrap_err();
    assert_eq!(
        err,
        Error::NoRouteForModel {
            model: "mistral".into()
        }
    );
    assert_eq!(err.status(), 404);
    assert!(
        strict.pick(&(), now).is_err(),
        "no model at all is unmatched too"
    );
}

#[test]
fn model_router_rejects_unknown_instances_and_empty_routes() {
    let build = |router: ModelRouter| {
        Balancer::from_instances(
            vec![spec("a", 0, 1), spec("b", 0, 1)],
            Policy::default(),
            MultiOptions::default().with_model_router(router),
        )
    };
    assert_eq!(
        build(ModelRouter::new().route(["m"], ["a", "zz"])).unwrap_err(),
        Error::UnknownRouteInstance {
            route: 0,
            name: "zz".into()
        }
    );
    assert_eq!(
        build(ModelRouter::new().route(["m"], Vec::<String>::new())).unwrap_err(),
        Error::EmptyRoute {
            route: 0,
            field: "instances"
        }
    );
}

// ---- configuration errors --------------------------------------------------

#[test]
fn duplicate_names_are_reported_with_apisix_positions() {
    let err = Balancer::from_instances(
        vec![
            spec("same-name", 0, 1),
            spec("x", 0, 1),
            spec("same-name", 0, 1),
        ],
        Policy::default(),
        MultiOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "duplicate instance name 'same-name' at instances[1] and instances[3]"
    );
}

#[test]
fn empty_instances_and_chash_without_key_are_rejected() {
    assert_eq!(
        Balancer::from_instances(vec![], Policy::default(), MultiOptions::default()).unwrap_err(),
        Error::NoInstances
    );
    let err = Balancer::from_instances(
        vec![spec("a", 0, 1)],
        Policy::default().with_chash(HashOn::Header, None),
        MultiOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err, Error::MissingHashKey);
    assert!(
        Balancer::from_instances(
            vec![spec("a", 0, 1)],
            Policy::default().with_chash(HashOn::Consumer, None),
            MultiOptions::default(),
        )
        .is_ok()
    );
}

#[test]
fn may_fall_back_tells_which_error_bodies_to_buffer() {
    let b = primary_backup(
        Policy::default()
            .with_fallback(true, false, false)
            .with_max_retries(Some(1)),
    );
    let now = Instant::now();
    let a = b.pick(&(), now).unwrap();
    assert!(b.may_fall_back(&a, 429));
    assert!(!b.may_fall_back(&a, 500));
    assert!(!b.may_fall_back(&a, 200));
    let Decision::Retry(retry) = b.on_outcome(a, undelivered(Outcome::Status(429)), &(), now)
    else {
        panic!("expected a retry");
    };
    assert!(!b.may_fall_back(&retry, 429), "max_retries is used up");
    let single = balancer(
        vec![spec("only", 0, 1)],
        Policy::default().with_fallback(true, true, false),
    );
    assert!(!single.may_fall_back(&single.pick(&(), now).unwrap(), 429));
}

#[test]
fn ejected_instance_is_skipped_on_the_lock_free_path_keeping_weights() {
    let b = Balancer::from_instances(
        vec![spec("a", 0, 2), spec("b", 0, 1), spec("c", 0, 1)],
        Policy::default(),
        MultiOptions::default()
            .with_passive_health(Some(PassiveHealth::default().with_consecutive_failures(1))),
    )
    .unwrap();
    let now = Instant::now();
    let c_id = b.instance_id("c").unwrap();
    // Eject c.
    loop {
        let a = b.pick(&(), now).unwrap();
        let hit = a.instance() == c_id;
        let outcome = if hit {
            Outcome::Status(500)
        } else {
            Outcome::Status(200)
        };
        let _ = b.on_outcome(a, undelivered(outcome), &(), now);
        if hit {
            break;
        }
    }
    let t = counts((0..300).map(|_| name(&b, &b.pick(&(), now).unwrap())));
    assert_eq!(t.get("c"), None);
    // a:b stays 2:1 (within a couple of picks).
    assert!((t["a"] as i64 - 2 * t["b"] as i64).abs() <= 3, "{t:?}");
}

#[test]
fn each_attempt_is_timed_from_its_own_start() {
    let b = balancer(
        vec![spec("a", 2, 1), spec("b", 1, 1), spec("c", 0, 1)],
        Policy::default()
            .with_fallback(true, true, false)
            .with_retry_within_ms(Some(100)),
    );
    let t0 = Instant::now();
    let first = b.pick(&(), t0).unwrap();
    assert_eq!(first.started(), t0);
    let t1 = t0 + Duration::from_millis(90);
    let Decision::Retry(second) = b.on_outcome(first, undelivered(Outcome::Status(500)), &(), t1)
    else {
        panic!("expected a retry");
    };
    assert_eq!(second.started(), t1);
    // 180 ms since the pick, but 90 ms since the retry started: in the window.
    let t2 = t1 + Duration::from_millis(90);
    let Decision::Retry(third) = b.on_outcome(second, undelivered(Outcome::Status(500)), &(), t2)
    else {
        panic!("the window applies to each attempt, not the request");
    };
    let t3 = t2 + Duration::from_millis(101);
    let Decision::Return(f) = b.on_outcome(third, undelivered(Outcome::Status(500)), &(), t3)
    else {
        panic!("expected the end");
    };
    assert_eq!(
        f.reason,
        FinishReason::RetryWindowExceeded { within_ms: 100 }
    );
}
