//! The field mappings the body and the stream share: stop reason →
//! finish reason, token counts, errors.

use ai_proxy_core::json::Raw;
use ai_proxy_core::json::chat::write_usage;
use ai_proxy_core::json::write::Out;
use ai_proxy_core::wire::anthropic::{ErrorObject, Usage};

/// `stop_reason` → `finish_reason`.
pub(super) fn finish_reason(stop_reason: Option<Raw<'_>>) -> &'static str {
    match stop_reason.and_then(Raw::str).as_deref() {
        Some("max_tokens" | "model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        // end_turn, stop_sequence, pause_turn, absent.
        _ => "stop",
    }
}

/// Token counts accumulated from Anthropic usage objects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Tokens {
    input: u64,
    output: u64,
    cache_read: u64,
    cache_creation: u64,
}

impl Tokens {
    /// Overwrites the counts an Anthropic usage object carries (stream
    /// usage is cumulative).
    pub(super) fn update(&mut self, u: &Usage) {
        if let Some(c) = u.input_tokens {
            self.input = c.0;
        }
        if let Some(c) = u.output_tokens {
            self.output = c.0;
        }
        if let Some(c) = u.cache_read_input_tokens {
            self.cache_read = c.0;
        }
        if let Some(c) = u.cache_creation_input_tokens {
            self.cache_creation = c.0;
        }
    }

    pub(super) fn write<O: Out + ?Sized>(&self, out: &mut O) {
        write_usage(
            out,
            self.input,
            self.output,
            self.cache_read,
            self.cache_creation,
        );
    }
}

/// `{"error":{"message":…,"type":…,"param":null,"code":null}}` from an
/// Anthropic `error` member.
pub(super) fn write_error<O: Out + ?Sized>(out: &mut O, error: Raw<'_>) {
    let obj = error
        .is_object()
        .then(|| serde_json::from_slice::<ErrorObject<'_>>(error.bytes()).ok())
        .flatten();
    out.raw(b"{\"error\":{\"message\":");
    match obj
        .as_ref()
        .and_then(|o| o.message.filter(|m| m.is_string()))
    {
        Some(m) => out.raw(m.bytes()),
        None if error.is_string() => out.raw(error.bytes()),
        None => out.raw(b"\"\""),
    }
    out.raw(b",\"type\":");
    match obj.as_ref().and_then(|o| o.kind.filter(|k| k.is_string())) {
        Some(k) => out.raw(k.bytes()),
        None => out.raw(b"\"api_error\""),
    }
    out.raw(b",\"param\":null,\"code\":null}}");
}
