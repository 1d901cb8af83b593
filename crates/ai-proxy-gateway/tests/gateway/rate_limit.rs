//! `ai-rate-limiting` through the gateway with in-process counters
//! (`policy: local`): exact quota headers, `rejected_code` once the
//! budget is spent, instances skipped by `ai-proxy-multi`'s
//! `rate_limiting` fallback, budgets per consumer.

use crate::CHAT;
use crate::harness::{Gateway, Reply, Script, Upstream, openai_json, post_with};

/// Every response costs 3 + 4 = 7 tokens.
fn upstream() -> Upstream {
    Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o", 3, 4),
    })
}

fn limited_route(up: &Upstream, limiting: &str) -> String {
    format!(
        "version: \"1\"\nroutes:\n  - id: r\n    uri: /v1/chat/completions\n    plugins:\n      ai-rate-limiting: {limiting}\n      ai-proxy: {{provider: openai, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n",
        up.addr
    )
}

fn chat(gw: &Gateway, headers: &[(&str, &str)]) -> Reply {
    post_with(gw.addr, "/v1/chat/completions", CHAT, headers)
}

fn quota(reply: &Reply, instance: &str) -> (String, String, f64) {
    let h = |part: &str| {
        reply
            .headers
            .get(&format!("x-ai-ratelimit-{part}-{instance}"))
            .cloned()
            .unwrap_or_else(|| panic!("no {part} header in {:?}", reply.headers))
    };
    (h("limit"), h("remaining"), h("reset").parse().unwrap())
}

#[test]
fn quota_headers_count_down_as_responses_are_charged() {
    let up = upstream();
    let gw = Gateway::start(&limited_route(&up, "{limit: 20, time_window: 60}"));
    let first = chat(&gw, &[]);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        quota(&first, "ai-proxy-openai"),
        ("20".into(), "20".into(), 60.0)
    );
    for left in ["13", "6"] {
        let reply = chat(&gw, &[]);
        assert_eq!(reply.status, 200, "{}", reply.body);
        let (limit, remaining, reset) = quota(&reply, "ai-proxy-openai");
        assert_eq!((limit.as_str(), remaining.as_str()), ("20", left));
        assert!(reset > 0.0 && reset <= 60.0, "{reset}");
    }
}

