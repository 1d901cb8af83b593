//! `ai-rate-limiting`, `key-auth` and `consumers` configuration: APISIX's
//! schema cases (apache/apisix master `t/plugin/ai-rate-limiting.t`
//! TEST 1, `t/plugin/ai-rate-limiting-expression.t` TEST 1), the stricter
//! checks, and every error with its JSON path.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use ai_proxy_core::config::{
    AiRateLimitingConfig, Consumer, CounterPolicy, KeyAuthConfig, LimitStrategy, LimitValue,
    Quotas, SentinelRole,
};

fn errors(json: &str) -> Vec<String> {
    match AiRateLimitingConfig::from_json(json) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.errors().iter().map(ToString::to_string).collect(),
    }
}

fn ok(json: &str) -> AiRateLimitingConfig {
    AiRateLimitingConfig::from_json(json).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn apisix_schema_cases() {
    assert_eq!(
        errors(r#"{"time_window": 60}"#),
        ["limit: is required when `time_window` is set"]
    );
    assert_eq!(
        errors(r#"{"limit": 30}"#),
        ["time_window: is required when `limit` is set"]
    );
    assert_eq!(
        errors(r#"{"limit": 30, "time_window": 60, "rejected_code": 199}"#),
        ["rejected_code: must be ≥ 200, got 199"]
    );
    assert!(
        errors(r#"{"limit": 30, "time_window": 60, "limit_strategy": "invalid"}"#)[0]
            .starts_with("limit_strategy: unknown strategy `invalid`")
    );
    assert_eq!(
        errors(
            r#"{"limit": 30, "time_window": 60, "instances": [{"name": "instance1", "limit": 30, "time_window": 60}, {"limit": 30, "time_window": 60}]}"#
        ),
        ["instances[1].name: is required"]
    );
    let c = ok(
        r#"{"limit": 30, "time_window": 60, "rejected_code": 403, "rejected_msg": "rate limit exceeded", "limit_strategy": "completion_tokens"}"#,
    );
    assert_eq!(c.rejected_code, 403);
    assert_eq!(c.rejected_msg.as_deref(), Some("rate limit exceeded"));
    assert_eq!(c.limit_strategy, LimitStrategy::CompletionTokens);
    let c = ok(r#"{"instances": [{"name": "instance1", "limit": 30, "time_window": 60}]}"#);
    let Quotas::Instances { global, instances } = c.quotas else {
        panic!()
    };
    assert_eq!(global, None);
    assert_eq!(instances[0].name, "instance1");
    assert_eq!(instances[0].window.limit, LimitValue::Fixed(30));
}

#[test]
fn defaults_follow_apisix() {
    let c = ok(r#"{"limit": 30, "time_window": 60}"#);
    assert_eq!(c.rejected_code, 503);
    assert!(c.show_limit_quota_header);
    assert!(!c.allow_degradation);
    assert_eq!(c.limit_strategy, LimitStrategy::TotalTokens);
    assert_eq!(c.policy, CounterPolicy::Local);
    assert_eq!(c.rejected_msg, None);
}

#[test]
fn rules_and_instance_limits_are_exclusive() {
    let e = errors(
        r#"{"limit": 10, "time_window": 60, "rules": [{"count": 20, "time_window": 10, "key": "$http_user"}]}"#,
    );
    assert!(e[0].starts_with("rules: cannot be combined with"), "{e:?}");
    assert_eq!(
        errors("{}"),
        ["one of `limit` + `time_window`, `instances` or `rules` is required"]
    );
    assert!(errors(r#"{"rules": []}"#)[0].starts_with("rules: must list at least one rule"));
    assert!(errors(r#"{"instances": []}"#)[0].starts_with("instances: must list"));
}

#[test]
fn rules_take_templates_defaults_and_prefixes() {
    let c = ok(r#"{"rejected_code": 429, "rules": [
        {"count": 20, "time_window": 10, "key": "${http_user}", "header_prefix": "user"},
        {"count": "${http_count ?? 30}", "time_window": "${http_window ?? 10}", "key": "${http_project}"}
    ]}"#);
    let Quotas::Rules(rules) = c.quotas else {
        panic!()
    };
    assert_eq!(rules[0].count, LimitValue::Fixed(20));
    assert_eq!(rules[0].header_prefix.as_deref(), Some("user"));
    assert!(matches!(rules[1].count, LimitValue::Var(_)));
    assert_eq!(rules[1].key.as_str(), "${http_project}");
}

#[test]
fn rule_problems_are_located() {
    let e = errors(
        r#"{"rules": [
        {"count": 20, "time_window": 10, "key": "global"},
        {"count": 0, "time_window": "${x ?? abc}", "key": "$a"},
        {"count": 1, "time_window": 1, "key": "$a"},
        {"time_window": 1, "key": "$b", "header_prefix": "bad prefix"}
    ]}"#,
    );
    assert_eq!(e.len(), 6, "{e:?}");
    assert!(e[0].starts_with("rules[0].key: has no variable"));
    assert_eq!(e[1], "rules[1].count: must be 1 to 9007199254740991, got 0");
    assert!(e[2].starts_with("rules[1].time_window: with its variables unset gives `abc`"));
    assert_eq!(e[3], "rules[2].key: duplicate key '$a' in rules");
    assert_eq!(e[4], "rules[3].count: is required");
    assert!(e[5].starts_with("rules[3].header_prefix: cannot be part of"));
}

#[test]
fn string_limits_are_numbers_or_templates() {
    let c = ok(r#"{"limit": "30", "time_window": " 60 "}"#);
    let Quotas::Instances {
        global: Some(g), ..
    } = c.quotas
    else {
        panic!()
    };
    assert_eq!(
        (g.limit, g.time_window),
        (LimitValue::Fixed(30), LimitValue::Fixed(60))
    );
    assert!(
        errors(r#"{"limit": "lots", "time_window": 60}"#)[0]
            .starts_with("limit: must be a positive integer")
    );
    assert!(
        errors(r#"{"limit": 1.5, "time_window": 60}"#)[0].starts_with("limit: must be an integer")
    );
    // A template with a variable that has no default cannot be checked now.
    ok(r#"{"limit": "$http_x_limit", "time_window": 60}"#);
}

#[test]
fn instance_names_must_fit_header_names_when_headers_are_shown() {
    let e = errors(r#"{"instances": [{"name": "my instance", "limit": 1, "time_window": 1}]}"#);
    assert!(e[0].starts_with("instances[0].name: cannot be part of"));
    ok(
        r#"{"show_limit_quota_header": false, "instances": [{"name": "my instance", "limit": 1, "time_window": 1}]}"#,
    );
    ok(
        r#"{"instances": [{"name": "Qwen3.5-397B-10.249.238.157", "limit": 100, "time_window": 60}]}"#,
    );
    let e = errors(
        r#"{"instances": [{"name": "a", "limit": 1, "time_window": 1}, {"name": "a", "limit": 2, "time_window": 1}]}"#,
    );
    assert_eq!(
        e,
        ["instances[1].name: duplicate instance name 'a' (also instances[0])"]
    );
}

#[test]
fn expression_strategy_needs_a_valid_cost_expr() {
    assert_eq!(
        errors(r#"{"limit": 30, "time_window": 60, "limit_strategy": "expression"}"#),
        ["cost_expr: cost_expr is required when limit_strategy is 'expression'"]
    );
    assert_eq!(
        errors(
            r#"{"limit": 30, "time_window": 60, "limit_strategy": "expression", "cost_expr": ""}"#
        ),
        ["cost_expr: must not be empty"]
    );
    assert!(errors(
        r#"{"limit": 30, "time_window": 60, "limit_strategy": "expression", "cost_expr": "invalid $$$ syntax %%%"}"#
    )[0]
    .starts_with("cost_expr: invalid cost_expr: at byte 8: unexpected `$`"));
    let c = ok(
        r#"{"limit": 30, "time_window": 60, "limit_strategy": "expression", "cost_expr": "(input_tokens - cache_read_input_tokens) + cache_creation_input_tokens * 1.25 + output_tokens"}"#,
    );
    assert!(matches!(c.limit_strategy, LimitStrategy::Expression(_)));
    assert!(
        errors(r#"{"limit": 30, "time_window": 60, "cost_expr": "output_tokens"}"#)[0]
            .starts_with("cost_expr: is only used when limit_strategy is `expression`")
    );
}

#[test]
fn unknown_fields_get_suggestions() {
    assert_eq!(
        errors(r#"{"limit": 30, "time_window": 60, "rejected_cod": 429}"#),
        ["rejected_cod: unknown field `rejected_cod`, did you mean `rejected_code`?"]
    );
}

#[test]
fn redis_policy_fields() {
    let c = ok(
        r#"{"limit": 300, "time_window": 30, "policy": "redis", "redis_host": "127.0.0.1",
        "redis_port": 6380, "redis_password": "s3cret", "redis_database": 1, "redis_ssl": true}"#,
    );
    let CounterPolicy::Redis(r) = &c.policy else {
        panic!()
    };
    assert_eq!(
        (r.host.as_str(), r.port, r.database, r.connection.ssl),
        ("127.0.0.1", 6380, 1, true)
    );
    assert_eq!(
        (
            r.connection.timeout_ms,
            r.connection.keepalive_timeout_ms,
            r.connection.keepalive_pool
        ),
        (1000, 10_000, 100)
    );
    assert_eq!(r.connection.password.as_ref().unwrap().expose(), "s3cret");
    assert!(!format!("{c:?}").contains("s3cret"));

    assert_eq!(
        errors(r#"{"limit": 1, "time_window": 1, "policy": "redis"}"#),
        ["redis_host: is required (the Redis server's address)"]
    );
    assert_eq!(
        errors(r#"{"limit": 1, "time_window": 1, "redis_host": "127.0.0.1"}"#),
        [
            "redis_host: is only used with policy redis (policy is `local`); remove it or change policy"
        ]
    );
    assert_eq!(
        errors(
            r#"{"limit": 1, "time_window": 1, "policy": "redis", "redis_host": "h1", "redis_port": 70000, "redis_cluster_nodes": ["a:1"]}"#
        ),
        [
            "redis_cluster_nodes: is only used with policy redis-cluster (policy is `redis`); remove it or change policy",
            "redis_port: must be a port, 1 to 65535, got 70000",
        ]
    );
}

#[test]
fn redis_cluster_and_sentinel_policies() {
    let c = ok(r#"{"limit": 1, "time_window": 1, "policy": "redis-cluster",
        "redis_cluster_nodes": ["127.0.0.1:7000", "127.0.0.1:7001"], "redis_cluster_name": "c1"}"#);
    let CounterPolicy::RedisCluster(rc) = &c.policy else {
        panic!()
    };
    assert_eq!(rc.nodes.len(), 2);
    assert_eq!(
        errors(
            r#"{"limit": 1, "time_window": 1, "policy": "redis-cluster", "redis_cluster_nodes": ["nope"]}"#
        ),
        [
            "redis_cluster_nodes[0]: must be `host:port`, e.g. 10.0.0.7:6379",
            "redis_cluster_name: is required (the cluster's name)",
        ]
    );
    let c = ok(
        r#"{"limit": 1, "time_window": 1, "policy": "redis-sentinel",
        "redis_sentinels": [{"host": "10.0.0.1", "port": 26379}], "redis_master_name": "mymaster",
        "sentinel_password": "x"}"#,
    );
    let CounterPolicy::RedisSentinel(s) = &c.policy else {
        panic!()
    };
    assert_eq!(s.role, SentinelRole::Master);
    assert_eq!(s.keepalive_timeout_ms, 60_000);
    assert!(errors(r#"{"limit": 1, "time_window": 1, "policy": "redis-sentinel",
        "redis_sentinels": [{"host": "10.0.0.1", "port": 26379}], "redis_master_name": "m", "redis_role": "slave"}"#)[0]
        .starts_with("redis_role: `slave`"));
}

#[test]
fn key_auth_route_config() {
    let c = KeyAuthConfig::from_json(
        r#"{"header": "X-Api-Key", "query": "key", "hide_credentials": true}"#,
    )
    .unwrap();
    assert_eq!(c.header.as_str(), "x-api-key");
    assert_eq!(c.query, "key");
    assert!(c.hide_credentials);
    assert_eq!(c.realm, "key");
    let e = KeyAuthConfig::from_json(r#"{"header": "bad header", "realm": "a\"b", "hidden": 1}"#)
        .unwrap_err();
    let e: Vec<String> = e.errors().iter().map(ToString::to_string).collect();
    assert_eq!(e.len(), 3, "{e:?}");
    assert!(e[0].starts_with("hidden: unknown field"));
    assert_eq!(e[1], "header: is not a valid HTTP header name");
    assert!(e[2].starts_with("realm: must be"));
}

#[test]
fn consumers_are_unique_and_keys_never_print() {
    let list = Consumer::list_from_json(
        r#"[{"username": "jack", "plugins": {"key-auth": {"key": "k1"}}},
            {"username": "rose", "plugins": {"key-auth": {"key": "k2"}, "ai-rate-limiting": {"limit": 5, "time_window": 60}}}]"#,
    )
    .unwrap();
    assert_eq!(list.len(), 2);
    assert!(list[0].plugins.is_empty());
    assert!(list[1].plugins.contains_key("ai-rate-limiting"));

    let e = Consumer::list_from_value(
        &serde_json::json!([
            {"username": "jack", "plugins": {"key-auth": {"key": "the-secret"}}},
            {"username": "jack"},
            {"username": "rose", "plugins": {"key-auth": {"key": "the-secret"}}},
            {"username": "bad name"},
            {"username": "tom", "plugins": {"key-auth": {"key": ""}}},
            {"username": "ann", "plugins": {"key-auth": {}}},
            {"plugins": {}},
            {"username": "grp", "group_id": "g1"}
        ]),
        "consumers",
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(!text.contains("the-secret"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "consumers[1].username: duplicate username 'jack' (also [0])",
            "consumers[2].plugins.key-auth.key: is already the key of [0]; every consumer needs its own key",
            "consumers[3].username: must match ^[a-zA-Z0-9_-]+$ and be at most 256 characters long",
            "consumers[4].plugins.key-auth.key: must not be empty",
            "consumers[5].plugins.key-auth.key: is required (the consumer's API key)",
            "consumers[6].username: is required",
            "consumers[7].group_id: consumer groups are not supported; put the plugins on the consumer",
        ]
    );
}
