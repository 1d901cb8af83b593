//! The gateway's HTTP/1 upstream pool, on hyper's connection API.
//!
//! Idle connections are kept per upstream (scheme and authority, compared
//! as text: a worker talks to a handful of upstreams, so a short list
//! beats hashing the address), newest first (LIFO: the connection most
//! likely still open, the others age out), at most `keepalive_pool` of
//! them per upstream — past that the least recently used one is closed,
//! as nginx's `keepalive` does — each for up to `keepalive_timeout`
//! (`keepalive: false`: none). A connection goes back when its response
//! body has been read to the end ([`UpstreamBody`]); a body dropped
//! half-read takes its connection with it.
//!
//! `ai-proxy serve` keeps one pool per worker and setting (see
//! [`crate::upstream`]): the lock is then never contended and each
//! connection's task runs on the worker that opened it. A gateway on a
//! multi-thread runtime shares one pool per setting behind the same lock.
//!
//! Expired idle connections are closed when the pool is next used (no
//! timer per connection), as hyper-util's pool did without a timer.

mod body;
mod error;
mod host;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Request, Response, Uri};
use http_body_util::Full;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;

pub use body::UpstreamBody;
pub use error::TransportError;

type Sender = SendRequest<Full<Bytes>>;

/// How the pool opens connections: TCP, then TLS for `https` (hyper-rustls).
pub(crate) type Connector = HttpsConnector<HttpConnector>;

/// HTTP/1 connections to upstreams, kept alive between requests.
pub(crate) struct Pool {
    connector: Connector,
    idle_timeout: Duration,
    /// Per upstream; 0 means no reuse.
    max_idle: usize,
    hosts: Mutex<Vec<Host>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("idle_timeout", &self.idle_timeout)
            .field("max_idle", &self.max_idle)
            .finish_non_exhaustive()
    }
}

/// One upstream's idle connections, oldest first.
struct Host {
    scheme: Scheme,
    authority: Authority,
    /// Its `Host` header, written once.
    host: Option<HeaderValue>,
    idle: Vec<Idle>,
}

/// What the pool has for a request to an upstream.
#[derive(Default)]
struct Checkout {
    idle: Option<Sender>,
    host: Option<HeaderValue>,
}

struct Idle {
    sender: Sender,
    since: Instant,
}

/// Where a connection goes back when its response has been read.
pub(crate) struct Checkin {
    pool: Arc<Pool>,
    scheme: Scheme,
    authority: Authority,
    sender: Sender,
}

impl Checkin {
    /// Puts the connection back (if it can still carry a request).
    fn done(self) {
        let Checkin {
            pool,
            scheme,
            authority,
            sender,
        } = self;
        pool.checkin(scheme, authority, sender, Instant::now());
    }
}

impl Pool {
    /// A pool connecting through `connector` (TCP, then TLS for `https`),
    /// keeping up to `max_idle` connections per upstream idle for up to
    /// `idle_timeout`.
    pub(crate) fn new(connector: Connector, idle_timeout: Duration, max_idle: usize) -> Self {
        Self {
            connector,
            idle_timeout,
            max_idle,
            hosts: Mutex::new(Vec::new()),
        }
    }

    /// Sends `request` (absolute URI; `Host` added from it unless set) on
    /// an idle connection to its upstream or a new one, and waits for the
    /// response head. A request that a reused connection gave back
    /// unwritten (the upstream had closed it while idle) is sent again,
    /// as hyper-util's client does; one on a new connection is not.
    /// `now`: the caller's clock reading, for the idle timeout.
    pub(crate) async fn send(
        self: &Arc<Self>,
        request: Request<Full<Bytes>>,
        now: Instant,
    ) -> Result<Response<UpstreamBody>, TransportError> {
        let (mut parts, body) = request.into_parts();
        // Taken apart, not cloned (cloning shares the URI's buffer, an
        // allocation): the request line gets the origin form (what
        // hyper-util wrote), the pool the upstream's scheme and authority.
        let uri = std::mem::take(&mut parts.uri).into_parts();
        let (Some(scheme), Some(authority)) = (uri.scheme, uri.authority) else {
            return Err(TransportError::NotAbsolute);
        };
        if let Some(path) = uri.path_and_query.filter(|p| p.as_str() != "/") {
            parts.uri = Uri::from(path);
        }
        let Checkout { mut idle, host } = self.checkout(&scheme, &authority, now);
        if let http::header::Entry::Vacant(slot) = parts.headers.entry(http::header::HOST)
            && let Some(host) = host.or_else(|| host::host_header(&scheme, &authority))
        {
            slot.insert(host);
        }
        let mut request = Request::from_parts(parts, body);
        loop {
            let (mut sender, reused) = match idle.take() {
                Some(sender) => (sender, true),
                // Boxed: connecting (TCP, TLS, handshake) is rare and its
                // future large; a reused connection does not carry it.
                None => (Box::pin(self.connect(&scheme, &authority)).await?, false),
            };
            match sender.try_send_request(request).await {
                Ok(response) => {
                    let checkin = (self.max_idle > 0).then(|| Checkin {
                        pool: Arc::clone(self),
                        scheme,
                        authority,
                        sender,
                    });
                    return Ok(response.map(|body| UpstreamBody::new(body, checkin)));
                }
                Err(mut e) => match e.take_message() {
                    Some(unsent) if reused => {
                        request = unsent;
                        idle = self.checkout(&scheme, &authority, now).idle;
                    }
                    _ => return Err(TransportError::Send(e.into_error())),
                },
            }
        }
    }

