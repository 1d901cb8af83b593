//! Typed failures: why an upstream attempt failed ([`AttemptFailure`]) and
//! why the gateway answered a request itself ([`Rejection`]). Client
//! bodies name the cause and the fix, never an upstream address (the
//! access log keeps that).

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use ai_proxy::{PrepareError, Provider};
use bytes::Bytes;
use http::{Method, Response, StatusCode};

use crate::body::{GatewayBody, error_msg, whole};
use crate::plugin::PluginRejection;
use crate::pool::TransportError;
use crate::relay::RelayError;

/// Why an attempt got no response head.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttemptFailure {
    /// No response head within the route's `timeout`.
    #[error("no response head within {} ms", after.as_millis())]
    Timeout {
        /// The route's `timeout`.
        after: Duration,
    },
    /// Connecting, the TLS handshake or sending failed.
    #[error("{}: {source}", TransportCause::of(source))]
    Transport {
        /// The pool's error (its sources name the cause).
        source: TransportError,
    },
    /// Connecting, the TLS handshake or sending failed in a proxy that
    /// owns its upstream connections (Pingora), which classified it.
    #[error("{cause}: {source}")]
    Connection {
        /// What went wrong.
        cause: TransportCause,
        /// The proxy's error.
        source: Box<dyn StdError + Send + Sync>,
    },
}

/// What went wrong on the way to an upstream, as far as a client may
/// know: never an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportCause {
    /// The TLS handshake failed (or the certificate was refused).
    #[error("TLS handshake failed")]
    Tls,
    /// The upstream refused the connection.
    #[error("connection refused")]
    Refused,
    /// Connecting took longer than the route's `timeout`.
    #[error("connect timed out")]
    ConnectTimeout,
    /// The connection was reset.
    #[error("connection reset")]
    Reset,
    /// The upstream closed the connection before answering.
    #[error("the upstream closed the connection")]
    Closed,
    /// The address could not be resolved or reached.
    #[error("cannot connect (DNS or network error)")]
    Network,
    /// Connecting failed otherwise.
    #[error("cannot connect")]
    Connect,
    /// Sending the request failed otherwise.
    #[error("the request failed")]
    Other,
}

impl TransportCause {
    /// What went wrong, from a transport error's sources: an I/O error's
    /// kind, or a TLS error.
    fn of(error: &TransportError) -> Self {
        if causes(error).any(|e| e.is::<rustls::Error>()) {
            return TransportCause::Tls;
        }
        match io_kind(error) {
            Some(io::ErrorKind::ConnectionRefused) => TransportCause::Refused,
            Some(io::ErrorKind::TimedOut) => TransportCause::ConnectTimeout,
            Some(io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted) => {
                TransportCause::Reset
            }
            Some(io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe) => {
                TransportCause::Closed
            }
            Some(_) if error.is_connect() => TransportCause::Network,
            _ if error.is_connect() => TransportCause::Connect,
            _ => TransportCause::Other,
        }
    }
}

impl AttemptFailure {
    /// Whether the attempt timed out (by the route's `timeout` or a
    /// connect timeout), recognised by the error's type.
    pub fn is_timeout(&self) -> bool {
        match self {
            AttemptFailure::Timeout { .. } => true,
            AttemptFailure::Transport { source } => {
                io_kind(source) == Some(io::ErrorKind::TimedOut)
            }
            AttemptFailure::Connection { cause, .. } => *cause == TransportCause::ConnectTimeout,
        }
    }

    /// 504 for timeouts, else 502.
    pub fn status(&self) -> StatusCode {
        if self.is_timeout() {
            StatusCode::GATEWAY_TIMEOUT
        } else {
            StatusCode::BAD_GATEWAY
        }
    }

    /// The message for the client: cause and fix, no address.
    pub(crate) fn client_message(&self, provider: Provider, timeout: Duration) -> String {
        match self {
            _ if self.is_timeout() => format!(
                "upstream did not answer within {} ms (timeout); raise `timeout` (default 30000) \
                 or use streaming for long completions",
                timeout.as_millis()
            ),
            AttemptFailure::Transport { source } => {
                unreachable_upstream(provider, TransportCause::of(source))
            }
            AttemptFailure::Connection { cause, .. } => unreachable_upstream(provider, *cause),
            AttemptFailure::Timeout { .. } => self.to_string(),
        }
    }
}

fn unreachable_upstream(provider: Provider, cause: TransportCause) -> String {
    format!(
        "cannot reach upstream for provider {provider}: {cause}; check that `provider` matches \
         your API and that override.endpoint is right"
    )
}

/// An error and its causes, also through I/O errors: tokio-rustls and
/// hyper-rustls wrap errors in `io::Error`s, whose `source` skips the
/// error they wrap.
fn causes<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |&e| match e.downcast_ref::<io::Error>() {
        Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
        None => e.source(),
    })
}

