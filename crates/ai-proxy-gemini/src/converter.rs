//! [`OpenAiToGemini`]: the [`Converter`] from OpenAI chat clients to
//! Gemini's native `generateContent`.

use ai_proxy_core::Protocol;
use ai_proxy_core::adapter::{ConvertContext, ConvertError, ConvertedRequest, Converter};

use crate::request;
use crate::response::GeminiToChat;

/// Converts OpenAI chat requests for Gemini's native API (the Gemini API's
/// `…/models/{model}:generateContent` and Vertex AI's
/// `…/publishers/google/models/{model}:generateContent`) and the responses
/// back to chat completions / chunks through [`GeminiToChat`].
///
/// The request is rebuilt field by field (the table is in the `request`
/// module source): fields Gemini has no name for are dropped, because
/// Gemini rejects unknown fields. `model` goes into the URL, not the body.
/// Errors are 400s naming the offending member (`messages[2].tool_calls[0]:
/// missing function.name`).
///
/// ```
/// use ai_proxy_gemini::OpenAiToGemini;
/// use ai_proxy_core::adapter::{ConvertContext, Converter};
/// use ai_proxy_core::{Provider, RequestType};
///
/// let ctx = ConvertContext::new(Provider::Gemini, None, Some("gemini-2.5-flash"), RequestType::AiChat);
/// let body = br#"{"model":"gemini-2.5-flash","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],"max_tokens":64}"#;
/// let converted = OpenAiToGemini.convert_request(body, &ctx).unwrap();
/// assert_eq!(
///     std::str::from_utf8(&converted.body).unwrap(),
///     r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"systemInstruction":{"parts":[{"text":"Be brief."}]},"generationConfig":{"maxOutputTokens":64}}"#
/// );
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenAiToGemini;

impl Converter for OpenAiToGemini {
    fn client_protocol(&self) -> Protocol {
        Protocol::OpenAiChat
    }

    fn target_protocol(&self) -> Protocol {
        Protocol::Gemini
    }

    fn convert_request(
        &self,
        body: &[u8],
        ctx: &ConvertContext<'_>,
    ) -> Result<ConvertedRequest, ConvertError> {
        let model = ctx.llm_model.or(ctx.request_llm_model);
        let converted = request::convert(body, model)?;
        let translator = GeminiToChat::new(converted.include_usage, model);
        Ok(ConvertedRequest::new(converted.body, Box::new(translator)))
    }
}
