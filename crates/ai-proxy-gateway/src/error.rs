//! Typed failures: why an upstream attempt failed ([`AttemptFailure`]) and
//! why the gateway answered a request itself ([`Rejection`]). Client
//! bodies name the cause and the fix, never an upstream address (the
//! access log keeps that).

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use ai_proxy::{PrepareError, Provider};
use http::{Method, Response, StatusCode};

use crate::body::{GatewayBody, error_msg, respond};
use crate::plugin::PluginRejection;
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
    #[error("{}: {source}", cause(source))]
    Transport {
        /// The client's error (its sources name the cause).
        source: hyper_util::client::legacy::Error,
    },
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
            AttemptFailure::Transport { source } => format!(
                "cannot reach upstream for provider {provider}: {}; check that `provider` matches \
                 your API and that override.endpoint is right",
                cause(source)
            ),
            AttemptFailure::Timeout { .. } => self.to_string(),
        }
    }
}

/// What went wrong, from the error's sources: an I/O error's kind, or a
/// TLS error. Never an address.
fn cause(error: &hyper_util::client::legacy::Error) -> &'static str {
    if sources(error).any(|e| e.is::<rustls::Error>()) {
        return "TLS handshake failed";
    }
    match io_kind(error) {
        Some(io::ErrorKind::ConnectionRefused) => "connection refused",
        Some(io::ErrorKind::TimedOut) => "connect timed out",
        Some(io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted) => {
            "connection reset"
        }
        Some(io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe) => {
            "the upstream closed the connection"
        }
        Some(_) if error.is_connect() => "cannot connect (DNS or network error)",
        _ if error.is_connect() => "cannot connect",
        _ => "the request failed",
    }
}

fn sources<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |&e| e.source())
}

fn io_kind(error: &hyper_util::client::legacy::Error) -> Option<io::ErrorKind> {
    sources(error).find_map(|e| e.downcast_ref::<io::Error>().map(io::Error::kind))
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
        let status = self.status();
        match self {
            Rejection::Plugin(p) => p.response(),
            Rejection::Prepare(e) => respond(status, e.content_type(), e.body()),
            Rejection::Relay(e) => respond(status, e.content_type(), e.client_body()),
            other => respond(
                status,
                "application/json",
                error_msg(&other.client_message()),
            ),
        }
    }
}
