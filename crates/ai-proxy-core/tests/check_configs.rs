//! The configuration model as a specification: every documented mistake is reported at its exact JSON path, defaults
//! are APISIX's, and no credential ever reaches an error or a Debug string.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ai_proxy_core::config::{AiProxyConfig, AiProxyMultiConfig, ConfigErrorKind};
use ai_proxy_core::{Protocol, Provider};

#[test]
fn defaults_are_apisix_defaults() {
    let c = AiProxyConfig::from_json(r#"{"provider":"openai","auth":{}}"#).unwrap();
    assert_eq!(c.upstream.provider, Provider::OpenAi);
    assert!(c.upstream.auth.header.is_empty());
    assert!(c.upstream.auth.query.is_empty());
    assert!(c.upstream.auth.gcp.is_none());
    assert!(c.upstream.options.is_empty());
    assert_eq!(c.upstream.options.stream, None);
    assert_eq!(c.upstream.overrides.endpoint, None);
    assert_eq!(c.upstream.overrides.llm_options.max_tokens, None);
    assert!(c.upstream.overrides.request_body.is_empty());
    assert!(!c.upstream.overrides.request_body_force_override);
    assert_eq!(c.upstream.provider_conf, None);
    assert!(!c.logging.summaries);
    assert!(!c.logging.payloads);
    assert_eq!(c.transport.timeout_ms, 30_000);
    assert!(c.transport.keepalive);
    assert_eq!(c.transport.keepalive_timeout_ms, 60_000);
    assert_eq!(c.transport.keepalive_pool, 30);
    assert!(c.transport.ssl_verify);
    assert_eq!(c.limits.max_req_body_size, 67_108_864);
    assert_eq!(c.limits.max_stream_duration_ms, None);
    assert_eq!(c.limits.max_response_bytes, None);
    assert_eq!(c.limits.streaming_flush_interval_ms, 10);
}

#[test]
fn gcp_expire_early_secs_defaults_to_60() {
    let c = AiProxyConfig::from_json(
        r#"{"provider":"vertex-ai","auth":{"gcp":{}},"provider_conf":{"project_id":"p","region":"us-central1"}}"#,
    )
    .unwrap();
    let gcp = c.upstream.auth.gcp.unwrap();
    assert_eq!(gcp.expire_early_secs, 60);
    assert_eq!(gcp.max_ttl, None);
    assert!(gcp.service_account_json.is_none());
}

#[test]
fn multi_defaults() {
    let c = AiProxyMultiConfig::from_json(
        r#"{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{}}]}"#,
    )
    .unwrap();
    assert_eq!(c.instances[0].priority, 0);
    assert_eq!(c.balancer, Default::default());
    assert_eq!(c.fallback_strategy, Default::default());
    assert!(c.fallback_http_statuses.is_empty());
    assert_eq!(c.max_retries, None);
    assert_eq!(c.retry_on_failure_within_ms, None);
    assert_eq!(c.transport.timeout_ms, 30_000);
}

#[test]
fn options_keep_every_field_in_order_with_typed_views() {
    let c = AiProxyConfig::from_json(
        r#"{"provider":"openai","auth":{},"options":{"model":"gpt-4","foo":"bar","temperature":0.5,"n":{"x":[1,2]},"stream":true}}"#,
    )
    .unwrap();
    let o = &c.upstream.options;
    let fields: Vec<_> = o
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.get()))
        .collect();
    assert_eq!(
        fields,
        [
            ("model", "\"gpt-4\""),
            ("foo", "\"bar\""),
            ("temperature", "0.5"),
            ("n", "{\"x\":[1,2]}"),
            ("stream", "true")
        ]
    );
    assert_eq!(o.model.as_deref(), Some("gpt-4"));
    assert_eq!(o.temperature, Some(0.5));
    assert_eq!(o.stream, Some(true));
}

#[test]
fn endpoint_records_whether_a_path_was_given() {
    let has_path = |ep: &str| {
        let text = format!(
            r#"{{"provider":"openai-compatible","auth":{{}},"override":{{"endpoint":"{ep}"}}}}"#
        );
        AiProxyConfig::from_json(&text)
            .unwrap()
            .upstream
            .overrides
            .endpoint
            .unwrap()
            .has_path
    };
    assert!(!has_path("http://127.0.0.1:1980"));
    assert!(!has_path("http://127.0.0.1:1980?x=1"));
    assert!(has_path("https://h/"));
    assert!(has_path("http://127.0.0.1:1980/random"));
}

