//! # ai-proxy-openai
//!
//! [`Adapter`]s for the providers that speak OpenAI's wire format (spec §1):
//! every one but Azure is a row of [`PRESETS`] (a [`Preset`] is an
//! [`Adapter`]); Azure OpenAI, whose deployment URL, model and
//! `stream_options` rules are its own, is [`azure::AzureOpenAi`]. Each says
//! which protocols the provider speaks, where each one lives and how
//! `override.llm_options.max_tokens` is written; request shaping itself
//! happens in [`ai_proxy_core::prepare`].
//!
//! | provider | host | protocol | path | `max_tokens` written as |
//! |---|---|---|---|---|
//! | `openai` | `api.openai.com` | `openai-chat` | `/v1/chat/completions` | `max_completion_tokens` (removes `max_tokens`) |
//! | `openai` | `api.openai.com` | `openai-responses` | `/v1/responses` | `max_output_tokens` |
//! | `openai` | `api.openai.com` | `openai-embeddings` | `/v1/embeddings` | ignored |
//! | `deepseek` | `api.deepseek.com` | `openai-chat` | `/chat/completions` | `max_tokens` |
//! | `aimlapi` | `api.aimlapi.com` | `openai-chat` | `/v1/chat/completions` | `max_tokens` |
//! | `openrouter` | `openrouter.ai` | `openai-chat` | `/api/v1/chat/completions` | `max_tokens` |
//! | `gemini` | `generativelanguage.googleapis.com` | `openai-chat` | `/v1beta/openai/chat/completions` | `max_completion_tokens` |
//! | `openai-compatible` | from `override.endpoint` | `openai-chat` | `/v1/chat/completions` | `max_tokens` |
//! | `openai-compatible` | from `override.endpoint` | `openai-responses` | `/v1/responses` | `max_output_tokens` |
//! | `openai-compatible` | from `override.endpoint` | `openai-embeddings` | `/v1/embeddings` | ignored |
//! | `azure-openai` | from `override.endpoint` | `openai-chat` | `/completions` | `max_tokens` |
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

pub mod azure;
mod preset;

pub use azure::AzureOpenAi;
pub use preset::{PRESETS, Preset, Wire, preset};

/// Every adapter of this crate: the [`PRESETS`], then Azure OpenAI.
pub fn adapters() -> Vec<Arc<dyn Adapter>> {
    PRESETS
        .iter()
        .map(|p| Arc::new(*p) as Arc<dyn Adapter>)
        .chain([Arc::new(AzureOpenAi) as Arc<dyn Adapter>])
        .collect()
}

#[cfg(test)]
mod docs {
    use ai_proxy_core::RequestType;
    use ai_proxy_core::adapter::{EndpointContext, MaxTokensMapping};

    /// The provider table of the crate documentation, rendered from the
    /// adapters themselves.
    fn table() -> Vec<String> {
        let ctx = EndpointContext::new(None, None, RequestType::AiChat);
        let mut rows = vec![
            "| provider | host | protocol | path | `max_tokens` written as |".to_owned(),
            "|---|---|---|---|---|".to_owned(),
        ];
        for adapter in super::adapters() {
            for &protocol in adapter.capabilities() {
                let endpoint = adapter.default_endpoint(protocol, &ctx);
                let host = endpoint
                    .host
                    .map_or("from `override.endpoint`".to_owned(), |h| format!("`{h}`"));
                let path = endpoint.path.unwrap_or_default();
                let max_tokens = match adapter.max_tokens_mapping(protocol) {
                    MaxTokensMapping::Set { field, remove: [] } => format!("`{field}`"),
                    MaxTokensMapping::Set { field, remove } => {
                        let removed: Vec<String> =
                            remove.iter().map(|f| format!("`{f}`")).collect();
                        format!("`{field}` (removes {})", removed.join(", "))
                    }
                    _ => "ignored".to_owned(),
                };
                rows.push(format!(
                    "| `{}` | {host} | `{}` | `{path}` | {max_tokens} |",
                    adapter.provider(),
                    protocol.as_str()
                ));
            }
        }
        rows
    }

    #[test]
    fn the_provider_table_in_the_docs_is_the_adapters() {
        let documented: Vec<&str> = include_str!("lib.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("//! |"))
            .collect();
        let rendered = table();
        let rendered: Vec<&str> = rendered
            .iter()
            .filter_map(|r| r.strip_prefix('|'))
            .collect();
        assert_eq!(
            documented,
            rendered,
            "paste into the crate docs:\n//! |{}",
            rendered.join("\n//! |")
        );
    }
}
