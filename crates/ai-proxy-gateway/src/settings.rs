//! [`Settings`]: the gateway's own limits — client timeouts, the connection
//! cap, the in-flight request-body budget, the payload-log cap — with the
//! defaults nginx and APISIX operators expect.

use std::net::SocketAddr;
use std::time::Duration;

/// nginx's `client_header_timeout`, `client_body_timeout`, `send_timeout`
/// and `keepalive_timeout` default (APISIX keeps them): 60 s.
pub const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Default [`Settings::max_inflight_body_bytes`]: 256 MiB.
pub const DEFAULT_MAX_INFLIGHT_BODY_BYTES: u64 = 256 * 1024 * 1024;

/// Default [`Settings::max_logged_payload_bytes`]: 64 KiB per direction.
pub const DEFAULT_MAX_LOGGED_PAYLOAD_BYTES: usize = 64 * 1024;

/// Default [`Settings::max_metric_series`].
pub const DEFAULT_MAX_METRIC_SERIES: usize = 1000;

/// File descriptors kept free for the listener, logs, DNS and the upstream
/// pools' idle connections when the connection cap comes from the limit.
const FD_HEADROOM: u64 = 64;

/// The cap when the file-descriptor limit cannot be read or is unlimited.
const FALLBACK_MAX_CONNECTIONS: usize = 4096;

/// Time a stopping gateway gives open connections to finish.
const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// How a gateway treats clients: timeouts and caps.
///
/// ```
/// use std::time::Duration;
/// use ai_proxy_gateway::Settings;
///
/// let settings = Settings::default()
///     .with_client_header_timeout(Duration::from_secs(10))
///     .with_max_connections(512);
/// assert_eq!(settings.client_body_timeout, Duration::from_secs(60));
/// assert_eq!(settings.max_inflight_body_bytes, 256 * 1024 * 1024);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// How long a client may take to send a request head (nginx
    /// `client_header_timeout`); past it the connection is closed. Counted
    /// from the start of the connection for the first request, from a
    /// head's first byte for later ones (HTTP/1).
    pub client_header_timeout: Duration,
    /// Longest pause between two reads of a request body (nginx
    /// `client_body_timeout`); past it the client gets 408.
    pub client_body_timeout: Duration,
    /// Longest a write of a response to a client may make no progress
    /// (nginx `send_timeout`: between two successive writes, not for the
    /// whole response); past it the connection is closed and the request
    /// logged as the client's leaving (499). HTTP/2: when no response on
    /// the connection moved for it while one waits for the client to make
    /// room (flow control), the connection is closed.
    pub client_send_timeout: Duration,
    /// How long a connection may stay idle between requests (nginx
    /// `keepalive_timeout`); then it is closed (HTTP/2: GOAWAY, and the
    /// socket closed once the client has answered it, or one more
    /// keep-alive timeout later if it has not).
    pub keepalive_timeout: Duration,
    /// Client connections served at once. At the cap, new connections wait
    /// in the listen backlog (the kernel refuses them once it is full);
    /// nothing spins. Default: [`default_max_connections`].
    pub max_connections: usize,
    /// Request-body bytes held by all requests together. A request whose
    /// body would go over it gets 503 before its body is read.
    pub max_inflight_body_bytes: u64,
    /// With `logging.payloads`: the longest prefix of the request messages
    /// and of the response text kept for the access log, each (longer ones
    /// are cut and marked `truncated`).
    pub max_logged_payload_bytes: usize,
    /// How long `serve` lets open connections finish after shutdown is
    /// asked for.
    pub shutdown_timeout: Duration,
    /// Where [`Gateway::serve`](crate::Gateway::serve) also serves
    /// Prometheus metrics (`GET /metrics`, a separate listener as APISIX's
    /// `export_addr`); `None` (the default): no metrics are collected.
    pub metrics_listen: Option<SocketAddr>,
    /// The most series a metric family labelled with model names holds
    /// (model names come from clients); past it, new names are counted
    /// under the model label `_overflow`. Default 1000.
    pub max_metric_series: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            client_header_timeout: DEFAULT_CLIENT_TIMEOUT,
            client_body_timeout: DEFAULT_CLIENT_TIMEOUT,
            client_send_timeout: DEFAULT_CLIENT_TIMEOUT,
            keepalive_timeout: DEFAULT_CLIENT_TIMEOUT,
            max_connections: default_max_connections(),
            max_inflight_body_bytes: DEFAULT_MAX_INFLIGHT_BODY_BYTES,
            max_logged_payload_bytes: DEFAULT_MAX_LOGGED_PAYLOAD_BYTES,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            metrics_listen: None,
            max_metric_series: DEFAULT_MAX_METRIC_SERIES,
        }
    }
}

