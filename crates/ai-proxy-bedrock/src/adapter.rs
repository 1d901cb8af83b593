//! [`Bedrock`]: the `bedrock` provider — where requests go, how they are
//! shaped, streamed and signed.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};
use std::time::SystemTime;

use ai_proxy_core::adapter::{Adapter, DefaultEndpoint, EndpointContext, MaxTokensMapping};
use ai_proxy_core::config::UpstreamConfig;
use ai_proxy_core::framing::StreamFraming;
use ai_proxy_core::sign::{RequestSigner, SignError};
use ai_proxy_core::{Protocol, Provider, RequestType};
use bytes::Bytes;
use http::Request;

use crate::framing::EventStreamFraming;
use crate::sigv4::SigV4Signer;

/// The SigV4 service name of the Bedrock runtime.
pub const SIGNING_SERVICE: &str = "bedrock";

static CONVERSE_FRAMING: LazyLock<Arc<dyn StreamFraming>> =
    LazyLock::new(|| EventStreamFraming::converse().shared());
static INVOKE_FRAMING: LazyLock<Arc<dyn StreamFraming>> =
    LazyLock::new(|| EventStreamFraming::invoke().shared());

/// The `bedrock` provider (APISIX master's `ai-providers/bedrock.lua`, and
/// more):
///
/// - host `bedrock-runtime.{provider_conf.region}.amazonaws.com`;
/// - `bedrock-converse` (APISIX's capability) → `/model/{model}/converse`,
///   or `/converse-stream` when the request streams; the model
///   (`options.model`, else the body's) is percent-encoded as one segment,
///   so inference-profile ARNs with `:` and `/` stay one; `stream` and
///   `model` leave the body; `override.llm_options.max_tokens` →
///   `inferenceConfig.maxTokens`;
/// - `bedrock-invoke` (not in APISIX) → `/model/{model}/invoke` or
///   `/invoke-with-response-stream`; the model may also come from the
///   client's own `/model/{id}/invoke…` path; `max_tokens` as is;
/// - responses stream as AWS event streams ([`EventStreamFraming`]);
/// - every request is signed last with SigV4 (`auth.aws`, service
///   `bedrock`).
///
/// OpenAI chat clients reach it through [`OpenAiToConverse`](crate::OpenAiToConverse).
///
/// ```
/// use ai_proxy_bedrock::Bedrock;
/// use ai_proxy_core::adapter::{Adapter, EndpointContext};
/// use ai_proxy_core::config::ProviderConf;
/// use ai_proxy_core::{Protocol, RequestType};
///
/// let mut conf = ProviderConf::default();
/// conf.region = Some("us-east-1".into());
/// let ctx = EndpointContext::new(
///     Some(&conf),
///     Some("anthropic.claude-3-5-sonnet-20241022-v2:0"),
///     RequestType::AiChat,
/// );
/// let endpoint = Bedrock.default_endpoint(Protocol::BedrockConverse, &ctx);
/// assert_eq!(endpoint.host.as_deref(), Some("bedrock-runtime.us-east-1.amazonaws.com"));
/// assert_eq!(
///     endpoint.path.as_deref(),
///     Some("/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse")
/// );
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Bedrock;

