//! `aimlapi`: api.aimlapi.com, chat only. The path is the documented `/v1/chat/completions` (APISIX's code says `/chat/completions`; the seed and AIMLAPI's docs use `/v1`).

use ai_proxy_core::adapter::{DefaultEndpoint, EndpointContext, MaxTokensMapping};
use ai_proxy_core::{Adapter, Protocol, Provider};

use crate::wire;

const HOST: &str = "api.aimlapi.com";
const PATHS: [(Protocol, &str); 1] = [(Protocol::OpenAiChat, "/v1/chat/completions")];

/// The `aimlapi` provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct AimlApi;

impl Adapter for AimlApi {
    fn provider(&self) -> Provider {
        Provider::AimlApi
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
            location(&AimlApi, Protocol::OpenAiChat),
            (Some(HOST.into()), Some("/v1/chat/completions".into()))
        );
        assert_eq!(location(&AimlApi, Protocol::OpenAiEmbeddings).1, None);
    }

    #[test]
    fn max_tokens_field() {
        assert_eq!(
            AimlApi.max_tokens_mapping(Protocol::OpenAiChat),
            wire::MAX_TOKENS
        );
    }
}
