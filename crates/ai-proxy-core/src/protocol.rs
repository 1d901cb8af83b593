//! [`Protocol`]: the wire format of a request or response body.

use std::fmt;
use std::str::FromStr;

/// A request/response wire format, named as in APISIX (`ai-protocols/`).
///
/// The same enum names the *client* protocol (what the caller sent) and the
/// *target* protocol (what the upstream speaks); they differ when an adapter
/// converts (Anthropic client → OpenAI chat upstream, embeddings → Vertex
/// `:predict`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Protocol {
    /// `openai-chat`: `/v1/chat/completions` (`messages`).
    OpenAiChat,
    /// `openai-responses`: `/v1/responses` (`input`).
    OpenAiResponses,
    /// `openai-embeddings`: `/v1/embeddings` (`input`).
    OpenAiEmbeddings,
    /// `anthropic-messages`: Anthropic's native `/v1/messages`.
    AnthropicMessages,
    /// `gemini`: Google's native `generateContent` / `streamGenerateContent`.
    Gemini,
    /// `vertex-predict`: Vertex AI `…/models/{model}:predict` (embeddings).
    VertexPredict,
    /// `bedrock-converse`: Amazon Bedrock's Converse API (`…/converse` with
    /// `messages`); streams as AWS event streams.
    BedrockConverse,
    /// `bedrock-invoke`: an Amazon Bedrock `InvokeModel` body (Anthropic on
    /// Bedrock: `anthropic_version: bedrock-2023-05-31`) sent to
    /// `…/invoke` or `…/invoke-with-response-stream`, forwarded as is. Not
    /// an APISIX protocol.
    BedrockInvoke,
    /// `passthrough`: any other JSON body, forwarded as is; no usage parsing.
    Passthrough,
}

impl Protocol {
    /// Every protocol.
    pub const ALL: [Protocol; 9] = [
        Protocol::OpenAiChat,
        Protocol::OpenAiResponses,
        Protocol::OpenAiEmbeddings,
        Protocol::AnthropicMessages,
        Protocol::Gemini,
        Protocol::VertexPredict,
        Protocol::BedrockConverse,
        Protocol::BedrockInvoke,
        Protocol::Passthrough,
    ];

    /// The APISIX name (`"openai-chat"`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::OpenAiChat => "openai-chat",
            Protocol::OpenAiResponses => "openai-responses",
            Protocol::OpenAiEmbeddings => "openai-embeddings",
            Protocol::AnthropicMessages => "anthropic-messages",
            Protocol::Gemini => "gemini",
            Protocol::VertexPredict => "vertex-predict",
            Protocol::BedrockConverse => "bedrock-converse",
            Protocol::BedrockInvoke => "bedrock-invoke",
            Protocol::Passthrough => "passthrough",
        }
    }

    /// Whether `override.request_body` may be keyed by this protocol
    /// (APISIX's schema allows exactly these names).
    pub const fn is_request_body_key(self) -> bool {
        matches!(
            self,
            Protocol::OpenAiChat
                | Protocol::OpenAiResponses
                | Protocol::OpenAiEmbeddings
                | Protocol::AnthropicMessages
                | Protocol::BedrockConverse
                | Protocol::Passthrough
        )
    }
}

/// The path suffix of Bedrock's streaming `InvokeModel`.
const INVOKE_STREAM: &str = "/invoke-with-response-stream";
/// The path suffix of a streaming native Gemini call.
const GEMINI_STREAM: &str = ":streamGenerateContent";
/// The path suffix of a unary native Gemini call.
const GEMINI_UNARY: &str = ":generateContent";

/// The top level of a JSON request body, as far as client protocol
/// detection reads it ([`Protocol::detect`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyTop {
    /// An object.
    Object {
        /// `messages` is present and an array or an object.
        messages: bool,
        /// `input` is present (any value, `null` too).
        input: bool,
        /// `anthropic_version` is present.
        anthropic_version: bool,
        /// The object has members.
        non_empty: bool,
    },
    /// An array.
    Array {
        /// The array has elements.
        non_empty: bool,
    },
    /// A string, number, boolean or `null`.
    Scalar,
}