#[test]
fn request_body_overrides_are_keyed_by_protocol() {
    let c = AiProxyConfig::from_json(
        r#"{"provider":"openai","auth":{},"override":{"request_body":{"openai-chat":{"stream_options":{"extra":1}},"anthropic-messages":{"max_tokens":9}},"request_body_force_override":true}}"#,
    )
    .unwrap();
    let keys: Vec<_> = c
        .upstream
        .overrides
        .request_body
        .iter()
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(keys, [Protocol::OpenAiChat, Protocol::AnthropicMessages]);
    assert!(c.upstream.overrides.request_body_force_override);
}

/// `(config, [(expected path, message fragment)])`, `multi` picks the parser.
struct Case {
    multi: bool,
    config: &'static str,
    expected: &'static [(&'static str, &'static str)],
}

const fn single(config: &'static str, expected: &'static [(&'static str, &'static str)]) -> Case {
    Case {
        multi: false,
        config,
        expected,
    }
}

const fn multi(config: &'static str, expected: &'static [(&'static str, &'static str)]) -> Case {
    Case {
        multi: true,
        config,
        expected,
    }
}

const INVALID: &[Case] = &[
    single(r#"{"auth":{}}"#, &[("provider", "is required")]),
    single(
        r#"{"provider":"some-unique","auth":{}}"#,
        &[("provider", "unknown provider `some-unique`")],
    ),
    single(
        r#"{"provider":"opnai","auth":{}}"#,
        &[("provider", "did you mean `openai`?")],
    ),
    single(
        r#"{"provider":"bedrock","auth":{}}"#,
        &[
            (
                "provider_conf.region",
                "bedrock requires provider_conf.region",
            ),
            ("auth.aws", "bedrock requires auth.aws"),
        ],
    ),
    single(
        r#"{"provider":"bedrock","auth":{},"provider_conf":{"region":"us-east-1"}}"#,
        &[("auth.aws", "bedrock requires auth.aws")],
    ),
    single(
        r#"{"provider":"bedrock","auth":{"aws":{"access_key_id":""}},"provider_conf":{"region":"us-east-1"}}"#,
        &[
            ("auth.aws.access_key_id", "must not be empty"),
            ("auth.aws.secret_access_key", "is required"),
        ],
    ),
    single(
        r#"{"provider":"bedrock","auth":{"aws":{"access_key_id":"AKIA","secret_access_key":"s","token":"t"}},"provider_conf":{"region":"us-east-1"}}"#,
        &[(
            "auth.aws.token",
            "unknown field `token`, expected one of: access_key_id, secret_access_key, session_token",
        )],
    ),
    single(
        r#"{"provider":"bedrock","auth":{"aws":{"access_key_id":"AKIA","secret_access_key":"s"}},"provider_conf":{"region":"us east"}}"#,
        &[("provider_conf.region", "must be a region name")],
    ),
    single(
        r#"{"provider":7,"auth":{}}"#,
        &[("provider", "must be a string, got an integer")],
    ),
    single(r#"{"provider":"openai"}"#, &[("auth", "is required")]),
    single(
        r#"{"provider":"openai","auth":[]}"#,
        &[("auth", "must be an object")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"timout":5}"#,
        &[("timout", "unknown field `timout`, did you mean `timeout`?")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"timeout":0}"#,
        &[("timeout", "must be ≥ 1")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"timeout":600001}"#,
        &[("timeout", "must be ≤ 600000")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"timeout":"30s"}"#,
        &[("timeout", "must be an integer, got a string")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"keepalive_timeout":999}"#,
        &[("keepalive_timeout", "must be ≥ 1000")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"keepalive_pool":0}"#,
        &[("keepalive_pool", "must be ≥ 1")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"keepalive":"yes"}"#,
        &[("keepalive", "must be a boolean")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"ssl_verify":1}"#,
        &[("ssl_verify", "must be a boolean")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"max_stream_duration_ms":0}"#,
        &[("max_stream_duration_ms", "must be ≥ 1")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"max_response_bytes":-5}"#,
        &[("max_response_bytes", "must be ≥ 1")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"options":{"temperature":"hot"}}"#,
        &[("options.temperature", "must be a number")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"options":{"top_p":"x"}}"#,
        &[("options.top_p", "must be a number")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"options":{"max_tokens":0}}"#,
        &[("options.max_tokens", "must be ≥ 1")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"options":{"max_tokens":1.5}}"#,
        &[("options.max_tokens", "must be an integer")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"options":{"stream":"true"}}"#,
        &[("options.stream", "must be a boolean")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"options":{"model":3}}"#,
        &[("options.model", "must be a string")],
    ),
    single(
        r#"{"provider":"openai","auth":{"headers":{}}}"#,
        &[("auth.headers", "did you mean `header`?")],
    ),
    single(
        r#"{"provider":"openai","auth":{"header":{"Authorization":5}}}"#,
        &[("auth.header.Authorization", "must be a string")],
    ),
    single(
        r#"{"provider":"openai","auth":{"header":{"bad name":"x"}}}"#,
        &[("auth.header.bad name", "^[a-zA-Z0-9._-]+$")],
    ),
    single(
        r#"{"provider":"openai","auth":{"header":{"Host":"x"}}}"#,
        &[("auth.header.Host", "the gateway sets it")],
    ),
    single(
        r#"{"provider":"openai","auth":{"query":{"key":["a"]}}}"#,
        &[("auth.query.key", "must be a string")],
    ),
    single(
        r#"{"provider":"vertex-ai","auth":{"gcp":{"max_ttl":0}},"provider_conf":{"project_id":"p","region":"r"}}"#,
        &[("auth.gcp.max_ttl", "must be ≥ 1")],
    ),
    single(
        r#"{"provider":"vertex-ai","auth":{"gcp":{"service_account_json":"{ ... }"}},"provider_conf":{"project_id":"p","region":"r"}}"#,
        &[(
            "auth.gcp.service_account_json",
            "invalid gcp service_account_json",
        )],
    ),
    single(
        r#"{"provider":"vertex-ai","auth":{}}"#,
        &[(
            "provider_conf",
            "vertex-ai needs project_id and region, or override.endpoint",
        )],
    ),
    single(
        r#"{"provider":"vertex-ai","auth":{},"provider_conf":{"project_id":"p"}}"#,
        &[("provider_conf", "vertex-ai needs project_id and region")],
    ),
    single(
        r#"{"provider":"vertex-ai","auth":{},"provider_conf":{"project_id":"","region":"us-central1"}}"#,
        &[
            ("provider_conf.project_id", "must not be empty"),
            ("provider_conf", "vertex-ai needs"),
        ],
    ),
    single(
        r#"{"provider":"azure-openai","auth":{}}"#,
        &[("override.endpoint", "azure-openai needs override.endpoint")],
    ),
    single(
        r#"{"provider":"openai-compatible","auth":{}}"#,
        &[(
            "override.endpoint",
            "openai-compatible needs override.endpoint",
        )],
    ),
    single(
        r#"{"provider":"openai","auth":{},"override":{"endpoint":"http//127.0.0.1:1980"}}"#,
        &[("override.endpoint", "absolute http:// or https:// URL")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"override":{"endpoint":"ftp://h/x"}}"#,
        &[("override.endpoint", "scheme `ftp`")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"override":{"endpoint":"https://user:pw@h/x"}}"#,
        &[("override.endpoint", "must not carry credentials")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"override":{"llm_options":{"temperature":1}}}"#,
        &[(
            "override.llm_options.temperature",
            "unknown field `temperature`",
        )],
    ),
    single(
        r#"{"provider":"openai","auth":{},"override":{"llm_options":{"max_tokens":0}}}"#,
        &[("override.llm_options.max_tokens", "must be ≥ 1")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"override":{"request_body":{"not-a-protocol":{}}}}"#,
        &[("override.request_body.not-a-protocol", "unknown protocol")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"override":{"request_body":{"openai-chat":[1]}}}"#,
        &[("override.request_body.openai-chat", "must be an object")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"logging":{"summary":true}}"#,
        &[("logging.summary", "did you mean `summaries`?")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"provider_conf":{"region":"us central"}}"#,
        &[("provider_conf.region", "must be a region name")],
    ),
    single(
        r#"{"provider":"openai","auth":{},"timeout":0,"options":{"stream":1},"logging":{"payloads":"no"}}"#,
        &[
            ("options.stream", "must be a boolean"),
            ("logging.payloads", "must be a boolean"),
            ("timeout", "must be ≥ 1"),
        ],
    ),
    multi(r#"{}"#, &[("instances", "is required")]),
    multi(r#"{"instances":[]}"#, &[("instances", "at least one")]),
    multi(
        r#"{"instances":[{"name":"a","provider":"openai","auth":{}}]}"#,
        &[("instances[0].weight", "is required")],
    ),
    multi(
        r#"{"instances":[{"name":"a","provider":"openai","weight":-1,"auth":{}}]}"#,
        &[("instances[0].weight", "must be ≥ 0")],
    ),
    multi(
        r#"{"instances":[{"name":"","provider":"openai","weight":1,"auth":{}}]}"#,
        &[("instances[0].name", "1 to 100 characters")],
    ),
    multi(
        r#"{"instances":[{"name":"same-name","provider":"openai","weight":1,"auth":{}},{"name":"b","provider":"openai","weight":1,"auth":{}},{"name":"same-name","provider":"openai","weight":1,"auth":{}}]}"#,
        &[(
            "instances[2].name",
            "duplicate instance name 'same-name' at instances[0] and instances[2]",
        )],
    ),
    multi(
        r#"{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{}},{"name":"b","provider":"vertex-ai","weight":1,"auth":{"gcp":{"max_ttl":0}}}]}"#,
        &[
            ("instances[1].auth.gcp.max_ttl", "must be ≥ 1"),
            ("instances[1].provider_conf", "vertex-ai needs"),
        ],
    ),
    multi(
        r#"{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{},"override":{"endpoint":"http//127.0.0.1:1980"}}]}"#,
        &[("instances[0].override.endpoint", "invalid endpoint")],
    ),
    multi(
        r#"{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{},"checks":{}}]}"#,
        &[("instances[0].checks.active", "is required")],
    ),
    multi(
        r#"{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{},"prority":2}]}"#,
        &[("instances[0].prority", "did you mean `priority`?")],
    ),
    multi(
        r#"{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{}}],"fallback_http_statuses":[200]}"#,
        &[(
            "fallback_http_statuses[0]",
            "expected 200 to be at least 400",
        )],
    ),
    multi(
        r#"{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{}}],"fallback_strategy":["http_4xx"]}"#,
        &[("fallback_strategy[0]", "unknown strategy `http_4xx`")],
    ),
    multi(
        r#"{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{}}],"fallback_strategy":"rate_limiting"}"#,
        &[("fallback_strategy", "unknown strategy `rate_limiting`")],
    ),
    multi(
        r#"{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{}}],"balancer":{"algorithm":"chash"}}"#,
        &[("balancer.key", "chash needs a key")],
    ),
    multi(
        r#"{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{}}],"balancer":{"algorithm":"semantic"}}"#,
        &[("balancer.algorithm", "not supported")],
    ),
    multi(
        r#"{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{}}],"max_retries":-1}"#,
        &[("max_retries", "must be ≥ 0")],
    ),
    multi(
        r#"{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{}}],"retry_on_failure_within_ms":0}"#,
        &[("retry_on_failure_within_ms", "must be ≥ 1")],
    ),
    multi(
        r#"{"instances":[{"name":"a","provider":"openai","weight":1,"auth":{}}],"auth":{}}"#,
        &[("auth", "unknown field `auth`")],
    ),
];

#[test]
fn every_invalid_config_reports_its_exact_paths() {
    assert!(INVALID.len() >= 30);
    for case in INVALID {
        let errors = if case.multi {
            AiProxyMultiConfig::from_json(case.config).err()
        } else {
            AiProxyConfig::from_json(case.config).err()
        };
        let Some(errors) = errors else {
            panic!("{} should be invalid", case.config)
        };
        let got: Vec<(String, String)> = errors
            .errors()
            .iter()
            .map(|e| (e.path.clone(), e.message.clone()))
            .collect();
        assert_eq!(
            got.len(),
            case.expected.len(),
            "{}: expected {:?}, got {got:?}",
            case.config,
            case.expected
        );
        for (path, fragment) in case.expected {
            assert!(
                got.iter().any(|(p, m)| p == path && m.contains(fragment)),
                "{}: expected `{path}: …{fragment}…`, got {got:?}",
                case.config
            );
        }
    }
}

#[test]
fn syntax_errors_report_line_and_column() {
    let errors =
        AiProxyConfig::from_json("{\n  \"provider\": \"openai\",\n  \"auth\": {,\n}").unwrap_err();
    let e = &errors.errors()[0];
    assert_eq!(
        e.kind,
        ConfigErrorKind::Syntax {
            line: 3,
            column: 12
        }
    );
    assert!(
        e.to_string().starts_with("line 3, column 12: invalid JSON"),
        "{e}"
    );
}

const SECRETS: &[&str] = &["sk-SECRET-header", "SECRET-query", "SECRET-sa-json"];

#[test]
fn no_secret_reaches_debug_or_errors() {
    let valid = r#"{"provider":"vertex-ai","auth":{"header":{"Authorization":"Bearer sk-SECRET-header"},"query":{"key":"SECRET-query"},"gcp":{"service_account_json":"{\"client_email\":\"a@p\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nSECRET-sa-json\\n-----END PRIVATE KEY-----\\n\"}"}},"provider_conf":{"project_id":"p","region":"r"}}"#;
    let c = AiProxyConfig::from_json(valid).unwrap();
    let inner = valid.strip_prefix('{').unwrap().strip_suffix('}').unwrap();
    let m = AiProxyMultiConfig::from_json(&format!(
        r#"{{"instances":[{{"name":"a","weight":1,{inner}}}]}}"#
    ))
    .unwrap();
    let debug = format!("{c:?} {c:#?} {m:?} {:?}", c.upstream.auth);
    for s in SECRETS {
        assert!(!debug.contains(s), "{s} leaked into Debug");
    }
    let bedrock = AiProxyConfig::from_json(
        r#"{"provider":"bedrock","auth":{"aws":{"access_key_id":"AKIA-SECRET-id","secret_access_key":"SECRET-aws-key","session_token":"SECRET-aws-token"}},"provider_conf":{"region":"eu-west-3"}}"#,
    )
    .unwrap();
    let aws = bedrock.upstream.auth.aws.as_ref().unwrap();
    assert_eq!(aws.secret_access_key.expose(), "SECRET-aws-key");
    let debug = format!("{bedrock:?} {bedrock:#?}");
    for s in ["AKIA-SECRET-id", "SECRET-aws-key", "SECRET-aws-token"] {
        assert!(!debug.contains(s), "{s} leaked into Debug");
    }
    // Invalid configs whose secret-bearing values are the problem.
    let invalid = [
        r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer sk-SECRET-header\n"}}}"#,
        r#"{"provider":"vertex-ai","auth":{"gcp":{"service_account_json":"SECRET-sa-json"}},"provider_conf":{"project_id":"p","region":"r"}}"#,
        r#"{"provider":"vertex-ai","auth":{"gcp":{"service_account_json":"[\"SECRET-sa-json\"]"}},"provider_conf":{"project_id":"p","region":"r"}}"#,
        r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer sk-SECRET-header"},"query":{"key":"SECRET-query"}},"timeout":0,"tmeout":1}"#,
        r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer sk-SECRET-header"}},"override":{"endpoint":"https://u:SECRET-query@h/"}}"#,
        r#"{"provider":"bedrock","auth":{"aws":{"access_key_id":"AKIA","secret_access_key":"SECRET-query","session_token":""}}}"#,
    ];
    for text in invalid {
        let errors = AiProxyConfig::from_json(text).unwrap_err();
        let shown = format!("{errors} {errors:?}");
        for s in SECRETS {
            assert!(!shown.contains(s), "{s} leaked into errors: {shown}");
        }
    }
}
