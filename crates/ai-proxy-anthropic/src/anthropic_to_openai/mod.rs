//! Anthropic Messages clients → OpenAI-chat providers (APISIX's
//! `anthropic-messages-to-openai-chat` converter).

mod request;
mod translate;

use ai_proxy_core::Protocol;
use ai_proxy_core::adapter::{ConvertContext, ConvertError, ConvertedRequest, Converter};
use http::HeaderMap;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue};

pub use translate::{ChatToMessages, MAX_STREAM_TOOL_CALLS};

/// Converts Anthropic Messages requests (`/v1/messages`) for providers that
/// speak OpenAI chat (openai, deepseek, azure-openai, gemini, vertex-ai,
/// openrouter, aimlapi, openai-compatible), and their responses back.
///
/// The request is rebuilt from a whitelist (APISIX's rule): fields not
/// listed in the mapping are dropped, so Anthropic-only options never
/// reach an OpenAI upstream. Errors are APISIX's 400 messages
/// (`missing messages`, `invalid message at index <i>`, `invalid message
/// content at index <i>`, 1-based).
///
/// ```
/// use ai_proxy_anthropic::AnthropicToOpenAi;
/// use ai_proxy_core::adapter::{ConvertContext, Converter};
/// use ai_proxy_core::{Provider, RequestType};
///
/// let ctx = ConvertContext::new(Provider::OpenAi, Some("gpt-4o"), Some("claude"), RequestType::AiChat);
/// let body = br#"{"model":"claude","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#;
/// let converted = AnthropicToOpenAi.convert_request(body, &ctx).unwrap();
/// assert_eq!(
///     std::str::from_utf8(&converted.body).unwrap(),
///     r#"{"model":"claude","max_completion_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#
/// );
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct AnthropicToOpenAi;

impl Converter for AnthropicToOpenAi {
    fn client_protocol(&self) -> Protocol {
        Protocol::AnthropicMessages
    }

    fn target_protocol(&self) -> Protocol {
        Protocol::OpenAiChat
    }

    fn convert_request(
        &self,
        body: &[u8],
        ctx: &ConvertContext<'_>,
    ) -> Result<ConvertedRequest, ConvertError> {
        let converted = request::convert(body)?;
        let translator = ChatToMessages::new(converted.names, ctx.llm_model);
        Ok(ConvertedRequest::new(converted.body, Box::new(translator))
            .with_layout(converted.layout))
    }

    /// `x-api-key` → `authorization: Bearer <key>` unless an authorization
    /// header is already set (configured auth wins); `x-api-key`,
    /// `anthropic-*` and `x-stainless-*` are removed.
    fn convert_headers(&self, headers: &mut HeaderMap) {
        convert_headers(headers);
    }
}

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

fn convert_headers(headers: &mut HeaderMap) {
    if let Some(key) = headers.remove(X_API_KEY)
        && !key.is_empty()
        && !headers.contains_key(AUTHORIZATION)
    {
        let mut bearer = Vec::with_capacity(7 + key.len());
        bearer.extend_from_slice(b"Bearer ");
        bearer.extend_from_slice(key.as_bytes());
        if let Ok(mut value) = HeaderValue::from_bytes(&bearer) {
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
    }
    let dropped: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            let n = name.as_str();
            n.starts_with("anthropic-") || n.starts_with("x-stainless-")
        })
        .cloned()
        .collect();
    for name in dropped {
        headers.remove(name);
    }
}
