//! [`ClientHints`]: the transport settings the caller's HTTP client honours.

use std::time::Duration;

use crate::config::Transport;

/// Transport settings for the caller's HTTP client (`timeout`,
/// `keepalive*`, `ssl_verify`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientHints {
    /// Per connect/send/read operation (not the whole stream).
    pub timeout: Duration,
    /// Pool the connection after a fully read response.
    pub keepalive: bool,
    /// How long an idle pooled connection is kept.
    pub keepalive_timeout: Duration,
    /// Idle connections kept per upstream.
    pub keepalive_pool: u64,
    /// Verify the upstream's TLS certificate.
    pub ssl_verify: bool,
}

impl From<&Transport> for ClientHints {
    fn from(t: &Transport) -> Self {
        Self {
            timeout: Duration::from_millis(t.timeout_ms),
            keepalive: t.keepalive,
            keepalive_timeout: Duration::from_millis(t.keepalive_timeout_ms),
            keepalive_pool: t.keepalive_pool,
            ssl_verify: t.ssl_verify,
        }
    }
}
