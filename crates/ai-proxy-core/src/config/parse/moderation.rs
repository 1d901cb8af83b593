//! The `ai-aws-content-moderation` object (APISIX master's schema).
//!
//! Response moderation (`check_response`) is not run by this library: a
//! config asking for it is refused, never served half-honoured. Its
//! companion fields are still checked against APISIX's limits.

use serde_json::{Map, Value};
use url::Url;

use super::plugin::meta;
use super::prompt::fail_mode;
use super::validator::Validator;
use crate::config::error::{ConfigErrorKind, join_path as join};
use crate::config::prompt::*;
use crate::secret::Secret;

const FIELDS: &[&str] = &[
    "comprehend",
    "moderation_categories",
    "moderation_threshold",
    "check_request",
    "check_response",
    "request_check_roles",
    "request_check_mode",
    "request_check_length_limit",
    "response_check_length_limit",
    "stream_check_mode",
    "stream_check_cache_size",
    "stream_check_interval",
    "deny_code",
    "deny_message",
    "timeout",
    "keepalive",
    "keepalive_timeout",
    "fail_mode",
    "_meta",
];
const COMPREHEND_FIELDS: &[&str] = &[
    "access_key_id",
    "secret_access_key",
    "session_token",
    "region",
    "endpoint",
    "ssl_verify",
];
/// Comprehend's cap on one text segment (bytes).
pub(crate) const MAX_SEGMENT_BYTES: u64 = 1024;
/// The smallest segment that holds any UTF-8 character.
const MIN_SEGMENT_BYTES: u64 = 4;
const ROLE_NAMES: &[&str] = &["user", "tool", "system", "assistant"];

/// Validates an `ai-aws-content-moderation` object.
pub(crate) fn aws_content_moderation(
    value: &Value,
    v: &mut Validator,
) -> Option<AwsContentModerationConfig> {
    let map = v.object(value, "")?;
    v.unknown_fields(map, "", FIELDS);
    meta(map, "", v);
    let before = v.errors.len();
    let comprehend = match map.get("comprehend") {
        None => {
            v.push(
                "comprehend",
                ConfigErrorKind::Missing,
                "is required: {\"access_key_id\": …, \"secret_access_key\": …, \"region\": …}",
            );
            None
        }
        Some(c) => comprehend(c, v),
    };
    let length_limit = |v: &mut Validator, key| {
        v.int_field(map, key, "", MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES)
            .unwrap_or(1000)
    };
    let request_check_length_limit = length_limit(v, "request_check_length_limit");
    length_limit(v, "response_check_length_limit");
    if v.bool_field(map, "check_response", "", false) {
        v.push(
            "check_response",
            ConfigErrorKind::Unsupported,
            "response moderation is not supported by this library; set check_response to false \
             (request moderation still runs), or serve the route with APISIX",
        );
    }
    v.one_of_field(map, "stream_check_mode", "", &["realtime", "final_packet"]);
    v.int_field(map, "stream_check_cache_size", "", 1, u64::MAX);
    v.number_field(map, "stream_check_interval", "", 0.1, f64::MAX);
    let config = AwsContentModerationConfig {
        comprehend: comprehend?,
        moderation_categories: categories(map, v),
        moderation_threshold: v
            .number_field(map, "moderation_threshold", "", 0.0, 1.0)
            .unwrap_or(0.5),
        check_request: v.bool_field(map, "check_request", "", true),
        request_check_roles: roles(map, v),
        request_check_mode: match v.one_of_field(map, "request_check_mode", "", &["last", "all"]) {
            Some("last") => CheckMode::Last,
            _ => CheckMode::All,
        },
        // ok: at most MAX_SEGMENT_BYTES (1024).
        request_check_length_limit: usize::try_from(request_check_length_limit).unwrap_or(1000),
        deny_code: v
            .int_field(map, "deny_code", "", 200, 599)
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(200),
        deny_message: map
            .get("deny_message")
            .and_then(|m| v.string(m, "deny_message"))
            .map(str::to_owned),
        timeout_ms: v
            .int_field(map, "timeout", "", 1, u64::MAX)
            .unwrap_or(10_000),
        keepalive: v.bool_field(map, "keepalive", "", true),
        keepalive_timeout_ms: v
            .int_field(map, "keepalive_timeout", "", 1000, u64::MAX)
            .unwrap_or(60_000),
        fail_mode: fail_mode(map, "", v),
    };
    (v.errors.len() == before).then_some(config)
}

