//! [`Preset`]: an OpenAI-wire provider as data — its host, and per
//! protocol the path and how `override.llm_options.max_tokens` is written.
//! [`PRESETS`] is the one table every such provider comes from.

use std::borrow::Cow;

use ai_proxy_core::adapter::{DefaultEndpoint, EndpointContext, MaxTokensMapping};
use ai_proxy_core::{Adapter, Protocol, Provider};

/// `max_tokens` written as is.
pub(crate) const MAX_TOKENS: MaxTokensMapping = MaxTokensMapping::Set {
    field: "max_tokens",
    remove: &[],
};

/// `max_completion_tokens`, leaving a client `max_tokens` alone.
const MAX_COMPLETION_TOKENS: MaxTokensMapping = MaxTokensMapping::Set {
    field: "max_completion_tokens",
    remove: &[],
};

/// `max_completion_tokens`, and a client `max_tokens` removed (newer
/// OpenAI models reject both together).
const MAX_COMPLETION_TOKENS_ONLY: MaxTokensMapping = MaxTokensMapping::Set {
    field: "max_completion_tokens",
    remove: &["max_tokens"],
};

/// Responses API: `max_output_tokens`.
const MAX_OUTPUT_TOKENS: MaxTokensMapping = MaxTokensMapping::Set {
    field: "max_output_tokens",
    remove: &[],
};

/// OpenAI's Responses API where OpenAI has it.
const RESPONSES: Wire = Wire::new(
    Protocol::OpenAiResponses,
    "/v1/responses",
    MAX_OUTPUT_TOKENS,
);

/// OpenAI's embeddings where OpenAI has them; no token limit.
const EMBEDDINGS: Wire = Wire::new(
    Protocol::OpenAiEmbeddings,
    "/v1/embeddings",
    MaxTokensMapping::Ignore,
);

/// The most protocols one preset speaks.
const MAX_WIRES: usize = 3;

/// Every OpenAI-wire provider but Azure (whose endpoint, model and
/// `stream_options` rules are its own, see [`crate::azure`]), in APISIX's
/// documentation order. The crate documentation's provider table is
/// checked against it.
pub const PRESETS: [Preset; 6] = [
    Preset::new(
        Provider::OpenAi,
        Some("api.openai.com"),
        &[
            Wire::new(
                Protocol::OpenAiChat,
                "/v1/chat/completions",
                MAX_COMPLETION_TOKENS_ONLY,
            ),
            RESPONSES,
            EMBEDDINGS,
        ],
    ),
    Preset::new(
        Provider::DeepSeek,
        Some("api.deepseek.com"),
        &[Wire::new(
            Protocol::OpenAiChat,
            "/chat/completions",
            MAX_TOKENS,
        )],
    ),
    // The documented `/v1/chat/completions` (APISIX's code says
    // `/chat/completions`; the seed and AIMLAPI's docs use `/v1`).
    Preset::new(
        Provider::AimlApi,
        Some("api.aimlapi.com"),
        &[Wire::new(
            Protocol::OpenAiChat,
            "/v1/chat/completions",
            MAX_TOKENS,
        )],
    ),
    Preset::new(
        Provider::OpenRouter,
        Some("openrouter.ai"),
        &[Wire::new(
            Protocol::OpenAiChat,
            "/api/v1/chat/completions",
            MAX_TOKENS,
        )],
    ),
    // Google's OpenAI-compatible endpoint; a client `max_tokens` is left
    // alone, as in APISIX.
    Preset::new(
        Provider::Gemini,
        Some("generativelanguage.googleapis.com"),
        &[Wire::new(
            Protocol::OpenAiChat,
            "/v1beta/openai/chat/completions",
            MAX_COMPLETION_TOKENS,
        )],
    ),
    // Any OpenAI-wire server: the host always comes from
    // `override.endpoint`; chat keeps `max_tokens`, what most such servers
    // read.
    Preset::new(
        Provider::OpenAiCompatible,
        None,
        &[
            Wire::new(Protocol::OpenAiChat, "/v1/chat/completions", MAX_TOKENS),
            RESPONSES,
            EMBEDDINGS,
        ],
    ),
];

