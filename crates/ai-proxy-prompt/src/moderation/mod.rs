//! Content moderation, the extension point: a [`ContentModerator`] reads a
//! request's text before it is sent upstream and lets it through or
//! refuses it with a status and a message.
//!
//! The gateway calls it once per request, after `prepare` (APISIX runs its
//! moderation plugins in the access phase after `ai-proxy` detected the
//! client protocol, and before the upstream call), with the client's body
//! as the prompt plugins left it. A moderator that needs a service calls
//! it through the [`ModerationClient`] the caller passes: moderators do no
//! I/O of their own, read no clock (the wall clock comes in the request)
//! and spawn nothing, so any runtime can drive them.
//!
//! [`AwsContentModeration`] is APISIX's `ai-aws-content-moderation` on it.
//! A moderator of your own (a local classifier, another service) needs
//! only [`ContentModerator::moderate`]; [`ModerationRequest::text`] reads
//! the conversation the way APISIX's moderation plugins do.
//!
//! ```
//! use ai_proxy_core::Protocol;
//! use ai_proxy_core::config::{CheckMode, RoleSet};
//! use ai_proxy_prompt::moderation::*;
//!
//! /// Refuses prompts that mention a codename, without calling anything.
//! #[derive(Debug)]
//! struct Codename;
//!
//! impl ContentModerator for Codename {
//!     fn name(&self) -> &str {
//!         "codename-filter"
//!     }
//!
//!     fn moderate<'a>(
//!         &'a self,
//!         request: &'a ModerationRequest<'a>,
//!         _client: &'a dyn ModerationClient,
//!     ) -> BoxFuture<'a, Result<Verdict, ModerationError>> {
//!         Box::pin(async move {
//!             let text = request.text(RoleSet::ALL, CheckMode::All)?.unwrap_or_default();
//!             Ok(if text.contains("BLUEBIRD") {
//!                 Verdict::Deny(request.denial(http::StatusCode::FORBIDDEN, "codename mentioned"))
//!             } else {
//!                 Verdict::Allow { scored: true }
//!             })
//!         })
//!     }
//! }
//!
//! let body = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"status of BLUEBIRD?"}]}"#;
//! let request = ModerationRequest::new(Protocol::OpenAiChat, body, std::time::SystemTime::UNIX_EPOCH);
//! let verdict = block_on(Codename.moderate(&request, &NoClient)).unwrap();
//! let Verdict::Deny(denial) = verdict else { panic!() };
//! assert_eq!(denial.status, 403);
//! assert!(std::str::from_utf8(&denial.body).unwrap().contains(r#""content":"codename mentioned""#));
//!
//! # /// Polls a future that never waits.
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! ```

mod aws;
mod client;
mod comprehend;
mod deny;
mod text;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use ai_proxy_core::Protocol;
use ai_proxy_core::config::{CheckMode, RoleSet};
use ai_proxy_core::prepare::BodyError;
use bytes::Bytes;
use http::{Request, Response, StatusCode};

pub use aws::AwsContentModeration;
pub use client::ClientFacts;
pub use comprehend::{
    COMPREHEND_SERVICE, DETECT_TOXIC_CONTENT_TARGET, Label, MAX_CALL_BYTES, MAX_RESPONSE_BYTES,
    MAX_SEGMENTS_PER_CALL, Segments, Toxicity, ToxicityResult, batches,
};

/// A boxed future, as moderators and clients return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One request to moderate.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ModerationRequest<'a> {
    /// The client protocol (`prepare`'s `RequestContext::client_protocol`).
    pub protocol: Protocol,
    /// Whether the client asked for a stream (a refusal is then an SSE
    /// stream in the client's protocol).
    pub stream: bool,
    /// The model the client asked for (`request_llm_model`), echoed in a
    /// refusal.
    pub model: Option<&'a str>,
    /// The client's body, as the prompt plugins left it.
    pub body: &'a [u8],
    /// The current wall-clock time, for signed calls.
    pub wall_clock: SystemTime,
    /// The `id` a refusal carries (APISIX: a random UUID); default
    /// `moderation-denied`.
    pub id: Option<&'a str>,
}

impl<'a> ModerationRequest<'a> {
    /// A request of `protocol` with `body`, not streaming, no model.
    pub fn new(protocol: Protocol, body: &'a [u8], wall_clock: SystemTime) -> Self {
        Self {
            protocol,
            stream: false,
            model: None,
            body,
            wall_clock,
            id: None,
        }
    }

    /// This request streaming or not.
    pub fn with_stream(mut self, stream: bool) -> Self {
        self.stream = stream;
        self
    }

    /// This request with the client's model.
    pub fn with_model(mut self, model: Option<&'a str>) -> Self {
        self.model = model;
        self
    }

    /// This request with the id a refusal carries.
    pub fn with_id(mut self, id: &'a str) -> Self {
        self.id = Some(id);
        self
    }

    /// The text APISIX's moderation plugins moderate: the system texts
    /// (when `roles.system`; `developer` messages count as system), then
    /// the texts of the selected turn roles (`mode`: every such message, or
    /// only the latest consecutive block of them), joined by spaces.
    /// `Ok(None)` when the protocol has no conversation to read
    /// (passthrough); `Ok(Some(""))` when nothing was selected.
    pub fn text(&self, roles: RoleSet, mode: CheckMode) -> Result<Option<String>, ModerationError> {
        text::request_text(self, roles, mode)
    }

    /// A refusal with `status` whose text is `message`, shaped as a normal
    /// answer in the client's protocol (APISIX's `build_deny_response`), so
    /// client SDKs read it as a completion.
    pub fn denial(&self, status: StatusCode, message: &str) -> Denial {
        deny::denial(self, status, message)
    }
}

/// What a moderator decided.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Send the request upstream.
    Allow {
        /// Whether the text was scored (APISIX's `llm_content_risk_level`
        /// becomes `none`); false when nothing was moderated.
        scored: bool,
    },
    /// The request cannot be moderated and `fail_mode` lets it through;
    /// `warn`: log the reason.
    Skipped {
        /// Why.
        reason: String,
        /// Whether to log it as a warning.
        warn: bool,
    },
    /// Answer the client with this instead (`llm_content_risk_level`
    /// `high`).
    Deny(Denial),
}

/// A refusal to send to the client instead of the upstream's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Denial {
    /// The status (`deny_code`).
    pub status: StatusCode,
    /// The body's `Content-Type` (`text/event-stream` for a streaming
    /// request).
    pub content_type: &'static str,
    /// The body.
    pub body: Bytes,
    /// Why (for logs; e.g. `request body exceeds toxicity threshold`).
    pub reason: String,
}

/// Why a request could not be moderated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModerationError {
    /// The body is not JSON.
    #[error("could not parse JSON request body: {reason}")]
    InvalidBody {
        /// The parser's message.
        reason: String,
    },
    /// The request cannot be moderated as configured and `fail_mode` is
    /// `error` (e.g. `protocol passthrough cannot moderate the configured
    /// request_check_roles`).
    #[error("{reason}")]
    Unsupported {
        /// What cannot be moderated.
        reason: String,
    },
    /// The moderation service failed (no answer, an error answer, an
    /// unreadable one). Names the service, never its address.
    #[error("{reason}")]
    Service {
        /// What went wrong.
        reason: String,
    },
    /// A call could not be built (e.g. signing failed).
    #[error("could not build the moderation request: {reason}")]
    Request {
        /// What went wrong (never a credential).
        reason: String,
    },
}

