//! The field mappings the body and the stream share: finish reason →
//! stop reason, reasoning, usage, errors.

use std::borrow::Cow;

use ai_proxy_core::json::Raw;
use ai_proxy_core::json::write::{Out, write_str, write_u64};

use super::shapes::{ErrorObject, Usage};

/// `finish_reason` → `stop_reason`.
pub(super) fn stop_reason(finish_reason: &str) -> &'static str {
    match finish_reason {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        // stop, content_filter and anything else.
        _ => "end_turn",
    }
}

/// A normalised finish reason: `None` for absent, non-string, blank or
/// `"null"` (some providers send the string).
pub(super) fn finish_reason<'a>(raw: Option<Raw<'a>>) -> Option<Cow<'a, str>> {
    let s = raw.and_then(Raw::str)?;
    let trimmed = s.trim();
    if trimmed.is_empty() || trimmed == "null" {
        return None;
    }
    Some(match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
        Cow::Owned(o) => Cow::Owned(o.trim().to_owned()),
    })
}

/// `reasoning_content`, else `reasoning` (Lua's `a or b`: a present empty
/// string wins and means "none").
pub(super) fn reasoning<'a>(
    reasoning_content: Option<Raw<'a>>,
    reasoning: Option<Raw<'a>>,
) -> Option<Raw<'a>> {
    reasoning_content
        .or(reasoning)
        .and_then(Raw::non_empty_string)
}

/// Anthropic usage from OpenAI usage: cached prompt tokens are reported
/// apart (`input_tokens` = prompt − cached).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct AnthropicUsage {
    pub(super) input: u64,
    pub(super) output: u64,
    pub(super) cache_read: Option<u64>,
    pub(super) cache_creation: Option<u64>,
}

impl AnthropicUsage {
    /// The non-streaming rule: `cache_read_input_tokens` whenever
    /// `prompt_tokens_details` is present.
    pub(super) fn from_response(u: &Usage) -> Self {
        let prompt = u.prompt_tokens.map_or(0, |c| c.0);
        let output = u.completion_tokens.map_or(0, |c| c.0);
        match &u.prompt_tokens_details {
            Some(d) => {
                let cached = d.cached_tokens.map_or(0, |c| c.0);
                Self {
                    input: prompt.saturating_sub(cached),
                    output,
                    cache_read: Some(cached),
                    cache_creation: d.cache_creation_input_tokens.map(|c| c.0),
                }
            }
            None => Self {
                input: prompt,
                output,
                cache_read: None,
                cache_creation: None,
            },
        }
    }

    /// The streaming rule: `cache_read_input_tokens` only when > 0.
    pub(super) fn from_chunk(u: &Usage) -> Self {
        let prompt = u.prompt_tokens.map_or(0, |c| c.0);
        let cached = u
            .prompt_tokens_details
            .and_then(|d| d.cached_tokens)
            .map_or(0, |c| c.0);
        Self {
            input: prompt.saturating_sub(cached),
            output: u.completion_tokens.map_or(0, |c| c.0),
            cache_read: (cached > 0).then_some(cached),
            cache_creation: u
                .prompt_tokens_details
                .and_then(|d| d.cache_creation_input_tokens)
                .map(|c| c.0),
        }
    }

    pub(super) fn write<O: Out + ?Sized>(&self, out: &mut O) {
        out.raw(b"{\"input_tokens\":");
        write_u64(out, self.input);
        out.raw(b",\"output_tokens\":");
        write_u64(out, self.output);
        if let Some(n) = self.cache_read {
            out.raw(b",\"cache_read_input_tokens\":");
            write_u64(out, n);
        }
        if let Some(n) = self.cache_creation {
            out.raw(b",\"cache_creation_input_tokens\":");
            write_u64(out, n);
        }
        out.raw(b"}");
    }
}

/// Writes `{"type":"error","error":{"type":…,"message":…}}` for an OpenAI
/// `error` member (an object or a bare string).
pub(super) fn write_error<O: Out + ?Sized>(out: &mut O, error: Raw<'_>) {
    out.raw(b"{\"type\":\"error\",\"error\":{\"type\":");
    let obj = error
        .is_object()
        .then(|| serde_json::from_slice::<ErrorObject<'_>>(error.bytes()).ok())
        .flatten();
    let kind = obj.as_ref().and_then(|o| {
        o.kind
            .filter(|k| k.is_string())
            .or(o.code.filter(|c| !c.is_null()))
    });
    match kind {
        Some(k) if k.is_string() => out.raw(k.bytes()),
        // A numeric code: Anthropic's `type` is a string.
        Some(k) => write_str(out, std::str::from_utf8(k.bytes()).unwrap_or_default()),
        None => out.raw(b"\"api_error\""),
    }
    out.raw(b",\"message\":");
    let message = if error.is_string() {
        Some(error)
    } else {
        obj.as_ref()
            .and_then(|o| o.message.filter(|m| m.is_string()))
    };
    match message {
        Some(m) => out.raw(m.bytes()),
        None => out.raw(b"\"\""),
    }
    out.raw(b"}}");
}
