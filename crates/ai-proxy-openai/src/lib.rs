//! # ai-proxy-openai
//!
//! [`Adapter`]s for the providers that speak OpenAI's wire format (spec §1),
//! one module per provider. Each says which protocols the provider speaks,
//! where each one lives and how `override.llm_options.max_tokens` is
//! written; request shaping itself happens in
//! [`ai_proxy_core::prepare`].
//!
//! ```
//! use ai_proxy_core::{Protocol, Registry};
//! use ai_proxy_core::adapter::{EndpointContext, DefaultEndpoint};
//! use ai_proxy_core::RequestType;
//!
//! let registry = ai_proxy_openai::adapters()
//!     .into_iter()
//!     .fold(Registry::new(), Registry::with_adapter);
//! let deepseek = registry.adapter(ai_proxy_core::Provider::DeepSeek).unwrap();
//! let ctx = EndpointContext::new(None, None, RequestType::AiChat);
//! assert_eq!(
//!     deepseek.default_endpoint(Protocol::OpenAiChat, &ctx),
//!     DefaultEndpoint::new("api.deepseek.com", "/chat/completions"),
//! );
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::sync::Arc;

use ai_proxy_core::Adapter;

pub mod aimlapi;
pub mod azure;
pub mod deepseek;
pub mod gemini;
pub mod openai;
pub mod openai_compatible;
pub mod openrouter;

mod wire;

pub use aimlapi::AimlApi;
pub use azure::AzureOpenAi;
pub use deepseek::DeepSeek;
pub use gemini::Gemini;
pub use openai::OpenAi;
pub use openai_compatible::OpenAiCompatible;
pub use openrouter::OpenRouter;

/// Every adapter of this crate.
pub fn adapters() -> Vec<Arc<dyn Adapter>> {
    vec![
        Arc::new(OpenAi),
        Arc::new(DeepSeek),
        Arc::new(AimlApi),
        Arc::new(OpenRouter),
        Arc::new(OpenAiCompatible),
        Arc::new(Gemini),
        Arc::new(AzureOpenAi),
    ]
}