/// The preset of `provider`, if it is an OpenAI-wire preset.
///
/// ```
/// use ai_proxy_core::{Adapter, Protocol, Provider};
///
/// let deepseek = ai_proxy_openai::preset(Provider::DeepSeek).unwrap();
/// assert_eq!(deepseek.host, Some("api.deepseek.com"));
/// assert_eq!(deepseek.capabilities(), [Protocol::OpenAiChat]);
/// assert!(ai_proxy_openai::preset(Provider::VertexAi).is_none());
/// ```
pub fn preset(provider: Provider) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.provider == provider)
}

/// One protocol a preset speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Wire {
    /// The target protocol.
    pub protocol: Protocol,
    /// Its path on the provider's host.
    pub path: &'static str,
    /// How `override.llm_options.max_tokens` is written for it.
    pub max_tokens: MaxTokensMapping,
}

impl Wire {
    const fn new(protocol: Protocol, path: &'static str, max_tokens: MaxTokensMapping) -> Self {
        Self {
            protocol,
            path,
            max_tokens,
        }
    }
}

/// An OpenAI-wire provider as data; an [`Adapter`] as is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Preset {
    /// The provider served.
    pub provider: Provider,
    /// Its host; `None` when it must come from `override.endpoint`.
    pub host: Option<&'static str>,
    /// The protocols it speaks, in APISIX's capability order.
    pub wires: &'static [Wire],
    /// `wires`' protocols, front-packed (the first `wires.len()`), so
    /// [`Adapter::capabilities`] can lend a slice.
    protocols: [Protocol; MAX_WIRES],
}

impl Preset {
    /// Only ever evaluated in [`PRESETS`], a `const`: a preset with more
    /// than [`MAX_WIRES`] wires fails the build, not a request.
    const fn new(provider: Provider, host: Option<&'static str>, wires: &'static [Wire]) -> Self {
        assert!(wires.len() <= MAX_WIRES, "raise MAX_WIRES");
        let mut protocols = [Protocol::Passthrough; MAX_WIRES];
        let mut rest = wires;
        let mut i = 0;
        while let [wire, tail @ ..] = rest {
            #[allow(clippy::indexing_slicing)] // ok: i < wires.len() <= MAX_WIRES, asserted above
            {
                protocols[i] = wire.protocol;
            }
            i += 1;
            rest = tail;
        }
        Self {
            provider,
            host,
            wires,
            protocols,
        }
    }

    fn wire(&self, target: Protocol) -> Option<&Wire> {
        self.wires.iter().find(|w| w.protocol == target)
    }
}

impl Adapter for Preset {
    fn provider(&self) -> Provider {
        self.provider
    }

    fn capabilities(&self) -> &[Protocol] {
        #[allow(clippy::indexing_slicing)] // ok: Preset::new asserts wires.len() <= MAX_WIRES
        &self.protocols[..self.wires.len()]
    }

    /// The preset's host (also for a protocol it does not speak, so the
    /// host is known whatever the target) and the protocol's path.
    fn default_endpoint(&self, target: Protocol, _: &EndpointContext<'_>) -> DefaultEndpoint {
        let mut endpoint = match self.wire(target) {
            Some(wire) => DefaultEndpoint::path_only(wire.path),
            None => DefaultEndpoint::default(),
        };
        endpoint.host = self.host.map(Cow::Borrowed);
        endpoint
    }

