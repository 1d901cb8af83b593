//! `key-auth` on a route, and the `consumers` list.

use http::HeaderName;
use serde_json::{Map, Value};

use super::plugin::meta;
use super::validator::Validator;
use crate::config::consumer::*;
use crate::config::error::{ConfigErrorKind, join_path as join};
use crate::secret::Secret;

/// The longest consumer `username` (APISIX's `rule_name_def`).
const MAX_USERNAME: usize = 256;

/// Validates a route's `key-auth` object.
pub(crate) fn key_auth(value: &Value, v: &mut Validator) -> Option<KeyAuthConfig> {
    let map = v.object(value, "")?;
    v.unknown_fields(
        map,
        "",
        &[
            "header",
            "query",
            "realm",
            "hide_credentials",
            "anonymous_consumer",
            "_meta",
        ],
    );
    let before = v.errors.len();
    let mut config = KeyAuthConfig::default();
    if let Some(h) = map.get("header").and_then(|h| v.string(h, "header")) {
        match HeaderName::from_bytes(h.as_bytes()) {
            Ok(name) => config.header = name,
            Err(_) => v.invalid("header", "is not a valid HTTP header name"),
        }
    }
    if let Some(q) = map.get("query").and_then(|q| v.string(q, "query")) {
        config.query = q.to_owned();
    }
    if let Some(r) = map.get("realm").and_then(|r| v.string(r, "realm")) {
        // APISIX: printable ASCII except `"` and `\`, 1..=128.
        let ok = (1..=128).contains(&r.len())
            && r.bytes()
                .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\');
        if ok {
            config.realm = r.to_owned();
        } else {
            v.invalid(
                "realm",
                "must be 1 to 128 printable ASCII characters without `\"` or `\\`",
            );
        }
    }
    config.hide_credentials = v.bool_field(map, "hide_credentials", "", false);
    config.anonymous_consumer = v
        .nonempty_string_field(map, "anonymous_consumer", "")
        .map(str::to_owned);
    meta(map, "", v);
    (v.errors.len() == before).then_some(config)
}

/// Validates a `consumers` list: usernames and keys unique.
pub(crate) fn consumers(value: &Value, v: &mut Validator) -> Option<Vec<Consumer>> {
    let Value::Array(items) = value else {
        v.type_error("", "a list of consumers", value);
        return None;
    };
    let before = v.errors.len();
    let mut out: Vec<(usize, Consumer)> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let p = format!("[{i}]");
        let Some(consumer) = consumer(item, &p, v) else {
            continue;
        };
        if let Some((j, _)) = out.iter().find(|(_, c)| c.username == consumer.username) {
            v.invalid(
                &join(&p, "username"),
                format!("duplicate username '{}' (also [{j}])", consumer.username),
            );
            continue;
        }
        if let Some(key) = &consumer.key
            && let Some((j, _)) = out.iter().find(|(_, c)| c.key.as_ref() == Some(key))
        {
            // Never echo the key itself.
            v.invalid(
                &join(&p, "plugins.key-auth.key"),
                format!("is already the key of [{j}]; every consumer needs its own key"),
            );
            continue;
        }
        out.push((i, consumer));
    }
    (v.errors.len() == before).then(|| out.into_iter().map(|(_, c)| c).collect())
}

fn consumer(value: &Value, path: &str, v: &mut Validator) -> Option<Consumer> {
    let map = v.object(value, path)?;
    v.unknown_fields(
        map,
        path,
        &[
            "username",
            "desc",
            "labels",
            "plugins",
            "group_id",
            "id",
            "create_time",
            "update_time",
        ],
    );
    let before = v.errors.len();
    let username = username(map, path, v);
    if map.contains_key("group_id") {
        v.push(
            &join(path, "group_id"),
            ConfigErrorKind::Unsupported,
            "consumer groups are not supported; put the plugins on the consumer",
        );
    }
    if let Some(desc) = map.get("desc") {
        let p = join(path, "desc");
        if v.string(desc, &p).is_some_and(|d| d.chars().count() > 256) {
            v.invalid(&p, "must be at most 256 characters long");
        }
    }
    if let Some(labels) = map.get("labels") {
        let _ = v.object(labels, &join(path, "labels"));
    }
    let mut plugins = Map::new();
    let mut key = None;
    if let Some(value) = map.get("plugins") {
        let pp = join(path, "plugins");
        if let Some(list) = v.object(value, &pp) {
            for (name, config) in list {
                if name == KEY_AUTH {
                    key = credential(config, &join(&pp, KEY_AUTH), v);
                } else {
                    plugins.insert(name.clone(), config.clone());
                }
            }
        }
    }
    if v.errors.len() != before {
        return None;
    }
    Some(Consumer {
        username: username?,
        key,
        plugins,
    })
}

fn username(map: &Map<String, Value>, path: &str, v: &mut Validator) -> Option<String> {
    let p = join(path, "username");
    let Some(value) = map.get("username") else {
        v.push(&p, ConfigErrorKind::Missing, "is required");
        return None;
    };
    let name = v.string(value, &p)?;
    let ok = (1..=MAX_USERNAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        v.invalid(
            &p,
            "must match ^[a-zA-Z0-9_-]+$ and be at most 256 characters long",
        );
        return None;
    }
    Some(name.to_owned())
}

/// A consumer's `key-auth` object: `{"key": "…"}`.
fn credential(value: &Value, path: &str, v: &mut Validator) -> Option<Secret> {
    let map = v.object(value, path)?;
    v.unknown_fields(map, path, &["key", "_meta"]);
    let p = join(path, "key");
    let Some(key) = map.get("key") else {
        v.push(
            &p,
            ConfigErrorKind::Missing,
            "is required (the consumer's API key)",
        );
        return None;
    };
    match key {
        Value::String(s) if s.is_empty() => {
            v.invalid(&p, "must not be empty");
            None
        }
        Value::String(s) => Some(Secret::new(s.clone())),
        other => {
            v.type_error(&p, "a string", other);
            None
        }
    }
}
