//! Tools: `tool_calls` → `tool_use` blocks, tool messages →
//! `tool_result` blocks, `tools`.

use ai_proxy_core::adapter::ConvertError;
use ai_proxy_core::json::chat::{FunctionTool, ToolCall, function_tool};

use super::message::{Message, for_each_text, invalid, malformed, write_text_block};
use ai_proxy_core::json::scan::{Raw, fields};

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
    match arguments.filter(|a| a.is_string()).map(Raw::unescaped) {
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
        let FunctionTool {
            name,
            description,
            parameters,
            ..
        } = function_tool(*tool, i).map_err(invalid)?;
        let [cache_control] = fields(*tool, ["cache_control"]).map_err(malformed)?;
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        out.extend_from_slice(name.bytes());
        if let Some(d) = description {
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
