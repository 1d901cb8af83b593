//! The AI pipeline plugins' configs: APISIX master's schema cases
//! (t/plugin/ai-prompt-decorator.t, ai-prompt-template.t, ai-prompt-guard.t,
//! ai-aws-content-moderation.t at apache/apisix f519a0f0) and every error
//! located by its JSON path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use ai_proxy_core::config::*;
use serde_json::json;

fn errors<T: std::fmt::Debug>(result: Result<T, ConfigErrors>) -> Vec<String> {
    result
        .unwrap_err()
        .errors()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn decorator_takes_prepend_append_and_the_body_limit() {
    let c = PromptDecoratorConfig::from_json(
        r#"{"prepend":[{"role":"system","content":"some prepend"}],
            "append":[{"role":"user","content":"some append"}],"max_req_body_size":1024}"#,
    )
    .unwrap();
    assert_eq!(
        c.prepend,
        [PromptMessage::new(PromptRole::System, "some prepend")]
    );
    assert_eq!(
        c.append,
        [PromptMessage::new(PromptRole::User, "some append")]
    );
    assert_eq!(c.max_req_body_size, 1024);
}

// t/plugin/ai-prompt-decorator.t TEST 8: neither append nor prepend.
#[test]
fn decorator_without_prepend_or_append_is_refused() {
    assert_eq!(
        errors(PromptDecoratorConfig::from_json("{}")),
        ["needs `prepend` or `append` (or both): the messages to put around the client's"]
    );
}

#[test]
fn decorator_accepts_an_empty_list_as_apisix_does() {
    let c = PromptDecoratorConfig::from_json(r#"{"prepend":[]}"#).unwrap();
    assert!(c.prepend.is_empty() && c.append.is_empty());
    assert_eq!(c.max_req_body_size, DEFAULT_MAX_REQ_BODY_SIZE);
}

#[test]
fn decorator_messages_are_checked_with_their_paths() {
    assert_eq!(
        errors(PromptDecoratorConfig::from_json(
            r#"{"append":[{"role":"tool","content":"x"},{"content":""},"text",{"role":"user","content":"x","name":"n"}],
                "max_req_body_size":0,"extra":1}"#
        )),
        [
            "extra: unknown field `extra`, expected one of: prepend, append, max_req_body_size",
            "append[0].role: must be one of: system, user, assistant, got `tool`",
            "append[1].role: is required",
            "append[1].content: must not be empty",
            "append[2]: must be an object, got a string",
            "append[3].name: unknown field `name`, expected one of: role, content",
            "max_req_body_size: must be ≥ 1, got 0",
        ]
    );
}

#[test]
fn template_keeps_each_template_body_as_configured() {
    let c = PromptTemplateConfig::from_json(
        r#"{"templates":[{"name":"programming question","template":{
            "model":"some model","temperature":0.2,
            "messages":[{"role":"system","content":"You are a {{ language }} programmer."}]}}]}"#,
    )
    .unwrap();
    assert_eq!(c.templates[0].name, "programming question");
    let keys: Vec<&str> = c.templates[0].template.keys().map(String::as_str).collect();
    assert_eq!(keys, ["model", "temperature", "messages"]);
}

// t/plugin/ai-prompt-template.t TEST 2: no templates.
#[test]
fn template_needs_at_least_one_template() {
    assert_eq!(
        errors(PromptTemplateConfig::from_json(r#"{"templates":[]}"#)),
        ["templates: must have at least one template"]
    );
    assert_eq!(
        errors(PromptTemplateConfig::from_json("{}")),
        ["templates: is required: at least one {\"name\": …, \"template\": {…}}"]
    );
}

#[test]
fn template_entries_are_checked_with_their_paths() {
    assert_eq!(
        errors(PromptTemplateConfig::from_json(
            r#"{"templates":[{"name":""},{"name":"a","template":{"model":"","messages":[]}},
                             {"name":"b","template":[]}]}"#
        )),
        [
            "templates[0].name: must not be empty",
            "templates[0].template: is required: the request body to send, e.g. {\"model\": …, \"messages\": […]}",
            "templates[1].template.model: must not be empty",
            "templates[1].template.messages: must have at least 1 message",
            "templates[2].template: must be an object, got an array",
        ]
    );
}

