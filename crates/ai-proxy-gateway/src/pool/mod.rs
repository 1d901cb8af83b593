//! The gateway's HTTP/1.1 upstream pool, with its own client: a request
//! is written, and its response head and body read, on the request's own
//! task ([`connection`], over the sans-IO [`h1`] reader) — no connection
//! task, no channels.
//!
//! Idle connections are kept per upstream (scheme and authority, compared
//! as text: a worker talks to a handful of upstreams, so a short list
//! beats hashing the address), newest first (LIFO: the connection most
//! likely still open, the others age out), at most `keepalive_pool` of
//! them per upstream — past that the least recently used one is closed,
//! as nginx's `keepalive` does — each for up to `keepalive_timeout`
//! (`keepalive: false`: none). A connection goes back when its response
//! body has been read to the end ([`UpstreamBody`]) and the response let
//! it (HTTP/1.1, no `Connection: close`, a delimited body, nothing after
//! it); a body dropped half-read takes its connection with it.
//!
//! `ai-proxy serve` keeps one pool per worker and setting (see
//! [`crate::upstream`]): the lock is then never contended. A gateway on a
//! multi-thread runtime shares one pool per setting behind the same lock.
//!
//! Nothing watches an idle connection: expired ones are closed when the
//! pool is next used (no timer per connection), and the one checked out
//! is read once without waiting (an upstream that closed it, or sent
//! anything unasked, loses it).

mod body;
mod connection;
mod error;
pub(crate) mod h1;
mod host;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Request, Response, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;

pub use body::UpstreamBody;
pub use error::TransportError;
pub use h1::Http1Error;

use body::Home;
use connection::{Connection, SendError};
use h1::BodyReader;

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
    idle: Option<Box<Connection>>,
    host: Option<HeaderValue>,
}

struct Idle {
    connection: Box<Connection>,
    since: Instant,
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
    /// an idle connection to its upstream or a new one, and reads the
    /// response head. A request that a reused connection failed to write
    /// before any byte of it went out is sent again, on the next idle
    /// connection or a new one, as hyper-util's client did; a request on a
    /// new connection is not. `now`: the caller's clock reading, for the
    /// idle timeout.
    pub(crate) async fn send(
        self: Arc<Self>,
        request: Request<Bytes>,
        now: Instant,
    ) -> Result<Response<UpstreamBody>, TransportError> {
        let (mut parts, body) = request.into_parts();
        // Taken apart, not cloned (cloning shares the URI's buffer, an
        // allocation): the request line gets the origin form, the pool the
        // upstream's scheme and authority.
        let uri = std::mem::take(&mut parts.uri).into_parts();
        let (Some(scheme), Some(authority)) = (uri.scheme, uri.authority) else {
            return Err(TransportError::NotAbsolute);
        };
        let target = uri.path_and_query;
        let target = target.as_ref().map_or("/", |p| p.as_str());
        // A bare query (`http://host?q`) gets its path.
        let path: std::borrow::Cow<'_, str> = if target.starts_with('/') {
            target.into()
        } else {
            format!("/{target}").into()
        };
        let Checkout { mut idle, host } = self.checkout(&scheme, &authority, now);
        // Written after the request's fields, not put in its map (a hash,
        // an insert and a drop a request): the request is dropped once
        // sent. A scan, not a look-up: the fields are few.
        let host = if parts.headers.keys().any(|name| *name == http::header::HOST) {
            None
        } else {
            host.or_else(|| host::host_header(&scheme, &authority))
        };
        loop {
            let (mut connection, reused) = match idle.take() {
                Some(connection) => (connection, true),
                // Boxed: connecting (TCP, TLS) is rare and its future
                // large; a reused connection does not carry it.
                None => (Box::pin(self.connect(&scheme, &authority)).await?, false),
            };
            match connection
                .send(&parts.method, &path, &parts.headers, host.as_ref(), &body)
                .await
            {
                Ok(head) => {
                    // The request's map becomes the next response's (moved
                    // out: no empty map is left to drop).
                    connection.keep_map(parts.headers);
                    let reusable = head.decision.reusable && self.max_idle > 0;
                    let home = reusable.then(|| Home {
                        pool: self,
                        scheme,
                        authority,
                    });
                    let reader = BodyReader::new(head.decision.framing);
                    let mut response = Response::new(UpstreamBody::new(connection, reader, home));
                    *response.status_mut() = head.status;
                    *response.version_mut() = head.version;
                    *response.headers_mut() = head.headers;
                    return Ok(response);
                }
                Err(SendError {
                    unwritten: true, ..
                }) if reused => {
                    idle = self.checkout(&scheme, &authority, now).idle;
                }
                Err(SendError { error, .. }) => return Err(TransportError::Send(error)),
            }
        }
    }

    /// The newest idle connection to the upstream that is still open and
    /// quiet (expired, closed and talkative ones are dropped on the way),
    /// and the upstream's `Host` if known.
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
            .retain(|c| now.saturating_duration_since(c.since) < timeout);
        let mut idle = None;
        while let Some(Idle { mut connection, .. }) = host.idle.pop() {
            if connection.is_quiet() {
                idle = Some(connection);
                break;
            }
        }
        Checkout {
            idle,
            host: host.host.clone(),
        }
    }

    /// Keeps `connection` as the upstream's newest idle connection, closing
    /// its least recently used one past `max_idle`.
    fn checkin(
        &self,
        scheme: Scheme,
        authority: Authority,
        connection: Box<Connection>,
        now: Instant,
    ) {
        if self.max_idle == 0 {
            return;
        }
        let idle = Idle {
            connection,
            since: now,
        };
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

    /// A new connection to the upstream.
    async fn connect(
        &self,
        scheme: &Scheme,
        authority: &Authority,
    ) -> Result<Box<Connection>, TransportError> {
        let target = Uri::builder()
            .scheme(scheme.clone())
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| TransportError::Connect(e.into()))?;
        let transport = tower::ServiceExt::oneshot(self.connector.clone(), target)
            .await
            .map_err(TransportError::Connect)?;
        Ok(Connection::new(transport))
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
