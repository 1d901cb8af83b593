//! Configuration documents and route matching: what `ai-proxy check` and
//! `ai-proxy serve` read — a bare plugin object, an APISIX route JSON, a
//! `{"plugins": …}` wrapper, or a config-sync YAML — and route `vars`.
//!
//! The plugins' own configuration model lives in the SDK
//! ([`ai_proxy::config`]); this module adds the route around it.

mod document;
pub mod vars;
mod yaml;

pub use ai_proxy::config::{AI_PROXY, AI_PROXY_MULTI, PluginConfig};
pub use document::{Document, DocumentForm, RouteConfig};
