//! How a relay ends: [`RelayError`] (why it stopped early), [`RelayEnd`],
//! [`ObserveError`] and the [`RelayReport`] its callback gets.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_proxy::core::Metrics;
use ai_proxy::core::framing::FramingError;
use ai_proxy::core::sse::SseError;
use ai_proxy::{Exchange, ExchangeError};
use http::StatusCode;

/// An upstream body error, shared so the report and the client's body
/// error can both carry it.
pub type UpstreamError = Arc<dyn StdError + Send + Sync>;

/// Why a relay stopped before the upstream body's clean end.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// No upstream chunk within [`Deadlines::read`](super::Deadlines::read).
    #[error("upstream read timed out: no data for {} ms; raise `timeout` (default 30000) or use streaming", after.as_millis())]
    ReadTimeout {
        /// The read deadline.
        after: Duration,
    },
    /// The upstream body failed (connection reset or closed mid-body,
    /// malformed chunking).
    #[error("upstream body failed: {0}")]
    Upstream(UpstreamError),
    /// The exchange stopped the response (a limit, a translation failure).
    #[error(transparent)]
    Exchange(ExchangeError),
}

impl RelayError {
    /// The status to answer with when nothing was sent yet: 504 for
    /// timeouts, 502 for upstream failures, the exchange's otherwise.
    pub fn status(&self) -> StatusCode {
        match self {
            RelayError::ReadTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            RelayError::Upstream(_) => StatusCode::BAD_GATEWAY,
            RelayError::Exchange(e) => e.status(),
        }
    }

    /// The plain-text body for that answer (APISIX's wording for limits).
    pub fn client_body(&self) -> String {
        match self {
            RelayError::ReadTimeout { .. } => "upstream read timed out".to_owned(),
            RelayError::Upstream(_) => {
                "upstream body error: the upstream connection failed before the response ended"
                    .to_owned()
            }
            RelayError::Exchange(e) => e.client_body(),
        }
    }

    /// The `Content-Type` of [`client_body`](Self::client_body): JSON for
    /// an upstream error a translator turned into the client's error
    /// object, plain text otherwise.
    pub fn content_type(&self) -> &'static str {
        match self {
            RelayError::Exchange(e) => e.content_type(),
            _ => "text/plain",
        }
    }

    /// Whether a deadline ended the relay.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            RelayError::ReadTimeout { .. }
                | RelayError::Exchange(ExchangeError::StreamDurationExceeded { .. })
        )
    }
}

/// How a relay ended.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RelayEnd {
    /// The upstream body ended and everything went to the client.
    Complete,
    /// The client went away (the relay was dropped) before the end.
    ClientGone,
    /// The relay stopped before the client got anything, through
    /// [`Relay::start`](super::Relay::start) or [`Relay::collect`](super::Relay::collect): the caller answers with the
    /// error's status instead.
    Refused(RelayError),
    /// The relay stopped after the response began: the client's response
    /// was aborted.
    Failed(RelayError),
}

/// Why observing a passthrough response stopped early (the bytes kept
/// flowing; usage may be missing).
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObserveError {
    /// An SSE event over the decoder's cap.
    #[error(transparent)]
    Sse(SseError),
    /// A corrupt or oversized message in the adapter's framing.
    #[error(transparent)]
    Framing(FramingError),
}

impl ObserveError {
    pub(super) fn of(exchange: &Exchange) -> Option<Self> {
        exchange
            .observe_error()
            .cloned()
            .map(ObserveError::Sse)
            .or_else(|| {
                exchange
                    .observe_framing_error()
                    .cloned()
                    .map(ObserveError::Framing)
            })
    }
}

/// What a finished relay reports.
#[derive(Debug)]
#[non_exhaustive]
pub struct RelayReport {
    /// The exchange's metrics (usage, model, timings, bytes).
    pub metrics: Metrics,
    /// How it ended.
    pub end: RelayEnd,
    /// Why observing a passthrough stream stopped early, if it did (bytes
    /// kept flowing).
    pub observe_error: Option<ObserveError>,
    /// When the relay ended: the instant the exchange was finished at
    /// (so that a log of it needs no clock read of its own).
    pub ended_at: Instant,
}
