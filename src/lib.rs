//! # ai-proxy
//!
//! An embeddable, sans-IO SDK that does what the Apache APISIX `ai-proxy` and
//! `ai-proxy-multi` plugins do: turn an OpenAI-style client request into the
//! right upstream [`http::Request`] for one of many LLM providers, and read the
//! upstream response or SSE stream back into usage metrics.
//!
//! This facade re-exports the workspace crates; see [`core`] for the
//! configuration model and shared types.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub use ai_proxy_core as core;
pub use ai_proxy_core::config;
pub use ai_proxy_core::secret::Secret;
pub use ai_proxy_core::{Exchange, Metrics, Protocol, Provider};
