//! `system` and `messages` → OpenAI messages: tool uses become
//! `tool_calls`, tool results become `tool` messages.

use ai_proxy_core::adapter::ConvertError;
use serde_json::value::RawValue;

use super::content::{Part, has_text, part, typed_block, write_joined_text, write_parts};
use super::fields::Fields;
use super::shapes::{Block, Message, array, object};
use crate::tool_names::ToolNameMap;
use ai_proxy_core::json::raw::{
    is_string, str_eq, str_value, write_minified, write_raw, write_str,
};

/// `system` → one leading system message (text blocks concatenated).
pub(super) fn write_system(list: &mut Fields<'_>, system: &RawValue) {
    let mut text = String::new();
    if let Some(s) = str_value(system) {
        text.push_str(&s);
    } else if let Some(blocks) = array(Some(system)) {
        for raw in blocks {
            let Some(block) = object::<Block<'_>>(Some(raw)) else {
                continue;
            };
            if !str_eq(block.kind, "text") {
                continue;
            }
            if let Some(t) = block.text.and_then(str_value)
                && let Some(cleaned) = strip_billing_cch(&t)
            {
                text.push_str(&cleaned);
            }
        }
    }
    if text.is_empty() {
        return;
    }
    let buf = list.item();
    buf.extend_from_slice(b"{\"role\":\"system\",\"content\":");
    write_str(buf, &text);
    buf.push(b'}');
}

const BILLING_PREFIX: &str = "x-anthropic-billing-header:";

/// Removes `cch=…` entries from a Claude Code billing-header text block
/// (they change per request and would defeat upstream prompt caching);
/// `None` when nothing remains. Other texts are returned unchanged.
// ok: `text` has the (ASCII) prefix, so slicing after it is on a boundary;
// `i < bytes.len()` in the loop; `from` is at most the end of the matched
// `cch=`; `copied <= i`, and both are 0, the end, one past an ASCII `;` or
// at an ASCII `cch=`, so every `value` slice is on char boundaries.
#[allow(clippy::indexing_slicing)]
pub(crate) fn strip_billing_cch(text: &str) -> Option<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    let Some(head) = text.get(..BILLING_PREFIX.len()) else {
        return Some(Cow::Borrowed(text));
    };
    if !head.eq_ignore_ascii_case(BILLING_PREFIX) {
        return Some(Cow::Borrowed(text));
    }
    let value = &text[BILLING_PREFIX.len()..];
    // ` ?cch=[^;]*;?`, all occurrences, leftmost first.
    let bytes = value.as_bytes();
    let mut kept = String::with_capacity(value.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let skip_from = if rest.starts_with(b" cch=") {
            Some(i + 5)
        } else if rest.starts_with(b"cch=") {
            Some(i + 4)
        } else {
            None
        };
        if let Some(from) = skip_from {
            kept.push_str(&value[copied..i]);
            let tail = &bytes[from..];
            i = match tail.iter().position(|b| *b == b';') {
                Some(p) => from + p + 1,
                None => bytes.len(),
            };
            copied = i;
        } else {
            i += 1;
        }
    }
    kept.push_str(&value[copied..]);
    let trimmed = kept.trim_matches(|c| c == ';' || c == ' ');
    if trimmed.is_empty() {
        return None;
    }
    Some(Cow::Owned(format!("{BILLING_PREFIX}{trimmed}")))
}

struct ToolCall<'a> {
    id: &'a RawValue,
    name: std::borrow::Cow<'a, str>,
    input: Option<&'a RawValue>,
}

struct ToolResult<'a> {
    tool_use_id: &'a RawValue,
    content: Option<&'a RawValue>,
}

