//! OpenAI chat clients → Anthropic's native Messages API.

mod request;
mod translate;

use ai_proxy_core::Protocol;
use ai_proxy_core::adapter::{ConvertContext, ConvertError, ConvertedRequest, Converter};
use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};

pub use translate::{MAX_STREAM_TOOL_USES, MessagesToChat};

/// The `anthropic-version` sent when the client sent none.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// `max_tokens` sent when the client gave neither `max_completion_tokens`
/// nor `max_tokens` (Anthropic requires it). 4096 fits every current
/// Claude model's output limit; `override.llm_options.max_tokens` replaces
/// it per route.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// Converts OpenAI chat requests for Anthropic's native Messages endpoint
/// (`https://api.anthropic.com/v1/messages`) and the responses back to
/// chat completions / chunks. See the module source for the field table.
///
/// ```
/// use ai_proxy_anthropic::OpenAiToAnthropic;
/// use ai_proxy_core::adapter::{ConvertContext, Converter};
/// use ai_proxy_core::{Provider, RequestType};
///
/// let ctx = ConvertContext::new(Provider::Anthropic, None, Some("claude-sonnet-4-5"), RequestType::AiChat);
/// let body = br#"{"model":"claude-sonnet-4-5","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}]}"#;
/// let converted = OpenAiToAnthropic::new().convert_request(body, &ctx).unwrap();
/// assert_eq!(
///     std::str::from_utf8(&converted.body).unwrap(),
///     r#"{"model":"claude-sonnet-4-5","max_tokens":4096,"system":"Be brief.","messages":[{"role":"user","content":"hi"}]}"#
/// );
/// ```
#[derive(Clone, Copy, Debug)]
pub struct OpenAiToAnthropic {
    default_max_tokens: u64,
}

impl OpenAiToAnthropic {
    /// A converter using [`DEFAULT_MAX_TOKENS`].
    pub const fn new() -> Self {
        Self {
            default_max_tokens: DEFAULT_MAX_TOKENS,
        }
    }

    /// A converter filling `max_tokens` with `n` when the client sent none.
    pub const fn with_default_max_tokens(n: u64) -> Self {
        Self {
            default_max_tokens: n,
        }
    }

    /// The `max_tokens` used when the client sent none.
    pub const fn default_max_tokens(&self) -> u64 {
        self.default_max_tokens
    }
}

impl Default for OpenAiToAnthropic {
    fn default() -> Self {
        Self::new()
    }
}

impl Converter for OpenAiToAnthropic {
    fn client_protocol(&self) -> Protocol {
        Protocol::OpenAiChat
    }

    fn target_protocol(&self) -> Protocol {
        Protocol::AnthropicMessages
    }

    fn convert_request(
        &self,
        body: &[u8],
        ctx: &ConvertContext<'_>,
    ) -> Result<ConvertedRequest, ConvertError> {
        let _ = ctx;
        let (body, layout) = request::convert(body, self.default_max_tokens)?;
        Ok(ConvertedRequest::new(body, Box::new(MessagesToChat::new())).with_layout(layout))
    }

    /// Adds `anthropic-version: 2023-06-01` unless the client sent one.
    /// Credentials come from the configured `auth.header` (`x-api-key`).
    fn convert_headers(&self, headers: &mut HeaderMap) {
        const VERSION: HeaderName = HeaderName::from_static("anthropic-version");
        if !headers.contains_key(VERSION) {
            headers.insert(VERSION, HeaderValue::from_static(ANTHROPIC_VERSION));
        }
    }
}
