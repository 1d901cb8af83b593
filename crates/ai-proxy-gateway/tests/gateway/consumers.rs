//! Consumers and `key-auth`: 401 without a key or with a wrong one, the
//! consumer's requests served with the key kept from the upstream, and
//! `hash_on: consumer` hashing the authenticated consumer.

use crate::CHAT;
use crate::harness::{Gateway, Script, Upstream, openai_json, post_with};

const JACK_KEY: &str = "jack-secret-key";

fn upstream() -> Upstream {
    Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o", 3, 4),
    })
}

fn keyed_route(up: &Upstream, key_auth: &str) -> String {
    format!(
        "version: \"1\"\nconsumers:\n  - username: jack\n    plugins:\n      key-auth: {{key: {JACK_KEY}}}\n  - username: rose\n    plugins:\n      key-auth: {{key: rose-secret-key}}\nroutes:\n  - id: r\n    uri: /v1/chat/completions\n    plugins:\n      key-auth: {key_auth}\n      ai-proxy: {{provider: openai, auth: {{header: {{Authorization: \"Bearer sk-route\"}}}}, override: {{endpoint: \"http://{}\"}}}}\n",
        up.addr
    )
}

#[test]
fn a_request_without_a_key_is_answered_401_and_never_reaches_the_upstream() {
    let up = upstream();
    let gw = Gateway::start(&keyed_route(&up, "{}"));
    let reply = post_with(gw.addr, "/v1/chat/completions", CHAT, &[]);
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body, r#"{"message":"Missing API key in request"}"#);
    assert_eq!(reply.headers["www-authenticate"], "apikey realm=\"key\"");
    assert!(up.requests().is_empty());
}

#[test]
fn a_request_with_an_unknown_key_is_answered_401() {
    let up = upstream();
    let gw = Gateway::start(&keyed_route(&up, "{}"));
    let reply = post_with(
        gw.addr,
        "/v1/chat/completions",
        CHAT,
        &[("apikey", "not-a-key")],
    );
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body, r#"{"message":"Invalid API key in request"}"#);
    assert!(up.requests().is_empty());
    assert!(!gw.access_log().to_string().contains("not-a-key"));
}

