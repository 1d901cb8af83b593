//! [`ExchangeError`]: why an exchange stopped, and what the client gets.

use http::StatusCode;

use crate::framing::FramingError;
use crate::sse::SseError;
use crate::translate::TranslateError;

/// Why an exchange stopped. `truncated()` says whether the client already
/// received output: then the gateway just ends the response; otherwise it
/// answers [`status`](Self::status) with [`client_body`](Self::client_body).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The response grew past `max_response_bytes` (APISIX: 502).
    #[error(
        "max_response_bytes exceeded: the upstream response is larger than {limit} bytes; \
         raise max_response_bytes or ask for shorter output"
    )]
    ResponseTooLarge {
        /// The limit, in bytes.
        limit: u64,
        /// Output had already been sent.
        truncated: bool,
    },
    /// The stream ran past `max_stream_duration_ms` (APISIX: 504).
    #[error(
        "max_stream_duration_ms exceeded: the upstream stream ran longer than {limit_ms} ms; \
         raise max_stream_duration_ms or ask for shorter output"
    )]
    StreamDurationExceeded {
        /// The limit, in milliseconds.
        limit_ms: u64,
        /// Output had already been sent.
        truncated: bool,
    },
    /// A body to translate is larger than the buffer allowed for it.
    #[error(
        "upstream response larger than {limit} bytes cannot be translated; set \
         max_response_bytes to bound it or stream the request"
    )]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The translator rejected the upstream response.
    #[error("{source}")]
    Translate {
        /// The translator's error.
        source: TranslateError,
        /// Output had already been sent.
        truncated: bool,
    },
    /// The upstream stream could not be decoded for translation.
    #[error("{source}")]
    Sse {
        /// The decoder's error.
        source: SseError,
        /// Output had already been sent.
        truncated: bool,
    },
    /// The upstream stream (a non-SSE framing) could not be decoded for
    /// translation.
    #[error("{source}")]
    Framing {
        /// The framing's error.
        source: FramingError,
        /// Output had already been sent.
        truncated: bool,
    },
    /// A method was called out of order (a bug in the caller).
    #[error("exchange misuse: {0}")]
    Misuse(&'static str),
}

impl ExchangeError {
    /// The HTTP status a gateway answers with (when nothing was sent yet).
    pub fn status(&self) -> StatusCode {
        match self {
            ExchangeError::ResponseTooLarge { .. }
            | ExchangeError::BodyTooLarge { .. }
            | ExchangeError::Sse { .. }
            | ExchangeError::Framing { .. } => StatusCode::BAD_GATEWAY,
            ExchangeError::StreamDurationExceeded { .. } => StatusCode::GATEWAY_TIMEOUT,
            ExchangeError::Translate { source, .. } => source.status(),
            ExchangeError::Misuse(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether output already reached the client (the response can only be
    /// cut short, not replaced by an error status).
    pub fn truncated(&self) -> bool {
        match self {
            ExchangeError::ResponseTooLarge { truncated, .. }
            | ExchangeError::StreamDurationExceeded { truncated, .. }
            | ExchangeError::Translate { truncated, .. }
            | ExchangeError::Sse { truncated, .. }
            | ExchangeError::Framing { truncated, .. } => *truncated,
            ExchangeError::BodyTooLarge { .. } | ExchangeError::Misuse(_) => false,
        }
    }

    /// The response body APISIX sends for this error (plain text).
    pub fn client_body(&self) -> String {
        match self {
            ExchangeError::ResponseTooLarge { .. } => "max_response_bytes exceeded".to_owned(),
            ExchangeError::StreamDurationExceeded { .. } => {
                "max_stream_duration_ms exceeded".to_owned()
            }
            other => other.to_string(),
        }
    }

    /// The `Content-Type` of [`client_body`](Self::client_body): JSON for
    /// an upstream error a translator turned into the client's error
    /// object, plain text otherwise (APISIX's limit errors).
    pub fn content_type(&self) -> &'static str {
        match self {
            ExchangeError::Translate {
                source: TranslateError::Upstream { .. },
                ..
            } => "application/json",
            _ => "text/plain",
        }
    }
}
