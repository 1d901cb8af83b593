use super::*;

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
