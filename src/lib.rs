#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub use ai_proxy_anthropic as anthropic;
pub use ai_proxy_bedrock as bedrock;
pub use ai_proxy_core as core;
pub use ai_proxy_core::config;
pub use ai_proxy_core::exchange::{Exchange, ExchangeError, ResponseHead};
pub use ai_proxy_core::metrics::Metrics;
pub use ai_proxy_core::prepare::{AiProxy, ClientHints, CompileError, PrepareError, Prepared};
pub use ai_proxy_core::secret::Secret;
pub use ai_proxy_core::{Protocol, Provider, Registry, RequestType};
pub use ai_proxy_gemini as gemini;
pub use ai_proxy_multi as multi;
pub use ai_proxy_openai as openai;
pub use ai_proxy_openai::azure;
pub use ai_proxy_prompt as prompt;
pub use ai_proxy_vertex as vertex;

use std::sync::Arc;

/// A registry with every adapter and converter of the workspace: the
/// OpenAI-wire providers (Azure OpenAI included); Anthropic through its
/// OpenAI-compatible endpoint, or its native Messages API for
/// `provider: anthropic` routes whose `override.endpoint` ends in
/// `/v1/messages` (OpenAI chat clients are then converted); Gemini's native
/// `generateContent` for `provider: gemini` routes whose endpoint ends in
/// `/models` and `provider: vertex-ai` routes whose endpoint ends in
/// `/publishers/google/models` (OpenAI chat clients converted, native
/// Gemini clients forwarded and metered); Vertex AI; Amazon Bedrock
/// (Converse, InvokeModel passthrough, OpenAI chat clients converted to
/// Converse); converters for Anthropic Messages clients → OpenAI-chat
/// providers, OpenAI chat clients → Anthropic's native Messages API,
/// Gemini's native API or Bedrock Converse, and embeddings → Vertex
/// `:predict`.
pub fn registry() -> Registry {
    let registry = ai_proxy_gemini::endpoint_variants()
        .into_iter()
        .fold(Registry::new(), |r, (suffix, native)| {
            r.with_endpoint_variant(suffix, Arc::new(native))
        });
    ai_proxy_openai::adapters()
        .into_iter()
        .fold(registry, Registry::with_adapter)
        .with_adapter(Arc::new(ai_proxy_anthropic::Anthropic))
        .with_adapter(Arc::new(ai_proxy_vertex::VertexAi))
        .with_adapter(Arc::new(ai_proxy_bedrock::Bedrock))
        .with_endpoint_variant(
            ai_proxy_anthropic::MESSAGES_PATH,
            Arc::new(ai_proxy_anthropic::AnthropicNative),
        )
        .with_converter(Arc::new(ai_proxy_gemini::OpenAiToGemini))
        .with_converter(Arc::new(ai_proxy_anthropic::AnthropicToOpenAi))
        .with_converter(Arc::new(ai_proxy_anthropic::OpenAiToAnthropic::new()))
        .with_converter(Arc::new(ai_proxy_vertex::EmbeddingsToPredict))
        .with_converter(Arc::new(ai_proxy_bedrock::OpenAiToConverse))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_supported_provider_has_an_adapter() {
        let registry = super::registry();
        for provider in super::Provider::ALL {
            assert_eq!(
                registry.adapter(provider).is_some(),
                provider.is_supported(),
                "{provider}"
            );
        }
    }

    #[test]
    fn the_readme_layout_names_every_openai_wire_provider() {
        let readme = include_str!("../README.md");
        let start = readme.find("crates/ai-proxy-openai").unwrap();
        let end = start + readme[start..].find("\ncrates/ai-proxy-vertex").unwrap();
        let entry = &readme[start..end];
        for adapter in ai_proxy_openai::adapters() {
            let name = adapter.provider().as_str();
            assert!(entry.contains(name), "README layout lacks {name}: {entry}");
        }
    }
}
