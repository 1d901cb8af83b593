//! One OpenAI message as the mapping reads it, the request's error
//! messages, and the text helpers every part of the mapping shares.

use std::borrow::Cow;

use ai_proxy_core::adapter::ConvertError;

use ai_proxy_core::json::scan::{Raw, ScanError, elements, fields};

pub(super) fn invalid(what: impl std::fmt::Display) -> ConvertError {
    ConvertError::new(format!(
        "invalid OpenAI chat request for Anthropic Messages: {what}"
    ))
}

pub(super) fn malformed(e: ScanError) -> ConvertError {
    invalid(format_args!(
        "malformed JSON at byte {}; send a JSON object",
        e.offset
    ))
}

/// One OpenAI message, as raw members.
pub(super) struct Message<'a> {
    pub(super) role: Cow<'a, str>,
    pub(super) content: Option<Raw<'a>>,
    pub(super) tool_calls: Option<Raw<'a>>,
    pub(super) tool_call_id: Option<Raw<'a>>,
}

pub(super) fn is_system(role: &str) -> bool {
    role == "system" || role == "developer"
}

pub(super) fn write_text_block(out: &mut Vec<u8>, text: Raw<'_>) {
    out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
    out.extend_from_slice(text.bytes());
    out.push(b'}');
}

/// Calls `f` with each non-empty text of a string-or-text-parts content
/// (other part types are ignored here).
pub(super) fn for_each_text<'a>(
    content: Option<Raw<'a>>,
    i: usize,
    mut f: impl FnMut(Raw<'a>),
) -> Result<(), ConvertError> {
    let Some(content) = content else {
        return Ok(());
    };
    if content.is_string() {
        if !content.is_empty_string() {
            f(content);
        }
        return Ok(());
    }
    if !content.is_array() {
        return Err(invalid(format_args!(
            "messages[{i}].content must be a string or an array of content parts"
        )));
    }
    for part in elements(content).map_err(malformed)? {
        if !part.is_object() {
            continue;
        }
        let [kind, text] = fields(part, ["type", "text"]).map_err(malformed)?;
        if kind.is_some_and(|k| k.str_is("text"))
            && let Some(t) = text.filter(|t| t.is_string() && !t.is_empty_string())
        {
            f(t);
        }
    }
    Ok(())
}