impl Settings {
    /// These settings with another [`client_header_timeout`](Self::client_header_timeout).
    pub fn with_client_header_timeout(mut self, timeout: Duration) -> Self {
        self.client_header_timeout = timeout;
        self
    }

    /// These settings with another [`client_body_timeout`](Self::client_body_timeout).
    pub fn with_client_body_timeout(mut self, timeout: Duration) -> Self {
        self.client_body_timeout = timeout;
        self
    }

    /// These settings with another [`client_send_timeout`](Self::client_send_timeout).
    pub fn with_client_send_timeout(mut self, timeout: Duration) -> Self {
        self.client_send_timeout = timeout;
        self
    }

    /// These settings with another [`keepalive_timeout`](Self::keepalive_timeout).
    pub fn with_keepalive_timeout(mut self, timeout: Duration) -> Self {
        self.keepalive_timeout = timeout;
        self
    }

    /// These settings with another [`max_connections`](Self::max_connections)
    /// (at least 1).
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// These settings with another
    /// [`max_inflight_body_bytes`](Self::max_inflight_body_bytes).
    pub fn with_max_inflight_body_bytes(mut self, bytes: u64) -> Self {
        self.max_inflight_body_bytes = bytes;
        self
    }

    /// These settings with another
    /// [`max_logged_payload_bytes`](Self::max_logged_payload_bytes).
    pub fn with_max_logged_payload_bytes(mut self, bytes: usize) -> Self {
        self.max_logged_payload_bytes = bytes;
        self
    }

    /// These settings serving metrics on `addr`
    /// ([`metrics_listen`](Self::metrics_listen)).
    pub fn with_metrics_listen(mut self, addr: SocketAddr) -> Self {
        self.metrics_listen = Some(addr);
        self
    }

    /// These settings with another
    /// [`max_metric_series`](Self::max_metric_series) (at least 1).
    pub fn with_max_metric_series(mut self, max: usize) -> Self {
        self.max_metric_series = max.max(1);
        self
    }

    /// These settings with another [`shutdown_timeout`](Self::shutdown_timeout).
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }
}

/// The default connection cap: half the process's soft file-descriptor
/// limit after 64 descriptors of headroom (each client connection may hold
/// an upstream connection too), at least 16; 4096 when the limit cannot be
/// read or is unlimited.
pub fn default_max_connections() -> usize {
    connections_for(fd_limit())
}

fn connections_for(fd_limit: Option<u64>) -> usize {
    match fd_limit {
        Some(limit) => {
            let n = limit.saturating_sub(FD_HEADROOM) / 2;
            usize::try_from(n).unwrap_or(usize::MAX).max(16)
        }
        None => FALLBACK_MAX_CONNECTIONS,
    }
}

#[cfg(unix)]
fn fd_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
fn fd_limit() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_cap_leaves_headroom_below_the_fd_limit() {
        assert_eq!(connections_for(Some(1024)), 480);
        assert_eq!(connections_for(Some(65_536)), 32_736);
        assert_eq!(connections_for(Some(10)), 16);
        assert_eq!(connections_for(None), 4096);
    }

    #[test]
    fn defaults_are_nginx_defaults() {
        let s = Settings::default();
        assert_eq!(s.client_header_timeout, Duration::from_secs(60));
        assert_eq!(s.client_body_timeout, Duration::from_secs(60));
        assert_eq!(s.client_send_timeout, Duration::from_secs(60));
        assert_eq!(s.keepalive_timeout, Duration::from_secs(60));
        assert_eq!(s.max_logged_payload_bytes, 64 * 1024);
        assert!(s.max_connections >= 16);
    }
}
