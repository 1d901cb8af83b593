//! # ai-proxy-core
//!
//! The runtime-free core of [ai-proxy](https://docs.rs/ai-proxy): the APISIX
//! `ai-proxy` / `ai-proxy-multi` configuration model, [`Secret`], [`Provider`]
//! and [`Protocol`], the hand-off from request preparation to response
//! observation, the SSE decoder and usage metrics.
//!
//! Nothing here opens sockets, spawns tasks, reads clocks or the environment:
//! callers pass bytes, `Instant`s and configuration in.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod adapter;
pub mod config;
pub mod context;
pub mod date;
pub mod exchange;
pub mod framing;
#[doc(hidden)]
pub mod json;
pub mod metrics;
pub mod prepare;
pub mod protocol;
pub mod provider;
pub mod secret;
pub mod sign;
pub mod sse;
pub mod translate;
pub mod usage;
#[doc(hidden)]
pub mod wire;

pub use adapter::{Adapter, Converter, Registry};
pub use exchange::{Exchange, ExchangeError};
pub use metrics::Metrics;
pub use prepare::{AiProxy, ClientHints, CompileError, PrepareError, Prepared};
pub use protocol::{BodyTop, Protocol, RequestType};
pub use provider::Provider;
pub use secret::Secret;
pub use usage::Usage;
