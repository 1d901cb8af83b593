//! `openai-compatible`: any OpenAI-wire server; the host always comes from
//! `override.endpoint`.

use ai_proxy_core::adapter::{DefaultEndpoint, EndpointContext, MaxTokensMapping};
use ai_proxy_core::{Adapter, Protocol, Provider};

use crate::wire;

const PATHS: [(Protocol, &str); 3] = [
    (Protocol::OpenAiChat, "/v1/chat/completions"),
    (Protocol::OpenAiResponses, "/v1/responses"),
    (Protocol::OpenAiEmbeddings, "/v1/embeddings"),
];

/// The `openai-compatible` provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenAiCompatible;

impl Adapter for OpenAiCompatible {
    fn provider(&self) -> Provider {
        Provider::OpenAiCompatible
    }

    fn capabilities(&self) -> &[Protocol] {
        &[
            Protocol::OpenAiChat,
            Protocol::OpenAiResponses,
            Protocol::OpenAiEmbeddings,
        ]
    }

    fn default_endpoint(&self, target: Protocol, _: &EndpointContext<'_>) -> DefaultEndpoint {
        wire::endpoint(None, &PATHS, target)
    }

    /// Chat: `max_tokens` (what most compatible servers read); Responses:
    /// `max_output_tokens`.
    fn max_tokens_mapping(&self, target: Protocol) -> MaxTokensMapping {
        match target {
            Protocol::OpenAiChat => wire::MAX_TOKENS,
            Protocol::OpenAiResponses => wire::MAX_OUTPUT_TOKENS,
            _ => MaxTokensMapping::Ignore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testing::location;

    #[test]
    fn paths_without_a_host() {
        assert_eq!(
            location(&OpenAiCompatible, Protocol::OpenAiChat),
            (None, Some("/v1/chat/completions".into()))
        );
        assert_eq!(
            location(&OpenAiCompatible, Protocol::OpenAiEmbeddings)
                .1
                .as_deref(),
            Some("/v1/embeddings")
        );
    }

    #[test]
    fn max_tokens_stays_max_tokens_for_chat() {
        assert_eq!(
            OpenAiCompatible.max_tokens_mapping(Protocol::OpenAiChat),
            wire::MAX_TOKENS
        );
        assert_eq!(
            OpenAiCompatible.max_tokens_mapping(Protocol::OpenAiResponses),
            wire::MAX_OUTPUT_TOKENS
        );
    }
}
