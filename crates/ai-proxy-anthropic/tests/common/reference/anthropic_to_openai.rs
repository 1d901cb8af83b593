//! Anthropic Messages → OpenAI chat, APISIX's mapping written over
//! serde_json `Value` trees: an independent reading of the same rules the
//! converter applies in one pass over the bytes.

use ai_proxy_anthropic::ToolNameMap;
use ai_proxy_core::adapter::ConvertError;
use serde_json::{Map, Value, json};

use super::{non_empty_str, present};

/// Built-in Anthropic tool types, which OpenAI cannot run.
const BUILTIN: [&str; 5] = [
    "computer_",
    "bash_",
    "text_editor_",
    "web_search",
    "code_execution_",
];

/// Lua's truthiness on decoded JSON: anything but `false` (and absent).
fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Bool(false) | Value::Null)
}

/// The converted body as a `Value` tree.
pub fn convert(body: &[u8]) -> Result<Value, ConvertError> {
    let req: Map<String, Value> = serde_json::from_slice(body).map_err(|e| {
        ConvertError::new(format!(
            "request body must be a JSON object in Anthropic Messages format: {e}"
        ))
    })?;
    let messages = present(&req, "messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ConvertError::new("missing messages"))?;
    let mut names = ToolNameMap::new();
    let tools = tools(present(&req, "tools"), &mut names);

    let mut out = Map::new();
    if let Some(model) = present(&req, "model").filter(|m| m.is_string()) {
        out.insert("model".into(), model.clone());
    }
    if let Some(stream) = present(&req, "stream") {
        out.insert("stream".into(), stream.clone());
        if truthy(stream) {
            out.insert("stream_options".into(), json!({"include_usage": true}));
        }
    }
    for (from, to) in [
        ("max_tokens", "max_completion_tokens"),
        ("temperature", "temperature"),
        ("top_p", "top_p"),
    ] {
        if let Some(v) = present(&req, from).filter(|v| truthy(v)) {
            out.insert(to.into(), v.clone());
        }
    }
    if let Some(stop) = present(&req, "stop_sequences").filter(|s| s.is_array()) {
        out.insert("stop".into(), stop.clone());
    }
    let config = present(&req, "output_config").and_then(Value::as_object);
    if let Some(effort) = effort(present(&req, "thinking"), config) {
        out.insert("reasoning_effort".into(), effort);
    }
    if !tools.is_empty()
        && let Some(choice) = present(&req, "tool_choice").and_then(Value::as_object)
    {
        tool_choice(&mut out, choice, &names);
    }
    let format = present(&req, "output_format")
        .filter(|f| f.is_object())
        .or_else(|| config.and_then(|c| present(c, "format")))
        .and_then(Value::as_object);
    if let Some(format) = format
        && present(format, "type").and_then(Value::as_str) == Some("json_schema")
        && let Some(schema) = present(format, "schema").filter(|s| s.is_object())
    {
        let mut schema = schema.clone();
        strict(&mut schema, 0);
        out.insert(
            "response_format".into(),
            json!({"type": "json_schema", "json_schema": {"name": "structured_output", "schema": schema, "strict": true}}),
        );
    }
    if let Some(user) = present(&req, "metadata")
        .and_then(Value::as_object)
        .and_then(|m| present(m, "user_id"))
        .filter(|u| u.is_string())
    {
        out.insert("user".into(), user.clone());
    }
    if let Some(tier) = present(&req, "service_tier").filter(|t| t.is_string()) {
        out.insert("service_tier".into(), tier.clone());
    }
    let mut list = Vec::new();
    list.extend(system(present(&req, "system")));
    for (i, m) in messages.iter().enumerate() {
        message(&mut list, m, i + 1, &names)?;
    }
    out.insert("messages".into(), Value::Array(list));
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
    }
    Ok(Value::Object(out))
}

fn tools(tools: Option<&Value>, names: &mut ToolNameMap) -> Vec<Value> {
    let mut out = Vec::new();
    for tool in tools.and_then(Value::as_array).into_iter().flatten() {
        let Some(tool) = tool.as_object() else {
            continue;
        };
        let kind = present(tool, "type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if BUILTIN.iter().any(|b| kind.starts_with(b)) {
            continue;
        }
        let Some(name) = non_empty_str(present(tool, "name")) else {
            continue;
        };
        let mut function = Map::new();
        function.insert("name".into(), Value::from(names.declare(name)));
        if let Some(d) = present(tool, "description") {
            function.insert("description".into(), d.clone());
        }
        if let Some(p) = present(tool, "input_schema") {
            function.insert("parameters".into(), p.clone());
        }
        out.push(json!({"type": "function", "function": function}));
    }
    out
}

