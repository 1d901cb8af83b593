//! OpenAI chat clients → Bedrock Converse, both ways.

mod media;
mod request;
mod response;
mod tools;
mod translate;
mod wire;

use ai_proxy_core::Protocol;
use ai_proxy_core::adapter::{ConvertContext, ConvertError, ConvertedRequest, Converter};

pub use translate::{ConverseToChat, MAX_STREAM_TOOL_CALLS};

/// Converts OpenAI chat requests to Bedrock Converse (`/model/{id}/converse`,
/// `converse-stream` when streaming) and Converse responses, event streams
/// and errors back to chat completions, chunks and OpenAI error objects.
/// The field table is in the module source (`converse/request.rs`).
///
/// ```
/// use ai_proxy_bedrock::OpenAiToConverse;
/// use ai_proxy_core::adapter::{ConvertContext, Converter};
/// use ai_proxy_core::{Provider, RequestType};
///
/// let ctx = ConvertContext::new(Provider::Bedrock, Some("amazon.nova-micro-v1:0"), None, RequestType::AiChat);
/// let body = br#"{"model":"amazon.nova-micro-v1:0","max_tokens":64,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}]}"#;
/// let converted = OpenAiToConverse.convert_request(body, &ctx).unwrap();
/// assert_eq!(
///     std::str::from_utf8(&converted.body).unwrap(),
///     r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"system":[{"text":"Be brief."}],"inferenceConfig":{"maxTokens":64}}"#
/// );
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenAiToConverse;

impl Converter for OpenAiToConverse {
    fn client_protocol(&self) -> Protocol {
        Protocol::OpenAiChat
    }

    fn target_protocol(&self) -> Protocol {
        Protocol::BedrockConverse
    }

    fn convert_request(
        &self,
        body: &[u8],
        ctx: &ConvertContext<'_>,
    ) -> Result<ConvertedRequest, ConvertError> {
        let body = request::convert(body)?;
        Ok(ConvertedRequest::new(
            body,
            Box::new(ConverseToChat::new(ctx.llm_model)),
        ))
    }
}
