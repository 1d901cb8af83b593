//! `anthropic`: api.anthropic.com — its OpenAI-compatible chat endpoint
//! for OpenAI clients and the native Messages API for Anthropic clients
//! (`/v1/messages` requests pass through unconverted).

use ai_proxy_core::adapter::{DefaultEndpoint, EndpointContext, MaxTokensMapping};
use ai_proxy_core::{Adapter, Protocol, Provider};

use crate::native::{ANTHROPIC_HOST, AnthropicNative};

/// Anthropic's OpenAI-compatible chat path.
const CHAT_PATH: &str = "/v1/chat/completions";

/// The `anthropic` provider as the facade registers it by default: OpenAI
/// chat clients go to Anthropic's OpenAI-compatible endpoint, Anthropic
/// clients to the native Messages API. Routes whose `override.endpoint`
/// ends in `/v1/messages` use [`AnthropicNative`] instead.
#[derive(Clone, Copy, Debug, Default)]
pub struct Anthropic;

impl Adapter for Anthropic {
    fn provider(&self) -> Provider {
        Provider::Anthropic
    }

    fn capabilities(&self) -> &[Protocol] {
        &[Protocol::OpenAiChat, Protocol::AnthropicMessages]
    }

    /// The OpenAI-compatible chat path; the native adapter's endpoints
    /// otherwise.
    fn default_endpoint(&self, target: Protocol, ctx: &EndpointContext<'_>) -> DefaultEndpoint {
        match target {
            Protocol::OpenAiChat => DefaultEndpoint::new(ANTHROPIC_HOST, CHAT_PATH),
            _ => AnthropicNative.default_endpoint(target, ctx),
        }
    }

    /// `max_tokens` on both wires.
    fn max_tokens_mapping(&self, target: Protocol) -> MaxTokensMapping {
        match target {
            Protocol::OpenAiChat => AnthropicNative.max_tokens_mapping(Protocol::AnthropicMessages),
            _ => AnthropicNative.max_tokens_mapping(target),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_proxy_core::RequestType;

    fn endpoint(target: Protocol) -> DefaultEndpoint {
        let ctx = EndpointContext::new(None, None, RequestType::AiChat);
        Anthropic.default_endpoint(target, &ctx)
    }

    #[test]
    fn both_wires_have_endpoints() {
        assert_eq!(
            endpoint(Protocol::OpenAiChat),
            DefaultEndpoint::new("api.anthropic.com", "/v1/chat/completions")
        );
        assert_eq!(
            endpoint(Protocol::AnthropicMessages),
            DefaultEndpoint::new("api.anthropic.com", "/v1/messages")
        );
    }

    #[test]
    fn max_tokens_on_both_wires() {
        let max_tokens = MaxTokensMapping::Set {
            field: "max_tokens",
            remove: &[],
        };
        assert_eq!(
            Anthropic.max_tokens_mapping(Protocol::AnthropicMessages),
            max_tokens
        );
        assert_eq!(
            Anthropic.max_tokens_mapping(Protocol::OpenAiChat),
            max_tokens
        );
    }
}
