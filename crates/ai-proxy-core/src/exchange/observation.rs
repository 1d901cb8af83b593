//! [`Observation`]: what an observer has learned, and the byte patterns
//! its fast path searches for.

use std::sync::Arc;

use memchr::memmem::Finder;

use crate::usage::Usage;

/// The longest error message kept from an upstream error event.
const MAX_ERROR_MESSAGE: usize = 1024;

/// What an observer has learned so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Observation {
    pub(crate) usage: Option<Usage>,
    /// Shared: it becomes both the metrics' response model and their
    /// `llm_model` (one allocation).
    pub(crate) model: Option<Arc<str>>,
    pub(crate) text: Option<String>,
    pub(crate) text_truncated: bool,
    pub(crate) done: bool,
    pub(crate) has_tool_calls: bool,
    pub(crate) content_seen: bool,
    pub(crate) events: u64,
    pub(crate) error_events: u64,
    pub(crate) malformed_events: u64,
    pub(crate) last_error: Option<String>,
}

impl Observation {
    /// Token usage, merged across events (`None`: the response carried none).
    pub fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }

    /// The model the response names (first one seen).
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// The assistant text, when text collection is on.
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// Whether the collected text is a prefix: the response had more text
    /// than the observer's text limit.
    pub fn text_truncated(&self) -> bool {
        self.text_truncated
    }

    /// Whether the response's own end marker was seen: `[DONE]`,
    /// `message_stop`, `response.completed` (or the Responses API's other
    /// terminal events `response.failed` / `response.incomplete`), a Gemini
    /// `finishReason`; for a body: its finish reason, stop reason or
    /// `completed` status. An `error` event is counted in
    /// [`error_events`](Self::error_events), not taken as the end.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Whether the response called tools (`$llm_has_tool_calls`).
    pub fn has_tool_calls(&self) -> bool {
        self.has_tool_calls
    }

    /// Whether any generated output (text, reasoning, tool call) was seen.
    pub fn content_seen(&self) -> bool {
        self.content_seen
    }

    /// Dispatched SSE events (data events, including `[DONE]`).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Upstream error events (`event: error`, `{"error": …}` chunks, an
    /// error body).
    pub fn error_events(&self) -> u64 {
        self.error_events
    }

    /// Events (or a body) that should have been JSON and were not. Exact
    /// with text collection on; the fast path validates only the events it
    /// parses (plus a cheap shape check on every chat and Gemini event).
    pub fn malformed_events(&self) -> u64 {
        self.malformed_events
    }

    /// The last upstream error message (truncated to 1 KiB).
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    pub(crate) fn set_model(&mut self, model: Option<&str>) {
        if self.model.is_none()
            && let Some(model) = model.filter(|m| !m.is_empty())
        {
            self.model = Some(Arc::from(model));
        }
    }

    pub(crate) fn add_usage(&mut self, usage: Usage) {
        Usage::accumulate(&mut self.usage, usage);
    }

    pub(crate) fn push_text(&mut self, piece: &str) {
        if let Some(text) = &mut self.text {
            text.push_str(piece);
        }
    }

    /// Keeps at most `limit` bytes of text (cut on a char boundary).
    pub(crate) fn cap_text(&mut self, limit: usize) {
        if let Some(text) = &mut self.text
            && text.len() > limit
        {
            let mut end = limit;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            self.text_truncated = true;
        }
    }

    pub(crate) fn collecting_text(&self) -> bool {
        self.text.is_some()
    }

    pub(crate) fn error(&mut self, message: Option<&str>) {
        self.error_events += 1;
        if let Some(message) = message {
            let mut end = message.len().min(MAX_ERROR_MESSAGE);
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            // ok: `end ≤ message.len()` and a char boundary (0 is one).
            #[allow(clippy::indexing_slicing)]
            let kept = &message[..end];
            self.last_error = Some(kept.to_owned());
        }
    }

    pub(crate) fn malformed(&mut self) {
        self.malformed_events += 1;
    }
}

/// Byte patterns the fast path looks for before deciding to parse.
#[derive(Debug)]
pub(crate) struct Finders {
    pub usage: Finder<'static>,
    pub error: Finder<'static>,
    pub model: Finder<'static>,
    pub usage_metadata: Finder<'static>,
    pub finish_reason: Finder<'static>,
    pub model_version: Finder<'static>,
    pub tool_calls: Finder<'static>,
    pub function_call: Finder<'static>,
}

impl Finders {
    pub(crate) fn new() -> Self {
        Self {
            usage: Finder::new(b"\"usage\""),
            error: Finder::new(b"\"error\""),
            model: Finder::new(b"\"model\""),
            usage_metadata: Finder::new(b"\"usageMetadata\""),
            finish_reason: Finder::new(b"\"finishReason\""),
            model_version: Finder::new(b"\"modelVersion\""),
            tool_calls: Finder::new(b"\"tool_calls\""),
            function_call: Finder::new(b"\"functionCall\""),
        }
    }
}

/// A fast path's answer that only the full parse can read this event (a
/// field it does not handle, or text it cannot vouch for).
#[derive(Debug)]
pub(crate) struct FullParse;

impl From<crate::json::SyntaxError> for FullParse {
    fn from(_: crate::json::SyntaxError) -> Self {
        Self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skim_needles_start_with_a_quote_and_a_distinct_letter() {
        // `openai_chat::needle_at` dispatches on the byte after the quote.
        let f = Finders::new();
        for (finder, second) in [
            (&f.model, b'm'),
            (&f.usage, b'u'),
            (&f.error, b'e'),
            (&f.tool_calls, b't'),
        ] {
            assert_eq!(finder.needle().first(), Some(&b'"'));
            assert_eq!(finder.needle().get(1), Some(&second));
        }
    }
}