/// `ngx.escape_uri`: every byte but `A-Z a-z 0-9 - . _ ~` as `%XX`.
pub fn escape_model(model: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(model.len() + 8);
    for b in model.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The model segment of a client path `…/model/{id}/invoke…`, as sent
/// (already percent-encoded).
fn model_in_path(path: &str) -> Option<&str> {
    let rest = path.rsplit_once("/model/")?.1;
    let (segment, action) = rest.split_once('/')?;
    (!segment.is_empty() && action.starts_with("invoke")).then_some(segment)
}

impl Adapter for Bedrock {
    fn provider(&self) -> Provider {
        Provider::Bedrock
    }

    fn capabilities(&self) -> &[Protocol] {
        &[Protocol::BedrockConverse, Protocol::BedrockInvoke]
    }

    fn default_endpoint(&self, target: Protocol, ctx: &EndpointContext<'_>) -> DefaultEndpoint {
        let mut endpoint = DefaultEndpoint::default();
        endpoint.host = ctx
            .provider_conf
            .and_then(|c| c.region.as_deref())
            .map(|region| Cow::Owned(format!("bedrock-runtime.{region}.amazonaws.com")));
        let streaming = ctx.request_type == RequestType::AiStream;
        let model = ctx.llm_model.filter(|m| !m.is_empty()).map(escape_model);
        endpoint.path = match target {
            Protocol::BedrockConverse => model.map(|m| {
                let action = if streaming {
                    "converse-stream"
                } else {
                    "converse"
                };
                Cow::Owned(format!("/model/{m}/{action}"))
            }),
            Protocol::BedrockInvoke => model
                .or_else(|| ctx.client_path.and_then(model_in_path).map(str::to_owned))
                .map(|m| {
                    let action = if streaming {
                        "invoke-with-response-stream"
                    } else {
                        "invoke"
                    };
                    Cow::Owned(format!("/model/{m}/{action}"))
                }),
            _ => None,
        };
        endpoint
    }

    fn max_tokens_mapping(&self, target: Protocol) -> MaxTokensMapping {
        match target {
            Protocol::BedrockConverse => MaxTokensMapping::SetIn {
                object: "inferenceConfig",
                field: "maxTokens",
            },
            Protocol::BedrockInvoke => MaxTokensMapping::Set {
                field: "max_tokens",
                remove: &[],
            },
            _ => MaxTokensMapping::Ignore,
        }
    }

    fn removes_model(&self) -> bool {
        true
    }

    fn stream_framing(&self, target: Protocol) -> Option<Arc<dyn StreamFraming>> {
        match target {
            Protocol::BedrockConverse => Some(Arc::clone(&CONVERSE_FRAMING)),
            Protocol::BedrockInvoke => Some(Arc::clone(&INVOKE_FRAMING)),
            _ => None,
        }
    }

    fn request_signer(
        &self,
        upstream: &UpstreamConfig,
    ) -> Result<Option<Arc<dyn RequestSigner>>, String> {
        let region = upstream
            .provider_conf
            .as_ref()
            .and_then(|c| c.region.as_deref())
            .ok_or(
                "missing region for AWS SigV4 signing (provider_conf.region required for bedrock)",
            )?;
        let aws = upstream
            .auth
            .aws
            .as_ref()
            .ok_or("bedrock requires auth.aws (access_key_id and secret_access_key)")?;
        Ok(Some(Arc::new(BedrockSigner(SigV4Signer::new(
            aws.clone(),
            region,
            SIGNING_SERVICE,
        )))))
    }
}

/// SigV4 as the core's [`RequestSigner`].
#[derive(Debug)]
struct BedrockSigner(SigV4Signer);

impl RequestSigner for BedrockSigner {
    fn sign(&self, request: &mut Request<Bytes>, wall_clock: SystemTime) -> Result<(), SignError> {
        self.0
            .sign(request, wall_clock)
            .map_err(|e| SignError::new(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_profiles_stay_one_segment() {
        assert_eq!(
            escape_model(
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0"
            ),
            "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-7-sonnet-20250219-v1%3A0"
        );
        assert_eq!(escape_model("a b~c"), "a%20b~c");
    }

    #[test]
    fn client_invoke_paths_name_the_model() {
        assert_eq!(
            model_in_path("/model/anthropic.claude-v2%3A1/invoke"),
            Some("anthropic.claude-v2%3A1")
        );
        assert_eq!(
            model_in_path("/bedrock/model/m/invoke-with-response-stream"),
            Some("m")
        );
        assert_eq!(model_in_path("/model//invoke"), None);
        assert_eq!(model_in_path("/model/m/converse"), None);
    }
}
