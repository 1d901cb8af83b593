//! `Balancer::new` from real `ai-proxy-multi` plugin JSON (the APISIX test
//! configs of t/plugin/ai-proxy-multi*.t), and probe descriptions from
//! `checks.active`.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test code: failing loudly is the point

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ai_proxy_core::config::AiProxyMultiConfig;
use ai_proxy_multi::{
    Balancer, Decision, Error, FinishReason, KeyLookup, MultiOptions, Outcome, ProbeKind, Report,
    RequestKeys,
};
use serde_json::json;

fn build(config: serde_json::Value) -> Result<Balancer, Error> {
    let parsed = AiProxyMultiConfig::from_json(&config.to_string()).unwrap();
    let registry = ai_proxy_openai::adapters().into_iter().fold(
        ai_proxy_core::Registry::new(),
        ai_proxy_core::Registry::with_adapter,
    );
    Balancer::new(&parsed, &registry, MultiOptions::default())
}

fn instance(name: &str, priority: i64, weight: u32, endpoint: &str) -> serde_json::Value {
    json!({
        "name": name,
        "provider": "openai",
        "priority": priority,
        "weight": weight,
        "auth": {"header": {"Authorization": "Bearer token"}},
        "options": {"model": "gpt-4"},
        "override": {"endpoint": endpoint}
    })
}

fn run(
    b: &Balancer,
    keys: &dyn KeyLookup,
    respond: impl Fn(&str) -> (Outcome, Duration),
) -> (u16, FinishReason, Vec<String>) {
    let now = Instant::now();
    let mut attempt = b.pick(keys, now).unwrap();
    let mut path = Vec::new();
    loop {
        let name = b.picked_ai_instance_name(&attempt).to_owned();
        let (outcome, elapsed) = respond(&name);
        path.push(name);
        let report = Report {
            outcome,
            delivered: false,
        };
        let at = attempt.started() + elapsed;
        match b.on_outcome(attempt, report, keys, at) {
            Decision::Retry(next) => attempt = next,
            Decision::Return(f) => return (f.status.as_u16(), f.reason, path),
        }
    }
}

fn tally(names: impl IntoIterator<Item = String>) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for n in names {
        *m.entry(n).or_default() += 1;
    }
    m
}

#[test]
fn balancer_t1_roundrobin_4_1_gives_8_2() {
    let b = build(json!({"instances": [
        instance("openai", 0, 4, "http://localhost:6724"),
        instance("deepseek", 0, 1, "http://localhost:6724/chat/completions"),
    ]}))
    .unwrap();
    let now = Instant::now();
    let t = tally((0..10).map(|_| {
        b.picked_ai_instance_name(&b.pick(&(), now).unwrap())
            .to_owned()
    }));
    assert_eq!((t["openai"], t["deepseek"]), (8, 2));
}

#[test]
fn balancer_t3_chash_on_query_string_gives_8_2() {
    let b = build(json!({
        "balancer": {"algorithm": "chash", "hash_on": "vars", "key": "query_string"},
        "instances": [
            instance("openai", 0, 4, "http://localhost:6724"),
            instance("deepseek", 0, 1, "http://localhost:6724/chat/completions"),
        ]
    }))
    .unwrap();
    let now = Instant::now();
    let t = tally((1..=10).map(|i| {
        let (parts, ()) = http::Request::post(format!("/anything?index={i}"))
            .body(())
            .unwrap()
            .into_parts();
        let a = b.pick(&RequestKeys::new().with_parts(&parts), now).unwrap();
        b.picked_ai_instance_name(&a).to_owned()
    }));
    assert_eq!((t["openai"], t["deepseek"]), (8, 2));
}

#[test]
fn fallback_strategy_array_form_http_5xx_falls_back() {
    let b = build(json!({
        "fallback_strategy": ["http_5xx"],
        "instances": [
            instance("primary", 1, 1, "http://127.0.0.1:1980"),
            instance("backup", 0, 1, "http://127.0.0.1:1981"),
        ]
    }))
    .unwrap();
    let (status, _, path) = run(&b, &(), |n| {
        (
            Outcome::Status(if n == "primary" { 502 } else { 200 }),
            Duration::ZERO,
        )
    });
    assert_eq!(
        (status, path),
        (200, vec!["primary".to_owned(), "backup".to_owned()])
    );
}

