//! [`AwsContentModeration`]: APISIX's `ai-aws-content-moderation`
//! (`apisix/plugins/ai-aws-content-moderation.lua`), request side.

use std::time::{Duration, SystemTime};

use ai_proxy_bedrock::sigv4::{AwsCredentials, SigV4Signer};
use ai_proxy_core::config::{
    AI_AWS_CONTENT_MODERATION, AwsContentModerationConfig, CheckMode, ConfigErrors, FailMode,
    RoleSet, ToxicCategory,
};
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Request, StatusCode, Uri};
use serde_json::Value;

use super::comprehend::{
    AMZ_JSON, COMPREHEND_SERVICE, DETECT_TOXIC_CONTENT_TARGET, Toxicity, batches, call_body,
};
use super::{
    BoxFuture, ContentModerator, ModerationCall, ModerationClient, ModerationError,
    ModerationRequest, Verdict,
};

const X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");

/// A compiled `ai-aws-content-moderation`: the request's text scored by
/// AWS Comprehend `DetectToxicContent`, refused above the configured
/// thresholds.
///
/// Per request, as APISIX: with `check_request` on, the text of
/// `request_check_roles` (`request_check_mode`) is cut into segments of
/// `request_check_length_limit` bytes and scored in as few calls as
/// Comprehend accepts, one after another; the first result over a
/// `moderation_categories` threshold or over `moderation_threshold`
/// refuses the request with `deny_code` and a refusal shaped as an answer
/// in the client's protocol whose text is `deny_message` or the reason
/// (`request body exceeds toxicity threshold`, `request body exceeds
/// PROFANITY threshold`). A failed call is a 500 (the request is not sent
/// unmoderated). A protocol whose text cannot be read (passthrough) gets
/// `fail_mode`.
///
/// Differences: response moderation (`check_response`) is refused when
/// the config is loaded; error bodies name Comprehend, not its address.
#[derive(Clone, Debug)]
pub struct AwsContentModeration {
    signer: SigV4Signer,
    /// `scheme://host[:port]/`: APISIX calls the endpoint's root.
    uri: Uri,
    categories: Vec<(ToxicCategory, f64)>,
    threshold: f64,
    check_request: bool,
    roles: RoleSet,
    mode: CheckMode,
    segment_limit: usize,
    deny_code: StatusCode,
    deny_message: Option<String>,
    timeout: Duration,
    keepalive: Option<Duration>,
    ssl_verify: bool,
    fail_mode: FailMode,
}

impl AwsContentModeration {
    /// Validates and compiles an `ai-aws-content-moderation` plugin object.
    pub fn from_value(value: &Value) -> Result<Self, ConfigErrors> {
        Ok(Self::compile(&AwsContentModerationConfig::from_value(
            value,
        )?))
    }

    /// Compiles a validated config.
    pub fn compile(config: &AwsContentModerationConfig) -> Self {
        let c = &config.comprehend;
        let credentials = AwsCredentials::new(
            c.access_key_id.clone(),
            c.secret_access_key.clone(),
            c.session_token.clone(),
        );
        Self {
            signer: SigV4Signer::new(credentials, c.region.clone(), COMPREHEND_SERVICE),
            uri: root_uri(c.endpoint.as_ref(), &c.region),
            categories: config.moderation_categories.clone(),
            threshold: config.moderation_threshold,
            check_request: config.check_request,
            roles: config.request_check_roles,
            mode: config.request_check_mode,
            segment_limit: config.request_check_length_limit,
            deny_code: StatusCode::from_u16(config.deny_code).unwrap_or(StatusCode::OK),
            deny_message: config.deny_message.clone(),
            timeout: Duration::from_millis(config.timeout_ms),
            keepalive: config
                .keepalive
                .then(|| Duration::from_millis(config.keepalive_timeout_ms)),
            ssl_verify: c.ssl_verify,
            fail_mode: config.fail_mode,
        }
    }

    /// The URI every call goes to.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The signed `DetectToxicContent` call for `segments`.
    pub fn call(
        &self,
        segments: &[&str],
        wall_clock: SystemTime,
    ) -> Result<ModerationCall, ModerationError> {
        let built = Request::post(self.uri.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static(AMZ_JSON))
            .header(
                X_AMZ_TARGET,
                HeaderValue::from_static(DETECT_TOXIC_CONTENT_TARGET),
            )
            .body(Bytes::from(call_body(segments)));
        let mut request = built.map_err(|e| ModerationError::Request {
            reason: e.to_string(),
        })?;
        self.signer
            .sign(&mut request, wall_clock)
            .map_err(|e| ModerationError::Request {
                reason: e.to_string(),
            })?;
        Ok(ModerationCall {
            request,
            timeout: self.timeout,
            keepalive: self.keepalive,
            ssl_verify: self.ssl_verify,
        })
    }

    /// What to do with a request whose text cannot be read.
    fn unsupported(&self, reason: String) -> Result<Verdict, ModerationError> {
        match self.fail_mode {
            FailMode::Error => Err(ModerationError::Unsupported { reason }),
            mode => Ok(Verdict::Skipped {
                reason: format!("{AI_AWS_CONTENT_MODERATION} skipped: {reason}"),
                warn: mode == FailMode::Warn,
            }),
        }
    }
}

impl ContentModerator for AwsContentModeration {
    fn name(&self) -> &str {
        AI_AWS_CONTENT_MODERATION
    }

    fn moderate<'a>(
        &'a self,
        request: &'a ModerationRequest<'a>,
        client: &'a dyn ModerationClient,
    ) -> BoxFuture<'a, Result<Verdict, ModerationError>> {
        Box::pin(async move {
            if !self.check_request {
                return Ok(Verdict::Allow { scored: false });
            }
            let Some(text) = request.text(self.roles, self.mode)? else {
                return self.unsupported(format!(
                    "protocol {} cannot moderate the configured request_check_roles",
                    request.protocol
                ));
            };
            for segments in batches(&text, self.segment_limit) {
                let call = self.call(&segments, request.wall_clock)?;
                let response =
                    client
                        .send(call)
                        .await
                        .map_err(|reason| ModerationError::Service {
                            reason: format!("failed to send request to Comprehend: {reason}"),
                        })?;
                let scores = Toxicity::parse(response.status().as_u16(), response.body()).map_err(
                    |reason| ModerationError::Service {
                        reason: format!("failed to get moderation results from response: {reason}"),
                    },
                )?;
                if let Some(what) = scores.exceeded(&self.categories, self.threshold) {
                    let reason = format!("request body exceeds {what} threshold");
                    let message = self.deny_message.as_deref().unwrap_or(&reason);
                    let mut denial = request.denial(self.deny_code, message);
                    denial.reason = reason;
                    return Ok(Verdict::Deny(denial));
                }
            }
            Ok(Verdict::Allow {
                scored: !text.is_empty(),
            })
        })
    }
}

/// `scheme://host[:port]/` of `endpoint` (APISIX keeps only these parts),
/// else `https://comprehend.{region}.amazonaws.com/`.
fn root_uri(endpoint: Option<&url::Url>, region: &str) -> Uri {
    let text = match endpoint {
        Some(e) => {
            let host = e.host_str().unwrap_or_default();
            match e.port() {
                Some(port) => format!("{}://{host}:{port}/", e.scheme()),
                None => format!("{}://{host}/", e.scheme()),
            }
        }
        None => format!("https://comprehend.{region}.amazonaws.com/"),
    };
    // A region or host that is no URI authority leaves a URI without one:
    // signing then fails with a typed error instead of a panic here.
    text.parse().unwrap_or_else(|_| Uri::from_static("/"))
}
