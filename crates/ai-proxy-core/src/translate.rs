//! [`ResponseTranslator`]: rewriting an upstream response into the client's
//! protocol, for adapters that convert (Anthropic client → OpenAI upstream,
//! embeddings → Vertex `:predict`, OpenAI client → Anthropic native).

use std::fmt;

use bytes::BytesMut;
use http::StatusCode;

use crate::framing::Frame;

/// Turns the upstream's response into the client's protocol.
///
/// The exchange calls [`translate_body`](Self::translate_body) for a
/// non-streaming response, or [`translate_event`](Self::translate_event) for
/// each decoded upstream SSE event (or [`translate_frame`](Self::translate_frame)
/// for each frame of another framing) and then [`finish`](Self::finish) once
/// at the end of the stream. Output bytes are appended to `out` and sent to the
/// client instead of the upstream bytes.
pub trait ResponseTranslator: Send + fmt::Debug {
    /// The `Content-Type` the client receives for a translated body.
    fn content_type(&self, streaming: bool) -> &'static str {
        if streaming {
            "text/event-stream"
        } else {
            "application/json"
        }
    }

    /// Whether upstream error responses (429 and 5xx) are translated too.
    /// The default `false` forwards them untouched, as APISIX does; a
    /// translator whose upstream speaks another error format (Bedrock's
    /// `{"message": …}`) says `true` to give its client its own error JSON.
    fn translates_error_responses(&self) -> bool {
        false
    }

    /// Translates a whole non-streaming upstream body.
    fn translate_body(
        &mut self,
        status: StatusCode,
        body: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), TranslateError>;

    /// Translates one upstream SSE event (`event` is the event type,
    /// `"message"` when the stream names none).
    fn translate_event(
        &mut self,
        event: &str,
        data: &str,
        out: &mut BytesMut,
    ) -> Result<(), TranslateError>;

    /// Translates one frame of a non-SSE stream framing (see
    /// [`framing`](crate::framing)). The default hands the frame to
    /// [`translate_event`](Self::translate_event) (payload as UTF-8, lossy);
    /// override it to see [`Frame::is_error`].
    fn translate_frame(
        &mut self,
        frame: &Frame<'_>,
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        let data = String::from_utf8_lossy(frame.payload());
        self.translate_event(frame.event_type(), &data, out)
    }

    /// The upstream stream ended; flush anything pending (a deferred stop
    /// event). Called once.
    fn finish(&mut self, out: &mut BytesMut) -> Result<(), TranslateError>;
}

/// A response the translator cannot map.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TranslateError {
    /// The upstream body is not what the upstream protocol promises
    /// (e.g. `no choices in response`); the gateway answers 500.
    #[error("{0}")]
    Malformed(String),
    /// The stream ended without producing any client output; the gateway
    /// answers 502.
    #[error(
        "streaming response completed without producing any output; the upstream likely \
         returned a different stream format than the converter expects"
    )]
    EmptyStream,
    /// The upstream reported an error inside its stream before any output
    /// (a Bedrock `throttlingException`): the gateway answers `status` with
    /// `body`, an error object in the client's protocol (JSON).
    #[error("{body}")]
    Upstream {
        /// The status the upstream error stands for.
        status: StatusCode,
        /// The client's error body (JSON).
        body: String,
    },
}

impl TranslateError {
    /// The HTTP status a gateway answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            TranslateError::Malformed(_) => StatusCode::INTERNAL_SERVER_ERROR,
            TranslateError::EmptyStream => StatusCode::BAD_GATEWAY,
            TranslateError::Upstream { status, .. } => *status,
        }
    }
}
