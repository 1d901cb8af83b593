//! Google access tokens for `auth.gcp` targets (Vertex AI): the SDK's
//! sans-IO cache plus its `gcp_auth`-backed source. The
//! `GCP_SERVICE_ACCOUNT` environment variable is read here, at build time.

use std::sync::Mutex;
use std::time::Instant;

use ai_proxy::Secret;
use ai_proxy::config::UpstreamConfig;
use ai_proxy::vertex::{GcpTokenSource, TokenCache, TokenCacheKey, VertexError};

/// How one target gets its access token.
#[derive(Debug)]
pub(crate) enum GcpToken {
    /// A service account that can fetch tokens.
    Ready {
        /// The account.
        source: Box<GcpTokenSource>,
        /// Its cache entry (account, TTL settings, instance).
        key: Box<TokenCacheKey>,
    },
    /// No usable service account: every request fails as APISIX's does
    /// (500 `failed to get gcp access token: …`).
    Broken(VertexError),
}

impl GcpToken {
    /// The token supplier for a target with `auth.gcp`, else `None`.
    pub(crate) fn for_target(target: &UpstreamConfig, instance: &str) -> Option<Self> {
        let gcp = target.auth.gcp.as_ref()?;
        Some(match GcpTokenSource::from_config_or_env(gcp) {
            Ok(source) => {
                let key = source.cache_key(gcp, instance);
                GcpToken::Ready {
                    source: Box::new(source),
                    key: Box::new(key),
                }
            }
            Err(e) => {
                tracing::warn!(instance, "vertex auth not usable: {e}");
                GcpToken::Broken(e)
            }
        })
    }

    /// A valid token (cached, or fetched and cached under the TTL rule);
    /// the error says why none could be had.
    pub(crate) async fn token(&self, cache: &Mutex<TokenCache>) -> Result<Secret, VertexError> {
        match self {
            GcpToken::Ready { source, key } => source.token(cache, key, Instant::now()).await,
            GcpToken::Broken(e) => Err(e.clone()),
        }
    }

    /// Forgets the cached token: the upstream refused it (401), so the
    /// next request fetches a new one.
    pub(crate) fn evict(&self, cache: &Mutex<TokenCache>) {
        if let GcpToken::Ready { key, .. } = self {
            let mut cache = cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if cache.remove(key).is_some() {
                tracing::warn!(
                    instance = key.instance(),
                    "the upstream refused the Vertex AI access token (401); it is evicted and \
                     the next request fetches a new one"
                );
            }
        }
    }
}
