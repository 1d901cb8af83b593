//! Configuration text is read strictly at every entry point: a key given
//! twice is an error at the JSON path of its second occurrence (issue 15,
//! defect 2: the last copy used to win silently, credentials included), and
//! a service account is checked when the configuration loads (defect 4).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ai_proxy_core::config::{
    AiProxyConfig, AiProxyMultiConfig, ConfigError, ConfigErrorKind, ConfigErrors, PluginConfig,
};

fn only(result: Result<impl std::fmt::Debug, ConfigErrors>) -> ConfigError {
    let errors = result.unwrap_err();
    assert_eq!(errors.errors().len(), 1, "{errors}");
    errors.errors()[0].clone()
}

const DUPLICATE_CREDENTIAL: &str = r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer A","Authorization":"Bearer B"}}}"#;

#[test]
fn a_duplicate_credential_is_rejected_by_every_json_entry_point() {
    for error in [
        only(AiProxyConfig::from_json(DUPLICATE_CREDENTIAL)),
        only(PluginConfig::from_json(DUPLICATE_CREDENTIAL)),
    ] {
        assert_eq!(error.path, "auth.header.Authorization");
        assert_eq!(error.kind, ConfigErrorKind::Duplicate);
        assert!(!error.to_string().contains("Bearer"), "{error}");
    }
}

#[test]
fn duplicates_are_found_at_every_depth_of_a_multi_config() {
    let text = r#"{"instances":[
        {"name":"a","provider":"openai","weight":1,"auth":{}},
        {"name":"b","provider":"openai","weight":1,"auth":{},"options":{"model":"x","model":"y"}}]}"#;
    assert_eq!(
        only(AiProxyMultiConfig::from_json(text)).path,
        "instances[1].options.model"
    );
    let top = r#"{"instances":[],"instances":[]}"#;
    assert_eq!(only(AiProxyMultiConfig::from_json(top)).path, "instances");
}

const PEM: &str = r"-----BEGIN PRIVATE KEY-----\\nMIIB\\n-----END PRIVATE KEY-----\\n";

fn vertex(account: &str) -> String {
    format!(
        r#"{{"provider":"vertex-ai","auth":{{"gcp":{{"service_account_json":"{account}"}}}},"provider_conf":{{"project_id":"p","region":"r"}}}}"#
    )
}

#[test]
fn a_service_account_without_client_email_is_located() {
    let text = vertex(&format!(r#"{{\"private_key\":\"{PEM}\"}}"#));
    let error = only(AiProxyConfig::from_json(&text));
    assert_eq!(error.path, "auth.gcp.service_account_json.client_email");
    assert_eq!(error.kind, ConfigErrorKind::Missing);
}

#[test]
fn a_service_account_key_that_is_not_pem_is_located() {
    for key in [r#"\"SECRET\""#, "7"] {
        let text = vertex(&format!(
            r#"{{\"client_email\":\"a@p\",\"private_key\":{key}}}"#
        ));
        let error = only(AiProxyConfig::from_json(&text));
        assert_eq!(error.path, "auth.gcp.service_account_json.private_key");
        assert!(!error.to_string().contains("SECRET"), "{error}");
    }
}

#[test]
fn a_service_account_token_uri_must_be_a_url() {
    let text = vertex(&format!(
        r#"{{\"client_email\":\"a@p\",\"private_key\":\"{PEM}\",\"token_uri\":\"oauth2.googleapis.com\"}}"#
    ));
    assert_eq!(
        only(AiProxyConfig::from_json(&text)).path,
        "auth.gcp.service_account_json.token_uri"
    );
}

#[test]
fn a_complete_service_account_is_accepted() {
    let text = vertex(&format!(
        r#"{{\"type\":\"service_account\",\"client_email\":\"a@p\",\"private_key\":\"{PEM}\",\"token_uri\":\"https://oauth2.googleapis.com/token\"}}"#
    ));
    assert!(AiProxyConfig::from_json(&text).is_ok());
}
