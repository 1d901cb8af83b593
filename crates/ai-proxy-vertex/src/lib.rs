//! # ai-proxy-vertex
//!
//! Google Cloud Vertex AI for [ai-proxy](https://docs.rs/ai-proxy), as the
//! Apache APISIX `ai-proxy` plugin drives it:
//!
//! - [`VertexAi`]: the [`Adapter`](ai_proxy_core::Adapter) — default host
//!   `{region}-aiplatform.googleapis.com`, the OpenAI-compatible chat path and
//!   the `:predict` path, `max_tokens` → `max_completion_tokens` for chat.
//! - [`EmbeddingsToPredict`]: the [`Converter`](ai_proxy_core::Converter)
//!   from OpenAI embeddings requests to `:predict` bodies, with
//!   [`PredictTranslator`] turning `:predict` responses back into OpenAI
//!   embeddings lists.
//! - [`token`]: a sans-IO access-token cache ([`TokenCache`]) with APISIX's
//!   TTL rule (`expires_in − expire_early_secs`, capped by `max_ttl`) and the
//!   config-time [`validate_service_account_json`] check.
//! - `gcp` (feature `gcp-auth`, off by default): `GcpTokenSource`, fetching
//!   tokens for a service account with the `gcp_auth` crate. This is the
//!   only async code and the only place a socket is opened; it needs a tokio
//!   runtime.
//!
//! Register both halves so embeddings clients reach Vertex:
//!
//! ```
//! use std::sync::Arc;
//! use ai_proxy_core::adapter::Delivery;
//! use ai_proxy_core::{Protocol, Provider, Registry};
//! use ai_proxy_vertex::{EmbeddingsToPredict, VertexAi};
//!
//! let registry = Registry::new()
//!     .with_adapter(Arc::new(VertexAi))
//!     .with_converter(Arc::new(EmbeddingsToPredict));
//! let vertex = registry.adapter(Provider::VertexAi).unwrap();
//! let delivery = registry.delivery(vertex.as_ref(), Protocol::OpenAiEmbeddings).unwrap();
//! assert!(matches!(delivery, Delivery::Converted(_)));
//! assert_eq!(delivery.target_protocol(), Protocol::VertexPredict);
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod adapter;
pub mod embeddings;
#[cfg(feature = "gcp-auth")]
pub mod gcp;
mod json;
pub mod token;

pub use adapter::VertexAi;
pub use embeddings::{EmbeddingsToPredict, PredictTranslator};
#[cfg(feature = "gcp-auth")]
pub use gcp::GcpTokenSource;
pub use token::{TokenCache, TokenCacheKey, validate_service_account_json};

use http::StatusCode;

/// What can go wrong getting a Google access token. Messages never contain
/// the service-account JSON, its private key or a token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VertexError {
    /// `auth.gcp.service_account_json` (or `GCP_SERVICE_ACCOUNT`) is not a
    /// JSON object (APISIX: `invalid gcp service_account_json: <decode err>`).
    #[error(
        "invalid gcp service_account_json: {reason}; give the service account key file's JSON text"
    )]
    InvalidServiceAccountJson {
        /// The parse failure, by kind and position only.
        reason: String,
    },
    /// The service-account JSON lacks a field the token flow needs.
    #[error(
        "invalid gcp service_account_json: `{field}` must be a non-empty string; give the key \
         file of a service account (type \"service_account\")"
    )]
    ServiceAccountField {
        /// The field: `private_key` or `client_email` (or a non-string
        /// `token_uri`, `project_id` or `scope`).
        field: &'static str,
    },
    /// The key file's `private_key` is not a key the token request can be
    /// signed with (feature `gcp-auth`: checked when the source is built).
    #[error(
        "invalid gcp service_account_json: `private_key` is not a PKCS#8 RSA private key \
         ({reason}); give the key file Google issued for the service account"
    )]
    InvalidPrivateKey {
        /// Why, without any key material.
        reason: String,
    },
    /// Neither `auth.gcp.service_account_json` nor the `GCP_SERVICE_ACCOUNT`
    /// environment variable gives a service account.
    #[error(
        "no gcp service account: set auth.gcp.service_account_json or the GCP_SERVICE_ACCOUNT \
         environment variable"
    )]
    MissingServiceAccount,
    /// The token endpoint could not be reached or refused the request.
    #[error("failed to get gcp access token: {reason}")]
    TokenFetch {
        /// Why, without any credential.
        reason: String,
    },
}

impl VertexError {
    /// The status a gateway answers with: 500, as APISIX answers
    /// `{"error_msg":"failed to get gcp access token: …"}` (the client's
    /// request is fine; the gateway's credentials are not).
    pub fn status(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    /// The message a gateway answers with, as APISIX's `error_msg`:
    /// `failed to get gcp access token: <why>`, the prefix written once.
    ///
    /// ```
    /// use ai_proxy_vertex::VertexError;
    ///
    /// let fetch = VertexError::TokenFetch { reason: "HTTP request failed".into() };
    /// assert_eq!(fetch.client_message(), "failed to get gcp access token: HTTP request failed");
    /// assert!(VertexError::MissingServiceAccount
    ///     .client_message()
    ///     .starts_with("failed to get gcp access token: no gcp service account"));
    /// ```
    pub fn client_message(&self) -> String {
        match self {
            VertexError::TokenFetch { .. } => self.to_string(),
            other => format!("failed to get gcp access token: {other}"),
        }
    }
}
