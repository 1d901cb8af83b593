//! Route documents are read strictly: a key given twice is an error at the
//! JSON path of its second occurrence, in JSON and YAML, at every depth
//! (issue 15, defect 2: the last copy used to win silently, credentials
//! included).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ai_proxy::config::{ConfigError, ConfigErrorKind, ConfigErrors};
use ai_proxy_gateway::config::Document;

fn only(result: Result<impl std::fmt::Debug, ConfigErrors>) -> ConfigError {
    let errors = result.unwrap_err();
    assert_eq!(errors.errors().len(), 1, "{errors}");
    errors.errors()[0].clone()
}

const DUPLICATE_CREDENTIAL: &str = r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer A","Authorization":"Bearer B"}}}"#;

#[test]
fn a_duplicate_credential_in_a_document_is_located_without_its_value() {
    let wrapped = format!(r#"{{"plugins":{{"ai-proxy":{DUPLICATE_CREDENTIAL}}}}}"#);
    let error = only(Document::parse(DUPLICATE_CREDENTIAL));
    assert_eq!(error.path, "auth.header.Authorization");
    assert_eq!(error.kind, ConfigErrorKind::Duplicate);
    assert!(!error.to_string().contains("Bearer"), "{error}");
    assert_eq!(
        only(Document::parse(&wrapped)).path,
        "plugins.ai-proxy.auth.header.Authorization"
    );
}

#[test]
fn duplicate_routes_fields_in_a_route_list_are_located() {
    let text =
        r#"[{"uri":"/a","uri":"/b","plugins":{"ai-proxy":{"provider":"openai","auth":{}}}}]"#;
    let error = only(Document::parse(text));
    assert_eq!(error.path, "[0].uri");
    assert!(
        error
            .message
            .starts_with("duplicate key `uri` (line 1, column 23)"),
        "{error}"
    );
}
