//! [`Observer`]: reads usage, model, text and completion out of one
//! protocol's stream events or body, in O(1) memory per stream.

use std::ops::Range;

use super::observation::{Finders, Observation};
use super::{anthropic, bedrock, embeddings, gemini, openai_chat, openai_responses};
use crate::framing::Frame;
use crate::protocol::Protocol;
use crate::sse::{EventFilter, SseDecoder, SseEvent};

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
/// the bytes that changed; an event that keeps the last one's head and
/// tail is taken with two `memcmp`s and a look at its middle, without the
/// decoder's line walk. [`Exchange`](super::Exchange) skims by itself.
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
    /// The most text kept (see [`DEFAULT_TEXT_LIMIT`]).
    text_limit: usize,
    /// Shared by every observer: building the searchers costs more than
    /// observing a small response.
    finders: &'static Finders,
}

/// The most assistant text an observer keeps by default: 64 KiB. A longer
/// response keeps its first 64 KiB and is marked
/// [`text_truncated`](Observation::text_truncated), so logging payloads
/// never holds a whole long response.
pub const DEFAULT_TEXT_LIMIT: usize = 64 * 1024;

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
            text_limit: DEFAULT_TEXT_LIMIT,
            finders: &FINDERS,
        }
    }

    /// This observer keeping at most `limit` bytes of text (a prefix, cut
    /// on a char boundary) instead of [`DEFAULT_TEXT_LIMIT`].
    pub fn with_text_limit(mut self, limit: usize) -> Self {
        self.set_text_limit(limit);
        self
    }

    /// [`with_text_limit`](Self::with_text_limit) in place.
    pub(crate) fn set_text_limit(&mut self, limit: usize) {
        self.text_limit = limit;
    }

    /// Takes the text collected so far, leaving collection on (for a caller
    /// that writes the text out as it arrives and keeps none of it).
    pub fn take_text(&mut self) -> Option<String> {
        self.observation.text.as_mut().map(std::mem::take)
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
        self.dispatch(event.event_type(), event.data_bytes());
        !had_content && self.observation.content_seen
    }

    /// Observes one frame of a non-SSE framing (see
    /// [`framing`](crate::framing)): an event goes where an SSE event of
    /// that type would; an error frame is counted as an upstream error and
    /// ends the stream (APISIX, for Bedrock's exception and error
    /// messages). Returns whether it carried the first generated output.
    pub fn on_frame(&mut self, frame: &Frame<'_>) -> bool {
        self.observation.events += 1;
        let had_content = self.observation.content_seen;
        if frame.is_error() {
            bedrock::error_frame(&mut self.observation, frame.event_type(), frame.payload());
        } else {
            self.dispatch(frame.event_type(), frame.payload());
        }
        !had_content && self.observation.content_seen
    }

    fn dispatch(&mut self, kind: &str, data: &[u8]) {
        let obs = &mut self.observation;
        let full = obs.collecting_text();
        match self.protocol {
            Protocol::OpenAiChat => openai_chat::event(obs, self.finders, kind, data, full),
            Protocol::OpenAiResponses => {
                openai_responses::event(obs, self.finders, kind, data, full)
            }
            Protocol::AnthropicMessages => anthropic::event(obs, self.finders, kind, data, full),
            Protocol::Gemini => gemini::event(obs, self.finders, kind, data, full),
            Protocol::BedrockConverse => bedrock::converse_event(obs, kind, data, full),
            Protocol::BedrockInvoke => bedrock::invoke_event(obs, self.finders, kind, data, full),
            // Embeddings, Vertex predict and passthrough do not stream usage.
            _ => {}
        }
        self.observation.cap_text(self.text_limit);
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
            fn line_end(&mut self, input: &[u8], from: usize, limit: usize) -> Option<usize> {
                openai_chat::skim_line_end(&mut self.previous, input, from, limit)
            }
            fn run(
                &mut self,
                input: &[u8],
                from: usize,
                limit: usize,
                max_line: usize,
            ) -> (usize, u64) {
                openai_chat::skim_run(
                    self.obs,
                    self.finders,
                    &mut self.previous,
                    input,
                    from,
                    limit,
                    max_line,
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
            Protocol::BedrockConverse => bedrock::converse_body(obs, body),
            Protocol::BedrockInvoke => anthropic::body(obs, body),
            _ => {}
        }
        self.observation.cap_text(self.text_limit);
    }

    /// [`on_body`](Self::on_body) for an `openai-chat` body through the
    /// serde parse alone: the reference its one-pass read is tested (and
    /// fuzzed) against. Other protocols: `on_body`.
    #[doc(hidden)]
    pub fn on_body_reference(&mut self, body: &[u8]) {
        if self.protocol != Protocol::OpenAiChat {
            return self.on_body(body);
        }
        openai_chat::reference_body(&mut self.observation, body);
        self.observation.cap_text(self.text_limit);
    }

    /// Observes a body known only by its ends — `head` and `tail`, e.g.
    /// the first and last [`BODY_WINDOW`](super::BODY_WINDOW) bytes of a
    /// body too large to hold — reading the model and usage found there
    /// (every protocol writes usage after the output). Returns whether
    /// usage was found.
    pub fn on_body_ends(&mut self, head: &[u8], tail: &[u8]) -> bool {
        let Some(body) = super::window::ends_body(self.protocol, head, tail) else {
            return false;
        };
        self.on_body(&body);
        self.observation.usage().is_some()
    }

    /// What was observed so far.
    pub fn observation(&self) -> &Observation {
        &self.observation
    }

    /// The observation, consuming the observer.
    pub fn into_observation(self) -> Observation {
        self.observation
    }

    /// The observation, leaving an empty one.
    pub(crate) fn take_observation(&mut self) -> Observation {
        std::mem::take(&mut self.observation)
    }
}
