//! [`Provider`]: the upstream LLM service an `ai-proxy` instance talks to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An upstream provider, named exactly as in APISIX's `provider` field.
///
/// ```
/// use ai_proxy_core::Provider;
/// let p: Provider = "azure-openai".parse().unwrap();
/// assert_eq!(p, Provider::AzureOpenAi);
/// assert_eq!(p.to_string(), "azure-openai");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Provider {
    /// `openai` — api.openai.com.
    OpenAi,
    /// `deepseek` — api.deepseek.com.
    DeepSeek,
    /// `azure-openai` — a deployment URL given in `override.endpoint`.
    AzureOpenAi,
    /// `anthropic` — api.anthropic.com (OpenAI-compatible and native Messages).
    Anthropic,
    /// `aimlapi` — api.aimlapi.com.
    AimlApi,
    /// `openrouter` — openrouter.ai.
    OpenRouter,
    /// `gemini` — Google's OpenAI-compatible Gemini endpoint.
    Gemini,
    /// `vertex-ai` — Google Cloud Vertex AI (service-account auth).
    VertexAi,
    /// `openai-compatible` — any OpenAI-wire server given in `override.endpoint`.
    OpenAiCompatible,
    /// `bedrock` — Amazon Bedrock (Converse, InvokeModel; AWS SigV4).
    Bedrock,
}

impl Provider {
    /// Every provider, in APISIX documentation order (`bedrock` last).
    pub const ALL: [Provider; 10] = [
        Provider::OpenAi,
        Provider::DeepSeek,
        Provider::AzureOpenAi,
        Provider::Anthropic,
        Provider::AimlApi,
        Provider::OpenRouter,
        Provider::Gemini,
        Provider::VertexAi,
        Provider::OpenAiCompatible,
        Provider::Bedrock,
    ];

    /// The APISIX name (`"azure-openai"`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::DeepSeek => "deepseek",
            Provider::AzureOpenAi => "azure-openai",
            Provider::Anthropic => "anthropic",
            Provider::AimlApi => "aimlapi",
            Provider::OpenRouter => "openrouter",
            Provider::Gemini => "gemini",
            Provider::VertexAi => "vertex-ai",
            Provider::OpenAiCompatible => "openai-compatible",
            Provider::Bedrock => "bedrock",
        }
    }

    /// Whether this library can send requests to the provider (every
    /// APISIX provider now; kept for configs naming providers APISIX adds
    /// later).
    pub const fn is_supported(self) -> bool {
        true
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `provider` value that names no known provider.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider `{name}`, expected one of: {}", Provider::ALL.map(|p| p.as_str()).join(", "))]
pub struct UnknownProvider {
    /// The value given.
    pub name: String,
}

impl FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownProvider { name: s.to_owned() })
    }
}

impl Serialize for Provider {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Provider {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Provider::ALL {
            assert_eq!(p.as_str().parse::<Provider>(), Ok(p));
        }
    }

    #[test]
    fn unknown_name_lists_the_valid_ones() {
        let err = "some-unique"
            .parse::<Provider>()
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "unknown provider `some-unique`, expected one of: openai, deepseek, azure-openai, \
                 anthropic, aimlapi, openrouter, gemini, vertex-ai, openai-compatible, bedrock"
            )
        );
    }
}