    fn max_tokens_mapping(&self, target: Protocol) -> MaxTokensMapping {
        self.wire(target)
            .map_or(MaxTokensMapping::Ignore, |w| w.max_tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_proxy_core::RequestType;

    /// `(host, path)` of `provider`'s default endpoint for `target`.
    fn location(provider: Provider, target: Protocol) -> (Option<String>, Option<String>) {
        let ctx = EndpointContext::new(None, None, RequestType::AiChat);
        let e = preset(provider).unwrap().default_endpoint(target, &ctx);
        (e.host.map(String::from), e.path.map(String::from))
    }

    fn max_tokens(provider: Provider, target: Protocol) -> MaxTokensMapping {
        preset(provider).unwrap().max_tokens_mapping(target)
    }

    fn at(host: Option<&str>, path: &str) -> (Option<String>, Option<String>) {
        (host.map(String::from), Some(path.to_owned()))
    }

    #[test]
    fn openai_speaks_chat_responses_and_embeddings() {
        let openai = |p| location(Provider::OpenAi, p);
        let host = Some("api.openai.com");
        assert_eq!(
            openai(Protocol::OpenAiChat),
            at(host, "/v1/chat/completions")
        );
        assert_eq!(openai(Protocol::OpenAiResponses), at(host, "/v1/responses"));
        assert_eq!(
            openai(Protocol::OpenAiEmbeddings),
            at(host, "/v1/embeddings")
        );
        assert_eq!(openai(Protocol::AnthropicMessages).1, None);
    }

    #[test]
    fn openai_chat_sets_max_completion_tokens_and_drops_max_tokens() {
        assert_eq!(
            max_tokens(Provider::OpenAi, Protocol::OpenAiChat),
            MaxTokensMapping::Set {
                field: "max_completion_tokens",
                remove: &["max_tokens"]
            }
        );
        assert_eq!(
            max_tokens(Provider::OpenAi, Protocol::OpenAiResponses),
            MAX_OUTPUT_TOKENS
        );
        assert_eq!(
            max_tokens(Provider::OpenAi, Protocol::OpenAiEmbeddings),
            MaxTokensMapping::Ignore
        );
    }

    #[test]
    fn chat_only_presets_have_their_host_and_path() {
        for (provider, host, path) in [
            (Provider::DeepSeek, "api.deepseek.com", "/chat/completions"),
            (Provider::AimlApi, "api.aimlapi.com", "/v1/chat/completions"),
            (
                Provider::OpenRouter,
                "openrouter.ai",
                "/api/v1/chat/completions",
            ),
            (
                Provider::Gemini,
                "generativelanguage.googleapis.com",
                "/v1beta/openai/chat/completions",
            ),
        ] {
            assert_eq!(
                location(provider, Protocol::OpenAiChat),
                at(Some(host), path),
                "{provider}"
            );
            assert_eq!(
                location(provider, Protocol::OpenAiEmbeddings),
                (Some(host.to_owned()), None),
                "{provider}"
            );
            assert_eq!(
                preset(provider).unwrap().capabilities(),
                [Protocol::OpenAiChat]
            );
        }
    }

    #[test]
    fn gemini_sets_max_completion_tokens_and_keeps_max_tokens() {
        assert_eq!(
            max_tokens(Provider::Gemini, Protocol::OpenAiChat),
            MAX_COMPLETION_TOKENS
        );
    }

    #[test]
    fn deepseek_aimlapi_openrouter_set_max_tokens() {
        for provider in [Provider::DeepSeek, Provider::AimlApi, Provider::OpenRouter] {
            assert_eq!(max_tokens(provider, Protocol::OpenAiChat), MAX_TOKENS);
            assert_eq!(
                max_tokens(provider, Protocol::OpenAiEmbeddings),
                MaxTokensMapping::Ignore
            );
        }
    }

    #[test]
    fn openai_compatible_has_paths_but_no_host() {
        let compatible = |p| location(Provider::OpenAiCompatible, p);
        assert_eq!(
            compatible(Protocol::OpenAiChat),
            at(None, "/v1/chat/completions")
        );
        assert_eq!(
            compatible(Protocol::OpenAiEmbeddings),
            at(None, "/v1/embeddings")
        );
        assert_eq!(
            max_tokens(Provider::OpenAiCompatible, Protocol::OpenAiChat),
            MAX_TOKENS
        );
        assert_eq!(
            max_tokens(Provider::OpenAiCompatible, Protocol::OpenAiResponses),
            MAX_OUTPUT_TOKENS
        );
    }

    #[test]
    fn capabilities_are_the_wires_in_order() {
        for p in &PRESETS {
            let wires: Vec<Protocol> = p.wires.iter().map(|w| w.protocol).collect();
            assert_eq!(p.capabilities(), wires, "{}", p.provider);
        }
    }

    #[test]
    fn one_preset_per_provider() {
        for (i, p) in PRESETS.iter().enumerate() {
            assert!(
                PRESETS.iter().skip(i + 1).all(|q| q.provider != p.provider),
                "{} twice",
                p.provider
            );
        }
    }
}
