//! The pool's error: why no response head came back.

use std::error::Error as StdError;

/// Why the gateway's upstream pool got no response head: the upstream
/// address may appear in its sources (the access log's), never in a
/// client's message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The request's URI has no scheme or authority.
    #[error("the upstream URI is not absolute (scheme and host needed)")]
    NotAbsolute,
    /// Connecting (resolving, TCP, TLS) failed.
    #[error("connecting failed")]
    Connect(#[source] Box<dyn StdError + Send + Sync>),
    /// Writing the request or reading the response head failed.
    #[error("sending the request failed")]
    Send(#[source] super::Http1Error),
}

impl TransportError {
    /// Whether no connection could be opened.
    pub fn is_connect(&self) -> bool {
        matches!(self, TransportError::Connect(_))
    }
}
