//! Request signing: a hook for providers that authenticate by signing
//! the final request (AWS SigV4 for Bedrock) instead of sending a fixed
//! credential header.
//!
//! An adapter builds a [`RequestSigner`] from a target's config once, at
//! compile time ([`Adapter::request_signer`]); request preparation calls it
//! last, over the final method, URI, headers and body, with the wall-clock
//! time the caller passes to
//! [`AiProxy::prepare_at`](crate::prepare::AiProxy::prepare_at) (signing
//! is sans-IO: this crate reads no clock).
//!
//! [`Adapter::request_signer`]: crate::adapter::Adapter::request_signer

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use http::Request;

/// Signs upstream requests in place.
pub trait RequestSigner: Send + Sync + fmt::Debug {
    /// Adds the signature (and whatever headers it covers) to `request`,
    /// as of `wall_clock`. Nothing may change the request afterwards.
    fn sign(&self, request: &mut Request<Bytes>, wall_clock: SystemTime) -> Result<(), SignError>;
}

/// A request that could not be signed. The message names cause and fix
/// and never contains a credential.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SignError {
    message: String,
}

impl SignError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}
