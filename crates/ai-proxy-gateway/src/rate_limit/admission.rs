//! What `ai-rate-limiting` carries from a request's request phase to its
//! later ones: the compiled limits and the request's budgets. Its own file
//! so the plugin pipeline's `RequestState` can hold it without the
//! pipeline and the plugin importing each other.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use ai_proxy::multi::limit::{RequestQuotas, TokenLimiter};

use super::counters::Counters;

/// One compiled `ai-rate-limiting` and where its counters live.
#[derive(Debug)]
pub(crate) struct Limiting {
    pub(super) limiter: TokenLimiter,
    pub(super) counters: Counters,
}

/// What the request phase resolved, for the later phases
/// (`RequestState`'s own slot: no allocation to hold it).
#[derive(Debug)]
pub(crate) struct Admission {
    pub(super) limiting: Arc<Limiting>,
    pub(super) quotas: RequestQuotas,
    /// The limiter answered instead of the upstream: nothing to charge.
    pub(super) rejected: AtomicBool,
}
