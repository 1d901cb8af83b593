//! The prompt plugin objects: `ai-prompt-decorator`, `ai-prompt-template`,
//! `ai-prompt-guard` (APISIX master's schemas, stricter about unknown
//! fields).

use serde_json::{Map, Value};

use super::plugin::meta;
use super::validator::Validator;
use crate::config::error::{ConfigErrorKind, join_path as join};
use crate::config::model::DEFAULT_MAX_REQ_BODY_SIZE;
use crate::config::prompt::*;

const DECORATOR_FIELDS: &[&str] = &["prepend", "append", "max_req_body_size", "_meta"];
const TEMPLATE_FIELDS: &[&str] = &["templates", "max_req_body_size", "_meta"];
const GUARD_FIELDS: &[&str] = &[
    "max_req_body_size",
    "match_all_roles",
    "match_all_conversation_history",
    "allow_patterns",
    "deny_patterns",
    "fail_mode",
    "_meta",
];
const MESSAGE_FIELDS: &[&str] = &["role", "content"];
const ROLE_NAMES: &[&str] = &["system", "user", "assistant"];

/// Validates an `ai-prompt-decorator` object.
pub(crate) fn decorator(value: &Value, v: &mut Validator) -> Option<PromptDecoratorConfig> {
    let map = v.object(value, "")?;
    v.unknown_fields(map, "", DECORATOR_FIELDS);
    meta(map, "", v);
    if !map.contains_key("prepend") && !map.contains_key("append") {
        v.push(
            "",
            ConfigErrorKind::Missing,
            "needs `prepend` or `append` (or both): the messages to put around the client's",
        );
    }
    let before = v.errors.len();
    let prepend = messages(map, "prepend", "", 0, v).unwrap_or_default();
    let append = messages(map, "append", "", 0, v).unwrap_or_default();
    let max_req_body_size = max_req_body_size(map, v);
    (v.errors.len() == before).then_some(PromptDecoratorConfig {
        prepend,
        append,
        max_req_body_size,
    })
}

/// Validates an `ai-prompt-template` object.
pub(crate) fn template(value: &Value, v: &mut Validator) -> Option<PromptTemplateConfig> {
    let map = v.object(value, "")?;
    v.unknown_fields(map, "", TEMPLATE_FIELDS);
    meta(map, "", v);
    let before = v.errors.len();
    let max_req_body_size = max_req_body_size(map, v);
    let Some(value) = map.get("templates") else {
        v.push(
            "templates",
            ConfigErrorKind::Missing,
            "is required: at least one {\"name\": …, \"template\": {…}}",
        );
        return None;
    };
    let Value::Array(items) = value else {
        v.type_error("templates", "an array", value);
        return None;
    };
    if items.is_empty() {
        v.invalid("templates", "must have at least one template");
    }
    let mut templates = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let p = format!("templates[{i}]");
        let Some(entry) = v.object(item, &p) else {
            continue;
        };
        v.unknown_fields(entry, &p, &["name", "template"]);
        let name = match entry.get("name") {
            None => {
                v.push(&join(&p, "name"), ConfigErrorKind::Missing, "is required");
                None
            }
            Some(_) => v.nonempty_string_field(entry, "name", &p),
        };
        let template = match entry.get("template") {
            None => {
                v.push(
                    &join(&p, "template"),
                    ConfigErrorKind::Missing,
                    "is required: the request body to send, e.g. {\"model\": …, \"messages\": […]}",
                );
                None
            }
            Some(t) => template_body(t, &join(&p, "template"), v),
        };
        if let (Some(name), Some(template)) = (name, template) {
            templates.push(TemplateConfig {
                name: name.to_owned(),
                template: template.clone(),
            });
        }
    }
    (v.errors.len() == before).then_some(PromptTemplateConfig {
        templates,
        max_req_body_size,
    })
}

/// A template body: an object whose `model` and `messages`, when present,
/// have APISIX's shapes.
fn template_body<'a>(
    value: &'a Value,
    path: &str,
    v: &mut Validator,
) -> Option<&'a Map<String, Value>> {
    let map = v.object(value, path)?;
    let before = v.errors.len();
    if map.contains_key("model") {
        v.nonempty_string_field(map, "model", path);
    }
    messages(map, "messages", path, 1, v);
    (v.errors.len() == before).then_some(map)
}

/// Validates an `ai-prompt-guard` object (the patterns' syntax is checked
/// where they are compiled).
pub(crate) fn guard(value: &Value, v: &mut Validator) -> Option<PromptGuardConfig> {
    let map = v.object(value, "")?;
    v.unknown_fields(map, "", GUARD_FIELDS);
    meta(map, "", v);
    let before = v.errors.len();
    let owned = |list: Option<Vec<&str>>| {
        list.unwrap_or_default()
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let config = PromptGuardConfig {
        max_req_body_size: max_req_body_size(map, v),
        match_all_roles: v.bool_field(map, "match_all_roles", "", false),
        match_all_conversation_history: v.bool_field(
            map,
            "match_all_conversation_history",
            "",
            false,
        ),
        allow_patterns: owned(v.string_array_field(map, "allow_patterns", "")),
        deny_patterns: owned(v.string_array_field(map, "deny_patterns", "")),
        fail_mode: fail_mode(map, "", v),
    };
    (v.errors.len() == before).then_some(config)
}

/// `fail_mode`: `skip` (default), `warn` or `error`.
pub(super) fn fail_mode(map: &Map<String, Value>, path: &str, v: &mut Validator) -> FailMode {
    let names = FailMode::ALL.map(FailMode::as_str);
    let name = v.one_of_field(map, "fail_mode", path, &names);
    FailMode::ALL
        .into_iter()
        .find(|m| Some(m.as_str()) == name)
        .unwrap_or_default()
}

pub(super) fn max_req_body_size(map: &Map<String, Value>, v: &mut Validator) -> u64 {
    v.int_field(map, "max_req_body_size", "", 1, u64::MAX)
        .unwrap_or(DEFAULT_MAX_REQ_BODY_SIZE)
}

/// An optional array of `{role, content}` messages under `key`, with at
/// least `min_items` of them.
fn messages(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
    min_items: usize,
    v: &mut Validator,
) -> Option<Vec<PromptMessage>> {
    let value = map.get(key)?;
    let path = join(path, key);
    let Value::Array(items) = value else {
        v.type_error(
            &path,
            "an array of {\"role\": …, \"content\": …} messages",
            value,
        );
        return None;
    };
    if items.len() < min_items {
        v.invalid(&path, format!("must have at least {min_items} message"));
    }
    let before = v.errors.len();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Some(message) = v.object(item, &p) else {
            continue;
        };
        v.unknown_fields(message, &p, MESSAGE_FIELDS);
        let role = match message.get("role") {
            None => {
                v.push(&join(&p, "role"), ConfigErrorKind::Missing, "is required");
                None
            }
            Some(r) => v.one_of(r, &join(&p, "role"), ROLE_NAMES),
        };
        let content = match message.get("content") {
            None => {
                v.push(
                    &join(&p, "content"),
                    ConfigErrorKind::Missing,
                    "is required",
                );
                None
            }
            Some(_) => v.nonempty_string_field(message, "content", &p),
        };
        let role = PromptRole::ALL
            .into_iter()
            .find(|r| Some(r.as_str()) == role);
        if let (Some(role), Some(content)) = (role, content) {
            out.push(PromptMessage::new(role, content));
        }
    }
    (v.errors.len() == before).then_some(out)
}