pub(super) fn write_message(
    list: &mut Fields<'_>,
    raw: &RawValue,
    index: usize,
    names: &ToolNameMap,
) -> Result<(), ConvertError> {
    let message = object::<Message<'_>>(Some(raw))
        .ok_or_else(|| ConvertError::new(format!("invalid message at index {index}")))?;
    let role = message
        .role
        .filter(|r| is_string(r))
        .ok_or_else(|| ConvertError::new(format!("invalid message at index {index}")))?;
    let content = message
        .content
        .ok_or_else(|| ConvertError::new(format!("invalid message content at index {index}")))?;

    if is_string(content) {
        let buf = list.item();
        buf.extend_from_slice(b"{\"role\":");
        write_raw(buf, role);
        buf.extend_from_slice(b",\"content\":");
        write_raw(buf, content);
        buf.push(b'}');
        return Ok(());
    }
    let blocks = array(Some(content))
        .ok_or_else(|| ConvertError::new(format!("invalid message content at index {index}")))?;

    let mut parts = Vec::new();
    let mut calls = Vec::new();
    let mut results = Vec::new();
    for (block, kind) in blocks.into_iter().filter_map(typed_block) {
        match kind.as_ref() {
            "text" | "image" | "document" => parts.extend(part(&block, &kind)),
            "tool_use" => {
                let id = block.id.filter(|i| is_string(i));
                let name = block.name.and_then(str_value);
                if let (Some(id), Some(name)) = (id, name) {
                    calls.push(ToolCall {
                        id,
                        name,
                        input: block.input,
                    });
                }
            }
            "tool_result" => {
                if let Some(tool_use_id) = block.tool_use_id.filter(|i| is_string(i)) {
                    results.push(ToolResult {
                        tool_use_id,
                        content: block.content,
                    });
                }
            }
            // thinking / redacted_thinking: OpenAI chat has no input for
            // past reasoning; dropped like any unknown block.
            _ => {}
        }
    }

    if !results.is_empty() {
        for result in &results {
            let buf = list.item();
            buf.extend_from_slice(b"{\"role\":\"tool\",\"tool_call_id\":");
            write_raw(buf, result.tool_use_id);
            buf.extend_from_slice(b",\"content\":");
            write_tool_result_content(buf, result.content);
            buf.push(b'}');
        }
        if !parts.is_empty() {
            let buf = list.item();
            buf.extend_from_slice(b"{\"role\":");
            write_raw(buf, role);
            buf.extend_from_slice(b",\"content\":");
            write_parts(buf, &parts);
            buf.push(b'}');
        }
        return Ok(());
    }

    let buf = list.item();
    buf.extend_from_slice(b"{\"role\":");
    write_raw(buf, role);
    if !calls.is_empty() {
        if has_text(&parts) {
            buf.extend_from_slice(b",\"content\":");
            write_joined_text(buf, &parts);
        }
        buf.extend_from_slice(b",\"tool_calls\":[");
        for (i, call) in calls.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"{\"id\":");
            write_raw(buf, call.id);
            buf.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
            let sent = names
                .sent_name(&call.name)
                .unwrap_or(std::borrow::Cow::Borrowed(&call.name));
            write_str(buf, &sent);
            buf.extend_from_slice(b",\"arguments\":");
            match call.input.filter(|i| i.get() != "null") {
                Some(input) => {
                    let mut compact = Vec::with_capacity(input.get().len());
                    write_minified(&mut compact, input.get());
                    // Only ASCII whitespace was removed: still UTF-8.
                    write_str(buf, std::str::from_utf8(&compact).unwrap_or("{}"));
                }
                None => buf.extend_from_slice(b"\"{}\""),
            }
            buf.extend_from_slice(b"}}");
        }
        buf.push(b']');
    } else if parts.is_empty() {
        buf.extend_from_slice(b",\"content\":\"\"");
    } else if str_eq(Some(role), "assistant") {
        buf.extend_from_slice(b",\"content\":");
        write_joined_text(buf, &parts);
    } else {
        buf.extend_from_slice(b",\"content\":");
        write_parts(buf, &parts);
    }
    buf.push(b'}');
    Ok(())
}

/// `tool_result.content`: a string as is; an array → its texts
/// concatenated, or a parts array when it holds an image or document.
fn write_tool_result_content(out: &mut Vec<u8>, content: Option<&RawValue>) {
    let Some(content) = content else {
        out.extend_from_slice(b"\"\"");
        return;
    };
    if is_string(content) {
        write_raw(out, content);
        return;
    }
    let Some(items) = array(Some(content)) else {
        out.extend_from_slice(b"\"\"");
        return;
    };
    let mut parts = Vec::new();
    let mut has_media = false;
    for (block, kind) in items.into_iter().filter_map(typed_block) {
        if let Some(p) = part(&block, &kind) {
            has_media |= matches!(p, Part::Media(_));
            parts.push(p);
        }
    }
    if has_media {
        write_parts(out, &parts);
    } else {
        write_joined_text(out, &parts);
    }
}
