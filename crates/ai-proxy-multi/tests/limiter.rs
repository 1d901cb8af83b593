//! The token limiter as APISIX's `ai-rate-limiting` behaves
//! (apache/apisix master `t/plugin/ai-rate-limiting.t`,
//! `t/plugin/ai-rate-limiting-expression.t`), on a fake clock: no sleeps.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use ai_proxy_core::Protocol;
use ai_proxy_core::config::{AiProxyMultiConfig, AiRateLimitingConfig};
use ai_proxy_core::usage::Usage;
use ai_proxy_multi::limit::{
    Counter, LimitError, MemoryStore, RawUsage, Store, StoreError, TokenLimiter,
};
use ai_proxy_multi::{Balancer, Error, MultiOptions, RequestKeys};
use http::StatusCode;

const OPENAI: &str = "ai-proxy-openai";

fn limiter(json: &str, instances: &[&str]) -> TokenLimiter {
    let config = AiRateLimitingConfig::from_json(json).unwrap();
    TokenLimiter::new(&config, "route:1", instances).unwrap()
}

/// One request through admission and, when admitted, a charge of `cost`:
/// the status and the `Remaining` header of `instance`.
fn request(
    l: &TokenLimiter,
    store: &MemoryStore,
    instance: &str,
    keys: &RequestKeys<'_>,
    cost: u64,
    now: Instant,
) -> (u16, Option<String>) {
    let mut quotas = l.quotas(keys);
    quotas.read(store, now);
    let verdict = l.admit(&quotas, instance);
    let remaining = verdict
        .headers
        .iter()
        .find(|(k, _)| k.as_str().contains("remaining"))
        .map(|(_, v)| v.to_str().unwrap().to_owned());
    if let Some(r) = verdict.rejection {
        return (r.status.as_u16(), remaining);
    }
    l.charge(&quotas, instance, cost, store, now).unwrap();
    (200, remaining)
}