impl Protocol {
    /// The client protocol of a request to `path` (no query) whose body's
    /// top level is `body`, in APISIX's order (`ai-protocols/init.lua`);
    /// `None` when no protocol matches (APISIX's 400 `no matching AI
    /// protocol for the request`).
    ///
    /// Order: `bedrock-converse` (path ends `/converse`, `messages` is an
    /// array or object), `bedrock-invoke` (path ends `/invoke` or
    /// `/invoke-with-response-stream` and the body has `anthropic_version`:
    /// Anthropic on Bedrock, not an APISIX protocol),
    /// `anthropic-messages` (path ends `/v1/messages`, object body),
    /// `gemini` (path ends `:generateContent` or `:streamGenerateContent`,
    /// object body; not an APISIX protocol: where the provider does not
    /// speak it, it is routed as passthrough, as APISIX would),
    /// `openai-responses` (path ends `/v1/responses` and `input` present),
    /// `openai-chat` (`messages` is an array or object), `openai-embeddings`
    /// (`input` present), `passthrough` (any other non-empty object or
    /// array).
    ///
    /// ```
    /// use ai_proxy_core::protocol::{BodyTop, Protocol};
    ///
    /// let chat = BodyTop::Object { messages: true, input: false, anthropic_version: false, non_empty: true };
    /// assert_eq!(Protocol::detect("/v1/chat/completions", chat), Some(Protocol::OpenAiChat));
    /// assert_eq!(Protocol::detect("/v1/messages", chat), Some(Protocol::AnthropicMessages));
    /// assert_eq!(Protocol::detect("/", BodyTop::Array { non_empty: false }), None);
    /// ```
    pub fn detect(path: &str, body: BodyTop) -> Option<Protocol> {
        match body {
            BodyTop::Object {
                messages,
                input,
                anthropic_version,
                non_empty,
            } => {
                if messages && path.ends_with("/converse") {
                    return Some(Protocol::BedrockConverse);
                }
                if anthropic_version && (path.ends_with("/invoke") || path.ends_with(INVOKE_STREAM))
                {
                    return Some(Protocol::BedrockInvoke);
                }
                if path.ends_with("/v1/messages") {
                    return Some(Protocol::AnthropicMessages);
                }
                if path.ends_with(GEMINI_UNARY) || path.ends_with(GEMINI_STREAM) {
                    return Some(Protocol::Gemini);
                }
                if input && path.ends_with("/v1/responses") {
                    return Some(Protocol::OpenAiResponses);
                }
                if messages {
                    return Some(Protocol::OpenAiChat);
                }
                if input {
                    return Some(Protocol::OpenAiEmbeddings);
                }
                non_empty.then_some(Protocol::Passthrough)
            }
            BodyTop::Array { non_empty: true } => Some(Protocol::Passthrough),
            BodyTop::Array { non_empty: false } | BodyTop::Scalar => None,
        }
    }
}

impl Protocol {
    /// Whether a request of this protocol to `path` streams its answer;
    /// `stream_true`: its body's top-level `stream` is the boolean `true`
    /// (strictly; `"true"` is not). Embeddings never stream; a Bedrock
    /// `InvokeModel` body streams when its path is
    /// `…/invoke-with-response-stream`, a native Gemini call when its method
    /// is `:streamGenerateContent`.
    pub fn is_streaming(self, path: &str, stream_true: bool) -> bool {
        match self {
            Protocol::OpenAiEmbeddings => false,
            Protocol::BedrockInvoke => path.ends_with(INVOKE_STREAM),
            Protocol::Gemini => path.ends_with(GEMINI_STREAM),
            _ => stream_true,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol name that names no known protocol.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol `{name}`, expected one of: {}", Protocol::ALL.map(|p| p.as_str()).join(", "))]
pub struct UnknownProtocol {
    /// The value given.
    pub name: String,
}

impl FromStr for Protocol {
    type Err = UnknownProtocol;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownProtocol { name: s.to_owned() })
    }
}

/// How the request is classified for logs (`$request_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestType {
    /// `traditional_http`: not an AI request (passthrough routes keep this
    /// only when no AI protocol matched; APISIX's default).
    TraditionalHttp,
    /// `ai_chat`: an AI request that does not stream.
    AiChat,
    /// `ai_stream`: an AI request whose body says `"stream": true`.
    AiStream,
}

impl RequestType {
    /// The APISIX variable value.
    pub const fn as_str(self) -> &'static str {
        match self {
            RequestType::TraditionalHttp => "traditional_http",
            RequestType::AiChat => "ai_chat",
            RequestType::AiStream => "ai_stream",
        }
    }
}

impl fmt::Display for RequestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Protocol::ALL {
            assert_eq!(p.as_str().parse::<Protocol>(), Ok(p));
        }
    }
}
