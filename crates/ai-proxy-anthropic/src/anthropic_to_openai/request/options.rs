//! Tools, `tool_choice`, reasoning effort and structured output.

use std::borrow::Cow;

use ai_proxy_core::json::write::write_str;
use ai_proxy_core::json::{Raw, Scanner, SyntaxError};

use super::blocks::present;
use crate::tool_names::{ToolNameMap, is_valid_tool_name_bytes};

/// Built-in Anthropic tool types (no `input_schema`; OpenAI cannot run them).
const BUILTIN_TOOL_PREFIXES: [&str; 5] = [
    "computer_",
    "bash_",
    "text_editor_",
    "web_search",
    "code_execution_",
];

/// Reads `tools` at the cursor (an array) and writes the OpenAI tools,
/// declaring each name in `names`; returns how many were written.
pub(super) fn read_tools(
    s: &mut Scanner<'_>,
    out: &mut Vec<u8>,
    names: &mut ToolNameMap,
) -> Result<usize, SyntaxError> {
    let mut count = 0;
    out.push(b'[');
    s.array(|s| {
        let Some(fields) = s.fields_of_object(["type", "name", "description", "input_schema"])?
        else {
            return Ok(());
        };
        let [kind, name, description, schema] = fields.map(|v| v.and_then(present));
        if let Some(kind) = kind.and_then(Raw::str)
            && BUILTIN_TOOL_PREFIXES.iter().any(|p| kind.starts_with(p))
        {
            return Ok(());
        }
        let Some(name) = name.filter(|n| n.is_string() && !n.is_empty_string()) else {
            return Ok(());
        };
        // A valid OpenAI name is sent as it is (it needs no escape); any
        // other is declared under the name it is sent as.
        let sent = if is_valid_tool_name_bytes(name.inner()) {
            Cow::Borrowed(name.bytes())
        } else {
            let Some(decoded) = name.str() else {
                return Ok(());
            };
            let mut token = Vec::new();
            write_str(&mut token, &names.declare(&decoded));
            Cow::Owned(token)
        };
        if count > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"type\":\"function\",\"function\":{\"name\":");
        out.extend_from_slice(&sent);
        let buf = &mut *out;
        if let Some(d) = description {
            buf.extend_from_slice(b",\"description\":");
            buf.extend_from_slice(d.bytes());
        }
        if let Some(p) = schema {
            buf.extend_from_slice(b",\"parameters\":");
            buf.extend_from_slice(p.bytes());
        }
        buf.extend_from_slice(b"}}");
        count += 1;
        Ok(())
    })?;
    out.push(b']');
    Ok(count)
}

/// `tool_choice` (its `type`, `name` and `disable_parallel_tool_use`) →
/// `tool_choice` and `parallel_tool_calls`.
pub(super) fn write_tool_choice(
    obj: &mut ai_proxy_core::json::write::ObjectWriter<'_>,
    [kind, name, disable_parallel]: [Option<Raw<'_>>; 3],
    names: &ToolNameMap,
) {
    match kind.and_then(Raw::str).as_deref() {
        Some("auto") => obj.member("tool_choice").extend_from_slice(b"\"auto\""),
        Some("any") => obj.member("tool_choice").extend_from_slice(b"\"required\""),
        Some("none") => obj.member("tool_choice").extend_from_slice(b"\"none\""),
        Some("tool") => {
            if let Some(name) = name.and_then(Raw::str) {
                let sent = names.sent_name(&name).unwrap_or(name);
                let buf = obj.member("tool_choice");
                buf.extend_from_slice(b"{\"type\":\"function\",\"function\":{\"name\":");
                write_str(buf, &sent);
                buf.extend_from_slice(b"}}");
            }
        }
        _ => {}
    }
    if disable_parallel.is_some_and(|d| d.bytes() == b"true") {
        obj.member("parallel_tool_calls")
            .extend_from_slice(b"false");
    }
}

/// `reasoning_effort`: a fixed level, or the client's `output_config.effort`.
pub(super) enum Effort<'a> {
    Fixed(&'static str),
    Raw(Raw<'a>),
}

/// `thinking` (its `type` and `budget_tokens`) → `reasoning_effort`.
pub(super) fn reasoning_effort<'a>(
    [kind, budget]: [Option<Raw<'a>>; 2],
    effort: Option<Raw<'a>>,
) -> Option<Effort<'a>> {
    match kind.and_then(Raw::str)?.as_ref() {
        "enabled" => {
            let budget = budget
                .filter(|b| b.is_number())
                .and_then(|b| std::str::from_utf8(b.bytes()).ok()?.parse::<f64>().ok());
            Some(Effort::Fixed(match budget {
                None => "medium",
                Some(b) if b >= 4096.0 => "high",
                Some(b) if b >= 2048.0 => "medium",
                Some(b) if b >= 1024.0 => "low",
                Some(_) => "minimal",
            }))
        }
        "adaptive" => Some(
            effort
                .and_then(Raw::non_empty_string)
                .map_or(Effort::Fixed("medium"), Effort::Raw),
        ),
        "disabled" => Some(Effort::Fixed("none")),
        _ => None,
    }
}

impl Effort<'_> {
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        match self {
            Effort::Fixed(s) => write_str(out, s),
            Effort::Raw(r) => out.extend_from_slice(r.bytes()),
        }
    }
}

/// `{type:json_schema, json_schema:{name, schema:<strict copy>, strict:true}}`
/// (nothing when the schema does not fit a `Value`, e.g. a number beyond
/// `f64`).
pub(super) fn write_response_format(
    obj: &mut ai_proxy_core::json::write::ObjectWriter<'_>,
    schema: Raw<'_>,
) {
    // The schema is small and must be rewritten recursively: a Value tree
    // is the right tool here (and only here).
    let Ok(mut schema) = serde_json::from_slice::<serde_json::Value>(schema.bytes()) else {
        return;
    };
    strictify(&mut schema, 0);
    let out = obj.member("response_format");
    out.extend_from_slice(
        b"{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"structured_output\",\"schema\":",
    );
    if serde_json::to_writer(&mut *out, &schema).is_err() {
        out.extend_from_slice(b"{}");
    }
    out.extend_from_slice(b",\"strict\":true}}");
}

/// OpenAI strict mode: every object with `properties` forbids additional
/// properties and requires all of them (sorted names), recursively.
fn strictify(schema: &mut serde_json::Value, depth: usize) {
    use serde_json::Value;
    // Deeper schemas than this are not real; stop rather than recurse
    // without bound on hostile input.
    if depth > 64 {
        return;
    }
    let Value::Object(map) = schema else {
        return;
    };
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        let mut required: Vec<String> = props.keys().cloned().collect();
        required.sort();
        for value in props.values_mut() {
            strictify(value, depth + 1);
        }
        map.insert("additionalProperties".into(), Value::Bool(false));
        map.insert(
            "required".into(),
            Value::Array(required.into_iter().map(Value::String).collect()),
        );
    }
    if let Some(items) = map.get_mut("items") {
        match items {
            Value::Array(list) => list.iter_mut().for_each(|v| strictify(v, depth + 1)),
            other => strictify(other, depth + 1),
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(list)) = map.get_mut(key) {
            list.iter_mut().for_each(|v| strictify(v, depth + 1));
        }
    }
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = map.get_mut(key) {
            defs.values_mut().for_each(|v| strictify(v, depth + 1));
        }
    }
}