fn tool_choice(out: &mut Map<String, Value>, choice: &Map<String, Value>, names: &ToolNameMap) {
    let mapped = match present(choice, "type").and_then(Value::as_str) {
        Some("auto") => Some(json!("auto")),
        Some("any") => Some(json!("required")),
        Some("none") => Some(json!("none")),
        Some("tool") => present(choice, "name").and_then(Value::as_str).map(|name| {
            let sent = names
                .sent_name(name)
                .map_or_else(|| name.to_owned(), |s| s.into_owned());
            json!({"type": "function", "function": {"name": sent}})
        }),
        _ => None,
    };
    if let Some(mapped) = mapped {
        out.insert("tool_choice".into(), mapped);
    }
    if present(choice, "disable_parallel_tool_use") == Some(&Value::Bool(true)) {
        out.insert("parallel_tool_calls".into(), Value::Bool(false));
    }
}

fn effort(thinking: Option<&Value>, config: Option<&Map<String, Value>>) -> Option<Value> {
    let thinking = thinking?.as_object()?;
    let level = match present(thinking, "type")?.as_str()? {
        "enabled" => match present(thinking, "budget_tokens").and_then(Value::as_f64) {
            None => "medium",
            Some(b) if b >= 4096.0 => "high",
            Some(b) if b >= 2048.0 => "medium",
            Some(b) if b >= 1024.0 => "low",
            Some(_) => "minimal",
        },
        "adaptive" => {
            return Some(
                config
                    .and_then(|c| present(c, "effort"))
                    .filter(|e| e.as_str().is_some_and(|s| !s.is_empty()))
                    .cloned()
                    .unwrap_or_else(|| json!("medium")),
            );
        }
        "disabled" => "none",
        _ => return None,
    };
    Some(Value::from(level))
}

/// OpenAI strict mode, recursively: objects with `properties` forbid
/// other properties and require all of theirs (sorted).
fn strict(schema: &mut Value, depth: usize) {
    let Some(map) = schema.as_object_mut().filter(|_| depth <= 64) else {
        return;
    };
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        let mut required: Vec<Value> = props.keys().cloned().map(Value::from).collect();
        required.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        props.values_mut().for_each(|v| strict(v, depth + 1));
        map.insert("additionalProperties".into(), Value::Bool(false));
        map.insert("required".into(), Value::Array(required));
    }
    match map.get_mut("items") {
        Some(Value::Array(list)) => list.iter_mut().for_each(|v| strict(v, depth + 1)),
        Some(other) => strict(other, depth + 1),
        None => {}
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(list)) = map.get_mut(key) {
            list.iter_mut().for_each(|v| strict(v, depth + 1));
        }
    }
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = map.get_mut(key) {
            defs.values_mut().for_each(|v| strict(v, depth + 1));
        }
    }
}

const BILLING: &str = "x-anthropic-billing-header:";

/// A Claude Code billing header without its `cch=…` entries (`None` when
/// nothing is left); other texts as they are.
fn without_cch(text: &str) -> Option<String> {
    let Some(value) = text
        .get(..BILLING.len())
        .filter(|head| head.eq_ignore_ascii_case(BILLING))
        .and_then(|_| text.get(BILLING.len()..))
    else {
        return Some(text.to_owned());
    };
    let mut kept = String::new();
    let mut rest = value;
    while let Some(at) = rest.find("cch=") {
        let before = &rest[..at];
        kept.push_str(before.strip_suffix(' ').unwrap_or(before));
        let after = &rest[at + 4..];
        rest = after.find(';').map_or("", |semi| &after[semi + 1..]);
    }
    kept.push_str(rest);
    let kept = kept.trim_matches(|c| c == ';' || c == ' ');
    (!kept.is_empty()).then(|| format!("{BILLING}{kept}"))
}

