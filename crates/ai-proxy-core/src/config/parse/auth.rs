//! `auth`: header and query credentials, or a GCP service account.

use http::HeaderName;
use serde_json::{Map, Value};

use super::service_account::check_service_account;
use super::validator::Validator;
use crate::config::error::{ConfigErrorKind, join_path as join};
use crate::config::model::*;
use crate::secret::Secret;

/// Header names `auth.header` may not set: the gateway owns them.
const RESERVED_AUTH_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
];

pub(super) fn auth(value: &Value, path: &str, v: &mut Validator) -> Option<Auth> {
    let map = v.object(value, path)?;
    v.unknown_fields(map, path, &["header", "query", "gcp", "aws"]);
    let mut ok = true;
    let mut auth = Auth::default();
    if let Some(header) = v.opt_object(map, "header", path) {
        let hpath = join(path, "header");
        for (name, value) in header {
            let p = join(&hpath, name);
            let Some(secret) = auth_item(name, value, &p, v) else {
                ok = false;
                continue;
            };
            let Ok(header_name) = HeaderName::from_bytes(name.as_bytes()) else {
                v.invalid(&p, "is not a valid HTTP header name");
                ok = false;
                continue;
            };
            if RESERVED_AUTH_HEADERS.contains(&header_name.as_str()) {
                v.invalid(
                    &p,
                    format!(
                        "`{}` cannot be set through auth.header: the gateway sets it",
                        header_name.as_str()
                    ),
                );
                ok = false;
                continue;
            }
            if secret.to_header_value().is_none() {
                // The value itself is a credential: never echo it.
                v.invalid(
                    &p,
                    "value is not a valid HTTP header value (control characters or line breaks)",
                );
                ok = false;
                continue;
            }
            auth.header.push((header_name, secret));
        }
    }
    if let Some(query) = v.opt_object(map, "query", path) {
        let qpath = join(path, "query");
        for (name, value) in query {
            match auth_item(name, value, &join(&qpath, name), v) {
                Some(secret) => auth.query.push((name.clone(), secret)),
                None => ok = false,
            }
        }
    }
    if let Some(gcp) = v.opt_object(map, "gcp", path) {
        auth.gcp = gcp_auth(gcp, &join(path, "gcp"), v);
        ok &= auth.gcp.is_some();
    }
    if let Some(aws) = v.opt_object(map, "aws", path) {
        auth.aws = aws_auth(aws, &join(path, "aws"), v);
        ok &= auth.aws.is_some();
    }
    ok.then_some(auth)
}

/// One `auth.header` / `auth.query` entry: name pattern `^[a-zA-Z0-9._-]+$`,
/// string value.
fn auth_item(name: &str, value: &Value, path: &str, v: &mut Validator) -> Option<Secret> {
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !name_ok {
        v.invalid(path, "name must match ^[a-zA-Z0-9._-]+$");
        return None;
    }
    match value {
        Value::String(s) => Some(Secret::new(s.clone())),
        other => {
            v.type_error(path, "a string", other);
            None
        }
    }
}

/// `auth.aws`: `access_key_id` and `secret_access_key` required (non-empty),
/// `session_token` optional (non-empty), as APISIX's schema.
fn aws_auth(map: &Map<String, Value>, path: &str, v: &mut Validator) -> Option<AwsAuth> {
    v.unknown_fields(
        map,
        path,
        &["access_key_id", "secret_access_key", "session_token"],
    );
    let before = v.errors.len();
    let required = |key: &str, what: &str, v: &mut Validator| {
        if !map.contains_key(key) {
            v.push(
                &join(path, key),
                ConfigErrorKind::Missing,
                format!("is required ({what})"),
            );
        }
        v.nonempty_string_field(map, key, path).map(Secret::new)
    };
    let access_key_id = required("access_key_id", "the AWS access key id, e.g. AKIA…", v);
    let secret_access_key = required("secret_access_key", "the AWS secret access key", v);
    let session_token = v
        .nonempty_string_field(map, "session_token", path)
        .map(Secret::new);
    if v.errors.len() != before {
        return None;
    }
    Some(AwsAuth::new(
        access_key_id?,
        secret_access_key?,
        session_token,
    ))
}

fn gcp_auth(map: &Map<String, Value>, path: &str, v: &mut Validator) -> Option<GcpAuth> {
    v.unknown_fields(
        map,
        path,
        &["service_account_json", "max_ttl", "expire_early_secs"],
    );
    let before = v.errors.len();
    let mut gcp = GcpAuth::default();
    if let Some(value) = map.get("service_account_json") {
        let p = join(path, "service_account_json");
        if let Some(s) = v.string(value, &p) {
            // APISIX only checks that this is JSON; a key file the token
            // request cannot use would fail every request with a 500.
            match check_service_account(s) {
                Ok(()) => gcp.service_account_json = Some(Secret::new(s)),
                Err(errors) => {
                    for e in errors {
                        let message = if e.path.is_empty() {
                            format!("invalid gcp service_account_json: {}", e.message)
                        } else {
                            e.message.clone()
                        };
                        v.push(&join(&p, &e.path), e.kind, message);
                    }
                }
            }
        }
    }
    gcp.max_ttl = v.int_field(map, "max_ttl", path, 1, u64::MAX);
    if let Some(n) = v.int_field(map, "expire_early_secs", path, 0, u64::MAX) {
        gcp.expire_early_secs = n;
    }
    (v.errors.len() == before).then_some(gcp)
}
