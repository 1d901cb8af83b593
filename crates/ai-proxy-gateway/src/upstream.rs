//! The upstream HTTP client pool: hyper-util's pooled client over rustls,
//! one per distinct [`ClientHints`] (`timeout`, `keepalive*`,
//! `ssl_verify`), shared by every instance (and health probe) with the
//! same settings. Instances resolve their client once, when the gateway is
//! built; requests take no lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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
    by_hints: Arc<Mutex<HashMap<Key, HttpClient>>>,
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
        let key = key.into();
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

fn build(key: Key) -> Result<HttpClient, rustls::Error> {
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
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    let idle = if key.keepalive {
        usize::try_from(key.keepalive_pool).unwrap_or(usize::MAX)
    } else {
        0
    };
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(key.keepalive_timeout)
        .pool_max_idle_per_host(idle)
        .build(connector))
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
