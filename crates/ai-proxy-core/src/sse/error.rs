//! [`SseError`]: why a stream could not be decoded.

use http::StatusCode;

/// A decoding failure. Errors are sticky: once returned, every later call
/// returns the same error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// One event (its data plus an unfinished line) grew past the cap.
    #[error(
        "SSE event larger than {limit} bytes; the upstream sent an oversized or unterminated \
         event (raise the decoder's max_event_bytes if such events are expected)"
    )]
    EventTooLarge {
        /// The configured cap, in bytes.
        limit: usize,
    },
}

impl SseError {
    /// The HTTP status a gateway answers with: 502, the upstream's stream is
    /// unusable.
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_GATEWAY
    }
}
