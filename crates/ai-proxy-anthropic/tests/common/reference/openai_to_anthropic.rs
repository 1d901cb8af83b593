//! OpenAI chat → Anthropic Messages, the converter's mapping and order of
//! checks written over serde_json `Value` trees: an independent reading of
//! the rules the converter applies in one pass over the bytes.

use ai_proxy_core::adapter::ConvertError;
use serde_json::{Map, Value, json};

use super::present;

fn invalid(what: impl std::fmt::Display) -> ConvertError {
    ConvertError::new(format!(
        "invalid OpenAI chat request for Anthropic Messages: {what}"
    ))
}

/// The converted body, and whether its bytes must equal the tree's
/// compact serialization (false when a tool input is the client's own
/// arguments text, spaced as the client wrote it); `None` when the input
/// holds a value a tree cannot (a number beyond `f64`).
pub type Converted = Option<(Value, bool)>;

pub fn convert(body: &[u8], default_max_tokens: u64) -> Result<Converted, ConvertError> {
    let req: Map<String, Value> =
        serde_json::from_slice(body).map_err(|_| invalid("malformed JSON; send a JSON object"))?;
    let messages: &[Value] = match req.get("messages") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(list)) => list,
        Some(_) => return Err(invalid("messages must be an array")),
    };
    if let Some(i) = messages.iter().position(|m| !m.is_object()) {
        return Err(invalid(format_args!("messages[{i}] must be an object")));
    }
    let mut roles = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str);
        roles.push(
            role.ok_or_else(|| invalid(format_args!("messages[{i}].role must be a string")))?,
        );
    }
    if messages.is_empty() {
        return Err(ConvertError::new("missing messages"));
    }
    let mut system = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        if matches!(roles[i], "system" | "developer") {
            texts(content(m), i, &mut system)?;
        }
    }
    let mut exact = true;
    let turns = turns(messages, &roles, &mut exact)?;
    let Some(turns) = turns else { return Ok(None) };

    let mut out = Map::new();
    if let Some(model) = req.get("model").filter(|m| m.is_string()) {
        out.insert("model".into(), model.clone());
    }
    let max = ["max_completion_tokens", "max_tokens"]
        .iter()
        .find_map(|k| req.get(*k).filter(|n| n.is_number()).cloned());
    out.insert(
        "max_tokens".into(),
        max.unwrap_or_else(|| Value::from(default_max_tokens)),
    );
    match system.as_slice() {
        [] => {}
        [one] => {
            out.insert("system".into(), one.clone());
        }
        many => {
            let blocks = many
                .iter()
                .map(|t| json!({"type": "text", "text": t}))
                .collect();
            out.insert("system".into(), Value::Array(blocks));
        }
    }
    out.insert("messages".into(), Value::Array(turns));
    match req.get("stop") {
        Some(Value::String(s)) => {
            out.insert("stop_sequences".into(), json!([s]));
        }
        Some(list @ Value::Array(_)) => {
            out.insert("stop_sequences".into(), list.clone());
        }
        _ => {}
    }
    for key in ["temperature", "top_p", "top_k"] {
        if let Some(n) = req.get(key).filter(|n| n.is_number()) {
            out.insert(key.into(), n.clone());
        }
    }
    if let Some(stream) = req.get("stream").filter(|s| s.is_boolean()) {
        out.insert("stream".into(), stream.clone());
    }
    if let Some(user) = req
        .get("user")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
    {
        out.insert("metadata".into(), json!({"user_id": user}));
    }
    let tools: &[Value] = match present(&req, "tools") {
        None => &[],
        Some(Value::Array(list)) => list,
        Some(_) => return Err(invalid("tools must be an array")),
    };
    if !tools.is_empty() {
        let converted = tools
            .iter()
            .enumerate()
            .map(|(i, t)| tool(t, i))
            .collect::<Result<Vec<_>, _>>()?;
        out.insert("tools".into(), Value::Array(converted));
        let no_parallel = req.get("parallel_tool_calls") == Some(&Value::Bool(false));
        match (tool_choice(present(&req, "tool_choice"))?, no_parallel) {
            (None, false) => {}
            (Some(Choice::None), _) => {
                out.insert("tool_choice".into(), json!({"type": "none"}));
            }
            (choice, no_parallel) => {
                let mut c = Map::new();
                match choice {
                    Some(Choice::Required) => c.insert("type".into(), json!("any")),
                    Some(Choice::Function(name)) => {
                        c.insert("type".into(), json!("tool"));
                        c.insert("name".into(), Value::from(name))
                    }
                    _ => c.insert("type".into(), json!("auto")),
                };
                if no_parallel {
                    c.insert("disable_parallel_tool_use".into(), Value::Bool(true));
                }
                out.insert("tool_choice".into(), Value::Object(c));
            }
        }
    }
    Ok(Some((Value::Object(out), exact)))
}

/// A message's `content`, `null` read as absent.
fn content(m: &Value) -> Option<&Value> {
    m.get("content").filter(|c| !c.is_null())
}

