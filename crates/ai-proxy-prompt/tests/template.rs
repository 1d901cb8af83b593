//! `ai-prompt-template`: APISIX's cases (t/plugin/ai-prompt-template.t at
//! apache/apisix f519a0f0), then the JSON-safe filling this implementation
//! does on purpose (APISIX HTML-escapes values) and its refusals.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use ai_proxy_core::prepare::BodyError;
use ai_proxy_prompt::{PromptError, PromptTemplate};
use serde_json::{Value, json};

/// TEST 1 / TEST 4's route.
fn programming() -> PromptTemplate {
    PromptTemplate::from_value(&json!({"templates": [
        {"name": "programming question", "template": {"model": "some model", "messages": [
            {"role": "system", "content": "You are a {{ language }} programmer."},
            {"role": "user", "content": "Write a {{ program_name }} program."}]}},
        {"name": "level of detail", "template": {"model": "some model", "messages": [
            {"role": "user", "content": "Explain about {{ topic }} in {{ level }}."}]}}
    ]}))
    .unwrap()
}

fn render(t: &PromptTemplate, body: Value) -> Result<String, PromptError> {
    t.apply(body.to_string().as_bytes())
        .map(|b| String::from_utf8(b.to_vec()).unwrap())
}

fn render_json(t: &PromptTemplate, body: Value) -> Value {
    serde_json::from_str(&render(t, body).unwrap()).unwrap()
}

// TEST 3.
#[test]
fn the_named_template_is_filled_from_the_body() {
    let out = render_json(
        &programming(),
        json!({"template_name": "programming question", "language": "python", "program_name": "quick sort"}),
    );
    assert_eq!(
        out,
        json!({"model": "some model", "messages": [
            {"role": "system", "content": "You are a python programmer."},
            {"role": "user", "content": "Write a quick sort program."}]})
    );
}

// TEST 5.
#[test]
fn a_second_template_is_selected_by_name() {
    let out = render_json(
        &programming(),
        json!({"template_name": "level of detail", "topic": "psychology", "level": "brief"}),
    );
    assert_eq!(
        out,
        json!({"model": "some model", "messages": [
            {"role": "user", "content": "Explain about psychology in brief."}]})
    );
}

// TEST 6: missing values are empty.
#[test]
fn missing_values_render_empty() {
    let out = render_json(
        &programming(),
        json!({"template_name": "level of detail", "topic-missing": "psychology", "level-missing": "brief"}),
    );
    assert_eq!(out["messages"][0]["content"], "Explain about  in .");
}

// TEST 7.
#[test]
fn an_unknown_template_is_refused() {
    let e = render(
        &programming(),
        json!({"template_name": "random", "some-key": "some-value"}),
    )
    .unwrap_err();
    assert_eq!(e.status(), 400);
    assert_eq!(
        e.body(),
        r#"{"message":"template: random not configured."}"#
    );
}

// TEST 8.
#[test]
fn a_body_without_template_name_is_refused() {
    for body in [
        json!({"missing-template-name": "haha"}),
        json!({"template_name": null}),
        json!([1]),
    ] {
        let e = render(&programming(), body).unwrap_err();
        assert_eq!(
            e.body(),
            r#"{"message":"template name is missing in request."}"#
        );
    }
}

// TEST 9: same template name on different routes.
#[test]
fn templates_of_different_routes_do_not_mix() {
    let routes: Vec<PromptTemplate> = (1..=5)
        .map(|i| {
            PromptTemplate::from_value(&json!({"templates": [{"name": "same name", "template": {
                "model": "some model",
                "messages": [{"role": "system", "content": format!("Field: {{{{ field }}}} in route{i}.")}]}}]}))
            .unwrap()
        })
        .collect();
    for (i, t) in routes.iter().enumerate() {
        let out = render_json(t, json!({"template_name": "same name", "field": "foo"}));
        assert_eq!(
            out["messages"][0]["content"],
            format!("Field: foo in route{}.", i + 1)
        );
    }
}

// The deliberate difference: values arrive exactly as sent (APISIX's
// lua-resty-template HTML-escapes them: `the &quot;borrow&quot; checker`).
#[test]
fn values_reach_the_upstream_exactly_as_sent() {
    let t = programming();
    for value in [
        "the \"borrow\" checker",
        "line one\nline two\t<tab> & 'quotes' \\ back\\slash",
        "Ünïcödé ✓ 日本語 😀",
        "{{ language }} stays text",
        "</script><script>alert(1)</script>",
    ] {
        let out = render_json(
            &t,
            json!({"template_name": "programming question", "language": value, "program_name": "x"}),
        );
        assert_eq!(
            out["messages"][0]["content"],
            format!("You are a {value} programmer.")
        );
    }
}

