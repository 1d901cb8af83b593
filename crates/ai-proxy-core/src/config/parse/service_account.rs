//! `auth.gcp.service_account_json`: the shape of a Google service-account
//! key file, checked when the configuration loads instead of on the first
//! request's token fetch.
//!
//! Only the structure is checked here (no cryptography in core): a JSON
//! object without duplicate keys, `client_email`, a PEM PKCS#8
//! `private_key`, an absolute `token_uri` URL. Whether the key itself
//! parses is for the token source (`ai-proxy-vertex`, feature `gcp-auth`).
//! Messages name fields, never their values.

use serde_json::{Map, Value};

use crate::config::error::{ConfigError, ConfigErrorKind, ConfigErrors};
use crate::config::read::parse_json;

const PKCS8_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PKCS8_END: &str = "-----END PRIVATE KEY-----";

/// Checks a service-account key file's JSON text. Paths are relative to the
/// key file (`client_email`, `private_key`); syntax errors have an empty
/// path and say where.
///
/// ```
/// use ai_proxy_core::config::check_service_account;
///
/// let errors = check_service_account(r#"{"type":"service_account","private_key":"x"}"#)
///     .unwrap_err()
///     .to_string();
/// assert!(errors.contains("private_key: must be a PEM PKCS#8 private key"), "{errors}");
/// assert!(errors.contains("client_email: is required"), "{errors}");
/// ```
pub fn check_service_account(text: &str) -> Result<(), ConfigErrors> {
    let value = parse_json(text)
        .map_err(|errors| ConfigErrors::new(errors.into_iter().map(without_content).collect()))?;
    let Value::Object(map) = value else {
        return Err(ConfigError::new(
            "",
            ConfigErrorKind::Type,
            "must be a JSON object (the service account key file Google issues)",
        )
        .into());
    };
    let mut errors = Vec::new();
    let mut push = |path: &str, kind, message: &str| {
        errors.push(ConfigError::new(path, kind, message));
    };
    if let Some(kind) = map.get("type")
        && kind.as_str() != Some("service_account")
    {
        push(
            "type",
            ConfigErrorKind::Invalid,
            "must be \"service_account\": only a service account key can sign the token request",
        );
    }
    match string(&map, "client_email") {
        Field::Missing => push(
            "client_email",
            ConfigErrorKind::Missing,
            "is required: the service account's e-mail address (…@….iam.gserviceaccount.com)",
        ),
        Field::NotString => push("client_email", ConfigErrorKind::Type, "must be a string"),
        Field::Text(email) if !email.contains('@') => push(
            "client_email",
            ConfigErrorKind::Invalid,
            "must be an e-mail address (…@….iam.gserviceaccount.com)",
        ),
        Field::Text(_) => {}
    }
    match string(&map, "private_key") {
        Field::Missing => push(
            "private_key",
            ConfigErrorKind::Missing,
            "is required: the PEM private key of the key file",
        ),
        Field::NotString => push("private_key", ConfigErrorKind::Type, "must be a string"),
        Field::Text(pem) => {
            if let Some(problem) = pem_problem(pem) {
                push("private_key", ConfigErrorKind::Invalid, problem);
            }
        }
    }
    match string(&map, "token_uri") {
        Field::Missing => {}
        Field::NotString => push("token_uri", ConfigErrorKind::Type, "must be a string"),
        Field::Text(uri) => {
            let ok = url::Url::parse(uri)
                .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.has_host());
            if !ok {
                push(
                    "token_uri",
                    ConfigErrorKind::Invalid,
                    "must be an absolute http(s) URL (default https://oauth2.googleapis.com/token)",
                );
            }
        }
    }
    if let Field::NotString = string(&map, "project_id") {
        push("project_id", ConfigErrorKind::Type, "must be a string");
    }
    match map.get("scope") {
        None | Some(Value::Null | Value::String(_)) => {}
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
        Some(_) => push(
            "scope",
            ConfigErrorKind::Type,
            "must be a string or an array of strings",
        ),
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors::new(errors))
    }
}

enum Field<'a> {
    Missing,
    NotString,
    Text(&'a str),
}

/// A field that must be a string when present (`null` and `""` count as
/// absent, as for the token source).
fn string<'a>(map: &'a Map<String, Value>, key: &str) -> Field<'a> {
    match map.get(key) {
        None | Some(Value::Null) => Field::Missing,
        Some(Value::String(s)) if s.is_empty() => Field::Missing,
        Some(Value::String(s)) => Field::Text(s),
        Some(_) => Field::NotString,
    }
}