/// The non-empty texts of a string-or-parts content.
fn texts(content: Option<&Value>, i: usize, out: &mut Vec<Value>) -> Result<(), ConvertError> {
    match content {
        None => Ok(()),
        Some(Value::String(s)) => {
            if !s.is_empty() {
                out.push(Value::from(s.as_str()));
            }
            Ok(())
        }
        Some(Value::Array(parts)) => {
            for part in parts.iter().filter_map(Value::as_object) {
                if part.get("type").and_then(Value::as_str) == Some("text")
                    && let Some(t) = part
                        .get("text")
                        .and_then(Value::as_str)
                        .filter(|t| !t.is_empty())
                {
                    out.push(Value::from(t));
                }
            }
            Ok(())
        }
        Some(_) => Err(invalid(format_args!(
            "messages[{i}].content must be a string or an array of content parts"
        ))),
    }
}

fn text_blocks(content: Option<&Value>, i: usize) -> Result<Vec<Value>, ConvertError> {
    let mut list = Vec::new();
    texts(content, i, &mut list)?;
    Ok(list
        .into_iter()
        .map(|t| json!({"type": "text", "text": t}))
        .collect())
}

/// Anthropic's turns; `None` when a tool input cannot be held in a tree.
fn turns(
    messages: &[Value],
    roles: &[&str],
    exact: &mut bool,
) -> Result<Option<Vec<Value>>, ConvertError> {
    let mut out: Vec<Value> = Vec::new();
    let mut results: Option<Vec<Value>> = None;
    let close = |out: &mut Vec<Value>, results: &mut Option<Vec<Value>>| {
        if let Some(blocks) = results.take() {
            out.push(json!({"role": "user", "content": blocks}));
        }
    };
    for (i, m) in messages.iter().enumerate() {
        match roles[i] {
            "system" | "developer" => continue,
            "tool" => {
                let id = m
                    .get("tool_call_id")
                    .filter(|v| v.is_string())
                    .ok_or_else(|| {
                        invalid(format_args!("messages[{i}] (tool) has no tool_call_id"))
                    })?;
                let mut block = json!({"type": "tool_result", "tool_use_id": id});
                match content(m) {
                    Some(s @ Value::String(_)) => block["content"] = s.clone(),
                    Some(other) => block["content"] = Value::Array(text_blocks(Some(other), i)?),
                    None => {}
                }
                results.get_or_insert_with(Vec::new).push(block);
                continue;
            }
            _ => close(&mut out, &mut results),
        }
        match roles[i] {
            "user" => out.push(json!({"role": "user", "content": user_content(content(m), i)?})),
            "assistant" => {
                let calls: &[Value] = match m.get("tool_calls").filter(|c| !c.is_null()) {
                    None => &[],
                    Some(Value::Array(calls)) => calls,
                    Some(_) => {
                        return Err(invalid(format_args!(
                            "messages[{i}].tool_calls must be an array"
                        )));
                    }
                };
                if calls.is_empty() {
                    match content(m) {
                        None => continue,
                        Some(Value::String(s)) if s.is_empty() => continue,
                        Some(s @ Value::String(_)) => {
                            out.push(json!({"role": "assistant", "content": s}));
                            continue;
                        }
                        Some(_) => {}
                    }
                }
                let mut blocks = text_blocks(content(m), i)?;
                for (j, call) in calls.iter().enumerate() {
                    let Some(block) = tool_use(call, i, j, exact)? else {
                        return Ok(None);
                    };
                    blocks.push(block);
                }
                out.push(json!({"role": "assistant", "content": blocks}));
            }
            other => {
                return Err(invalid(format_args!(
                    "messages[{i}]: role `{other}` is not supported (use system, developer, user, assistant or tool)"
                )));
            }
        }
    }
    close(&mut out, &mut results);
    Ok(Some(out))
}

fn user_content(content: Option<&Value>, i: usize) -> Result<Value, ConvertError> {
    match content {
        None => Err(invalid(format_args!("messages[{i}] (user) has no content"))),
        Some(s @ Value::String(_)) => Ok(s.clone()),
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .map(|(j, p)| user_part(p, i, j))
            .collect(),
        Some(_) => Err(invalid(format_args!(
            "messages[{i}].content must be a string or an array of content parts"
        ))),
    }
}

/// `data:<media type>;base64,<data>` as `(media type, data)`.
fn base64_url(url: &str) -> Option<(&str, &str)> {
    let (meta, data) = url.strip_prefix("data:")?.split_once(',')?;
    Some((meta.strip_suffix(";base64")?, data))
}

