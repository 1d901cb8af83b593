//! [`Observer`]: reads usage, model, text and completion out of one
//! protocol's stream events or body, in O(1) memory per stream.

use std::ops::Range;

use memchr::memmem::Finder;

use super::{anthropic, embeddings, gemini, openai_chat, openai_responses};
use crate::protocol::Protocol;
use crate::sse::{EventFilter, SseDecoder, SseEvent};
use crate::usage::Usage;

/// The longest error message kept from an upstream error event.
const MAX_ERROR_MESSAGE: usize = 1024;

/// What an observer has learned so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Observation {
    pub(crate) usage: Option<Usage>,
    pub(crate) model: Option<String>,
    pub(crate) text: Option<String>,
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
            self.model = Some(model.to_owned());
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
            self.last_error = Some(message.get(..end).unwrap_or_default().to_owned());
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

/// The length of the longest common prefix of `a` and `b`, trying `guess`
/// (e.g. the last answer for similar inputs) first: one `memcmp` when
/// right.
pub(crate) fn common_prefix_from(a: &[u8], b: &[u8], guess: usize) -> usize {
    match (a.get(..guess), b.get(..guess)) {
        (Some(x), Some(y)) if x == y => {
            guess
                + common_prefix(
                    a.get(guess..).unwrap_or_default(),
                    b.get(guess..).unwrap_or_default(),
                )
        }
        _ => common_prefix(a, b),
    }
}

/// The length of the longest common suffix of `a` and `b`, trying `guess`
/// first.
pub(crate) fn common_suffix_from(a: &[u8], b: &[u8], guess: usize) -> usize {
    fn split(s: &[u8], guess: usize) -> Option<(&[u8], &[u8])> {
        s.len().checked_sub(guess).map(|at| s.split_at(at))
    }
    match (split(a, guess), split(b, guess)) {
        (Some((a_head, x)), Some((b_head, y))) if x == y => guess + common_suffix(a_head, b_head),
        _ => common_suffix(a, b),
    }
}