/// What is wrong with a PEM private key, judged by its armour lines only.
fn pem_problem(pem: &str) -> Option<&'static str> {
    match (pem.find(PKCS8_BEGIN), pem.find(PKCS8_END)) {
        (Some(begin), Some(end)) if begin < end => None,
        _ if pem.contains("-----BEGIN RSA PRIVATE KEY-----") => Some(
            "must be a PEM PKCS#8 private key (`-----BEGIN PRIVATE KEY-----`), got PKCS#1 \
             (`BEGIN RSA PRIVATE KEY`); convert it with `openssl pkcs8 -topk8 -nocrypt`",
        ),
        _ if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") => Some(
            "must be an unencrypted PEM PKCS#8 private key; decrypt it with \
             `openssl pkcs8 -nocrypt`",
        ),
        _ => Some(
            "must be a PEM PKCS#8 private key (`-----BEGIN PRIVATE KEY-----` … \
             `-----END PRIVATE KEY-----`), as in the key file Google issues",
        ),
    }
}

/// The same error without anything quoted from the text: a duplicate
/// key's name, or a syntax message, could echo key material.
fn without_content(error: ConfigError) -> ConfigError {
    let message = match error.kind {
        ConfigErrorKind::Syntax { line, column } => {
            format!("not valid JSON (line {line}, column {column})")
        }
        ConfigErrorKind::Duplicate => "is given twice; keep one".to_owned(),
        _ => "is not a valid key file".to_owned(),
    };
    ConfigError::new(error.path, error.kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN PRIVATE KEY-----\\nMIIB\\n-----END PRIVATE KEY-----\\n";

    fn account(fields: &str) -> String {
        format!(
            r#"{{"type":"service_account","private_key":"{PEM}","client_email":"a@p.iam.gserviceaccount.com"{fields}}}"#
        )
    }

    fn problems(text: &str) -> Vec<(String, String)> {
        match check_service_account(text) {
            Ok(()) => Vec::new(),
            Err(e) => e
                .into_iter()
                .map(|e| (e.path.clone(), e.message.clone()))
                .collect(),
        }
    }

    #[test]
    fn a_complete_key_file_passes() {
        assert_eq!(problems(&account("")), []);
        assert_eq!(
            problems(&account(
                r#","token_uri":"https://oauth2.googleapis.com/token","scope":["a"],"project_id":"p""#
            )),
            []
        );
    }

    #[test]
    fn each_problem_is_located_at_its_field() {
        let found = problems(
            r#"{"type":"authorized_user","client_email":7,"private_key":"-----BEGIN RSA PRIVATE KEY-----\n","token_uri":"oauth2","scope":3}"#,
        );
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["type", "client_email", "private_key", "token_uri", "scope"]
        );
        assert!(found[2].1.contains("PKCS#1"), "{found:?}");
    }

    #[test]
    fn missing_fields_are_required() {
        let found = problems("{}");
        assert_eq!(found[0], ("client_email".to_owned(), found[0].1.clone()));
        assert!(found[0].1.starts_with("is required"));
        assert_eq!(found[1].0, "private_key");
    }

    #[test]
    fn duplicates_and_syntax_errors_quote_nothing() {
        let found = problems(r#"{"private_key":"SECRET","private_key":"SECRET2"}"#);
        assert_eq!(
            found,
            [(
                "private_key".to_owned(),
                "is given twice; keep one".to_owned()
            )]
        );
        let found = problems(r#"{"private_key": SECRET}"#);
        assert_eq!(found.len(), 1);
        assert!(!found[0].1.contains("SECRET"), "{found:?}");
        assert!(
            found[0].1.starts_with("not valid JSON (line 1, column"),
            "{found:?}"
        );
    }

    #[test]
    fn non_objects_are_refused() {
        assert_eq!(
            problems("[]")[0].1,
            "must be a JSON object (the service account key file Google issues)"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_checked_without_quoting_it(text in "[{}\\[\\]:,\"a-z_@ 0-9-]{0,64}") {
            let marked = format!("{text}SECRETVALUE");
            if let Err(errors) = check_service_account(&marked) {
                proptest::prop_assert!(!errors.errors().is_empty());
                proptest::prop_assert!(!errors.to_string().contains("SECRETVALUE"));
            }
        }
    }
}
