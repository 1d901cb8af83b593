//! `tools` and `tool_choice` → Converse `toolConfig`.

use ai_proxy_core::adapter::ConvertError;
use serde_json::value::RawValue;

use super::wire::{Tool, invalid};
use crate::json::{
    is_array, is_empty_string, is_null, is_object, is_string, str_is, str_value, write_raw,
};

pub(super) fn write_tool_config(
    out: &mut Vec<u8>,
    tools: Option<&RawValue>,
    choice: Option<&RawValue>,
) -> Result<(), ConvertError> {
    let tools: Vec<Tool<'_>> = match tools.filter(|t| !is_null(t)) {
        Some(t) if is_array(t) => {
            serde_json::from_str(t.get()).map_err(|e| invalid(format_args!("tools: {e}")))?
        }
        Some(_) => return Err(invalid("tools must be an array")),
        None => return Ok(()),
    };
    if tools.is_empty() {
        return Ok(());
    }
    out.extend_from_slice(b",\"toolConfig\":{\"tools\":[");
    for (i, tool) in tools.iter().enumerate() {
        if tool.kind.is_some_and(|k| !str_is(Some(k), "function")) {
            return Err(invalid(format_args!(
                "tools[{i}]: only function tools can be sent to Bedrock"
            )));
        }
        let function = tool
            .function
            .as_ref()
            .ok_or_else(|| invalid(format_args!("tools[{i}]: missing function")))?;
        let name = function
            .name
            .filter(|n| is_string(n))
            .ok_or_else(|| invalid(format_args!("tools[{i}]: missing function.name")))?;
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"toolSpec\":{\"name\":");
        write_raw(out, name);
        if let Some(d) = function
            .description
            .filter(|d| is_string(d) && !is_empty_string(d))
        {
            out.extend_from_slice(b",\"description\":");
            write_raw(out, d);
        }
        out.extend_from_slice(b",\"inputSchema\":{\"json\":");
        match function.parameters.filter(|p| is_object(p)) {
            Some(p) => write_raw(out, p),
            // Converse requires a schema; OpenAI allows none (no arguments).
            None => out.extend_from_slice(b"{\"type\":\"object\",\"properties\":{}}"),
        }
        out.extend_from_slice(b"}}}");
    }
    out.push(b']');
    write_tool_choice(out, choice)?;
    out.push(b'}');
    Ok(())
}

fn write_tool_choice(out: &mut Vec<u8>, choice: Option<&RawValue>) -> Result<(), ConvertError> {
    let Some(choice) = choice.filter(|c| !is_null(c)) else {
        return Ok(());
    };
    if let Some(s) = str_value(choice) {
        let json: &[u8] = match s.as_ref() {
            "auto" => b"{\"auto\":{}}",
            "required" => b"{\"any\":{}}",
            "none" => return Ok(()),
            other => {
                return Err(invalid(format_args!(
                    "tool_choice `{other}` is not one of auto, required, none"
                )));
            }
        };
        out.extend_from_slice(b",\"toolChoice\":");
        out.extend_from_slice(json);
        return Ok(());
    }
    let name = is_object(choice)
        .then(|| serde_json::from_str::<Tool<'_>>(choice.get()).ok())
        .flatten()
        .and_then(|t| t.function)
        .and_then(|f| f.name)
        .filter(|n| is_string(n))
        .ok_or_else(|| invalid("tool_choice object needs function.name"))?;
    out.extend_from_slice(b",\"toolChoice\":{\"tool\":{\"name\":");
    write_raw(out, name);
    out.extend_from_slice(b"}}");
    Ok(())
}
