//! `gemini`: Google's OpenAI-compatible Gemini endpoint, chat only. `max_tokens` maps to `max_completion_tokens`; a client `max_tokens` is left alone, as in APISIX.

use ai_proxy_core::adapter::{DefaultEndpoint, EndpointContext, MaxTokensMapping};
use ai_proxy_core::{Adapter, Protocol, Provider};

use crate::wire;

const HOST: &str = "generativelanguage.googleapis.com";
const PATHS: [(Protocol, &str); 1] = [(Protocol::OpenAiChat, "/v1beta/openai/chat/completions")];

/// The `gemini` provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gemini;

impl Adapter for Gemini {
    fn provider(&self) -> Provider {
        Provider::Gemini
    }

    fn capabilities(&self) -> &[Protocol] {
        &[Protocol::OpenAiChat]
    }

    fn default_endpoint(&self, target: Protocol, _: &EndpointContext<'_>) -> DefaultEndpoint {
        wire::endpoint(Some(HOST), &PATHS, target)
    }

    fn max_tokens_mapping(&self, target: Protocol) -> MaxTokensMapping {
        match target {
            Protocol::OpenAiChat => wire::MAX_COMPLETION_TOKENS,
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
            location(&Gemini, Protocol::OpenAiChat),
            (
                Some(HOST.into()),
                Some("/v1beta/openai/chat/completions".into())
            )
        );
        assert_eq!(location(&Gemini, Protocol::OpenAiEmbeddings).1, None);
    }

    #[test]
    fn max_tokens_field() {
        assert_eq!(
            Gemini.max_tokens_mapping(Protocol::OpenAiChat),
            wire::MAX_COMPLETION_TOKENS
        );
    }
}