#[test]
fn guard_defaults_are_apisix_s() {
    let c = PromptGuardConfig::from_json("{}").unwrap();
    assert!(!c.match_all_roles && !c.match_all_conversation_history);
    assert!(c.allow_patterns.is_empty() && c.deny_patterns.is_empty());
    assert_eq!(c.fail_mode, FailMode::Skip);
    assert_eq!(c.max_req_body_size, DEFAULT_MAX_REQ_BODY_SIZE);
}

#[test]
fn guard_fields_are_checked_with_their_paths() {
    assert_eq!(
        errors(PromptGuardConfig::from_json(
            r#"{"deny_patterns":["a",1],"allow_patterns":"a","match_all_roles":"yes","fail_mode":"closed"}"#
        )),
        [
            "match_all_roles: must be a boolean, got a string",
            "allow_patterns: must be an array of strings, got a string",
            "deny_patterns[1]: must be a string, got an integer",
            "fail_mode: must be one of: skip, warn, error, got `closed`",
        ]
    );
}

fn moderation(extra: serde_json::Value) -> Result<AwsContentModerationConfig, ConfigErrors> {
    let mut config = json!({
        "comprehend": {"access_key_id": "a", "secret_access_key": "s", "region": "us-east-1"}
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    AwsContentModerationConfig::from_value(&config)
}

#[test]
fn moderation_defaults_are_apisix_s() {
    let c = moderation(json!({})).unwrap();
    assert_eq!(c.moderation_threshold, 0.5);
    assert!(c.moderation_categories.is_empty());
    assert!(c.check_request);
    assert_eq!(c.request_check_roles, RoleSet::ALL);
    assert_eq!(c.request_check_mode, CheckMode::All);
    // TEST 45: "defaults: 1000 1000 10000 on 60000".
    assert_eq!(c.request_check_length_limit, 1000);
    assert_eq!(
        (c.timeout_ms, c.keepalive, c.keepalive_timeout_ms),
        (10_000, true, 60_000)
    );
    assert_eq!(c.deny_code, 200);
    assert_eq!(c.deny_message, None);
    assert_eq!(c.fail_mode, FailMode::Skip);
    assert_eq!(c.comprehend.region, "us-east-1");
    assert_eq!(c.comprehend.endpoint, None);
    assert!(c.comprehend.ssl_verify);
    // Credentials never print.
    assert!(!format!("{c:?}").contains("\"s\""));
}

// t/plugin/ai-aws-content-moderation.t TEST 17.
#[test]
fn moderation_deny_code_is_200_to_599() {
    assert!(moderation(json!({"deny_code": 199})).is_err());
    assert!(moderation(json!({"deny_code": 600})).is_err());
    assert_eq!(
        moderation(json!({"deny_code": 403})).unwrap().deny_code,
        403
    );
}

// TEST 30: the streaming knobs keep APISIX's limits.
#[test]
fn moderation_streaming_knobs_are_validated() {
    assert!(moderation(json!({"stream_check_mode": "eventually"})).is_err());
    assert!(moderation(json!({"stream_check_cache_size": 0})).is_err());
    assert!(moderation(json!({"stream_check_interval": 0.01})).is_err());
    assert!(
        moderation(json!({"stream_check_mode": "realtime", "stream_check_interval": 0.5})).is_ok()
    );
}

// TEST 45: segment limits are bounded by Comprehend's 1 KB cap and one
// UTF-8 character.
#[test]
fn moderation_length_limits_are_4_to_1024_bytes() {
    for (field, n, ok) in [
        ("request_check_length_limit", 1025, false),
        ("response_check_length_limit", 1025, false),
        ("request_check_length_limit", 0, false),
        ("request_check_length_limit", 3, false),
        ("response_check_length_limit", 4, true),
        ("request_check_length_limit", 1024, true),
    ] {
        assert_eq!(moderation(json!({ field: n })).is_ok(), ok, "{field} {n}");
    }
}

// TEST 62.
#[test]
fn moderation_roles_and_mode_are_validated() {
    assert!(moderation(json!({"request_check_roles": ["developer"]})).is_err());
    assert!(moderation(json!({"request_check_roles": []})).is_err());
    assert_eq!(
        errors(moderation(json!({"request_check_roles": ["user", "user"]}))),
        ["request_check_roles[1]: is listed twice; roles must be unique"]
    );
    assert!(moderation(json!({"request_check_mode": "latest"})).is_err());
    let c = moderation(json!({"request_check_roles": ["assistant"]})).unwrap();
    assert!(c.request_check_roles.assistant && !c.request_check_roles.user);
    let c = moderation(
        json!({"request_check_roles": ["tool", "system"], "request_check_mode": "last"}),
    )
    .unwrap();
    assert_eq!(c.request_check_mode, CheckMode::Last);
    assert!(c.request_check_roles.tool && c.request_check_roles.system);
    assert!(!c.request_check_roles.any_turn() || c.request_check_roles.tool);
}

#[test]
fn moderation_categories_take_apisix_s_names_and_0_to_1() {
    let c = moderation(json!({"moderation_categories": {"PROFANITY": 0.7, "INSULT": 0}})).unwrap();
    assert_eq!(
        c.moderation_categories,
        [
            (ToxicCategory::Profanity, 0.7),
            (ToxicCategory::Insult, 0.0)
        ]
    );
    assert_eq!(
        errors(moderation(
            json!({"moderation_categories": {"GRAPHIC": 0.5, "SEXUAL": 2}})
        )),
        [
            "moderation_categories.GRAPHIC: unknown category `GRAPHIC`, expected one of: PROFANITY, \
             HATE_SPEECH, INSULT, HARASSMENT_OR_ABUSE, SEXUAL, VIOLENCE_OR_THREAT",
            "moderation_categories.SEXUAL: must be between 0 and 1, got 2",
        ]
    );
}

#[test]
fn moderation_needs_credentials_and_region() {
    assert_eq!(
        errors(AwsContentModerationConfig::from_json(
            r#"{"comprehend":{"region":1}}"#
        )),
        [
            "comprehend.access_key_id: is required",
            "comprehend.secret_access_key: is required",
            "comprehend.region: must be a string, got an integer",
        ]
    );
    assert_eq!(
        errors(AwsContentModerationConfig::from_json("{}")),
        [
            "comprehend: is required: {\"access_key_id\": …, \"secret_access_key\": …, \"region\": …}"
        ]
    );
}

#[test]
fn moderation_endpoint_is_an_http_url() {
    let c = moderation(json!({})).unwrap();
    assert!(c.comprehend.endpoint.is_none());
    let with = |endpoint: &str| {
        AwsContentModerationConfig::from_value(&json!({"comprehend": {
            "access_key_id": "a", "secret_access_key": "s", "region": "us-east-1",
            "endpoint": endpoint, "session_token": "t"}}))
    };
    let c = with("http://localhost:2668").unwrap();
    assert_eq!(
        c.comprehend.endpoint.unwrap().as_str(),
        "http://localhost:2668/"
    );
    assert_eq!(c.comprehend.session_token.unwrap().expose(), "t");
    assert_eq!(
        errors(with("localhost:2668")),
        [
            "comprehend.endpoint: must start with http:// or https:// (e.g. https://comprehend.us-east-1.amazonaws.com)"
        ]
    );
}

// Response moderation is not run here: asking for it is refused, not
// silently served without it.
#[test]
fn moderation_refuses_check_response() {
    assert_eq!(
        errors(moderation(json!({"check_response": true}))),
        [
            "check_response: response moderation is not supported by this library; set check_response \
          to false (request moderation still runs), or serve the route with APISIX"
        ]
    );
    assert!(moderation(json!({"check_response": false})).is_ok());
}

#[test]
fn moderation_region_becomes_a_host_name() {
    let errors = errors(AwsContentModerationConfig::from_value(
        &json!({"comprehend": {
        "access_key_id": "a", "secret_access_key": "s", "region": "us-east-1/evil"}}),
    ));
    assert_eq!(
        errors,
        [
            "comprehend.region: must be a region name such as us-central1 or us-east-1 (letters, \
          digits and `-`); it becomes part of the host name"
        ]
    );
}
