use super::*;

// ---- fallback --------------------------------------------------------------

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
