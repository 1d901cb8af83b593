//! `openrouter`: openrouter.ai, chat only.

use ai_proxy_core::adapter::{DefaultEndpoint, EndpointContext, MaxTokensMapping};
use ai_proxy_core::{Adapter, Protocol, Provider};

use crate::wire;

const HOST: &str = "openrouter.ai";
const PATHS: [(Protocol, &str); 1] = [(Protocol::OpenAiChat, "/api/v1/chat/completions")];

/// The `openrouter` provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenRouter;

impl Adapter for OpenRouter {
    fn provider(&self) -> Provider {
        Provider::OpenRouter
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
            location(&OpenRouter, Protocol::OpenAiChat),
            (Some(HOST.into()), Some("/api/v1/chat/completions".into()))
        );
        assert_eq!(location(&OpenRouter, Protocol::OpenAiEmbeddings).1, None);
    }

    #[test]
    fn max_tokens_field() {
        assert_eq!(
            OpenRouter.max_tokens_mapping(Protocol::OpenAiChat),
            wire::MAX_TOKENS
        );
    }
}
