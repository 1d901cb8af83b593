//! Tools: `tool_calls` → `tool_use` blocks (arguments decoded into the
//! input object), tool messages → `tool_result` blocks, `tools` and
//! `tool_choice`.

use ai_proxy_core::adapter::ConvertError;
use ai_proxy_core::json::chat::{ChatError, FunctionTool, ToolCall};
use ai_proxy_core::json::text::unescape_into;
use ai_proxy_core::json::{Raw, Scanner, SyntaxError, syntax};

use super::content::{for_each_text, write_text_block};
use super::invalid;
use super::message::{Content, Message};

pub(super) fn write_tool_use(
    out: &mut Vec<u8>,
    call: &ToolCall<'_>,
    i: usize,
    j: usize,
) -> Result<(), ConvertError> {
    let (id, name) = call.id_and_name(i, j).map_err(invalid)?;
    if !write_tool_use_block(out, id, name, call.arguments) {
        return Err(invalid(format_args!(
            "messages[{i}].tool_calls[{j}]: function.arguments must be a JSON object \
             (Anthropic tool_use input)"
        )));
    }
    Ok(())
}

/// `{"type":"tool_use","id":…,"name":…,"input":…}` from a call's string
/// `id` and `name` and its `arguments`; false (the block left unfinished)
/// when the arguments are not a JSON object.
pub(super) fn write_tool_use_block(
    out: &mut Vec<u8>,
    id: Raw<'_>,
    name: Raw<'_>,
    arguments: Option<Raw<'_>>,
) -> bool {
    out.extend_from_slice(b"{\"type\":\"tool_use\",\"id\":");
    out.extend_from_slice(id.bytes());
    out.extend_from_slice(b",\"name\":");
    out.extend_from_slice(name.bytes());
    out.extend_from_slice(b",\"input\":");
    if !write_input(out, arguments) {
        return false;
    }
    out.push(b'}');
    true
}

/// `arguments` (a string holding JSON) → the `input` object, decoded
/// straight into `out` and checked there; `{}` for no arguments. False
/// when the arguments are not a JSON object.
fn write_input(out: &mut Vec<u8>, arguments: Option<Raw<'_>>) -> bool {
    let Some(arguments) = arguments.filter(|a| a.is_string()) else {
        out.extend_from_slice(b"{}");
        return true;
    };
    let start = out.len();
    // An escape that does not decode (a lone surrogate) reads as no
    // arguments.
    if unescape_into(arguments.inner(), out).is_none() {
        out.truncate(start);
    }
    let Some(decoded) = out.get(start..) else {
        return false;
    };
    let text = decoded.trim_ascii();
    if text.is_empty() {
        out.truncate(start);
        out.extend_from_slice(b"{}");
        return true;
    }
    // The body was UTF-8 and escapes decode to whole characters: only the
    // grammar is left to check.
    let valid = text.first() == Some(&b'{')
        && syntax::value_end(text, 0)
            .and_then(|end| syntax::end(text, end))
            .is_ok();
    if !valid {
        return false;
    }
    // Keep the trimmed text.
    let lead = decoded.len() - decoded.trim_ascii_start().len();
    let len = text.len();
    out.copy_within(start + lead..start + lead + len, start);
    out.truncate(start + len);
    true
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
    open_tool_result(out, id);
    match m.content {
        Content::Raw(c) if c.is_string() => {
            out.extend_from_slice(b",\"content\":");
            out.extend_from_slice(c.bytes());
        }
        Content::Absent => {}
        content => {
            out.extend_from_slice(b",\"content\":[");
            let mut n = 0;
            for_each_text(content, &m.parts, i, |t| {
                if n > 0 {
                    out.push(b',');
                }
                n += 1;
                write_text_block(out, t);
            })?;
            out.push(b']');
        }
    }
    out.push(b'}');
    Ok(())
}

/// A `tool_result` block up to its content: `{"type":"tool_result","tool_use_id":…`.
pub(super) fn open_tool_result(out: &mut Vec<u8>, id: Raw<'_>) {
    out.extend_from_slice(b"{\"type\":\"tool_result\",\"tool_use_id\":");
    out.extend_from_slice(id.bytes());
}

/// Reads `tools` (an array) at the cursor and writes Anthropic's tools;
/// the count written, or the first entry that cannot be sent.
pub(super) fn read_tools(
    s: &mut Scanner<'_>,
    out: &mut Vec<u8>,
) -> Result<Result<usize, ConvertError>, SyntaxError> {
    let mut i = 0;
    let mut failed = None;
    out.push(b'[');
    s.array(|s| {
        let tool = FunctionTool::read(s, i);
        i += 1;
        match tool {
            Ok(tool) if failed.is_none() => write_tool(out, i - 1, &tool),
            Ok(_) => {}
            Err(ChatError::Malformed(e)) => return Err(e),
            Err(e) => {
                failed.get_or_insert_with(|| invalid(e));
            }
        }
        Ok(())
    })?;
    out.push(b']');
    Ok(failed.map_or(Ok(i), Err))
}

fn write_tool(out: &mut Vec<u8>, i: usize, tool: &FunctionTool<'_>) {
    if i > 0 {
        out.push(b',');
    }
    out.extend_from_slice(b"{\"name\":");
    out.extend_from_slice(tool.name.bytes());
    if let Some(d) = tool.description {
        out.extend_from_slice(b",\"description\":");
        out.extend_from_slice(d.bytes());
    }
    out.extend_from_slice(b",\"input_schema\":");
    match tool.parameters.filter(|p| p.is_object()) {
        Some(p) => out.extend_from_slice(p.bytes()),
        // Anthropic requires a schema; OpenAI allows none (no arguments).
        None => out.extend_from_slice(b"{\"type\":\"object\",\"properties\":{}}"),
    }
    if let Some(cc) = tool.cache_control {
        out.extend_from_slice(b",\"cache_control\":");
        out.extend_from_slice(cc.bytes());
    }
    out.push(b'}');
}
