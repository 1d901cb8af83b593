//! Serde-based references for the drivers: APISIX's Lua, transcribed onto
//! `serde_json::Value`s.

use std::collections::BTreeMap;

use ai_proxy_core::config::{CheckMode, RoleSet};
use ai_proxy_core::protocol::{BodyTop, Protocol};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::{GuardOutcome, PromptError};

fn parse(body: &[u8]) -> Option<Value> {
    std::str::from_utf8(body)
        .ok()
        .and_then(|t| serde_json::from_str(t).ok())
}

/// Whether `body` is JSON as the plugins and `prepare` read it: UTF-8 that
/// serde's `IgnoredAny` accepts. A `Value` cannot hold every such text (a
/// number beyond `f64`, such as `52E255252`, is JSON but no `Value`).
fn is_json(body: &[u8]) -> bool {
    std::str::from_utf8(body)
        .is_ok_and(|t| serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok())
}

/// The top level of JSON `body` as the plugins see it, read without a
/// `Value` (so numbers beyond `f64` do not matter).
fn raw_top(body: &[u8]) -> BodyTop {
    if let Some(members) = raw_members(body) {
        let first = |key: &str| members.get(key).and_then(|v| v.get().bytes().next());
        return BodyTop::Object {
            messages: matches!(first("messages"), Some(b'[' | b'{')),
            input: members.contains_key("input"),
            anthropic_version: members.contains_key("anthropic_version"),
            non_empty: !members.is_empty(),
        };
    }
    match serde_json::from_slice::<Vec<&RawValue>>(body) {
        Ok(elements) => BodyTop::Array {
            non_empty: !elements.is_empty(),
        },
        Err(_) => BodyTop::Scalar,
    }
}

fn top(value: &Value) -> BodyTop {
    match value {
        Value::Object(o) => BodyTop::Object {
            messages: o
                .get("messages")
                .is_some_and(|m| m.is_array() || m.is_object()),
            input: o.contains_key("input"),
            anthropic_version: o.contains_key("anthropic_version"),
            non_empty: !o.is_empty(),
        },
        Value::Array(a) => BodyTop::Array {
            non_empty: !a.is_empty(),
        },
        _ => BodyTop::Scalar,
    }
}

/// Members a decoration may change, per protocol.
fn changeable(protocol: Option<Protocol>) -> &'static [&'static str] {
    match protocol {
        Some(Protocol::OpenAiChat) | None => &["messages"],
        Some(Protocol::AnthropicMessages | Protocol::BedrockConverse) => &["messages", "system"],
        Some(Protocol::OpenAiResponses) => &["instructions", "input"],
        _ => &[],
    }
}