fn system(system: Option<&Value>) -> Option<Value> {
    let text = match system? {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(Value::as_object)
            .filter(|b| present(b, "type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| present(b, "text").and_then(Value::as_str))
            .filter_map(without_cch)
            .collect(),
        _ => return None,
    };
    (!text.is_empty()).then(|| json!({"role": "system", "content": text}))
}

/// A text, image or document block as an OpenAI content part.
fn part(block: &Map<String, Value>, kind: &str) -> Option<Value> {
    if kind == "text" {
        return present(block, "text")
            .filter(|t| t.is_string())
            .map(|t| json!({"type": "text", "text": t}));
    }
    let source = present(block, "source")?.as_object()?;
    let url = match present(source, "type")?.as_str()? {
        "base64" if kind == "image" || kind == "document" => {
            let data = non_empty_str(present(source, "data"))?;
            let default = if kind == "image" {
                "image/png"
            } else {
                "application/pdf"
            };
            let media = present(source, "media_type")
                .and_then(Value::as_str)
                .unwrap_or(default);
            format!("data:{media};base64,{data}")
        }
        "url" if kind == "image" => non_empty_str(present(source, "url"))?.to_owned(),
        _ => return None,
    };
    Some(json!({"type": "image_url", "image_url": {"url": url}}))
}

/// Blocks with a string `type`, and that type.
fn typed(blocks: &[Value]) -> impl Iterator<Item = (&Map<String, Value>, &str)> {
    blocks
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|b| Some((b, present(b, "type")?.as_str()?)))
}

fn joined(parts: &[Value]) -> Value {
    Value::from(
        parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<String>(),
    )
}

fn has_media(parts: &[Value]) -> bool {
    parts.iter().any(|p| p.get("image_url").is_some())
}

fn message(
    list: &mut Vec<Value>,
    m: &Value,
    index: usize,
    names: &ToolNameMap,
) -> Result<(), ConvertError> {
    let bad_message = || ConvertError::new(format!("invalid message at index {index}"));
    let bad_content = || ConvertError::new(format!("invalid message content at index {index}"));
    let m = m.as_object().ok_or_else(bad_message)?;
    let role = present(m, "role")
        .filter(|r| r.is_string())
        .ok_or_else(bad_message)?;
    let blocks = match present(m, "content").ok_or_else(bad_content)? {
        Value::String(text) => {
            list.push(json!({"role": role, "content": text}));
            return Ok(());
        }
        Value::Array(blocks) => blocks,
        _ => return Err(bad_content()),
    };
    let (mut parts, mut calls, mut results) = (Vec::new(), Vec::new(), Vec::new());
    for (block, kind) in typed(blocks) {
        match kind {
            "text" | "image" | "document" => parts.extend(part(block, kind)),
            "tool_use" => {
                let id = present(block, "id").filter(|i| i.is_string());
                let name = present(block, "name").and_then(Value::as_str);
                if let (Some(id), Some(name)) = (id, name) {
                    let sent = names
                        .sent_name(name)
                        .map_or_else(|| name.to_owned(), |s| s.into_owned());
                    let arguments =
                        present(block, "input").map_or_else(|| "{}".to_owned(), Value::to_string);
                    calls.push(json!({"id": id, "type": "function", "function": {"name": sent, "arguments": arguments}}));
                }
            }
            "tool_result" => {
                if let Some(id) = present(block, "tool_use_id").filter(|i| i.is_string()) {
                    let content = match present(block, "content") {
                        Some(Value::String(s)) => Value::from(s.as_str()),
                        Some(Value::Array(items)) => {
                            let inner: Vec<Value> =
                                typed(items).filter_map(|(b, k)| part(b, k)).collect();
                            if has_media(&inner) {
                                Value::Array(inner)
                            } else {
                                joined(&inner)
                            }
                        }
                        _ => Value::from(""),
                    };
                    results.push(json!({"role": "tool", "tool_call_id": id, "content": content}));
                }
            }
            _ => {}
        }
    }
    if !results.is_empty() {
        list.extend(results);
        if !parts.is_empty() {
            list.push(json!({"role": role, "content": parts}));
        }
        return Ok(());
    }
    let mut out = Map::new();
    out.insert("role".into(), role.clone());
    if !calls.is_empty() {
        if parts.iter().any(|p| {
            p.get("text")
                .and_then(Value::as_str)
                .is_some_and(|t| !t.is_empty())
        }) {
            out.insert("content".into(), joined(&parts));
        }
        out.insert("tool_calls".into(), Value::Array(calls));
    } else if parts.is_empty() {
        out.insert("content".into(), Value::from(""));
    } else if role.as_str() == Some("assistant") {
        out.insert("content".into(), joined(&parts));
    } else {
        out.insert("content".into(), Value::Array(parts));
    }
    list.push(Value::Object(out));
    Ok(())
}
