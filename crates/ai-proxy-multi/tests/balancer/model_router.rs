use super::*;

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