fn comprehend(value: &Value, v: &mut Validator) -> Option<ComprehendConfig> {
    let p = "comprehend";
    let map = v.object(value, p)?;
    v.unknown_fields(map, p, COMPREHEND_FIELDS);
    let mut required = |key: &str| match map.get(key) {
        None => {
            v.push(&join(p, key), ConfigErrorKind::Missing, "is required");
            None
        }
        Some(s) => v.string(s, &join(p, key)).map(str::to_owned),
    };
    let access_key_id = required("access_key_id");
    let secret_access_key = required("secret_access_key");
    let region = required("region");
    match &region {
        Some(r) if r.is_empty() => v.invalid(&join(p, "region"), "must not be empty"),
        Some(r) => v.region(r, &join(p, "region")),
        None => {}
    }
    let session_token = map
        .get("session_token")
        .and_then(|t| v.string(t, &join(p, "session_token")))
        .map(Secret::new);
    let endpoint = map
        .get("endpoint")
        .and_then(|e| v.string(e, &join(p, "endpoint")))
        .and_then(|e| endpoint(e, v));
    let ssl_verify = v.bool_field(map, "ssl_verify", p, true);
    Some(ComprehendConfig {
        access_key_id: Secret::new(access_key_id?),
        secret_access_key: Secret::new(secret_access_key?),
        session_token,
        region: region?,
        endpoint,
        ssl_verify,
    })
}

/// `comprehend.endpoint`: APISIX's pattern `^https?://`, then a URL with a
/// host.
fn endpoint(text: &str, v: &mut Validator) -> Option<Url> {
    let p = "comprehend.endpoint";
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    if !lower.starts_with("http://") && !lower.starts_with("https://") {
        v.invalid(
            p,
            "must start with http:// or https:// (e.g. https://comprehend.us-east-1.amazonaws.com)",
        );
        return None;
    }
    match Url::parse(text) {
        Ok(url) if url.host_str().is_some_and(|h| !h.is_empty()) => Some(url),
        _ => {
            v.invalid(p, "must be a URL with a host, e.g. http://127.0.0.1:4566");
            None
        }
    }
}

/// `moderation_categories`: APISIX's `patternProperties` with
/// `additionalProperties: false`, each a number in 0..=1.
fn categories(map: &Map<String, Value>, v: &mut Validator) -> Vec<(ToxicCategory, f64)> {
    let p = "moderation_categories";
    let Some(object) = v.opt_object(map, p, "") else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(object.len());
    for name in object.keys() {
        let Some(category) = ToxicCategory::ALL.into_iter().find(|c| c.as_str() == name) else {
            v.push(
                &join(p, name),
                ConfigErrorKind::UnknownField,
                format!(
                    "unknown category `{name}`, expected one of: {}",
                    ToxicCategory::ALL.map(ToxicCategory::as_str).join(", ")
                ),
            );
            continue;
        };
        if let Some(threshold) = v.number_field(object, name, p, 0.0, 1.0) {
            out.push((category, threshold));
        }
    }
    out
}

/// `request_check_roles`: at least one, no repeats.
fn roles(map: &Map<String, Value>, v: &mut Validator) -> RoleSet {
    let p = "request_check_roles";
    let Some(value) = map.get(p) else {
        return RoleSet::ALL;
    };
    let Value::Array(items) = value else {
        v.type_error(p, "an array of roles", value);
        return RoleSet::ALL;
    };
    if items.is_empty() {
        v.invalid(
            p,
            "must name at least one role: user, tool, system, assistant",
        );
    }
    let mut set = RoleSet::NONE;
    for (i, item) in items.iter().enumerate() {
        let ip = format!("{p}[{i}]");
        let Some(role) = v.one_of(item, &ip, ROLE_NAMES) else {
            continue;
        };
        if set.with(role) == set {
            v.invalid(&ip, "is listed twice; roles must be unique");
        }
        set = set.with(role);
    }
    set
}