/// The decorated body against the reference decoration; members it must
/// not change keep their bytes.
pub(super) fn decorated(path: &str, config: &Value, body: &[u8], out: &[u8]) -> Result<(), String> {
    if !is_json(body) {
        return Err("decorated a body that is not JSON".to_owned());
    }
    if !is_json(out) {
        return Err("the decorated body is not JSON".to_owned());
    }
    let (Some(input), Some(output)) = (parse(body), parse(out)) else {
        return kept_unmodelled(path, body, out);
    };
    let protocol = Protocol::detect(path, top(&input));
    let Value::Object(object) = &input else {
        return (out == body)
            .then_some(())
            .ok_or_else(|| "changed a body that is no object".to_owned());
    };
    let messages = |key: &str| config[key].as_array().cloned().unwrap_or_default();
    let (prepend, append) = (messages("prepend"), messages("append"));
    let mut expected = object.clone();
    let list = |o: &Map<String, Value>, key: &str| match o.get(key) {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    let system = |m: &&Value| m["role"] == "system";
    match protocol {
        Some(Protocol::OpenAiChat) | None if !(prepend.is_empty() && append.is_empty()) => {
            let all: Vec<Value> = prepend
                .iter()
                .chain(&list(object, "messages"))
                .chain(&append)
                .cloned()
                .collect();
            expected.insert("messages".into(), Value::Array(all));
        }
        Some(Protocol::AnthropicMessages) => {
            let block = |m: &Value| json!({"type": "text", "text": m["content"]});
            let (before, after): (Vec<Value>, Vec<Value>) = (
                prepend.iter().filter(system).map(block).collect(),
                append.iter().filter(system).map(block).collect(),
            );
            if !before.is_empty() || !after.is_empty() {
                let theirs = match object.get("system") {
                    Some(Value::String(s)) => vec![json!({"type": "text", "text": s})],
                    Some(Value::Array(a)) => a.clone(),
                    _ => Vec::new(),
                };
                expected.insert(
                    "system".into(),
                    Value::Array([before, theirs, after].concat()),
                );
            }
            let turn = |m: &Value| json!({"role": m["role"], "content": m["content"]});
            let (before, after): (Vec<Value>, Vec<Value>) = (
                prepend.iter().filter(|m| !system(m)).map(turn).collect(),
                append.iter().filter(|m| !system(m)).map(turn).collect(),
            );
            if !before.is_empty() || !after.is_empty() {
                expected.insert(
                    "messages".into(),
                    Value::Array([before, list(object, "messages"), after].concat()),
                );
            }
        }
        Some(Protocol::BedrockConverse) => {
            let block = |m: &Value| json!({"text": m["content"]});
            let (before, after): (Vec<Value>, Vec<Value>) = (
                prepend.iter().filter(system).map(block).collect(),
                append.iter().filter(system).map(block).collect(),
            );
            if !before.is_empty() || !after.is_empty() {
                expected.insert(
                    "system".into(),
                    Value::Array([before, list(object, "system"), after].concat()),
                );
            }
            let turn = |m: &Value| json!({"role": m["role"], "content": [{"text": m["content"]}]});
            let (before, after): (Vec<Value>, Vec<Value>) = (
                prepend.iter().filter(|m| !system(m)).map(turn).collect(),
                append.iter().filter(|m| !system(m)).map(turn).collect(),
            );
            if !before.is_empty() || !after.is_empty() {
                expected.insert(
                    "messages".into(),
                    Value::Array([before, list(object, "messages"), after].concat()),
                );
            }
        }
        Some(Protocol::OpenAiResponses) => {
            let joined = |list: &[Value]| {
                list.iter()
                    .filter_map(|m| m["content"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            if !prepend.is_empty() {
                let value = match object.get("instructions") {
                    Some(Value::String(i)) => format!("{}\n{i}", joined(&prepend)),
                    _ => joined(&prepend),
                };
                expected.insert("instructions".into(), Value::String(value));
            }
            if !append.is_empty() {
                let text = joined(&append);
                let value = match object.get("input") {
                    Some(Value::String(i)) => Value::String(format!("{i}\n{text}")),
                    Some(Value::Array(a)) => {
                        let item = json!({"type": "message", "role": "user", "content": text});
                        Value::Array(a.iter().cloned().chain([item]).collect())
                    }
                    _ => Value::String(text),
                };
                expected.insert("input".into(), value);
            }
        }
        _ => {}
    }
    if output != Value::Object(expected.clone()) {
        return Err(format!(
            "decorated to {output}, expected {}",
            Value::Object(expected)
        ));
    }
    if expected == *object && out != body {
        return Err("an undecorated body was rewritten".to_owned());
    }
    // Every other member keeps its bytes.
    if let (Some(before), Some(after)) = (raw_members(body), raw_members(out)) {
        for (key, value) in &before {
            if !changeable(protocol).contains(&key.as_str())
                && after.get(key).map(|v| v.get()) != Some(value.get())
            {
                return Err(format!("member {key} changed"));
            }
        }
    }
    Ok(())
}

/// A decorated JSON body the reference cannot model as a `Value` (it holds
/// a number beyond `f64`): what can still be checked without one — a body
/// that is no object, or of a protocol with nothing to change, comes back
/// as it was, and the members a decoration may not change keep their
/// bytes.
fn kept_unmodelled(path: &str, body: &[u8], out: &[u8]) -> Result<(), String> {
    let protocol = Protocol::detect(path, raw_top(body));
    let Some(before) = raw_members(body) else {
        return (out == body)
            .then_some(())
            .ok_or_else(|| "changed a body that is no object".to_owned());
    };
    let changeable = changeable(protocol);
    if changeable.is_empty() && out != body {
        return Err(format!("changed a body of protocol {protocol:?}"));
    }
    let after = raw_members(out).ok_or("the decorated object is no object")?;
    for (key, value) in &before {
        if !changeable.contains(&key.as_str())
            && after.get(key).map(|v| v.get()) != Some(value.get())
        {
            return Err(format!("member {key} changed"));
        }
    }
    Ok(())
}

/// The top-level members' raw texts (the last of duplicates).
fn raw_members(body: &[u8]) -> Option<BTreeMap<String, &RawValue>> {
    serde_json::from_slice(body).ok()
}

/// Whether the reference also finds the body impossible to decorate.
/// Read through raw members, so a body with a number beyond `f64` is held
/// to the same rules.
pub(super) fn undecoratable(path: &str, body: &[u8]) -> Result<(), String> {
    if !is_json(body) {
        return Ok(());
    }
    let protocol = Protocol::detect(path, raw_top(body));
    let members = raw_members(body).unwrap_or_default();
    let first = |key: &str| members.get(key).map(|v| v.get().as_bytes());
    let bad_messages = !matches!(first("messages"), None | Some([b'[', ..] | b"null"));
    let bad_system = !matches!(first("system"), None | Some([b'[' | b'"', ..] | b"null"));
    match protocol {
        Some(Protocol::OpenAiChat | Protocol::BedrockConverse) if bad_messages => Ok(()),
        Some(Protocol::AnthropicMessages) if bad_messages || bad_system => Ok(()),
        _ => Err(format!(
            "refused a decoratable body {}",
            String::from_utf8_lossy(body)
        )),
    }
}

/// APISIX's chat `append_message_text`.
fn texts(message: &Value) -> Vec<String> {
    match &message["content"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(parts) => parts
            .iter()
            .filter(|p| p["type"] == "text")
            .filter_map(|p| p["text"].as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The guard's verdict on an OpenAI chat body against APISIX's selection.
pub(super) fn guarded(
    config: &Value,
    body: &[u8],
    verdict: &Result<GuardOutcome, PromptError>,
) -> Result<(), String> {
    let Some(Value::Array(messages)) = parse(body).and_then(|v| v.get("messages").cloned()) else {
        return Ok(());
    };
    if !parse(body).is_some_and(|v| v.is_object()) {
        return Ok(());
    }
    let mut selected: Vec<(String, String)> = messages
        .iter()
        .filter(|m| m.is_object())
        .map(|m| (m["role"].as_str().unwrap_or_default().to_owned(), texts(m)))
        .filter(|(_, t)| !t.is_empty())
        .map(|(r, t)| (r, t.join(" ")))
        .collect();
    if config["match_all_conversation_history"] != true {
        selected = selected.pop().into_iter().collect();
    }
    if config["match_all_roles"] != true {
        selected.retain(|(role, _)| role == "user");
    }
    // PCRE without `PCRE_UCP`, as `ngx.re` compiles: `\w`, `\d`, `\s`, `\b`
    // ASCII; non-ASCII literals are their UTF-8 bytes (the driver's
    // patterns fold case on ASCII letters only, where byte folding is
    // PCRE's).
    let patterns = |key: &str| -> Vec<regex::bytes::Regex> {
        config[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                regex::bytes::RegexBuilder::new(p.as_str()?)
                    .unicode(false)
                    .build()
                    .ok()
            })
            .collect()
    };
    let expected = if selected.is_empty() {
        Ok(GuardOutcome::NothingToCheck)
    } else {
        let text: Vec<&str> = selected.iter().map(|(_, t)| t.as_str()).collect();
        let text = text.join(" ");
        let allow = patterns("allow_patterns");
        if !allow.is_empty() && !allow.iter().any(|r| r.is_match(text.as_bytes())) {
            Err(PromptError::NotAllowed)
        } else if patterns("deny_patterns")
            .iter()
            .any(|r| r.is_match(text.as_bytes()))
        {
            Err(PromptError::Prohibited)
        } else {
            Ok(GuardOutcome::Passed)
        }
    };
    (*verdict == expected)
        .then_some(())
        .ok_or_else(|| format!("guard said {verdict:?}, expected {expected:?}"))
}

/// Moderated text of an OpenAI chat body against APISIX's extraction.
pub(super) fn moderated(
    body: &[u8],
    roles: RoleSet,
    mode: CheckMode,
    text: &str,
) -> Result<(), String> {
    let Some(Value::Array(messages)) = parse(body).and_then(|v| v.get("messages").cloned()) else {
        return Ok(());
    };
    let role = |m: &Value| m["role"].as_str().map(str::to_owned);
    let mut out: Vec<String> = Vec::new();
    if roles.system {
        for m in messages
            .iter()
            .filter(|m| matches!(role(m).as_deref(), Some("system" | "developer")))
        {
            out.extend(texts(m));
        }
    }
    let turn = |m: &Value| role(m).is_some_and(|r| roles.has_turn_role(&r));
    let start = match mode {
        CheckMode::Last => messages.len() - messages.iter().rev().take_while(|m| turn(m)).count(),
        _ => 0,
    };
    for m in messages
        .get(start..)
        .unwrap_or_default()
        .iter()
        .filter(|m| turn(m))
    {
        out.extend(texts(m));
    }
    let expected = out.join(" ");
    (text == expected)
        .then_some(())
        .ok_or_else(|| format!("moderated {text:?}, expected {expected:?}"))
}

/// What a placeholder is filled with: a string's text, other values'
/// JSON as sent, nothing for `null` or a missing member.
pub(super) fn filled(raw: Option<&RawValue>) -> String {
    match raw.map(RawValue::get) {
        None | Some("null") => String::new(),
        Some(text) if text.starts_with('"') => serde_json::from_str(text).unwrap_or_default(),
        Some(text) => text.to_owned(),
    }
}
