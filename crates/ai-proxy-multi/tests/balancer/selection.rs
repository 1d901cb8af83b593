use super::*;

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
