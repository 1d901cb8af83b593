//! `ai-prompt-template`, `ai-prompt-decorator` and `ai-prompt-guard` on a
//! gateway route next to `ai-proxy`: the upstream receives exactly the
//! transformed body; a refused prompt never reaches it.

use ai_proxy_gateway::Gateway as Built;
use ai_proxy_gateway::config::Document;

use crate::harness::{Gateway, Script, Upstream, openai_json, post};
use crate::route;

const TEMPLATE: &str = r#"ai-prompt-template: {"templates": [{"name": "explain", "template": {"model": "gpt-4o", "messages": [{"role": "user", "content": "Explain {{ topic }}."}]}}]}"#;
const DECORATOR: &str = r#"ai-prompt-decorator: {"prepend": [{"role": "system", "content": "You are a tutor."}], "append": [{"role": "user", "content": "Be brief."}]}"#;
const GUARD: &str = r#"ai-prompt-guard: {"deny_patterns": ["(?i)password"]}"#;

fn upstream() -> Upstream {
    Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o", 5, 7),
    })
}

/// A route on `uri` with `plugins` (one per line) and `ai-proxy` to `up`.
fn prompt_route(up: &Upstream, uri: &str, provider: &str, plugins: &[&str]) -> String {
    let mut lines: Vec<String> = plugins.iter().map(|p| (*p).to_owned()).collect();
    lines.push(format!(
        "ai-proxy: {{provider: {provider}, auth: {{header: {{Authorization: \"Bearer sk-route\"}}}}, override: {{endpoint: \"http://{}\"}}}}",
        up.addr
    ));
    route(uri, &lines.join("\n      "))
}

#[test]
fn template_decorator_and_guard_reach_the_upstream_as_one_transformed_body() {
    let up = upstream();
    let gw = Gateway::start(&prompt_route(
        &up,
        "/v1/chat/completions",
        "openai",
        &[GUARD, DECORATOR, TEMPLATE],
    ));
    let reply = post(
        gw.addr,
        "/v1/chat/completions",
        r#"{"template_name":"explain","topic":"the \"borrow\" checker ✓"}"#,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let seen = up.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].body,
        r#"{"model":"gpt-4o","messages":[{"role":"system","content":"You are a tutor."},{"role":"user","content":"Explain the \"borrow\" checker ✓."},{"role":"user","content":"Be brief."}]}"#
    );
    assert_eq!(
        seen[0].headers["content-length"],
        seen[0].body.len().to_string()
    );
    assert_eq!(gw.access_log()["llm_total_tokens"], "12");
}

#[test]
fn the_decorator_leaves_every_other_byte_of_the_client_body_as_sent() {
    let up = upstream();
    let gw = Gateway::start(&prompt_route(
        &up,
        "/v1/chat/completions",
        "openai",
        &[DECORATOR],
    ));
    let body = r#"{ "model" : "gpt-4o", "temperature":0.50, "x_unknown":{"k":[1,2e3]},"messages":[ {"role":"user","content":"caf\u00e9"} ] }"#;
    let reply = post(gw.addr, "/v1/chat/completions", body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        up.requests()[0].body,
        r#"{ "model" : "gpt-4o", "temperature":0.50, "x_unknown":{"k":[1,2e3]},"messages":[{"role":"system","content":"You are a tutor."}, {"role":"user","content":"caf\u00e9"} ,{"role":"user","content":"Be brief."}] }"#
    );
}

#[test]
fn a_denied_prompt_is_refused_and_never_reaches_the_upstream() {
    let up = upstream();
    let gw = Gateway::start(&prompt_route(
        &up,
        "/v1/chat/completions",
        "openai",
        // The decorator appends a user message, and by default the guard
        // reads only the latest user block (APISIX's): the whole history.
        &[
            DECORATOR,
            r#"ai-prompt-guard: {"match_all_conversation_history": true, "deny_patterns": ["(?i)password"]}"#,
        ],
    ));
    let reply = post(
        gw.addr,
        "/v1/chat/completions",
        r#"{"model":"gpt-4o","messages":[{"role":"user","content":"my Password is hunter2"}]}"#,
    );
    assert_eq!(reply.status, 400);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(
        reply.body,
        r#"{"message":"Request contains prohibited content"}"#
    );
    assert!(up.requests().is_empty());
    assert_eq!(gw.access_log()["status"], 400);
}

#[test]
fn the_guard_checks_the_rendered_template_as_apisix_runs_rewrite_before_access() {
    let up = upstream();
    let gw = Gateway::start(&prompt_route(
        &up,
        "/v1/chat/completions",
        "openai",
        &[GUARD, TEMPLATE],
    ));
    let reply = post(
        gw.addr,
        "/v1/chat/completions",
        r#"{"template_name":"explain","topic":"the admin PASSWORD"}"#,
    );
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        r#"{"message":"Request contains prohibited content"}"#
    );
    assert!(up.requests().is_empty());
}

#[test]
fn a_template_the_route_does_not_have_is_apisixs_400() {
    let up = upstream();
    let gw = Gateway::start(&prompt_route(
        &up,
        "/v1/chat/completions",
        "openai",
        &[TEMPLATE],
    ));
    let reply = post(
        gw.addr,
        "/v1/chat/completions",
        r#"{"template_name":"nope"}"#,
    );
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        r#"{"message":"template: nope not configured."}"#
    );
    assert!(up.requests().is_empty());
}

#[test]
fn anthropic_clients_get_system_prompts_in_the_system_field() {
    let up = Upstream::start(|_| {
        Script::Reply {
        status: 200,
        content_type: "application/json",
        body: r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}"#.to_owned(),
    }
    });
    let gw = Gateway::start(&prompt_route(
        &up,
        "/v1/messages",
        "anthropic",
        &[DECORATOR],
    ));
    let reply = post(
        gw.addr,
        "/v1/messages",
        r#"{"model":"claude-sonnet-4","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        up.requests()[0].body,
        r#"{"model":"claude-sonnet-4","max_tokens":64,"messages":[{"role":"user","content":"hi"},{"role":"user","content":"Be brief."}],"system":[{"type":"text","text":"You are a tutor."}]}"#
    );
}

#[test]
fn prompt_plugin_config_errors_carry_their_route_path() {
    let doc = Document::parse(&route(
        "/v1/chat/completions",
        "ai-prompt-guard: {\"deny_patterns\": [\"(unclosed\"]}\n      ai-prompt-decorator: {}\n      ai-proxy: {provider: openai, auth: {}}",
    ))
    .unwrap();
    let errors = Built::from_document(&doc).unwrap_err();
    let lines: Vec<String> = errors.errors().iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("routes[0].plugins.ai-prompt-guard.deny_patterns[0]: ")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("routes[0].plugins.ai-prompt-decorator")),
        "{lines:?}"
    );
}
