//! [`AnthropicNative`]: the `anthropic` provider speaking its native
//! Messages API, for routes whose `override.endpoint` points at
//! `/v1/messages` so OpenAI clients are converted by
//! [`OpenAiToAnthropic`](crate::OpenAiToAnthropic).

use ai_proxy_core::adapter::{Adapter, DefaultEndpoint, EndpointContext, MaxTokensMapping};
use ai_proxy_core::{Protocol, Provider};

/// Anthropic's API host.
pub const ANTHROPIC_HOST: &str = "api.anthropic.com";

/// The native Messages path.
pub const MESSAGES_PATH: &str = "/v1/messages";

/// The `anthropic` provider with only its native capability
/// (`anthropic-messages`): OpenAI chat clients reach it through the
/// `openai-chat → anthropic-messages` converter, Anthropic clients go
/// straight through.
///
/// ```
/// use ai_proxy_anthropic::{AnthropicNative, OpenAiToAnthropic};
/// use ai_proxy_core::adapter::{Registry, Delivery};
/// use ai_proxy_core::Protocol;
/// use std::sync::Arc;
///
/// let registry = Registry::new()
///     .with_adapter(Arc::new(AnthropicNative))
///     .with_converter(Arc::new(OpenAiToAnthropic::new()));
/// let delivery = registry.delivery(&AnthropicNative, Protocol::OpenAiChat).unwrap();
/// assert_eq!(delivery.target_protocol(), Protocol::AnthropicMessages);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct AnthropicNative;

impl Adapter for AnthropicNative {
    fn provider(&self) -> Provider {
        Provider::Anthropic
    }

    fn capabilities(&self) -> &[Protocol] {
        &[Protocol::AnthropicMessages]
    }

    fn default_endpoint(&self, target: Protocol, ctx: &EndpointContext<'_>) -> DefaultEndpoint {
        let _ = ctx;
        match target {
            Protocol::AnthropicMessages => DefaultEndpoint::new(ANTHROPIC_HOST, MESSAGES_PATH),
            _ => {
                let mut e = DefaultEndpoint::default();
                e.host = Some(ANTHROPIC_HOST.into());
                e
            }
        }
    }

    fn max_tokens_mapping(&self, target: Protocol) -> MaxTokensMapping {
        match target {
            Protocol::AnthropicMessages => MaxTokensMapping::Set {
                field: "max_tokens",
                remove: &[],
            },
            _ => MaxTokensMapping::Ignore,
        }
    }
}
