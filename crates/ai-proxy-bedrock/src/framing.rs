//! The AWS event stream as a core [`StreamFraming`]: decoded messages
//! become (event type, payload) frames for the exchange's observer and
//! translator.
//!
//! - ConverseStream: an `event` message is a frame named by its
//!   `:event-type` (`messageStart`, `contentBlockDelta`, `metadata`, …).
//! - InvokeModelWithResponseStream: each `chunk` event's payload is
//!   `{"bytes": "<base64>"}`; the frame is the decoded model event (for
//!   Anthropic on Bedrock, `message_start` … `message_stop`), named by its
//!   `type`, so it reads like the model's own SSE event.
//! - `exception` messages (`throttlingException`, …) and `error` messages
//!   are error frames named by their type or code.

use std::borrow::Cow;
use std::sync::Arc;

use ai_proxy_core::framing::{Frame, FrameDecoder, FramingError, StreamFraming};
use base64::Engine;
use bytes::Bytes;
use serde::Deserialize;

use crate::eventstream::{DEFAULT_MAX_MESSAGE_BYTES, EventStreamDecoder, MessageKind};
use crate::json::write_str;

/// The `Content-Type` of AWS event streams.
pub const EVENT_STREAM_CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// How message payloads become frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Payloads {
    /// As they are (ConverseStream).
    Raw,
    /// `chunk` events unwrapped from base64 (InvokeModelWithResponseStream).
    InvokeChunks,
}

/// AWS event streams (`application/vnd.amazon.eventstream`) for the
/// exchange. See the [module docs](self).
#[derive(Clone, Copy, Debug)]
pub struct EventStreamFraming {
    payloads: Payloads,
    max_message_bytes: usize,
}

impl EventStreamFraming {
    /// The framing of ConverseStream responses.
    pub const fn converse() -> Self {
        Self {
            payloads: Payloads::Raw,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }

    /// The framing of InvokeModelWithResponseStream responses.
    pub const fn invoke() -> Self {
        Self {
            payloads: Payloads::InvokeChunks,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }

    /// The same framing refusing messages over `limit` bytes.
    pub const fn with_max_message_bytes(mut self, limit: usize) -> Self {
        self.max_message_bytes = limit;
        self
    }

    /// A shareable handle, as adapters hand it out.
    pub fn shared(self) -> Arc<dyn StreamFraming> {
        Arc::new(self)
    }
}

impl StreamFraming for EventStreamFraming {
    fn name(&self) -> &'static str {
        "aws-eventstream"
    }

    fn content_type(&self) -> &'static str {
        EVENT_STREAM_CONTENT_TYPE
    }

    fn matches_content_type(&self, content_type: &[u8]) -> bool {
        let needle = EVENT_STREAM_CONTENT_TYPE.as_bytes();
        content_type
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    }

    fn decoder(&self) -> Box<dyn FrameDecoder> {
        Box::new(EventStreamFrames::new(*self))
    }
}

/// A [`FrameDecoder`] over [`EventStreamDecoder`].
#[derive(Debug)]
pub struct EventStreamFrames {
    decoder: EventStreamDecoder,
    payloads: Payloads,
    /// A decoded chunk or a synthesized error payload (one message).
    scratch: Vec<u8>,
    /// The `type` of the last unwrapped chunk.
    kind: String,
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow)]
    bytes: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Typed<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
}

impl EventStreamFrames {
    fn new(framing: EventStreamFraming) -> Self {
        Self {
            decoder: EventStreamDecoder::with_max_message_bytes(framing.max_message_bytes),
            payloads: framing.payloads,
            scratch: Vec::new(),
            kind: String::new(),
        }
    }
}

/// A chunk whose payload is not `{"bytes": "<base64>"}` or whose content
/// is not a JSON event.
fn bad_chunk(what: &str) -> FramingError {
    FramingError::msg(format!(
        "InvokeModelWithResponseStream chunk is invalid: {what}; the upstream is not speaking \
         Bedrock's response-stream format"
    ))
}

impl FrameDecoder for EventStreamFrames {
    fn feed(&mut self, chunk: Bytes) {
        self.decoder.feed(chunk);
    }

    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, FramingError> {
        let Self {
            decoder,
            payloads,
            scratch,
            kind,
        } = self;
        let Some(message) = decoder.next_message().map_err(FramingError::new)? else {
            return Ok(None);
        };
        Ok(Some(match message.kind() {
            MessageKind::Event("chunk") if *payloads == Payloads::InvokeChunks => {
                let chunk: Chunk<'_> = serde_json::from_slice(message.payload())
                    .map_err(|_| bad_chunk("its payload is not a JSON object"))?;
                let encoded = chunk.bytes.ok_or_else(|| bad_chunk("it has no `bytes`"))?;
                scratch.clear();
                base64::engine::general_purpose::STANDARD
                    .decode_vec(encoded.as_bytes(), scratch)
                    .map_err(|_| bad_chunk("`bytes` is not base64"))?;
                let typed: Typed<'_> = serde_json::from_slice(scratch)
                    .map_err(|_| bad_chunk("its content is not a JSON object"))?;
                kind.clear();
                kind.push_str(typed.kind.as_deref().unwrap_or("chunk"));
                Frame::event(kind, scratch)
            }
            MessageKind::Event(event_type) => Frame::event(event_type, message.payload()),
            MessageKind::Exception(exception_type) => {
                Frame::error(exception_type, message.payload())
            }
            MessageKind::Error {
                code,
                message: text,
            } => {
                scratch.clear();
                scratch.extend_from_slice(b"{\"message\":");
                write_str(scratch, text);
                scratch.push(b'}');
                Frame::error(code, scratch)
            }
            MessageKind::Other(other) => Frame::event(other, message.payload()),
        }))
    }

    fn finish(&mut self) -> Result<(), FramingError> {
        self.decoder.finish().map_err(FramingError::new)
    }
}