#[test]
fn fallback_strategy_string_form_http_429_falls_back() {
    let b = build(json!({
        "fallback_strategy": "http_429",
        "instances": [
            instance("primary", 1, 1, "http://127.0.0.1:1980"),
            instance("backup", 0, 1, "http://127.0.0.1:1981"),
        ]
    }))
    .unwrap();
    let (status, _, _) = run(&b, &(), |n| {
        (
            Outcome::Status(if n == "primary" { 429 } else { 200 }),
            Duration::ZERO,
        )
    });
    assert_eq!(status, 200);
    // 5xx is not in the strategy: returned as is.
    let (status, reason, _) = run(&b, &(), |_| (Outcome::Status(500), Duration::ZERO));
    assert_eq!((status, reason), (500, FinishReason::Delivered));
}

#[test]
fn instance_health_and_rate_limiting_skips_limited_instances() {
    let b = build(json!({
        "fallback_strategy": "instance_health_and_rate_limiting",
        "instances": [
            instance("primary", 1, 1, "http://127.0.0.1:1980"),
            instance("backup", 0, 1, "http://127.0.0.1:1981"),
        ]
    }))
    .unwrap();
    let limited = |n: &str| n == "primary";
    let a = b
        .pick(
            &RequestKeys::new().with_rate_limited(&limited),
            Instant::now(),
        )
        .unwrap();
    assert_eq!(b.picked_ai_instance_name(&a), "backup");
}

#[test]
fn retry_t1_max_retries_1_with_three_failing_instances_returns_500() {
    let b = build(json!({
        "fallback_strategy": ["http_5xx"],
        "max_retries": 1,
        "instances": [
            instance("a", 0, 1, "http://127.0.0.1:1980"),
            instance("b", 0, 1, "http://127.0.0.1:1981"),
            instance("c", 0, 1, "http://127.0.0.1:1982"),
        ]
    }))
    .unwrap();
    let (status, reason, path) = run(&b, &(), |_| (Outcome::Status(500), Duration::ZERO));
    assert_eq!(
        (status, reason, path.len()),
        (500, FinishReason::MaxRetries { max_retries: 1 }, 2)
    );
}

#[test]
fn retry_t3_retry_on_failure_within_ms_200_returns_the_slow_500() {
    let b = build(json!({
        "fallback_strategy": ["http_5xx"],
        "retry_on_failure_within_ms": 200,
        "instances": [
            instance("slow", 1, 1, "http://127.0.0.1:1980"),
            instance("ok", 0, 1, "http://127.0.0.1:1981"),
        ]
    }))
    .unwrap();
    let (status, reason, _) = run(&b, &(), |n| {
        if n == "slow" {
            (Outcome::Status(500), Duration::from_millis(500))
        } else {
            (Outcome::Status(200), Duration::ZERO)
        }
    });
    assert_eq!(
        (status, reason),
        (500, FinishReason::RetryWindowExceeded { within_ms: 200 })
    );
}

#[test]
fn retry_t9_fallback_http_statuses_reach_the_third_priority() {
    let config = |extra: serde_json::Value| {
        let mut c = json!({
            "instances": [
                instance("p20", 20, 1, "http://127.0.0.1:1980"),
                instance("p10", 10, 1, "http://127.0.0.1:1981"),
                instance("p0", 0, 1, "http://127.0.0.1:1982"),
            ]
        });
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        build(c).unwrap()
    };
    let respond = |n: &str| {
        let s = match n {
            "p20" => 401,
            "p10" => 402,
            _ => 200,
        };
        (Outcome::Status(s), Duration::ZERO)
    };
    let (status, _, path) = run(
        &config(json!({"fallback_http_statuses": [401, 402]})),
        &(),
        respond,
    );
    assert_eq!(
        (status, path),
        (
            200,
            vec!["p20".to_owned(), "p10".to_owned(), "p0".to_owned()]
        )
    );
    let (status, _, _) = run(
        &config(json!({"fallback_http_statuses": [401, 402], "max_retries": 0})),
        &(),
        respond,
    );
    assert_eq!(status, 401);
    let (status, _, _) = run(&config(json!({})), &(), respond);
    assert_eq!(status, 401);
}

#[test]
fn one_instance_config_uses_it_directly() {
    let b = build(json!({
        "fallback_strategy": ["http_5xx"],
        "instances": [instance("only", 0, 1, "http://127.0.0.1:1980")]
    }))
    .unwrap();
    let (status, reason, _) = run(&b, &(), |_| (Outcome::Status(503), Duration::ZERO));
    assert_eq!((status, reason), (503, FinishReason::SingleInstance));
}

// ---- checks.active → probes ------------------------------------------------