/// The innermost I/O error's kind (the outer ones only wrap it).
fn io_kind(error: &TransportError) -> Option<io::ErrorKind> {
    causes(error)
        .filter_map(|e| e.downcast_ref::<io::Error>().map(io::Error::kind))
        .last()
}

/// Why the gateway answered a request itself.
#[derive(Debug)]
#[non_exhaustive]
pub enum Rejection {
    /// No route matches (404).
    NoRoute {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
    },
    /// The body is larger than the route's `max_req_body_size` (413).
    BodyTooLarge {
        /// The route's limit.
        limit: u64,
    },
    /// The body would take the in-flight body budget over its cap (503).
    BodyBudget {
        /// The budget, in bytes.
        budget: u64,
    },
    /// The client paused longer than the body timeout (408).
    BodyTimeout {
        /// The timeout.
        after: Duration,
    },
    /// The body could not be read (400).
    BodyRead(Box<dyn StdError + Send + Sync>),
    /// A plugin answered.
    Plugin(PluginRejection),
    /// Vertex AI access token unavailable (500, APISIX's message).
    Token(ai_proxy::vertex::VertexError),
    /// `ai-proxy-multi` found no instance to pick (503, 404 for the model
    /// router).
    Pick(ai_proxy::multi::Error),
    /// Request preparation refused the request.
    Prepare(PrepareError),
    /// The upstream could not be reached or did not answer in time.
    Attempt {
        /// Why.
        failure: AttemptFailure,
        /// The provider, for the message.
        provider: Provider,
        /// The route's `timeout`, for the message.
        timeout: Duration,
    },
    /// The response could not be relayed, before any byte went out.
    Relay(RelayError),
}

impl Rejection {
    /// The status the client gets.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::NoRoute { .. } => StatusCode::NOT_FOUND,
            Rejection::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::BodyBudget { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Rejection::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Rejection::BodyRead(_) => StatusCode::BAD_REQUEST,
            Rejection::Plugin(p) => p.status,
            Rejection::Token(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Rejection::Pick(e) => e.status(),
            Rejection::Prepare(e) => e.status(),
            Rejection::Attempt { failure, .. } => failure.status(),
            Rejection::Relay(e) => e.status(),
        }
    }

    /// What the access log says about it (may name addresses).
    pub fn log_message(&self) -> String {
        match self {
            Rejection::Attempt { failure, .. } => failure.to_string(),
            Rejection::Relay(e) => e.to_string(),
            other => other.client_message(),
        }
    }

    fn client_message(&self) -> String {
        match self {
            Rejection::NoRoute { method, path } => format!("no route matches {method} {path}"),
            Rejection::BodyTooLarge { limit } => format!(
                "could not get body: request body is larger than the maximum size {limit} allowed"
            ),
            Rejection::BodyBudget { budget } => format!(
                "server busy: the request bodies in flight would exceed the gateway's budget of \
                 {budget} bytes; retry later (operators: raise --max-inflight-body-bytes)"
            ),
            Rejection::BodyTimeout { after } => format!(
                "client body timeout: no body bytes for {} ms; send the body without pauses \
                 (operators: raise --client-body-timeout)",
                after.as_millis()
            ),
            Rejection::BodyRead(e) => format!("could not get body: {e}"),
            Rejection::Token(e) => e.client_message(),
            Rejection::Pick(e) => e.to_string(),
            Rejection::Prepare(e) => e.to_string(),
            Rejection::Attempt {
                failure,
                provider,
                timeout,
            } => failure.client_message(*provider, *timeout),
            Rejection::Relay(e) => e.client_body(),
            Rejection::Plugin(p) => String::from_utf8_lossy(&p.body).into_owned(),
        }
    }

    /// The response: APISIX's `{"error_msg": …}` for the gateway's own
    /// errors, the SDK's body for preparation errors, plain text for
    /// response limits, the plugin's own answer.
    pub fn response(&self) -> Response<GatewayBody> {
        self.answer().map(GatewayBody::full)
    }

    /// [`response`](Self::response) with a whole body, for proxies that
    /// write responses themselves (Pingora).
    pub fn answer(&self) -> Response<Bytes> {
        let status = self.status();
        match self {
            Rejection::Plugin(p) => {
                let mut r = Response::new(p.body.clone());
                *r.status_mut() = p.status;
                *r.headers_mut() = p.headers.clone();
                r
            }
            Rejection::Prepare(e) => whole(status, e.content_type(), e.body()),
            Rejection::Relay(e) => whole(status, e.content_type(), e.client_body()),
            other => whole(
                status,
                "application/json",
                error_msg(&other.client_message()),
            ),
        }
    }
}
