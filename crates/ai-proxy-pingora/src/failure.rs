//! Pingora's errors as the gateway's typed failures, by error type (never
//! by text), and the gateway's answers as Pingora errors.

use std::time::Duration;

use ai_proxy_gateway::{AttemptFailure, Rejection, TransportCause};
use pingora::{Error, ErrorType};

/// Pingora's error, kept as text for the access log (the type decides).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct PingoraError(String);

impl PingoraError {
    pub(crate) fn new(message: String) -> Self {
        Self(message)
    }

    pub(crate) fn from_error(e: &Error) -> Self {
        Self(e.to_string())
    }
}

/// Why an attempt got no response head, from Pingora's error type.
pub(crate) fn attempt_failure(e: &Error, timeout: Duration) -> AttemptFailure {
    let cause = match e.etype() {
        // Pingora's read timeout is the route's `timeout`, waiting for the
        // head.
        ErrorType::ReadTimedout | ErrorType::WriteTimedout => {
            return AttemptFailure::Timeout { after: timeout };
        }
        ErrorType::ConnectTimedout | ErrorType::TLSHandshakeTimedout => {
            TransportCause::ConnectTimeout
        }
        ErrorType::ConnectRefused => TransportCause::Refused,
        ErrorType::ConnectNoRoute => TransportCause::Network,
        ErrorType::TLSHandshakeFailure
        | ErrorType::TLSWantX509Lookup
        | ErrorType::InvalidCert
        | ErrorType::HandshakeError => TransportCause::Tls,
        ErrorType::ConnectionClosed => TransportCause::Closed,
        ErrorType::ReadError | ErrorType::WriteError => TransportCause::Reset,
        ErrorType::ConnectError | ErrorType::BindError | ErrorType::SocketError => {
            TransportCause::Connect
        }
        _ => TransportCause::Other,
    };
    AttemptFailure::Connection {
        cause,
        source: Box::new(PingoraError::from_error(e)),
    }
}

/// The Pingora error standing for a gateway answer (kept in the context;
/// `fail_to_proxy` writes it).
pub(crate) fn answered(rejection: &Rejection) -> Box<Error> {
    Error::explain(
        ErrorType::HTTPStatus(rejection.status().as_u16()),
        "answered by ai-proxy",
    )
}
