//! Stream framings other than SSE: a hook for adapters whose upstream
//! streams in another format (AWS event streams for Bedrock).
//!
//! The [`Exchange`](crate::exchange::Exchange) decodes `text/event-stream`
//! itself. An adapter whose target protocol streams differently names a
//! [`StreamFraming`] for it ([`Adapter::stream_framing`]); request
//! preparation puts it in the
//! [`RequestContext`](crate::context::RequestContext), and the exchange then
//! treats a response whose `Content-Type` the framing
//! [recognises](StreamFraming::matches_content_type) as a stream, feeds its
//! body to the framing's [`FrameDecoder`] and hands each decoded
//! [`Frame`] — an event type and a payload — to the observer and the
//! translator, exactly where it would hand an SSE event. Passthrough bytes
//! still go to the client unchanged. Core knows nothing of the format
//! itself.
//!
//! [`Adapter::stream_framing`]: crate::adapter::Adapter::stream_framing

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;

/// One decoded message of a framed stream, borrowed from the decoder until
/// its next call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    event_type: &'a str,
    payload: &'a [u8],
    error: bool,
}

impl<'a> Frame<'a> {
    /// An event: its type (as an SSE `event:` name would be) and payload.
    pub fn event(event_type: &'a str, payload: &'a [u8]) -> Self {
        Self {
            event_type,
            payload,
            error: false,
        }
    }

    /// An error the upstream reported inside the stream: its type (e.g.
    /// `throttlingException`) and payload.
    pub fn error(error_type: &'a str, payload: &'a [u8]) -> Self {
        Self {
            event_type: error_type,
            payload,
            error: true,
        }
    }

    /// The event (or error) type.
    pub fn event_type(&self) -> &'a str {
        self.event_type
    }

    /// The payload (JSON for every framing this library ships).
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Whether the upstream reported an error in this frame.
    pub fn is_error(&self) -> bool {
        self.error
    }
}

/// A framing failure (corrupt or oversized upstream stream). The message
/// names cause and fix; the framing's own typed error is the
/// [`source`](Error::source).
#[derive(Clone)]
pub struct FramingError {
    message: String,
    source: Option<Arc<dyn Error + Send + Sync>>,
}

impl FramingError {
    /// An error wrapping a framing's typed error (its `Display` is the
    /// message).
    pub fn new(source: impl Error + Send + Sync + 'static) -> Self {
        Self {
            message: source.to_string(),
            source: Some(Arc::new(source)),
        }
    }

    /// An error with a message only.
    pub fn msg(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// 502: the upstream's stream is unusable.
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_GATEWAY
    }

    /// The framing's typed error, when it is an `E`.
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        self.source.as_deref()?.downcast_ref::<E>()
    }
}

impl fmt::Debug for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FramingError").field(&self.message).finish()
    }
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for FramingError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

impl PartialEq for FramingError {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}

impl Eq for FramingError {}

/// An incremental decoder for one response body. Errors must be sticky
/// and no input may panic; memory stays bounded (one message).
pub trait FrameDecoder: Send + fmt::Debug {
    /// Adds a body chunk.
    fn feed(&mut self, chunk: Bytes);

    /// The next complete frame, `None` until more bytes arrive.
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, FramingError>;

    /// The body ended: an unfinished frame is an error.
    fn finish(&mut self) -> Result<(), FramingError>;
}

/// A stream framing an adapter chooses for a target protocol.
pub trait StreamFraming: Send + Sync + fmt::Debug {
    /// A short name for logs (`aws-eventstream`).
    fn name(&self) -> &'static str;

    /// The `Content-Type` its streams carry (for tools that replay a
    /// recorded stream, and fake upstreams).
    fn content_type(&self) -> &'static str;

    /// Whether a response `Content-Type` value is this framing's (then the
    /// response streams, as APISIX decides by `Content-Type`).
    fn matches_content_type(&self, content_type: &[u8]) -> bool;

    /// A decoder for one response.
    fn decoder(&self) -> Box<dyn FrameDecoder>;
}
