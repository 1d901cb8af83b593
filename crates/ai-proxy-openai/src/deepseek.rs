//! `deepseek`: api.deepseek.com, chat only.

use ai_proxy_core::adapter::{DefaultEndpoint, EndpointContext, MaxTokensMapping};
use ai_proxy_core::{Adapter, Protocol, Provider};

use crate::wire;

const HOST: &str = "api.deepseek.com";
const PATHS: [(Protocol, &str); 1] = [(Protocol::OpenAiChat, "/chat/completions")];

/// The `deepseek` provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeepSeek;

impl Adapter for DeepSeek {
    fn provider(&self) -> Provider {
        Provider::DeepSeek
    }

    fn capabilities(&self) -> &[Protocol] {
        &[Protocol::OpenAiChat]
    }

    fn default_endpoint(&self, target: Protocol, _: &EndpointContext<'_>) -> DefaultEndpoint {
        wire::endpoint(Some(HOST), &PATHS, target)
    }

    fn max_tokens_mapping(&self, target: Protocol) -> MaxTokensMapping {
        match target {
            Protocol::OpenAiChat => wire::MAX_TOKENS,
            _ => MaxTokensMapping::Ignore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testing::location;

    #[test]
    fn chat_endpoint() {
        assert_eq!(
            location(&DeepSeek, Protocol::OpenAiChat),
            (Some(HOST.into()), Some("/chat/completions".into()))
        );
        assert_eq!(location(&DeepSeek, Protocol::OpenAiEmbeddings).1, None);
    }

    #[test]
    fn max_tokens_field() {
        assert_eq!(
            DeepSeek.max_tokens_mapping(Protocol::OpenAiChat),
            wire::MAX_TOKENS
        );
    }
}