#[test]
fn a_consumers_key_is_served_and_the_upstream_never_sees_it() {
    let up = upstream();
    let gw = Gateway::start(&keyed_route(&up, "{}"));
    let reply = post_with(
        gw.addr,
        "/v1/chat/completions",
        CHAT,
        &[("apikey", JACK_KEY)],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let seen = &up.requests()[0];
    assert_eq!(seen.headers["authorization"], "Bearer sk-route");
    let wire = format!("{seen:?}");
    assert!(!wire.contains(JACK_KEY), "{wire}");
    assert!(!gw.access_log().to_string().contains(JACK_KEY));
}

#[test]
fn the_key_may_come_in_the_query_and_stays_off_the_upstream_url() {
    let up = upstream();
    let gw = Gateway::start(&keyed_route(&up, "{hide_credentials: true}"));
    let path = format!("/v1/chat/completions?apikey={JACK_KEY}&x=1");
    let reply = post_with(gw.addr, &path, CHAT, &[]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let wire = format!("{:?}", up.requests()[0]);
    assert!(!wire.contains(JACK_KEY), "{wire}");
}

#[test]
fn a_configured_header_replaces_apikey() {
    let up = upstream();
    let gw = Gateway::start(&keyed_route(&up, "{header: x-api-key}"));
    let wrong = post_with(
        gw.addr,
        "/v1/chat/completions",
        CHAT,
        &[("apikey", JACK_KEY)],
    );
    assert_eq!(wrong.status, 401);
    let right = post_with(
        gw.addr,
        "/v1/chat/completions",
        CHAT,
        &[("x-api-key", JACK_KEY)],
    );
    assert_eq!(right.status, 200, "{}", right.body);
}

#[test]
fn an_anonymous_consumer_serves_requests_without_a_key() {
    let up = upstream();
    let gw = Gateway::start(&keyed_route(&up, "{anonymous_consumer: rose}"));
    let reply = post_with(gw.addr, "/v1/chat/completions", CHAT, &[]);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn an_anonymous_consumer_that_does_not_exist_is_refused_with_its_path() {
    let up = upstream();
    let doc = ai_proxy_gateway::config::Document::parse(&keyed_route(
        &up,
        "{anonymous_consumer: nobody}",
    ))
    .unwrap();
    let errors = ai_proxy_gateway::Gateway::from_document(&doc).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "routes[0].plugins.key-auth.anonymous_consumer: names no consumer: add 'nobody' to `consumers:`"
    );
}

#[test]
fn a_consumer_plugin_the_gateway_does_not_run_is_refused_with_its_path() {
    let doc = ai_proxy_gateway::config::Document::parse(
        "version: \"1\"\nconsumers:\n  - username: jack\n    plugins:\n      key-auth: {key: k}\n      limit-req: {rate: 1}\nroutes:\n  - uri: /a\n    plugins:\n      key-auth: {}\n      ai-proxy: {provider: openai, auth: {}}\n",
    )
    .unwrap();
    let errors = ai_proxy_gateway::Gateway::from_document(&doc).unwrap_err();
    let text = errors.to_string();
    assert!(
        text.starts_with("consumers[0].plugins.limit-req: plugin not supported by ai-proxy serve"),
        "{text}"
    );
}

/// Eight consumers, each its own key, on a `chash` route hashing on the
/// consumer over two instances.
fn hashed_gateway(a: &Upstream, b: &Upstream) -> Gateway {
    let mut config = String::from("version: \"1\"\nconsumers:\n");
    for i in 0..8 {
        config.push_str(&format!(
            "  - username: user{i}\n    plugins:\n      key-auth: {{key: key-{i}}}\n"
        ));
    }
    config.push_str(&format!(
        "routes:\n  - uri: /v1/chat/completions\n    plugins:\n      key-auth: {{}}\n      ai-proxy-multi:\n        balancer: {{algorithm: chash, hash_on: consumer}}\n        instances:\n          - {{name: a, provider: openai, weight: 1, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n          - {{name: b, provider: openai, weight: 1, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n",
        a.addr, b.addr
    ));
    Gateway::start(&config)
}

#[test]
fn consumer_hashing_sends_each_consumer_to_one_instance() {
    let (a, b) = (upstream(), upstream());
    let gw = hashed_gateway(&a, &b);
    let mut on_a = Vec::new();
    for i in 0..8 {
        let key = format!("key-{i}");
        let before = a.requests().len();
        for _ in 0..4 {
            let reply = post_with(gw.addr, "/v1/chat/completions", CHAT, &[("apikey", &key)]);
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
        let went_to_a = a.requests().len() - before;
        // All four of a consumer's requests on one instance.
        assert!(
            went_to_a == 0 || went_to_a == 4,
            "user{i}: {went_to_a} of 4 on a"
        );
        on_a.push(went_to_a == 4);
    }
    // Every client is 127.0.0.1: consumers split across both instances
    // only because the consumer, not the address, is hashed.
    assert!(on_a.contains(&true) && on_a.contains(&false), "{on_a:?}");
}

#[test]
fn the_key_stays_off_the_upstream_without_hide_credentials_too() {
    let up = upstream();
    let gw = Gateway::start(&keyed_route(&up, "{hide_credentials: false}"));
    let path = format!("/v1/chat/completions?apikey={JACK_KEY}");
    assert_eq!(post_with(gw.addr, &path, CHAT, &[]).status, 200);
    assert_eq!(
        post_with(
            gw.addr,
            "/v1/chat/completions",
            CHAT,
            &[("apikey", JACK_KEY)]
        )
        .status,
        200
    );
    for seen in up.requests() {
        assert!(!format!("{seen:?}").contains(JACK_KEY), "{seen:?}");
    }
}
