//! One OpenAI message as the mapping reads it, the request's error
//! messages, and the text helpers every part of the mapping shares.

use std::borrow::Cow;

use ai_proxy_core::adapter::ConvertError;

use ai_proxy_core::json::chat::{self, ChatError};
use ai_proxy_core::json::scan::{Raw, ScanError};

pub(super) fn invalid(what: impl std::fmt::Display) -> ConvertError {
    ConvertError::new(format!(
        "invalid OpenAI chat request for Anthropic Messages: {what}"
    ))
}

pub(super) fn malformed(e: ScanError) -> ConvertError {
    invalid(ChatError::Malformed(e))
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
    f: impl FnMut(Raw<'a>),
) -> Result<(), ConvertError> {
    chat::for_each_text(content, i, f).map_err(invalid)
}
