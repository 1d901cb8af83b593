//! `openai`: api.openai.com — chat, Responses and embeddings.

use ai_proxy_core::adapter::{DefaultEndpoint, EndpointContext, MaxTokensMapping};
use ai_proxy_core::{Adapter, Protocol, Provider};

use crate::wire;

const HOST: &str = "api.openai.com";
const PATHS: [(Protocol, &str); 3] = [
    (Protocol::OpenAiChat, "/v1/chat/completions"),
    (Protocol::OpenAiResponses, "/v1/responses"),
    (Protocol::OpenAiEmbeddings, "/v1/embeddings"),
];

/// The `openai` provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenAi;

impl Adapter for OpenAi {
    fn provider(&self) -> Provider {
        Provider::OpenAi
    }

    fn capabilities(&self) -> &[Protocol] {
        &[
            Protocol::OpenAiChat,
            Protocol::OpenAiResponses,
            Protocol::OpenAiEmbeddings,
        ]
    }

    fn default_endpoint(&self, target: Protocol, _: &EndpointContext<'_>) -> DefaultEndpoint {
        wire::endpoint(Some(HOST), &PATHS, target)
    }

    /// Chat: `max_completion_tokens` (and a client `max_tokens` removed, as
    /// newer models reject both); Responses: `max_output_tokens`.
    fn max_tokens_mapping(&self, target: Protocol) -> MaxTokensMapping {
        match target {
            Protocol::OpenAiChat => MaxTokensMapping::Set {
                field: "max_completion_tokens",
                remove: &["max_tokens"],
            },
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
    fn endpoints_per_protocol() {
        let at = |p| location(&OpenAi, p);
        assert_eq!(
            at(Protocol::OpenAiChat),
            (Some(HOST.into()), Some("/v1/chat/completions".into()))
        );
        assert_eq!(
            at(Protocol::OpenAiResponses).1.as_deref(),
            Some("/v1/responses")
        );
        assert_eq!(
            at(Protocol::OpenAiEmbeddings).1.as_deref(),
            Some("/v1/embeddings")
        );
        assert_eq!(at(Protocol::AnthropicMessages).1, None);
    }

    #[test]
    fn max_tokens_per_protocol() {
        assert_eq!(
            OpenAi.max_tokens_mapping(Protocol::OpenAiChat),
            MaxTokensMapping::Set {
                field: "max_completion_tokens",
                remove: &["max_tokens"]
            }
        );
        assert_eq!(
            OpenAi.max_tokens_mapping(Protocol::OpenAiResponses),
            wire::MAX_OUTPUT_TOKENS
        );
        assert_eq!(
            OpenAi.max_tokens_mapping(Protocol::OpenAiEmbeddings),
            MaxTokensMapping::Ignore
        );
    }
}