    /// The newest idle connection to the upstream that is ready for a
    /// request (expired and closed ones are dropped on the way), and the
    /// upstream's `Host` if known.
    fn checkout(&self, scheme: &Scheme, authority: &Authority, now: Instant) -> Checkout {
        let mut hosts = self.hosts();
        let Some(host) = hosts
            .iter_mut()
            .find(|h| h.authority.as_str() == authority.as_str() && h.scheme == *scheme)
        else {
            return Checkout::default();
        };
        let timeout = self.idle_timeout;
        host.idle
            .retain(|c| now.saturating_duration_since(c.since) < timeout && !c.sender.is_closed());
        // Not ready yet: its last response is still being finished (on
        // another thread); it stays for a later request.
        let idle = host
            .idle
            .iter()
            .rposition(|c| c.sender.is_ready())
            .map(|newest_ready| host.idle.remove(newest_ready).sender);
        Checkout {
            idle,
            host: host.host.clone(),
        }
    }

    /// Keeps `sender` as the upstream's newest idle connection, closing
    /// its least recently used one past `max_idle`.
    fn checkin(&self, scheme: Scheme, authority: Authority, sender: Sender, now: Instant) {
        if sender.is_closed() {
            return;
        }
        let idle = Idle { sender, since: now };
        let mut hosts = self.hosts();
        let found = hosts
            .iter_mut()
            .find(|h| h.authority.as_str() == authority.as_str() && h.scheme == scheme);
        let host = match found {
            Some(host) => host,
            None => {
                // Upstreams come from the configuration; forget those
                // without idle connections before adding one.
                hosts.retain(|h| !h.idle.is_empty());
                hosts.push(Host {
                    host: host::host_header(&scheme, &authority),
                    scheme,
                    authority,
                    idle: Vec::new(),
                });
                #[allow(clippy::unwrap_used)] // ok: pushed on the line above
                hosts.last_mut().unwrap()
            }
        };
        if host.idle.len() >= self.max_idle {
            host.idle.remove(0);
        }
        host.idle.push(idle);
    }

    /// A new connection to the upstream, its task spawned on the current
    /// runtime.
    async fn connect(
        &self,
        scheme: &Scheme,
        authority: &Authority,
    ) -> Result<Sender, TransportError> {
        let target = Uri::builder()
            .scheme(scheme.clone())
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| TransportError::Connect(e.into()))?;
        let io = tower::ServiceExt::oneshot(self.connector.clone(), target)
            .await
            .map_err(TransportError::Connect)?;
        let (sender, connection) = http1::handshake(io)
            .await
            .map_err(TransportError::Handshake)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "upstream connection ended with an error");
            }
        });
        // The first request is buffered without waiting for the
        // connection task to ask for it (hyper's `buffered_once`).
        Ok(sender)
    }

    fn hosts(&self) -> MutexGuard<'_, Vec<Host>> {
        // A panic while holding the lock leaves a list of connections,
        // each checked before use.
        self.hosts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many idle connections the pool holds for the upstream (tests).
    #[cfg(test)]
    fn idle_count(&self, uri: &Uri) -> usize {
        self.hosts()
            .iter()
            .filter(|h| {
                uri.authority()
                    .is_some_and(|a| a.as_str() == h.authority.as_str())
            })
            .map(|h| h.idle.len())
            .sum()
    }
}