#[test]
fn active_checks_become_probe_descriptions_with_auth() {
    let b = build(json!({"instances": [
        {
            "name": "checked",
            "provider": "openai-compatible",
            "weight": 1,
            "auth": {"header": {"Authorization": "Bearer sk-secret"}, "query": {"api_key": "q s"}},
            "override": {"endpoint": "https://llm.internal:8443/v1/chat/completions"},
            "checks": {"active": {
                "type": "https",
                "http_path": "/health",
                "host": "llm.example",
                "timeout": 2,
                "req_headers": ["X-Probe: yes"],
                "healthy": {"interval": 5, "successes": 3},
                "unhealthy": {"http_failures": 2, "http_statuses": [500, 503]}
            }}
        },
        instance("plain", 0, 1, "http://127.0.0.1:1980"),
    ]}))
    .unwrap();
    let probes: Vec<_> = b.probes().collect();
    assert_eq!(probes.len(), 1);
    let (id, probe) = probes[0];
    assert_eq!(b.instance_name(id), Some("checked"));
    assert_eq!(probe.kind, ProbeKind::Https);
    assert_eq!(probe.url(), "https://llm.internal:8443/health");
    assert_eq!(
        probe.url_with_secrets().expose(),
        "https://llm.internal:8443/health?api_key=q+s"
    );
    assert_eq!(probe.host_header.as_deref(), Some("llm.example"));
    assert_eq!(probe.timeout, Duration::from_secs(2));
    assert_eq!(probe.healthy.interval, Duration::from_secs(5));
    assert_eq!(probe.healthy.http_statuses, [200, 302]);
    assert_eq!(probe.unhealthy.http_statuses, [500, 503]);
    assert_eq!((probe.successes, probe.failures, probe.timeouts), (3, 2, 3));
    let headers = probe.header_map();
    assert_eq!(headers["x-probe"], "yes");
    assert_eq!(headers["authorization"], "Bearer sk-secret");
    assert!(headers["authorization"].is_sensitive());
    assert_eq!(headers["host"], "llm.example");
    assert_eq!(probe.judge_status(200), Some(true));
    assert_eq!(probe.judge_status(503), Some(false));
    assert_eq!(probe.judge_status(404), None);
    let debug = format!("{probe:?}");
    assert!(
        !debug.contains("sk-secret") && !debug.contains("q s"),
        "secrets leaked: {debug}"
    );
}

#[test]
fn probe_thresholds_from_checks_drive_report_probe() {
    let b = build(json!({"instances": [
        {
            "name": "checked",
            "provider": "openai",
            "weight": 1,
            "auth": {},
            "checks": {"active": {"unhealthy": {"http_failures": 2}, "healthy": {"successes": 1}}}
        },
        instance("other", 0, 1, "http://127.0.0.1:1980"),
    ]}))
    .unwrap();
    let (id, probe) = b.probes().next().unwrap();
    // No endpoint: the provider's host, APISIX's default http type and 443.
    assert_eq!(probe.url(), "http://api.openai.com:443/");
    let now = Instant::now();
    b.report_probe(id, false, now);
    assert!(b.health(id, now).unwrap().healthy);
    b.report_probe(id, false, now);
    assert!(!b.health(id, now).unwrap().healthy);
    for _ in 0..4 {
        assert_eq!(
            b.picked_ai_instance_name(&b.pick(&(), now).unwrap()),
            "other"
        );
    }
    b.report_probe(id, true, now);
    assert!(b.health(id, now).unwrap().healthy);
}

#[test]
fn tcp_probe_uses_the_port_override() {
    let b = build(json!({"instances": [{
        "name": "t",
        "provider": "openai-compatible",
        "weight": 1,
        "auth": {},
        "override": {"endpoint": "http://10.0.0.5:8000"},
        "checks": {"active": {"type": "tcp", "port": 9000}}
    }]}))
    .unwrap();
    let (_, probe) = b.probes().next().unwrap();
    assert_eq!(
        (probe.kind, probe.host.as_str(), probe.port, probe.failures),
        (ProbeKind::Tcp, "10.0.0.5", 9000, 2)
    );
}

#[test]
fn bad_checks_are_config_errors_naming_the_field() {
    let err = build(json!({"instances": [{
        "name": "t",
        "provider": "openai",
        "weight": 1,
        "auth": {},
        "checks": {"active": {"type": "udp"}}
    }]}))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "instances[1].checks.active.type: expected `http`, `https` or `tcp`"
    );
    let err = build(json!({"instances": [{
        "name": "t",
        "provider": "openai",
        "weight": 1,
        "auth": {},
        "checks": {"active": {"healthy": {"successes": 0}}}
    }]}))
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("instances[1].checks.active.healthy.successes: expected an integer")
    );
}
