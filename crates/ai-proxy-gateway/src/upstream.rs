//! The upstream HTTP client pool: hyper-util's pooled client over rustls,
//! one per distinct [`ClientHints`] (`timeout`, `keepalive*`,
//! `ssl_verify`), shared by every instance (and health probe) with the
//! same settings. Instances resolve their client once, when the gateway is
//! built; requests take no lock.
//!
//! On a current-thread runtime (a worker of `ai-proxy serve`, one per
//! core, as nginx's worker processes) each thread keeps its own client per
//! setting: a pooled connection's task runs on the runtime that opened it,
//! so sharing one pool across workers would wake another thread for every
//! request. `keepalive_pool` is then per worker, as nginx's `keepalive` is.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use ai_proxy::ClientHints;
use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The client type every route uses.
pub(crate) type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Clients keyed by the transport settings they honour.
#[derive(Clone, Default)]
pub(crate) struct Clients {
    by_hints: Arc<ClientMap>,
}

type ClientMap = Mutex<HashMap<Key, (HttpClient, Connector)>>;

type Connector = HttpsConnector<HttpConnector>;

/// An instance's client: the shared one, or on a current-thread runtime,
/// that thread's own for the same settings.
#[derive(Clone)]
pub(crate) struct UpstreamClient {
    key: Key,
    shared: HttpClient,
    /// The shared client's connector (its TLS configuration), for the
    /// threads' own clients.
    connector: Connector,
    /// Which [`Clients`] this came from (thread-local clients are kept per
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
    /// This thread's clients, by gateway and settings (a handful: a linear
    /// search beats hashing the key).
    static WORKER_CLIENTS: RefCell<Vec<(Weak<ClientMap>, Key, HttpClient)>> =
        const { RefCell::new(Vec::new()) };
}

impl UpstreamClient {
    /// Sends `request` through this thread's client on a current-thread
    /// runtime, through the shared one otherwise.
    pub(crate) fn request(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> hyper_util::client::legacy::ResponseFuture {
        let worker = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread);
        if !worker {
            return self.shared.request(request);
        }
        WORKER_CLIENTS.with(|clients| {
            let mut clients = clients.borrow_mut();
            let found = clients
                .iter()
                .find(|(origin, key, _)| origin.ptr_eq(&self.origin) && *key == self.key);
            if let Some((_, _, client)) = found {
                return client.request(request);
            }
            // The shared client's TLS configuration, a pool of this
            // thread's own.
            clients.retain(|(origin, _, _)| origin.strong_count() > 0);
            let client = pooled(self.key, self.connector.clone());
            let future = client.request(request);
            clients.push((self.origin.clone(), self.key, client));
            future
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
    /// The client for `key` (built on first use, then shared so its pool
    /// is reused).
    pub(crate) fn get(&self, key: impl Into<Key>) -> Result<HttpClient, rustls::Error> {
        self.shared(key.into()).map(|(client, _)| client)
    }

    /// The client for `key` as an instance holds it (see
    /// [`UpstreamClient::request`]).
    pub(crate) fn upstream(&self, key: impl Into<Key>) -> Result<UpstreamClient, rustls::Error> {
        let key = key.into();
        let (shared, connector) = self.shared(key)?;
        Ok(UpstreamClient {
            key,
            shared,
            connector,
            origin: Arc::downgrade(&self.by_hints),
        })
    }

    fn shared(&self, key: Key) -> Result<(HttpClient, Connector), rustls::Error> {
        let mut map = self
            .by_hints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = map.get(&key) {
            return Ok(c.clone());
        }
        let client = build(key)?;
        map.insert(key, client.clone());
        Ok(client)
    }
}

fn build(key: Key) -> Result<(HttpClient, Connector), rustls::Error> {
    let connector = connector(key)?;
    Ok((pooled(key, connector.clone()), connector))
}

/// The connector (TCP, then TLS for `https`) for `key`'s settings.
fn connector(key: Key) -> Result<Connector, rustls::Error> {
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

/// A pooled client over `connector` for `key`'s keep-alive settings.
fn pooled(key: Key, connector: Connector) -> HttpClient {
    let idle = if key.keepalive {
        usize::try_from(key.keepalive_pool).unwrap_or(usize::MAX)
    } else {
        0
    };
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(key.keepalive_timeout)
        .pool_max_idle_per_host(idle)
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
