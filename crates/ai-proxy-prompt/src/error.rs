//! [`PromptError`]: why a transform refused a client request, with the
//! status and body APISIX answers for the same refusal.

use ai_proxy_core::prepare::BodyError;
use bytes::Bytes;
use http::StatusCode;

/// Longest client-supplied text echoed in an error (a template name).
const MAX_ECHO: usize = 256;

/// A client request a transform refused. Every refusal is APISIX's 400
/// with a `{"message": …}` body ([`body`](Self::body)); the messages are
/// APISIX's where it has one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PromptError {
    /// The body is larger than the plugin's `max_req_body_size`, empty or
    /// not JSON.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// The body is JSON, but a member the transform must change has a
    /// shape it cannot change (`messages` an object); the message names it.
    #[error("{what}")]
    Unchangeable {
        /// What is wrong and how to fix it.
        what: String,
    },
    /// `ai-prompt-template`: the body names no template.
    #[error("template name is missing in request.")]
    TemplateNameMissing,
    /// `ai-prompt-template`: no template has the requested name.
    #[error("template: {name} not configured.")]
    TemplateNotConfigured {
        /// The name requested (cut to 256 bytes).
        name: String,
    },
    /// `ai-prompt-guard`: no body, or one over `max_req_body_size`
    /// (APISIX answers both this way).
    #[error("Empty request body")]
    GuardNoBody,
    /// `ai-prompt-guard` with `fail_mode: error`: the body is not JSON.
    #[error("{reason}")]
    GuardNotJson {
        /// The parser's message.
        reason: String,
    },
    /// `ai-prompt-guard` with `fail_mode: error`: the body is JSON of no AI
    /// protocol the guard reads.
    #[error("Request format not recognized by ai-prompt-guard")]
    GuardNotRecognized,
    /// `ai-prompt-guard`: `allow_patterns` are set and none matched.
    #[error("Request doesn't match allow patterns")]
    NotAllowed,
    /// `ai-prompt-guard`: a `deny_patterns` entry matched.
    #[error("Request contains prohibited content")]
    Prohibited,
}

impl PromptError {
    /// The status a gateway answers with (APISIX: 400 for every refusal).
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    /// APISIX's response body, `{"message": …}`.
    pub fn body(&self) -> Bytes {
        Bytes::from(serde_json::json!({ "message": self.to_string() }).to_string())
    }

    /// The `Content-Type` of [`body`](Self::body).
    pub fn content_type(&self) -> &'static str {
        "application/json"
    }

    pub(crate) fn not_configured(name: &str) -> Self {
        let mut end = name.len().min(MAX_ECHO);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        PromptError::TemplateNotConfigured {
            name: name.get(..end).unwrap_or_default().to_owned(),
        }
    }
}
