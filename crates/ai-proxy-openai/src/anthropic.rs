//! `anthropic`: api.anthropic.com — its OpenAI-compatible chat endpoint
//! for OpenAI clients and the native Messages API for Anthropic clients
//! (`/v1/messages` requests pass through unconverted).

use ai_proxy_core::adapter::{DefaultEndpoint, EndpointContext, MaxTokensMapping};
use ai_proxy_core::{Adapter, Protocol, Provider};

use crate::wire;

const HOST: &str = "api.anthropic.com";
const PATHS: [(Protocol, &str); 2] = [
    (Protocol::OpenAiChat, "/v1/chat/completions"),
    (Protocol::AnthropicMessages, "/v1/messages"),
];

/// The `anthropic` provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct Anthropic;

impl Adapter for Anthropic {
    fn provider(&self) -> Provider {
        Provider::Anthropic
    }

    fn capabilities(&self) -> &[Protocol] {
        &[Protocol::OpenAiChat, Protocol::AnthropicMessages]
    }

    fn default_endpoint(&self, target: Protocol, _: &EndpointContext<'_>) -> DefaultEndpoint {
        wire::endpoint(Some(HOST), &PATHS, target)
    }

    /// `max_tokens` on both wires.
    fn max_tokens_mapping(&self, target: Protocol) -> MaxTokensMapping {
        match target {
            Protocol::OpenAiChat | Protocol::AnthropicMessages => wire::MAX_TOKENS,
            _ => MaxTokensMapping::Ignore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testing::location;

    #[test]
    fn both_wires_have_endpoints() {
        assert_eq!(
            location(&Anthropic, Protocol::OpenAiChat),
            (Some(HOST.into()), Some("/v1/chat/completions".into()))
        );
        assert_eq!(
            location(&Anthropic, Protocol::AnthropicMessages)
                .1
                .as_deref(),
            Some("/v1/messages")
        );
    }

    #[test]
    fn max_tokens_on_both_wires() {
        assert_eq!(
            Anthropic.max_tokens_mapping(Protocol::AnthropicMessages),
            wire::MAX_TOKENS
        );
        assert_eq!(
            Anthropic.max_tokens_mapping(Protocol::OpenAiChat),
            wire::MAX_TOKENS
        );
    }
}
