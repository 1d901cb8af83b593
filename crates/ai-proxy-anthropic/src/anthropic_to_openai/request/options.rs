//! Tools, `tool_choice`, reasoning effort and structured output.

use serde_json::value::RawValue;

use super::fields::Fields;
use super::shapes::{OutputConfig, Thinking, Tool, ToolChoice, array, object};
use crate::tool_names::ToolNameMap;
use ai_proxy_core::json::raw::{is_number, non_empty_string, str_value, write_raw, write_str};

/// Built-in Anthropic tool types (no `input_schema`; OpenAI cannot run them).
const BUILTIN_TOOL_PREFIXES: [&str; 5] = [
    "computer_",
    "bash_",
    "text_editor_",
    "web_search",
    "code_execution_",
];

pub(super) fn write_tools(
    out: &mut Vec<u8>,
    tools: Option<&RawValue>,
    names: &mut ToolNameMap,
) -> usize {
    let Some(tools) = array(tools) else {
        return 0;
    };
    let mut count = 0;
    let mut list = Fields::array(out);
    for raw in tools {
        let Some(tool) = object::<Tool<'_>>(Some(raw)) else {
            continue;
        };
        if let Some(kind) = tool.kind.and_then(str_value)
            && BUILTIN_TOOL_PREFIXES.iter().any(|p| kind.starts_with(p))
        {
            continue;
        }
        let Some(name) = tool.name.and_then(str_value).filter(|n| !n.is_empty()) else {
            continue;
        };
        let sent = names.declare(&name);
        let buf = list.item();
        buf.extend_from_slice(b"{\"type\":\"function\",\"function\":{\"name\":");
        write_str(buf, &sent);
        if let Some(d) = tool.description {
            buf.extend_from_slice(b",\"description\":");
            write_raw(buf, d);
        }
        if let Some(p) = tool.input_schema {
            buf.extend_from_slice(b",\"parameters\":");
            write_raw(buf, p);
        }
        buf.extend_from_slice(b"}}");
        count += 1;
    }
    list.end_array();
    count
}

pub(super) fn write_tool_choice(
    obj: &mut Fields<'_>,
    choice: &ToolChoice<'_>,
    names: &ToolNameMap,
) {
    let kind = choice.kind.and_then(str_value);
    match kind.as_deref() {
        Some("auto") => obj.key("tool_choice").extend_from_slice(b"\"auto\""),
        Some("any") => obj.key("tool_choice").extend_from_slice(b"\"required\""),
        Some("none") => obj.key("tool_choice").extend_from_slice(b"\"none\""),
        Some("tool") => {
            if let Some(name) = choice.name.and_then(str_value) {
                let sent = names.sent_name(&name).unwrap_or(name);
                let buf = obj.key("tool_choice");
                buf.extend_from_slice(b"{\"type\":\"function\",\"function\":{\"name\":");
                write_str(buf, &sent);
                buf.extend_from_slice(b"}}");
            }
        }
        _ => {}
    }
    if choice
        .disable_parallel_tool_use
        .is_some_and(|d| d.get() == "true")
    {
        obj.key("parallel_tool_calls").extend_from_slice(b"false");
    }
}

/// `thinking` → `reasoning_effort`.
pub(super) fn reasoning_effort<'a>(
    thinking: Option<&'a RawValue>,
    output_config: Option<&OutputConfig<'a>>,
) -> Option<Effort<'a>> {
    let thinking: Thinking<'_> = object(thinking)?;
    let kind = thinking.kind.and_then(str_value)?;
    match kind.as_ref() {
        "enabled" => {
            let budget = thinking
                .budget_tokens
                .filter(|b| is_number(b))
                .and_then(|b| b.get().parse::<f64>().ok());
            Some(Effort::Fixed(match budget {
                None => "medium",
                Some(b) if b >= 4096.0 => "high",
                Some(b) if b >= 2048.0 => "medium",
                Some(b) if b >= 1024.0 => "low",
                Some(_) => "minimal",
            }))
        }
        "adaptive" => Some(
            output_config
                .and_then(|c| non_empty_string(c.effort))
                .map_or(Effort::Fixed("medium"), Effort::Raw),
        ),
        "disabled" => Some(Effort::Fixed("none")),
        _ => None,
    }
}

pub(super) enum Effort<'a> {
    Fixed(&'static str),
    Raw(&'a RawValue),
}

pub(super) fn write_effort(out: &mut Vec<u8>, effort: Effort<'_>) {
    match effort {
        Effort::Fixed(s) => write_str(out, s),
        Effort::Raw(r) => write_raw(out, r),
    }
}

/// `{type:json_schema, json_schema:{name, schema:<strict copy>, strict:true}}`.
pub(super) fn write_response_format(out: &mut Vec<u8>, schema: &RawValue) {
    // The schema is small and must be rewritten recursively: a Value tree
    // is the right tool here (and only here).
    let Ok(mut schema) = serde_json::from_str::<serde_json::Value>(schema.get()) else {
        return;
    };
    strictify(&mut schema, 0);
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