#[test]
fn a_budget_of_30_serves_three_responses_of_10_then_rejects_with_503() {
    let l = limiter(r#"{"limit": 30, "time_window": 60}"#, &[OPENAI]);
    let store = MemoryStore::default();
    let t0 = Instant::now();
    let got: Vec<_> = (0..4)
        .map(|i| {
            request(
                &l,
                &store,
                OPENAI,
                &RequestKeys::new(),
                10,
                t0 + Duration::from_millis(i),
            )
        })
        .collect();
    let want: Vec<(u16, Option<String>)> = [(200, "30"), (200, "20"), (200, "10"), (503, "0")]
        .into_iter()
        .map(|(s, r)| (s, Some(r.to_owned())))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn first_response_headers_show_the_whole_budget_and_window() {
    let l = limiter(
        r#"{"limit": 20, "time_window": 45, "limit_strategy": "completion_tokens"}"#,
        &[OPENAI],
    );
    let store = MemoryStore::default();
    let mut quotas = l.quotas(&());
    quotas.read(&store, Instant::now());
    let v = l.admit(&quotas, OPENAI);
    assert_eq!(v.headers["X-AI-RateLimit-Limit-ai-proxy-openai"], "20");
    assert_eq!(v.headers["X-AI-RateLimit-Remaining-ai-proxy-openai"], "20");
    assert_eq!(v.headers["X-AI-RateLimit-Reset-ai-proxy-openai"], "45");
    assert_eq!(v.headers.len(), 3);
}

#[test]
fn completion_tokens_strategy_charges_only_completions() {
    let l = limiter(
        r#"{"limit": 20, "time_window": 45, "limit_strategy": "completion_tokens"}"#,
        &[OPENAI],
    );
    let usage = Usage::new(100, 5);
    let cost = l
        .cost(&usage, &RawUsage::from_usage(&usage, Protocol::OpenAiChat))
        .unwrap();
    assert_eq!(cost, 5);
    let store = MemoryStore::default();
    let t0 = Instant::now();
    let remaining: Vec<_> = (0..5)
        .map(|_| {
            request(&l, &store, OPENAI, &RequestKeys::new(), cost, t0)
                .1
                .unwrap()
        })
        .collect();
    assert_eq!(remaining, ["20", "15", "10", "5", "0"]);
}

#[test]
fn the_reset_header_counts_down_from_the_first_charge() {
    let l = limiter(r#"{"limit": 100, "time_window": 60}"#, &[OPENAI]);
    let store = MemoryStore::default();
    let t0 = Instant::now();
    request(&l, &store, OPENAI, &RequestKeys::new(), 10, t0);
    let mut quotas = l.quotas(&());
    quotas.read(&store, t0 + Duration::from_millis(15_254));
    let v = l.admit(&quotas, OPENAI);
    assert_eq!(v.headers["X-AI-RateLimit-Reset-ai-proxy-openai"], "44.74");
    assert_eq!(v.headers["X-AI-RateLimit-Remaining-ai-proxy-openai"], "90");
}

#[test]
fn an_overdrawn_budget_rejects_until_its_window_ends() {
    let l = limiter(
        r#"{"limit": 30, "time_window": 60, "rejected_code": 429, "rejected_msg": "rate limit exceeded"}"#,
        &[OPENAI],
    );
    let store = MemoryStore::default();
    let t0 = Instant::now();
    assert_eq!(
        request(&l, &store, OPENAI, &RequestKeys::new(), 500, t0).0,
        200
    );
    let mut quotas = l.quotas(&());
    quotas.read(&store, t0 + Duration::from_secs(59));
    let v = l.admit(&quotas, OPENAI);
    let r = v.rejection.unwrap();
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(&r.body[..], br#"{"error_msg":"rate limit exceeded"}"#);
    assert_eq!(v.headers["X-AI-RateLimit-Remaining-ai-proxy-openai"], "0");
    assert_eq!(v.headers["X-AI-RateLimit-Reset-ai-proxy-openai"], "1");
    // The next window starts afresh.
    let (status, remaining) = request(
        &l,
        &store,
        OPENAI,
        &RequestKeys::new(),
        1,
        t0 + Duration::from_secs(60),
    );
    assert_eq!((status, remaining.as_deref()), (200, Some("30")));
}

#[test]
fn a_rejected_request_is_never_charged() {
    let l = limiter(r#"{"limit": 10, "time_window": 60}"#, &[OPENAI]);
    let store = MemoryStore::default();
    let t0 = Instant::now();
    request(&l, &store, OPENAI, &RequestKeys::new(), 10, t0);
    assert_eq!(
        request(&l, &store, OPENAI, &RequestKeys::new(), 10, t0).0,
        503
    );
    let mut quotas = l.quotas(&());
    quotas.read(&store, t0);
    assert_eq!(
        store
            .peek(quotas.quota(0).unwrap().key(), Duration::from_secs(60), t0)
            .unwrap()
            .consumed,
        10
    );
}

#[test]
fn hidden_quota_headers_still_limit() {
    let l = limiter(
        r#"{"limit": 10, "time_window": 60, "show_limit_quota_header": false}"#,
        &[OPENAI],
    );
    let store = MemoryStore::default();
    let t0 = Instant::now();
    assert_eq!(
        request(&l, &store, OPENAI, &RequestKeys::new(), 10, t0),
        (200, None)
    );
    assert_eq!(
        request(&l, &store, OPENAI, &RequestKeys::new(), 10, t0),
        (503, None)
    );
}

#[test]
fn listed_instances_have_their_own_budget_and_the_rest_share_the_global_one() {
    let l = limiter(
        r#"{"limit": 20, "time_window": 60, "instances": [{"name": "gpt3", "limit": 50, "time_window": 60}]}"#,
        &["gpt4", "gpt3", "mini"],
    );
    let store = MemoryStore::default();
    let t0 = Instant::now();
    let keys = RequestKeys::new();
    // gpt4 and mini draw on the one global budget of 20.
    assert_eq!(request(&l, &store, "gpt4", &keys, 15, t0).0, 200);
    assert_eq!(
        request(&l, &store, "mini", &keys, 0, t0).1.as_deref(),
        Some("5")
    );
    assert_eq!(request(&l, &store, "mini", &keys, 5, t0).0, 200);
    assert_eq!(request(&l, &store, "gpt4", &keys, 5, t0).0, 503);
    // gpt3's own budget is untouched.
    assert_eq!(
        request(&l, &store, "gpt3", &keys, 10, t0).1.as_deref(),
        Some("50")
    );
}

#[test]
fn instances_without_a_budget_are_never_limited_and_get_no_headers() {
    let l = limiter(
        r#"{"instances": [{"name": "a", "limit": 1, "time_window": 60}]}"#,
        &["a", "b"],
    );
    let store = MemoryStore::default();
    let t0 = Instant::now();
    for _ in 0..3 {
        assert_eq!(
            request(&l, &store, "b", &RequestKeys::new(), 100, t0),
            (200, None)
        );
    }
}

#[test]
fn an_instance_name_the_route_lacks_is_a_config_error() {
    let config = AiRateLimitingConfig::from_json(
        r#"{"instances": [{"name": "gpt-4o", "limit": 1, "time_window": 60}]}"#,
    )
    .unwrap();
    let e = TokenLimiter::new(&config, "route:1", &["gpt-4", "mini"]).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "instances[0].name: the route has no instance `gpt-4o` (its instances: gpt-4, mini)"
        ),
        "{e}"
    );
    let config = AiRateLimitingConfig::from_json(r#"{"limit": 1, "time_window": 60}"#).unwrap();
    let e = TokenLimiter::new(&config, "route:1", &["has space"]).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("limit: instance `has space` cannot be part of"),
        "{e}"
    );
}

/// APISIX TEST 17/18: gpt4 (priority 1) has 20 tokens, gpt3 50; each
/// response costs 10: two go to gpt4, five to gpt3, then every instance is
/// out of quota and the answer is the limiter's rejected_code.
#[test]
fn ai_proxy_multi_skips_exhausted_instances_then_rejects() {
    let multi = AiProxyMultiConfig::from_json(
        r#"{"fallback_strategy": "instance_health_and_rate_limiting", "instances": [
            {"name": "openai-gpt4", "provider": "openai", "weight": 1, "priority": 1, "auth": {}},
            {"name": "openai-gpt3", "provider": "openai", "weight": 1, "priority": 0, "auth": {}}
        ]}"#,
    )
    .unwrap();
    let registry = ai_proxy_core::Registry::new();
    let balancer = Balancer::new(&multi, &registry, MultiOptions::default()).unwrap();
    let l = limiter(
        r#"{"instances": [{"name": "openai-gpt3", "limit": 50, "time_window": 60}, {"name": "openai-gpt4", "limit": 20, "time_window": 60}]}"#,
        &["openai-gpt4", "openai-gpt3"],
    );
    let store = MemoryStore::default();
    let t0 = Instant::now();
    let mut served = Vec::new();
    for i in 0..9u64 {
        let now = t0 + Duration::from_millis(i);
        let mut quotas = l.quotas(&());
        quotas.read(&store, now);
        let hook = |name: &str| l.is_rate_limited(&quotas, name);
        let keys = RequestKeys::new().with_rate_limited(&hook);
        match balancer.pick(&keys, now) {
            Ok(attempt) => {
                let name = balancer.picked_ai_instance_name(&attempt).to_owned();
                assert!(l.admit(&quotas, &name).is_admitted());
                l.charge(&quotas, &name, 10, &store, now).unwrap();
                served.push(name);
            }
            Err(Error::RateLimited) => served.push(l.rejection().status.as_str().to_owned()),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(
        served,
        [
            "openai-gpt4",
            "openai-gpt4",
            "openai-gpt3",
            "openai-gpt3",
            "openai-gpt3",
            "openai-gpt3",
            "openai-gpt3",
            "503",
            "503"
        ]
    );
}

#[test]
fn rules_budget_by_variables_with_index_or_prefix_headers() {
    let l = limiter(
        r#"{"rejected_code": 429, "rules": [
            {"count": 20, "time_window": 10, "key": "${http_user}"},
            {"count": "${http_count ?? 30}", "time_window": "${http_window ?? 10}", "key": "${http_project}", "header_prefix": "project"}
        ]}"#,
        &["deepseek"],
    );
    let store = MemoryStore::default();
    let t0 = Instant::now();
    let head = |pairs: &[(&str, &str)]| {
        let mut b = http::Request::post("/ai");
        for (k, v) in pairs {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    };
    let jack = head(&[("user", "jack")]);
    let rose = head(&[("user", "rose")]);
    let codes = |parts: &http::request::Parts, n: usize| -> Vec<u16> {
        (0..n)
            .map(|_| {
                request(
                    &l,
                    &store,
                    "deepseek",
                    &RequestKeys::new().with_parts(parts),
                    10,
                    t0,
                )
                .0
            })
            .collect()
    };
    assert_eq!(codes(&jack, 3), [200, 200, 429]);
    assert_eq!(codes(&rose, 3), [200, 200, 429]);
    let apisix = head(&[("project", "apisix")]);
    assert_eq!(codes(&apisix, 4), [200, 200, 200, 429]);
    let linux = head(&[("project", "linux"), ("count", "20"), ("window", "2")]);
    assert_eq!(codes(&linux, 3), [200, 200, 429]);

    let mut quotas =
        l.quotas(&RequestKeys::new().with_parts(&head(&[("user", "ann"), ("project", "p")])));
    quotas.read(&store, t0);
    let v = l.admit(&quotas, "deepseek");
    assert_eq!(v.headers["X-AI-1-RateLimit-Limit"], "20");
    assert_eq!(v.headers["X-AI-project-RateLimit-Limit"], "30");
    assert_eq!(v.headers["X-AI-project-RateLimit-Reset"], "10");
    // Rules never take an instance out of the balancer.
    assert!(!l.is_rate_limited(&quotas, "deepseek"));
}

#[test]
fn no_rule_applying_is_a_500_unless_degradation_is_allowed() {
    let rules = r#""rules": [{"count": 20, "time_window": 10, "key": "${http_user}"}]"#;
    let strict = limiter(&format!("{{{rules}}}"), &["a"]);
    let mut quotas = strict.quotas(&());
    quotas.read(&MemoryStore::default(), Instant::now());
    let v = strict.admit(&quotas, "a");
    assert_eq!(
        v.rejection.unwrap().status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(v.error, Some(LimitError::NoRuleApplies));

    let lenient = limiter(&format!("{{{rules}, \"allow_degradation\": true}}"), &["a"]);
    let v = lenient.admit(&lenient.quotas(&()), "a");
    assert!(v.is_admitted());
    assert_eq!(v.error, Some(LimitError::NoRuleApplies));
}

#[test]
fn a_variable_limit_that_is_not_a_number_fails_the_request() {
    let l = limiter(
        r#"{"limit": "${http_x_limit}", "time_window": 60}"#,
        &[OPENAI],
    );
    let (parts, ()) = http::Request::get("/")
        .header("x-limit", "lots")
        .body(())
        .unwrap()
        .into_parts();
    let keys = RequestKeys::new().with_parts(&parts);
    let mut quotas = l.quotas(&keys);
    quotas.read(&MemoryStore::default(), Instant::now());
    let v = l.admit(&quotas, OPENAI);
    assert_eq!(
        v.rejection.unwrap().status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(v.error, Some(LimitError::InvalidValue { field: "limit" }));
    assert!(l.is_rate_limited(&quotas, OPENAI));
}

struct Down;

impl Store for Down {
    fn peek(&self, _: &str, _: Duration, _: Instant) -> Result<Counter, StoreError> {
        Err(StoreError::Unavailable {
            reason: "connection refused".into(),
        })
    }
    fn charge(&self, _: &str, _: u64, _: Duration, _: Instant) -> Result<Counter, StoreError> {
        Err(StoreError::Unavailable {
            reason: "connection refused".into(),
        })
    }
}

#[test]
fn an_unreachable_store_fails_closed_or_open_per_allow_degradation() {
    for (degrade, admitted) in [(false, false), (true, true)] {
        let l = limiter(
            &format!(r#"{{"limit": 10, "time_window": 60, "allow_degradation": {degrade}}}"#),
            &[OPENAI],
        );
        let mut quotas = l.quotas(&());
        quotas.read(&Down, Instant::now());
        let v = l.admit(&quotas, OPENAI);
        assert_eq!(v.is_admitted(), admitted);
        assert!(v.headers.is_empty());
        assert!(matches!(v.error, Some(LimitError::Store(_))));
        assert_eq!(l.is_rate_limited(&quotas, OPENAI), !degrade);
        if !admitted {
            assert_eq!(
                &v.rejection.unwrap().body[..],
                br#"{"error_msg":"failed to limit count"}"#
            );
        }
    }
}

#[test]
fn expression_costs_follow_apisix_examples() {
    let l = limiter(
        r#"{"limit": 500, "time_window": 60, "limit_strategy": "expression", "cost_expr": "input_tokens + cache_creation_input_tokens + output_tokens"}"#,
        &["ai-proxy-anthropic"],
    );
    // 50 input, 30 output, 100 cache creation: 180 per request (500 → 320).
    let usage = Usage::new(50, 30).with_cache(200, 100);
    let raw = RawUsage::from_usage(&usage, Protocol::AnthropicMessages);
    assert_eq!(l.cost(&usage, &raw), Ok(180));
    let negative = limiter(
        r#"{"limit": 100, "time_window": 60, "limit_strategy": "expression", "cost_expr": "input_tokens - cache_read_input_tokens"}"#,
        &["ai-proxy-anthropic"],
    );
    assert_eq!(negative.cost(&usage, &raw), Ok(0));
}

#[test]
fn long_rule_keys_are_hashed_and_still_separate() {
    let l = limiter(
        r#"{"rules": [{"count": 5, "time_window": 60, "key": "$http_user"}]}"#,
        &["a"],
    );
    let store = MemoryStore::default();
    let t0 = Instant::now();
    let long_a = "a".repeat(5000);
    let long_b = format!("{}b", "a".repeat(4999));
    for (user, cost) in [(&long_a, 5), (&long_b, 1)] {
        let (parts, ()) = http::Request::get("/")
            .header("user", user.as_str())
            .body(())
            .unwrap()
            .into_parts();
        let keys = RequestKeys::new().with_parts(&parts);
        let mut quotas = l.quotas(&keys);
        assert!(quotas.quota(0).unwrap().key().len() < 128);
        quotas.read(&store, t0);
        assert!(l.admit(&quotas, "a").is_admitted());
        l.charge(&quotas, "a", cost, &store, t0).unwrap();
    }
}

#[test]
fn a_failed_rule_takes_the_earlier_rules_headers_back_off_the_response() {
    let l = limiter(
        r#"{"rules": [{"count": 20, "time_window": 10, "key": "${http_user}"},
                      {"count": 30, "time_window": 10, "key": "u:${http_user}", "header_prefix": "p"}]}"#,
        &["a"],
    );
    let (parts, ()) = http::Request::get("/")
        .header("user", "ann")
        .body(())
        .unwrap()
        .into_parts();
    let mut quotas = l.quotas(&RequestKeys::new().with_parts(&parts));
    quotas.read(&MemoryStore::default(), Instant::now());
    let down = StoreError::Unavailable {
        reason: "connection refused".into(),
    };
    quotas.record(1, Err(down));
    let mut response = http::HeaderMap::new();
    response.insert("x-upstream", http::HeaderValue::from_static("kept"));
    let v = l.admit_into(&quotas, "a", &mut response);
    assert_eq!(
        v.rejection.unwrap().status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(response.len(), 1);
    assert_eq!(response["x-upstream"], "kept");
}

#[test]
fn admit_into_writes_the_quota_headers_beside_the_responses_own() {
    let l = limiter(r#"{"limit": 30, "time_window": 60}"#, &[OPENAI]);
    let mut quotas = l.quotas(&());
    quotas.read(&MemoryStore::default(), Instant::now());
    let mut response = http::HeaderMap::new();
    response.insert("x-upstream", http::HeaderValue::from_static("kept"));
    let v = l.admit_into(&quotas, OPENAI, &mut response);
    assert!(v.is_admitted());
    assert!(v.headers.is_empty());
    assert_eq!(response["x-upstream"], "kept");
    assert_eq!(response["X-AI-RateLimit-Limit-ai-proxy-openai"], "30");
    assert_eq!(response["X-AI-RateLimit-Remaining-ai-proxy-openai"], "30");
    assert_eq!(response["X-AI-RateLimit-Reset-ai-proxy-openai"], "60");
}
