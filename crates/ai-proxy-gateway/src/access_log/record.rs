//! What the access log records: one [`AccessRecord`] per finished
//! request, and the [`AccessLog`] sink it goes to.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ai_proxy::Provider;
use ai_proxy::config::Logging;
use ai_proxy::core::Metrics;
use http::{Method, StatusCode};

/// nginx's status for a client that closed the connection first.
pub const CLIENT_CLOSED_REQUEST: u16 = 499;

/// Where access records go.
pub trait AccessLog: Send + Sync {
    /// Takes one finished request's record.
    fn log(&self, record: &AccessRecord);
}

/// A prefix of a payload, for the access log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoggedPayload {
    /// The text kept: the whole payload, or its first
    /// `max_logged_payload_bytes` (cut on a char boundary).
    pub text: String,
    /// Whether `text` is a prefix.
    pub truncated: bool,
}

impl LoggedPayload {
    pub(crate) fn capped(text: &str, cap: usize) -> Self {
        let kept = prefix(text, cap);
        Self {
            text: kept.to_owned(),
            truncated: kept.len() < text.len(),
        }
    }
}

/// The first `cap` bytes of `text` at most, cut on a char boundary.
pub(crate) fn prefix(text: &str, cap: usize) -> &str {
    let mut end = text.len().min(cap);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// One finished request.
#[derive(Debug)]
#[non_exhaustive]
pub struct AccessRecord {
    /// The matched route's id (empty when none matched).
    pub route_id: String,
    /// The request method.
    pub method: Method,
    /// The request path (no query; long paths cut).
    pub path: String,
    /// The client's address.
    pub remote: SocketAddr,
    /// The status the client got: the upstream's, the gateway's own, or
    /// [`CLIENT_CLOSED_REQUEST`] (499) when the client left first.
    pub status: u16,
    /// From the request's arrival to the end of the response.
    pub latency: Duration,
    /// The instance of each attempt, in order (`ai-proxy-multi` may make
    /// several).
    pub attempts: Vec<Arc<str>>,
    /// The last attempt's upstream `host:port`.
    pub upstream_addr: String,
    /// The last attempt's provider.
    pub provider: Option<Provider>,
    /// The route's `logging` settings.
    pub logging: Logging,
    /// The last attempt's exchange metrics (tokens, model, timings,
    /// `bytes_sent`), when an upstream answered.
    pub metrics: Option<Metrics>,
    /// Why the gateway answered itself, or why the response was cut
    /// short; empty for a clean end. May name upstream addresses.
    pub error: String,
    /// The client left before the response ended.
    pub client_aborted: bool,
    /// With `logging.payloads`: the request messages as sent upstream
    /// (JSON; a prefix when truncated).
    pub request_payload: Option<LoggedPayload>,
}

impl AccessRecord {
    /// The upstream status of the last attempt.
    pub fn upstream_status(&self) -> Option<StatusCode> {
        self.metrics.as_ref().and_then(|m| m.upstream_status)
    }

    /// Body bytes sent to the client.
    pub fn bytes_sent(&self) -> u64 {
        self.metrics.as_ref().map_or(0, |m| m.bytes_sent)
    }

    /// The picked instance (`picked_ai_instance_name`): the last attempt's.
    pub fn picked_instance(&self) -> &str {
        self.attempts.last().map_or("", |a| a)
    }
}