fn user_part(part: &Value, i: usize, j: usize) -> Result<Value, ConvertError> {
    let at = format!("messages[{i}].content[{j}]");
    let part = part
        .as_object()
        .ok_or_else(|| invalid(format_args!("{at} must be an object")))?;
    let mut block = match part.get("type").and_then(Value::as_str).unwrap_or_default() {
        "text" => {
            let text = part
                .get("text")
                .filter(|t| t.is_string())
                .ok_or_else(|| invalid(format_args!("{at}: text part without text")))?;
            json!({"type": "text", "text": text})
        }
        "image_url" => {
            let url = match part.get("image_url") {
                Some(Value::Object(o)) => o.get("url"),
                other => other,
            }
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format_args!("{at}: image_url part without image_url.url")))?;
            let source = match base64_url(url) {
                Some((media_type, data)) => {
                    json!({"type": "base64", "media_type": media_type, "data": data})
                }
                None => json!({"type": "url", "url": url}),
            };
            json!({"type": "image", "source": source})
        }
        "file" => {
            let (media_type, data) = part
                .get("file")
                .and_then(Value::as_object)
                .and_then(|f| f.get("file_data"))
                .and_then(Value::as_str)
                .and_then(base64_url)
                .ok_or_else(|| {
                    invalid(format_args!(
                        "{at}: file parts need file.file_data as a base64 data URL (file_id cannot be sent to Anthropic)"
                    ))
                })?;
            json!({"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}})
        }
        other => {
            return Err(invalid(format_args!(
                "{at}: content part type `{other}` has no Anthropic equivalent (use text, image_url or file)"
            )));
        }
    };
    if let Some(cc) = part.get("cache_control").filter(|c| c.is_object()) {
        block["cache_control"] = cc.clone();
    }
    Ok(block)
}

/// A tool call as a `tool_use` block; `None` when its input cannot be
/// held in a tree.
fn tool_use(
    call: &Value,
    i: usize,
    j: usize,
    exact: &mut bool,
) -> Result<Option<Value>, ConvertError> {
    let at = format!("messages[{i}].tool_calls[{j}]");
    let call = call
        .as_object()
        .ok_or_else(|| invalid(format_args!("{at} must be an object")))?;
    let id = call
        .get("id")
        .filter(|v| v.is_string())
        .ok_or_else(|| invalid(format_args!("{at}: missing id")))?;
    let function = call
        .get("function")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid(format_args!("{at}: missing function")))?;
    let name = function
        .get("name")
        .filter(|v| v.is_string())
        .ok_or_else(|| invalid(format_args!("{at}: missing function.name")))?;
    let arguments = function
        .get("arguments")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let text = arguments.trim_matches(|c: char| c.is_ascii_whitespace());
    let input = if text.is_empty() {
        json!({})
    } else {
        let is_object =
            text.starts_with('{') && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
        if !is_object {
            return Err(invalid(format_args!(
                "{at}: function.arguments must be a JSON object (Anthropic tool_use input)"
            )));
        }
        let Ok(input) = serde_json::from_str::<Value>(text) else {
            return Ok(None);
        };
        *exact &= serde_json::to_string(&input).is_ok_and(|canonical| canonical == text);
        input
    };
    Ok(Some(
        json!({"type": "tool_use", "id": id, "name": name, "input": input}),
    ))
}

fn tool(tool: &Value, i: usize) -> Result<Value, ConvertError> {
    let tool = tool
        .as_object()
        .ok_or_else(|| invalid(format_args!("tools[{i}] must be an object")))?;
    if tool
        .get("type")
        .is_some_and(|k| k.as_str() != Some("function"))
    {
        return Err(invalid(format_args!(
            "tools[{i}]: only function tools can be converted"
        )));
    }
    let function = tool.get("function").and_then(Value::as_object);
    let field = |k: &str| function.and_then(|f| f.get(k));
    let name = field("name")
        .filter(|n| n.is_string())
        .ok_or_else(|| invalid(format_args!("tools[{i}]: missing function.name")))?;
    let mut out = json!({"name": name});
    if let Some(d) = field("description").filter(|d| d.is_string()) {
        out["description"] = d.clone();
    }
    out["input_schema"] = field("parameters")
        .filter(|p| p.is_object())
        .cloned()
        .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
    if let Some(cc) = tool.get("cache_control").filter(|c| c.is_object()) {
        out["cache_control"] = cc.clone();
    }
    Ok(out)
}

enum Choice {
    Auto,
    Required,
    None,
    Function(String),
}

fn tool_choice(raw: Option<&Value>) -> Result<Option<Choice>, ConvertError> {
    let Some(raw) = raw else { return Ok(None) };
    if let Some(s) = raw.as_str() {
        return match s {
            "auto" => Ok(Some(Choice::Auto)),
            "required" => Ok(Some(Choice::Required)),
            "none" => Ok(Some(Choice::None)),
            other => Err(invalid(format_args!(
                "tool_choice `{other}` is not one of auto, required, none"
            ))),
        };
    }
    raw.get("function")
        .and_then(|f| f.get("name"))
        .and_then(Value::as_str)
        .filter(|_| raw.get("function").is_some_and(Value::is_object))
        .map(|n| Some(Choice::Function(n.to_owned())))
        .ok_or_else(|| invalid("tool_choice object needs function.name"))
}