impl ModerationError {
    /// A client body that could not be read (the parser's message).
    pub(crate) fn unreadable(e: BodyError) -> Self {
        let reason = match e {
            BodyError::InvalidJson { reason } => reason,
            BodyError::Empty => "request body is empty".to_owned(),
            BodyError::TooLarge { size, max } => format!("{size} bytes, more than {max}"),
            other => other.to_string(),
        };
        ModerationError::InvalidBody { reason }
    }

    /// The status a gateway answers with: 400 for an unreadable body, 500
    /// otherwise (APISIX's).
    pub fn status(&self) -> StatusCode {
        match self {
            ModerationError::InvalidBody { .. } => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// APISIX's body: `{"message": …}` for an unreadable body, the plain
    /// message otherwise.
    pub fn body(&self) -> Bytes {
        match self {
            ModerationError::InvalidBody { .. } => {
                Bytes::from(serde_json::json!({ "message": self.to_string() }).to_string())
            }
            _ => Bytes::from(self.to_string()),
        }
    }

    /// The `Content-Type` of [`body`](Self::body).
    pub fn content_type(&self) -> &'static str {
        match self {
            ModerationError::InvalidBody { .. } => "application/json",
            _ => "text/plain",
        }
    }
}

/// One HTTP call a moderator asks its caller to make.
#[derive(Debug)]
#[non_exhaustive]
pub struct ModerationCall {
    /// The request (absolute URI, signed when the service wants it).
    pub request: Request<Bytes>,
    /// How long the whole call may take.
    pub timeout: Duration,
    /// Keep the connection for reuse, idle at most this long; `None`:
    /// close it after the call.
    pub keepalive: Option<Duration>,
    /// Verify the service's TLS certificate.
    pub ssl_verify: bool,
}

/// Makes the calls moderators ask for (the caller's HTTP client). Answers
/// with the whole response, its body read up to [`MAX_RESPONSE_BYTES`]; a
/// transport failure (refused, timed out, body over the cap) is `Err` with
/// the reason, never an address or a credential.
pub trait ModerationClient: Send + Sync {
    /// Sends `call`.
    fn send(&self, call: ModerationCall) -> BoxFuture<'_, Result<Response<Bytes>, String>>;
}

/// A [`ModerationClient`] for moderators that call nothing: every call
/// fails.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoClient;

impl ModerationClient for NoClient {
    fn send(&self, _call: ModerationCall) -> BoxFuture<'_, Result<Response<Bytes>, String>> {
        Box::pin(std::future::ready(Err(
            "this moderator was given no HTTP client".to_owned(),
        )))
    }
}

/// A content moderator. See the [module docs](self).
pub trait ContentModerator: Send + Sync + fmt::Debug {
    /// Its name (an APISIX plugin name, e.g. `ai-aws-content-moderation`).
    fn name(&self) -> &str;

    /// Moderates `request`, calling out through `client` if it must.
    fn moderate<'a>(
        &'a self,
        request: &'a ModerationRequest<'a>,
        client: &'a dyn ModerationClient,
    ) -> BoxFuture<'a, Result<Verdict, ModerationError>>;
}