/// The length of the longest common prefix of `a` and `b`.
pub(crate) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut i = 0;
    // Eight bytes at a time; the first differing bit names the byte.
    while let (Some(x), Some(y)) = (word(a, i), word(b, i)) {
        let diff = u64::from_le_bytes(x) ^ u64::from_le_bytes(y);
        if diff != 0 {
            return i + (diff.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while a.get(i).is_some_and(|x| Some(x) == b.get(i)) {
        i += 1;
    }
    i
}

/// The length of the longest common suffix of `a` and `b`.
pub(crate) fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let (Some(x), Some(y)) = (word(a, a.len() - i - 8), word(b, b.len() - i - 8)) else {
            break;
        };
        let diff = u64::from_le_bytes(x) ^ u64::from_le_bytes(y);
        if diff != 0 {
            return i + (diff.leading_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a.get(a.len() - i - 1) == b.get(b.len() - i - 1) {
        i += 1;
    }
    i
}

fn word(bytes: &[u8], at: usize) -> Option<[u8; 8]> {
    bytes.get(at..at + 8).and_then(|w| w.try_into().ok())
}

/// Reads one protocol's responses.
///
/// Feed it every dispatched SSE event of a stream
/// ([`on_event`](Self::on_event)) or one whole body
/// ([`on_body`](Self::on_body)), then read [`observation`](Self::observation).
///
/// Without text collection the observer takes a fast path: each event's
/// raw bytes are tested (`memchr`) for what could still be missing (usage,
/// model, an error, the end marker, the first content) and only those
/// events are parsed. OpenAI sends `"usage":null` in every chunk when
/// `include_usage` is on, so the test is "a `usage` key whose value is not
/// `null`", not a substring match. Results equal those of parsing every
/// event, except that [`Observation::text`] is `None`.
///
/// On `openai-chat` streams the fast path goes further with
/// [`skim`](Self::skim): plain events (one `data:` line) are not decoded at
/// all, only delimited, and each is compared with the last one skipped —
/// streamed chunks repeat all but a few bytes — so the tests above run on
/// the bytes that changed. [`Exchange`](super::Exchange) skims by itself.
///
/// ```
/// use ai_proxy_core::exchange::Observer;
/// use ai_proxy_core::sse::SseDecoder;
/// use ai_proxy_core::Protocol;
///
/// let mut observer = Observer::new(Protocol::OpenAiChat, true);
/// let mut decoder = SseDecoder::new();
/// decoder.feed_slice(b"data: {\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n\
///     data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n");
/// while let Some(event) = decoder.poll_event().unwrap() {
///     observer.on_event(&event);
/// }
/// let seen = observer.observation();
/// assert_eq!((seen.model(), seen.text(), seen.done()), (Some("m"), Some("Hi"), true));
/// assert_eq!(seen.usage().map(|u| u.total_tokens), Some(4));
/// ```
#[derive(Debug)]
pub struct Observer {
    protocol: Protocol,
    observation: Observation,
    /// Shared by every observer: building the searchers costs more than
    /// observing a small response.
    finders: &'static Finders,
}

static FINDERS: std::sync::LazyLock<Finders> = std::sync::LazyLock::new(Finders::new);

impl Observer {
    /// An observer for `protocol`; `collect_text` gathers the assistant
    /// text (and parses every event).
    pub fn new(protocol: Protocol, collect_text: bool) -> Self {
        Self {
            protocol,
            observation: Observation {
                text: collect_text.then(String::new),
                ..Observation::default()
            },
            finders: &FINDERS,
        }
    }

    /// The protocol observed.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Observes one dispatched event. Returns whether it carried generated
    /// output (text, reasoning or a tool call), for time-to-first-content.
    pub fn on_event(&mut self, event: &SseEvent<'_>) -> bool {
        self.observation.events += 1;
        let had_content = self.observation.content_seen;
        let obs = &mut self.observation;
        let (kind, data) = (event.event_type(), event.data_bytes());
        let full = obs.collecting_text();
        match self.protocol {
            Protocol::OpenAiChat => openai_chat::event(obs, self.finders, kind, data, full),
            Protocol::OpenAiResponses => {
                openai_responses::event(obs, self.finders, kind, data, full)
            }
            Protocol::AnthropicMessages => anthropic::event(obs, self.finders, kind, data, full),
            Protocol::Gemini => gemini::event(obs, self.finders, kind, data, full),
            // Embeddings, Vertex predict and passthrough do not stream usage.
            _ => {}
        }
        !had_content && self.observation.content_seen
    }

    /// Lets `decoder` skip the plain events ahead (one `data:` line, at
    /// most one `event:` line, LF ends) that this observer does not need,
    /// counting them; returns how many. Call it before each
    /// [`SseDecoder::poll_event`]. Only the fast path skims (no text
    /// wanted), for `openai-chat` and `anthropic-messages` streams;
    /// otherwise nothing is skipped. The observation is exactly what
    /// observing each skipped event would have made it.
    pub fn skim(&mut self, decoder: &mut SseDecoder) -> u64 {
        if self.observation.collecting_text() {
            return 0;
        }
        struct Chat<'a> {
            obs: &'a Observation,
            finders: &'a Finders,
            /// The last event skipped in this skim (same buffer, same
            /// observation).
            previous: openai_chat::Previous,
        }
        impl EventFilter for Chat<'_> {
            fn needed(&mut self, input: &[u8], kind: &[u8], data: Range<usize>) -> bool {
                // A named event other than `message` is not a chunk.
                (!kind.is_empty() && kind != b"message")
                    || openai_chat::skim_needed(
                        self.obs,
                        self.finders,
                        &mut self.previous,
                        input,
                        data,
                    )
            }
        }
        struct Anthropic<'a>(&'a Observation);
        impl EventFilter for Anthropic<'_> {
            fn needed(&mut self, _: &[u8], kind: &[u8], _: Range<usize>) -> bool {
                anthropic::skim_needed(self.0, kind)
            }
        }
        let skimmed = match self.protocol {
            Protocol::OpenAiChat => decoder.skim(&mut Chat {
                obs: &self.observation,
                finders: self.finders,
                previous: openai_chat::Previous::default(),
            }),
            Protocol::AnthropicMessages => decoder.skim(&mut Anthropic(&self.observation)),
            _ => 0,
        };
        self.observation.events += skimmed;
        skimmed
    }

    /// Observes a whole non-streaming body.
    pub fn on_body(&mut self, body: &[u8]) {
        let obs = &mut self.observation;
        match self.protocol {
            Protocol::OpenAiChat => openai_chat::body(obs, body),
            Protocol::OpenAiResponses => openai_responses::body(obs, body),
            Protocol::AnthropicMessages => anthropic::body(obs, body),
            Protocol::Gemini => gemini::body(obs, body),
            Protocol::OpenAiEmbeddings => embeddings::openai_body(obs, body),
            Protocol::VertexPredict => embeddings::vertex_predict_body(obs, body),
            _ => {}
        }
    }

    /// What was observed so far.
    pub fn observation(&self) -> &Observation {
        &self.observation
    }

    /// The observation, consuming the observer.
    pub fn into_observation(self) -> Observation {
        self.observation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_and_suffix_find_the_first_difference() {
        let a = b"0123456789abcdefghij-XYZ-0123456789abcdefghij";
        let b = b"0123456789abcdefghij+XY-0123456789abcdefghij";
        assert_eq!(common_prefix(a, b), 20);
        assert_eq!(common_suffix(a, b), 21);
        assert_eq!(common_prefix(a, a), a.len());
        assert_eq!(common_suffix(b"abc", b"xbc"), 2);
        assert_eq!(common_prefix(b"", b"x"), 0);
    }

    #[test]
    fn guesses_only_speed_the_answer_up() {
        let a = b"0123456789abcdefghij-XYZ-0123456789abcdefghij";
        let b = b"0123456789abcdefghij+XY-0123456789abcdefghij";
        for guess in [0, 5, 20, 21, 30, 100] {
            assert_eq!(common_prefix_from(a, b, guess), 20, "{guess}");
            assert_eq!(common_suffix_from(a, b, guess), 21, "{guess}");
        }
    }

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