#[test]
fn a_spent_budget_is_answered_with_the_rejected_code_and_msg() {
    let up = upstream();
    let gw = Gateway::start(&limited_route(
        &up,
        "{limit: 14, time_window: 60, rejected_code: 429, rejected_msg: \"token budget spent\"}",
    ));
    assert_eq!(chat(&gw, &[]).status, 200);
    assert_eq!(chat(&gw, &[]).status, 200);
    let rejected = chat(&gw, &[]);
    assert_eq!(rejected.status, 429);
    assert_eq!(rejected.body, r#"{"error_msg":"token budget spent"}"#);
    assert_eq!(rejected.headers["content-type"], "application/json");
    let (limit, remaining, _) = quota(&rejected, "ai-proxy-openai");
    assert_eq!((limit.as_str(), remaining.as_str()), ("14", "0"));
    assert_eq!(up.requests().len(), 2);
}

#[test]
fn the_default_rejection_is_503() {
    let up = upstream();
    let gw = Gateway::start(&limited_route(&up, "{limit: 5, time_window: 60}"));
    assert_eq!(chat(&gw, &[]).status, 200);
    let rejected = chat(&gw, &[]);
    assert_eq!(rejected.status, 503);
    assert!(
        rejected.body.starts_with(r#"{"error_msg":"#),
        "{}",
        rejected.body
    );
    assert_eq!(up.requests().len(), 1);
}

#[test]
fn quota_headers_can_be_hidden() {
    let up = upstream();
    let gw = Gateway::start(&limited_route(
        &up,
        "{limit: 20, time_window: 60, show_limit_quota_header: false}",
    ));
    let reply = chat(&gw, &[]);
    assert_eq!(reply.status, 200);
    assert!(
        !reply
            .headers
            .keys()
            .any(|k| k.starts_with("x-ai-ratelimit")),
        "{:?}",
        reply.headers
    );
}

fn multi_route(a: &Upstream, b: &Upstream, fallback: &str) -> String {
    format!(
        "version: \"1\"\nroutes:\n  - id: m\n    uri: /v1/chat/completions\n    plugins:\n      ai-rate-limiting:\n        instances:\n          - {{name: a, limit: 7, time_window: 60}}\n          - {{name: b, limit: 7, time_window: 60}}\n      ai-proxy-multi:\n        fallback_strategy: {fallback}\n        instances:\n          - {{name: a, provider: openai, priority: 1, weight: 1, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n          - {{name: b, provider: openai, priority: 0, weight: 1, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n",
        a.addr, b.addr
    )
}

#[test]
fn an_exhausted_instance_is_skipped_and_all_exhausted_is_rejected() {
    let (a, b) = (upstream(), upstream());
    let gw = Gateway::start(&multi_route(&a, &b, "[rate_limiting]"));
    let first = chat(&gw, &[]);
    assert_eq!(first.status, 200);
    assert_eq!(quota(&first, "a").1, "7");
    let second = chat(&gw, &[]);
    assert_eq!(second.status, 200);
    // a spent its 7 tokens: b serves.
    assert_eq!(quota(&second, "b").1, "7");
    assert_eq!((a.requests().len(), b.requests().len()), (1, 1));
    let third = chat(&gw, &[]);
    assert_eq!(third.status, 503, "{}", third.body);
    assert!(third.body.starts_with(r#"{"error_msg":"#), "{}", third.body);
    assert_eq!((a.requests().len(), b.requests().len()), (1, 1));
}

#[test]
fn without_the_rate_limiting_fallback_the_picked_instance_is_rejected() {
    let (a, b) = (upstream(), upstream());
    let gw = Gateway::start(&multi_route(&a, &b, "[http_5xx]"));
    assert_eq!(chat(&gw, &[]).status, 200);
    let rejected = chat(&gw, &[]);
    assert_eq!(rejected.status, 503);
    assert_eq!(quota(&rejected, "a").1, "0");
    assert_eq!((a.requests().len(), b.requests().len()), (1, 0));
}

/// Consumers jack and rose; `jack_limiting` is jack's own
/// `ai-rate-limiting` line, if any.
fn consumer_route(up: &Upstream, jack_limiting: &str, route_limiting: &str) -> String {
    format!(
        "version: \"1\"\nconsumers:\n  - username: jack\n    plugins:\n      key-auth: {{key: jack-key}}\n{jack_limiting}  - username: rose\n    plugins:\n      key-auth: {{key: rose-key}}\nroutes:\n  - id: r\n    uri: /v1/chat/completions\n    plugins:\n      key-auth: {{}}\n{route_limiting}      ai-proxy: {{provider: openai, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n",
        up.addr
    )
}

/// jack's own budget: 7 tokens.
const JACK_LIMITING: &str = "      ai-rate-limiting: {limit: 7, time_window: 60}\n";

#[test]
fn a_consumers_own_limit_replaces_the_routes() {
    let up = upstream();
    let gw = Gateway::start(&consumer_route(
        &up,
        JACK_LIMITING,
        "      ai-rate-limiting: {limit: 100, time_window: 60}\n",
    ));
    assert_eq!(chat(&gw, &[("apikey", "jack-key")]).status, 200);
    let jack = chat(&gw, &[("apikey", "jack-key")]);
    assert_eq!(jack.status, 503);
    assert_eq!(quota(&jack, "ai-proxy-openai").0, "7");
    let rose = chat(&gw, &[("apikey", "rose-key")]);
    assert_eq!(rose.status, 200);
    assert_eq!(
        quota(&rose, "ai-proxy-openai"),
        ("100".into(), "100".into(), 60.0)
    );
}

#[test]
fn a_consumer_limit_applies_on_a_route_without_its_own() {
    let up = upstream();
    let gw = Gateway::start(&consumer_route(&up, JACK_LIMITING, ""));
    assert_eq!(chat(&gw, &[("apikey", "jack-key")]).status, 200);
    assert_eq!(chat(&gw, &[("apikey", "jack-key")]).status, 503);
    for _ in 0..3 {
        let rose = chat(&gw, &[("apikey", "rose-key")]);
        assert_eq!(rose.status, 200);
        assert!(!rose.headers.keys().any(|k| k.starts_with("x-ai-")));
    }
}

#[test]
fn rules_keyed_on_the_consumer_give_each_consumer_a_budget() {
    let up = upstream();
    let gw = Gateway::start(&consumer_route(
        &up,
        "",
        "      ai-rate-limiting:\n        rules:\n          - {count: 10, time_window: 60, key: $consumer_name, header_prefix: user}\n",
    ));
    for key in ["rose-key", "jack-key"] {
        let first = chat(&gw, &[("apikey", key)]);
        assert_eq!(first.status, 200);
        assert_eq!(first.headers["x-ai-user-ratelimit-limit"], "10");
        assert_eq!(first.headers["x-ai-user-ratelimit-remaining"], "10");
        let second = chat(&gw, &[("apikey", key)]);
        assert_eq!(second.headers["x-ai-user-ratelimit-remaining"], "3");
        assert_eq!(chat(&gw, &[("apikey", key)]).status, 503);
    }
}

#[test]
fn an_invalid_limiter_is_refused_with_its_path() {
    let up = upstream();
    let doc = ai_proxy_gateway::config::Document::parse(&limited_route(
        &up,
        "{limit: 20, time_window: 60, instances: [{name: nope, limit: 1, time_window: 1}]}",
    ))
    .unwrap();
    let errors = ai_proxy_gateway::Gateway::from_document(&doc).unwrap_err();
    let text = errors.to_string();
    assert!(
        text.starts_with("routes[0].plugins.ai-rate-limiting.instances[0].name"),
        "{text}"
    );
}
