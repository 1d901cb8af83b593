//! Upstream connections, one set per distinct [`ClientHints`] (`timeout`,
//! `keepalive*`, `ssl_verify`), shared by every instance with the same
//! settings: the gateway's own HTTP/1 [`Pool`] for proxied requests and
//! moderation calls, and a hyper-util client over the same connector for
//! health probes. Instances resolve theirs once, when the gateway is
//! built; requests take no lock but the pool's own.
//!
//! On a current-thread runtime (a worker of `ai-proxy serve`, one per
//! core, as nginx's worker processes) each thread keeps its own pool per
//! setting: a connection's socket stays registered with the runtime that
//! opened it, so sharing one pool across workers would have another
//! thread's reactor wake the request's task. `keepalive_pool` is then per
//! worker, as nginx's `keepalive` is.
//! On a multi-thread runtime the setting's shared pool serves every
//! thread (behind its lock).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use ai_proxy::ClientHints;
use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::ConfigBuilderExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::pool::{Connector, Pool, TransportError, UpstreamBody};

/// The hyper-util client health probes and moderation calls use.
pub(crate) type HttpClient = Client<Connector, Full<Bytes>>;

/// Clients keyed by the transport settings they honour.
#[derive(Clone, Default)]
pub(crate) struct Clients {
    by_hints: Arc<ClientMap>,
}

type ClientMap = Mutex<HashMap<Key, Entry>>;

/// One setting's connector and what is built on it.
#[derive(Clone)]
struct Entry {
    client: HttpClient,
    pool: Arc<Pool>,
    connector: Connector,
}

/// An instance's pool: the shared one, or on a current-thread runtime,
/// that thread's own for the same settings.
#[derive(Clone)]
pub(crate) struct UpstreamClient {
    key: Key,
    shared: Arc<Pool>,
    /// The shared pool's connector (its TLS configuration), for the
    /// threads' own pools.
    connector: Connector,
    /// Which [`Clients`] this came from (thread-local pools are kept per
    /// gateway); weak, so a dropped gateway's entries can be pruned.
    origin: Weak<ClientMap>,
}

impl std::fmt::Debug for UpstreamClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamClient")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// This thread's pools, by gateway and settings (a handful: a linear
    /// search beats hashing the key). Only a current-thread runtime's
    /// thread adds any.
    static WORKER_POOLS: RefCell<Vec<WorkerPool>> = const { RefCell::new(Vec::new()) };
}

/// A thread's pool: for which gateway, for which settings.
type WorkerPool = (Weak<ClientMap>, Key, Arc<Pool>);

impl UpstreamClient {
    /// Sends `request` through this thread's pool on a current-thread
    /// runtime, through the shared one otherwise (see [`Pool::send`]). The
    /// pool's own future, not one around it (which held the request too:
    /// a move of ~256 bytes more).
    pub(crate) fn send(
        &self,
        request: http::Request<Bytes>,
        now: Instant,
    ) -> impl Future<Output = Result<http::Response<UpstreamBody>, TransportError>> + Send + use<>
    {
        self.pool().send(request, now)
    }

    fn pool(&self) -> Arc<Pool> {
        WORKER_POOLS.with(|pools| {
            let mut pools = pools.borrow_mut();
            let found = pools
                .iter()
                .find(|(origin, key, _)| origin.ptr_eq(&self.origin) && *key == self.key);
            if let Some((_, _, pool)) = found {
                return Arc::clone(pool);
            }
            let worker = tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread);
            if !worker {
                return Arc::clone(&self.shared);
            }
            // The shared pool's TLS configuration, connections of this
            // thread's own.
            pools.retain(|(origin, _, _)| origin.strong_count() > 0);
            let pool = Arc::new(pool(self.key, self.connector.clone()));
            pools.push((self.origin.clone(), self.key, Arc::clone(&pool)));
            pool
        })
    }
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients").finish_non_exhaustive()
    }
}

/// The settings a client is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) timeout: Duration,
    pub(crate) keepalive: bool,
    pub(crate) keepalive_timeout: Duration,
    pub(crate) keepalive_pool: u64,
    pub(crate) ssl_verify: bool,
}

impl Key {
    /// Idle connections kept per upstream: `keepalive_pool`, none without
    /// `keepalive`.
    fn max_idle(self) -> usize {
        if self.keepalive {
            usize::try_from(self.keepalive_pool).unwrap_or(usize::MAX)
        } else {
            0
        }
    }
}

impl From<ClientHints> for Key {
    fn from(hints: ClientHints) -> Self {
        Self {
            timeout: hints.timeout,
            keepalive: hints.keepalive,
            keepalive_timeout: hints.keepalive_timeout,
            keepalive_pool: hints.keepalive_pool,
            ssl_verify: hints.ssl_verify,
        }
    }
}

impl Clients {
    /// The hyper-util client for `key` (built on first use, then shared so
    /// its pool is reused).
    pub(crate) fn get(&self, key: impl Into<Key>) -> Result<HttpClient, rustls::Error> {
        self.entry(key.into()).map(|e| e.client)
    }

    /// The pool for `key` as an instance holds it (see
    /// [`UpstreamClient::send`]).
    pub(crate) fn upstream(&self, key: impl Into<Key>) -> Result<UpstreamClient, rustls::Error> {
        let key = key.into();
        let Entry {
            pool, connector, ..
        } = self.entry(key)?;
        Ok(UpstreamClient {
            key,
            shared: pool,
            connector,
            origin: Arc::downgrade(&self.by_hints),
        })
    }

    fn entry(&self, key: Key) -> Result<Entry, rustls::Error> {
        let mut map = self
            .by_hints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(e) = map.get(&key) {
            return Ok(e.clone());
        }
        let connector = connector(key)?;
        let entry = Entry {
            client: hyper_util_client(key, connector.clone()),
            pool: Arc::new(pool(key, connector.clone())),
            connector,
        };
        map.insert(key, entry.clone());
        Ok(entry)
    }
}

/// The connector (TCP, then TLS for `https`) for `key`'s settings.
pub(crate) fn connector(key: Key) -> Result<Connector, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?;
    let tls = if key.ssl_verify {
        builder.with_webpki_roots().with_no_client_auth()
    } else {
        // `ssl_verify: false`, for this route's client only.
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification::new()))
            .with_no_client_auth()
    };
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(key.timeout));
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
}

/// The gateway's pool over `connector` for `key`'s keep-alive settings.
pub(crate) fn pool(key: Key, connector: Connector) -> Pool {
    Pool::new(connector, key.keepalive_timeout, key.max_idle())
}

/// A hyper-util pooled client over `connector` for `key`'s keep-alive
/// settings.
fn hyper_util_client(key: Key, connector: Connector) -> HttpClient {
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(key.keepalive_timeout)
        .pool_max_idle_per_host(key.max_idle())
        .build(connector)
}

/// Accepts any certificate: what `ssl_verify: false` asks for.
#[derive(Debug)]
struct NoVerification {
    schemes: Vec<SignatureScheme>,
}

impl NoVerification {
    fn new() -> Self {
        Self {
            schemes: rustls::crypto::ring::default_provider()
                .signature_verification_algorithms
                .supported_schemes(),
        }
    }
}

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}
