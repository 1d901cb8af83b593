//! Tools: `tool_calls` → `tool_use` blocks, tool messages →
//! `tool_result` blocks, `tools` and `tool_choice`.

use std::borrow::Cow;

use ai_proxy_core::adapter::ConvertError;

use super::message::{Message, for_each_text, invalid, malformed, write_text_block};
use ai_proxy_core::json::scan::{Raw, ScanError, Scanner, fields};

/// One `tool_calls[]` entry, read in one pass (`function` in place).
#[derive(Default)]
pub(super) struct ToolCall<'a> {
    is_object: bool,
    id: Option<Raw<'a>>,
    has_function: bool,
    name: Option<Raw<'a>>,
    arguments: Option<Raw<'a>>,
}

pub(super) fn parse_tool_calls(raw: Raw<'_>) -> Result<Vec<ToolCall<'_>>, ScanError> {
    let mut calls = Vec::with_capacity(2);
    let mut s = Scanner::new(raw.bytes());
    s.array(|s| {
        let mut call = ToolCall::default();
        if s.peek() == Some(b'{') {
            call.is_object = true;
            s.object(|key, s| {
                if key.str_is("function") && s.peek() == Some(b'{') {
                    let [name, arguments] = s.fields(["name", "arguments"])?;
                    call.has_function = true;
                    call.name = name;
                    call.arguments = arguments;
                } else {
                    let value = s.value()?;
                    if key.str_is("id") {
                        call.id = Some(value);
                    }
                }
                Ok(())
            })?;
        } else {
            s.value()?;
        }
        calls.push(call);
        Ok(())
    })?;
    s.end()?;
    Ok(calls)
}

pub(super) fn write_tool_use(
    out: &mut Vec<u8>,
    call: &ToolCall<'_>,
    i: usize,
    j: usize,
) -> Result<(), ConvertError> {
    let at = || format!("messages[{i}].tool_calls[{j}]");
    if !call.is_object {
        return Err(invalid(format_args!("{} must be an object", at())));
    }
    let id = call
        .id
        .filter(|v| v.is_string())
        .ok_or_else(|| invalid(format_args!("{}: missing id", at())))?;
    if !call.has_function {
        return Err(invalid(format_args!("{}: missing function", at())));
    }
    let name = call
        .name
        .filter(|v| v.is_string())
        .ok_or_else(|| invalid(format_args!("{}: missing function.name", at())))?;
    let arguments = call.arguments;
    out.extend_from_slice(b"{\"type\":\"tool_use\",\"id\":");
    out.extend_from_slice(id.bytes());
    out.extend_from_slice(b",\"name\":");
    out.extend_from_slice(name.bytes());
    out.extend_from_slice(b",\"input\":");
    match arguments.filter(|a| a.is_string()).map(decode_arguments) {
        None => out.extend_from_slice(b"{}"),
        Some(text) => {
            let text = text.as_deref().map(<[u8]>::trim_ascii).unwrap_or_default();
            if text.is_empty() {
                out.extend_from_slice(b"{}");
            } else if text.first() == Some(&b'{')
                && serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok()
            {
                out.extend_from_slice(text);
            } else {
                return Err(invalid(format_args!(
                    "{}: function.arguments must be a JSON object (Anthropic tool_use input)",
                    at()
                )));
            }
        }
    }
    out.push(b'}');
    Ok(())
}

/// The JSON text inside an `arguments` string. Tool arguments are JSON
/// in a string, so nearly every byte pair is `\"`: the common escapes
/// are undone here without a serde round trip; `\u` falls back to serde.
fn decode_arguments(raw: Raw<'_>) -> Option<Cow<'_, [u8]>> {
    let inner = raw.inner();
    if !inner.contains(&b'\\') {
        return Some(Cow::Borrowed(inner));
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter();
    // Short strings with an escape every few bytes: a byte loop, no SIMD
    // call per escape.
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        out.push(match bytes.next()? {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'b' => 0x08,
            b'f' => 0x0c,
            _ => {
                return raw.str().map(|s| Cow::Owned(s.into_owned().into_bytes()));
            }
        });
    }
    Some(Cow::Owned(out))
}

pub(super) fn write_tool_result(
    out: &mut Vec<u8>,
    m: &Message<'_>,
    i: usize,
) -> Result<(), ConvertError> {
    let id = m
        .tool_call_id
        .filter(|v| v.is_string())
        .ok_or_else(|| invalid(format_args!("messages[{i}] (tool) has no tool_call_id")))?;
    out.extend_from_slice(b"{\"type\":\"tool_result\",\"tool_use_id\":");
    out.extend_from_slice(id.bytes());
    match m.content {
        Some(c) if c.is_string() => {
            out.extend_from_slice(b",\"content\":");
            out.extend_from_slice(c.bytes());
        }
        Some(c) => {
            out.extend_from_slice(b",\"content\":[");
            let mut n = 0;
            for_each_text(Some(c), i, |t| {
                if n > 0 {
                    out.push(b',');
                }
                n += 1;
                write_text_block(out, t);
            })?;
            out.push(b']');
        }
        None => {}
    }
    out.push(b'}');
    Ok(())
}

pub(super) fn write_tools(out: &mut Vec<u8>, tools: &[Raw<'_>]) -> Result<(), ConvertError> {
    out.push(b'[');
    for (i, tool) in tools.iter().enumerate() {
        if !tool.is_object() {
            return Err(invalid(format_args!("tools[{i}] must be an object")));
        }
        let [kind, function, cache_control] =
            fields(*tool, ["type", "function", "cache_control"]).map_err(malformed)?;
        if kind.is_some_and(|k| !k.str_is("function")) {
            return Err(invalid(format_args!(
                "tools[{i}]: only function tools can be sent to Anthropic"
            )));
        }
        let [name, description, parameters] = function
            .filter(|f| f.is_object())
            .map(|f| fields(f, ["name", "description", "parameters"]))
            .transpose()
            .map_err(malformed)?
            .unwrap_or_default();
        let name = name
            .filter(|n| n.is_string())
            .ok_or_else(|| invalid(format_args!("tools[{i}]: missing function.name")))?;
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        out.extend_from_slice(name.bytes());
        if let Some(d) = description.filter(|d| d.is_string()) {
            out.extend_from_slice(b",\"description\":");
            out.extend_from_slice(d.bytes());
        }
        out.extend_from_slice(b",\"input_schema\":");
        match parameters.filter(|p| p.is_object()) {
            Some(p) => out.extend_from_slice(p.bytes()),
            // Anthropic requires a schema; OpenAI allows none (no arguments).
            None => out.extend_from_slice(b"{\"type\":\"object\",\"properties\":{}}"),
        }
        if let Some(cc) = cache_control.filter(|c| c.is_object()) {
            out.extend_from_slice(b",\"cache_control\":");
            out.extend_from_slice(cc.bytes());
        }
        out.push(b'}');
    }
    out.push(b']');
    Ok(())
}

pub(super) enum ToolChoice<'a> {
    Auto,
    Any,
    None,
    Tool(Raw<'a>),
}

pub(super) fn tool_choice(raw: Option<Raw<'_>>) -> Result<Option<ToolChoice<'_>>, ConvertError> {
    let Some(raw) = raw.filter(|r| !r.is_null()) else {
        return Ok(None);
    };
    if let Some(s) = raw.str() {
        return match s.as_ref() {
            "auto" => Ok(Some(ToolChoice::Auto)),
            "required" => Ok(Some(ToolChoice::Any)),
            "none" => Ok(Some(ToolChoice::None)),
            other => Err(invalid(format_args!(
                "tool_choice `{other}` is not one of auto, required, none"
            ))),
        };
    }
    let name = raw
        .is_object()
        .then(|| fields(raw, ["function"]).ok())
        .flatten()
        .and_then(|[f]| f)
        .filter(|f| f.is_object())
        .and_then(|f| fields(f, ["name"]).ok())
        .and_then(|[n]| n)
        .filter(|n| n.is_string())
        .ok_or_else(|| invalid("tool_choice object needs function.name"))?;
    Ok(Some(ToolChoice::Tool(name)))
}
