#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub use ai_proxy_azure as azure;
pub use ai_proxy_core as core;
pub use ai_proxy_core::config;
pub use ai_proxy_core::prepare::{AiProxy, ClientHints, CompileError, PrepareError, Prepared};
pub use ai_proxy_core::secret::Secret;
pub use ai_proxy_core::{Protocol, Provider, Registry, RequestType};
pub use ai_proxy_openai as openai;

/// A registry with every adapter and converter of the workspace.
pub fn registry() -> Registry {
    ai_proxy_openai::adapters()
        .into_iter()
        .fold(Registry::new(), Registry::with_adapter)
        .with_adapter(std::sync::Arc::new(ai_proxy_azure::AzureOpenAi))
}
