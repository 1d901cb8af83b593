//! The state of one request across Pingora's hooks.

use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use ai_proxy::Provider;
use ai_proxy::core::Metrics;
use ai_proxy::core::exchange::Exchange;
use ai_proxy::multi::Attempt;
use ai_proxy_gateway::access_log::RequestLog;
use ai_proxy_gateway::embed::{BodyHold, RouteKey};
use ai_proxy_gateway::{Rejection, RelayError};
use bytes::Bytes;
use http::StatusCode;
use http::request::Parts;

/// One request's state (Pingora's `CTX`): the client's head and body, the
/// route, the current attempt and its prepared request, the exchange, and
/// the access record.
#[derive(Default)]
pub struct RequestCtx {
    pub(crate) log: Option<RequestLog>,
    pub(crate) remote: Option<SocketAddr>,
    /// The client's head and body, kept to prepare each attempt.
    pub(crate) client: Option<(Parts, Bytes)>,
    /// The body's bytes held against the gateway's in-flight budget.
    pub(crate) body_hold: BodyHold,
    pub(crate) route: Option<RouteKey>,
    /// The `ai-proxy-multi` attempt in flight (or next).
    pub(crate) attempt: Option<Attempt>,
    /// What `prepare` made for the attempt in flight.
    pub(crate) prepared: Option<PreparedAttempt>,
    /// The attempt's exchange, from `upstream_peer` to the body's end
    /// (in a `Mutex` only because Pingora wants the context `Sync`; it is
    /// reached through `&mut`, never locked).
    exchange: Option<Mutex<Exchange>>,
    /// Whether the response head went through `response_filter`.
    pub(crate) head_sent: bool,
    /// The balancer asked for another attempt: `error_while_proxy` keeps
    /// the retry.
    pub(crate) falling_back: bool,
    /// The status the client gets instead of the upstream's (502 when
    /// every instance failed).
    pub(crate) status_override: Option<StatusCode>,
    /// The gateway's own answer (or the last failure's).
    pub(crate) rejection: Option<Rejection>,
    /// Why the response stopped after its head went out.
    pub(crate) relay_error: Option<RelayError>,
    /// The finished exchange's metrics.
    pub(crate) metrics: Option<Metrics>,
}

/// The prepared request of one attempt.
pub(crate) struct PreparedAttempt {
    pub(crate) head: Parts,
    pub(crate) body: Bytes,
    pub(crate) provider: Provider,
    /// The route's `timeout`.
    pub(crate) timeout: Duration,
}

impl RequestCtx {
    /// The attempt's exchange.
    pub(crate) fn exchange(&mut self) -> Option<&mut Exchange> {
        let exchange = self.exchange.as_mut()?;
        Some(exchange.get_mut().unwrap_or_else(PoisonError::into_inner))
    }

    /// Starts the exchange of a new attempt.
    pub(crate) fn set_exchange(&mut self, exchange: Exchange) {
        self.exchange = Some(Mutex::new(exchange));
    }

    /// Ends the attempt's exchange.
    pub(crate) fn take_exchange(&mut self) -> Option<Exchange> {
        let exchange = self.exchange.take()?;
        Some(
            exchange
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }
}

impl std::fmt::Debug for RequestCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Heads and bodies may hold credentials: shown by presence only.
        f.debug_struct("RequestCtx")
            .field("route", &self.route)
            .field("attempt", &self.attempt)
            .field("prepared", &self.prepared.is_some())
            .field("head_sent", &self.head_sent)
            .field("status_override", &self.status_override)
            .field("rejection", &self.rejection)
            .field("relay_error", &self.relay_error)
            .finish_non_exhaustive()
    }
}