#[test]
fn string_escapes_are_copied_not_decoded() {
    let out = programming()
        .apply(br#"{"template_name":"programming question","language":"a\u00e9\/b","program_name":"q"}"#)
        .unwrap();
    assert_eq!(
        out,
        r#"{"model":"some model","messages":[{"role":"system","content":"You are a a\u00e9\/b programmer."},{"role":"user","content":"Write a q program."}]}"#
    );
}

#[test]
fn numbers_booleans_objects_and_nested_members() {
    let t = PromptTemplate::from_value(&json!({"templates": [{"name": "t", "template": {
        "model": "{{ model }}", "n": "{{n}}/{{ flag }}", "obj": "{{ obj }}", "deep": "{{ user.name }}-{{ user.missing.x }}",
        "messages": [{"role": "user", "content": "{{ list }}"}]}}]}))
    .unwrap();
    let out = render_json(
        &t,
        json!({"template_name": "t", "model": "gpt-4o", "n": 1.5, "flag": true,
               "obj": {"a": "\"q\""}, "user": {"name": "Ada"}, "list": [1, "two"]}),
    );
    assert_eq!(
        out,
        json!({"model": "gpt-4o", "n": "1.5/true", "obj": r#"{"a":"\"q\""}"#, "deep": "Ada-",
               "messages": [{"role": "user", "content": r#"[1,"two"]"#}]})
    );
}

#[test]
fn other_template_members_and_their_order_are_kept() {
    let t = PromptTemplate::from_value(&json!({"templates": [{"name": "t", "template": {
        "temperature": 0.2, "model": "m", "stream": true, "messages": [{"role": "user", "content": "hi {{x}}"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}}]}))
    .unwrap();
    assert_eq!(
        t.apply(br#"{"template_name":"t","x":"there","stream":false}"#)
            .unwrap(),
        r#"{"temperature":0.2,"model":"m","stream":true,"messages":[{"role":"user","content":"hi there"}],"tools":[{"type":"function","function":{"name":"f","parameters":{}}}]}"#
    );
}

#[test]
fn an_escaped_or_unclosed_tag_is_text() {
    let t = PromptTemplate::from_value(&json!({"templates": [{"name": "t", "template": {
        "messages": [{"role": "user", "content": "\\{{ x }} and {{ x }} and {{ open"}]}}]}))
    .unwrap();
    let out = render_json(&t, json!({"template_name": "t", "x": "X"}));
    assert_eq!(out["messages"][0]["content"], "{{ x }} and X and {{ open");
}

#[test]
fn placeholders_other_than_member_paths_are_refused_at_load() {
    let errors = PromptTemplate::from_value(&json!({"templates": [{"name": "t", "template": {
        "messages": [{"role": "user", "content": "{{ a + b }}"}, {"role": "user", "content": "{% for i in x %}"}]}}]}))
    .unwrap_err();
    let lines: Vec<String> = errors.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "templates[0].template.messages[0].content: unsupported placeholder `{{a + b}}`: only \
             {{ name }} or {{ name.field }} (a member of the client's body) can be filled; write \\{{ \
             for a literal {{",
            "templates[0].template.messages[1].content: lua-resty-template's `{%` tags are not \
             supported in templates; only {{ name }} placeholders are filled",
        ]
    );
}

#[test]
fn a_non_string_template_name_is_not_configured() {
    let e = render(&programming(), json!({"template_name": 5})).unwrap_err();
    assert_eq!(e.to_string(), "template: 5 not configured.");
    let long = "n".repeat(1000);
    let e = render(&programming(), json!({ "template_name": long })).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("template: {} not configured.", "n".repeat(256))
    );
}

#[test]
fn unreadable_bodies_get_apisix_s_messages() {
    let t = programming();
    assert_eq!(
        t.apply(b"").unwrap_err(),
        PromptError::Body(BodyError::Empty)
    );
    assert!(matches!(
        t.apply(b"{").unwrap_err(),
        PromptError::Body(BodyError::InvalidJson { .. })
    ));
    let small = PromptTemplate::from_value(&json!({"max_req_body_size": 8, "templates": [
        {"name": "t", "template": {"model": "m"}}]}))
    .unwrap();
    assert_eq!(
        small.apply(br#"{"template_name":"t"}"#).unwrap_err(),
        PromptError::Body(BodyError::TooLarge { size: 21, max: 8 })
    );
}
