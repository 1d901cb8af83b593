//! [`RequestContext`]: what request preparation learned that observing the
//! response needs (the hand-off from `prepare` to the exchange).

use std::sync::Arc;
use std::time::Instant;

use serde_json::value::RawValue;

use crate::config::{Limits, Logging};
use crate::framing::StreamFraming;
use crate::protocol::{Protocol, RequestType};
use crate::provider::Provider;

/// Facts about one prepared upstream attempt, fixed at preparation time.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RequestContext {
    /// What the client sent (decides how usage is read from the response
    /// the client receives).
    pub client_protocol: Protocol,
    /// What the upstream speaks (differs when an adapter converts).
    pub target_protocol: Protocol,
    /// `$request_type`: `ai_stream` iff the client body had `"stream": true`.
    pub request_type: RequestType,
    /// `$request_llm_model`: the client body's `model`.
    pub request_llm_model: Option<Arc<str>>,
    /// `$llm_model` until the response names one: `options.model`, else
    /// the client body's `model`.
    pub llm_model: Option<Arc<str>>,
    /// When the attempt started (the caller's clock).
    pub started: Instant,
    /// `$llm_tool_count`: `tools` in the final upstream body.
    pub tool_count: usize,
    /// `$llm_end_user_id`: `safety_identifier`, else `user`, else Anthropic
    /// `metadata.user_id`.
    pub end_user_id: Option<String>,
    /// `picked_ai_instance_name`: `ai-proxy-<provider>` or the multi
    /// instance name.
    pub instance_name: Arc<str>,
    /// The provider called.
    pub provider: Provider,
    /// The route's `logging` settings.
    pub logging: Logging,
    /// The route's limits (response size, stream duration).
    pub limits: Limits,
    /// With `logging.payloads`: the request's messages (`messages` for chat
    /// and Anthropic, `input` for embeddings/Responses) as sent upstream.
    pub request_messages: Option<Box<RawValue>>,
    /// How the upstream streams when not in SSE (the adapter's
    /// [`StreamFraming`] for the target protocol; `None`: SSE only).
    pub framing: Option<Arc<dyn StreamFraming>>,
}

impl RequestContext {
    /// A context with the given protocols and start time and every other
    /// field at its default (no models, no tools, default limits). Handy
    /// for observing a response on its own (the CLI's `sse`/`response`).
    pub fn new(client_protocol: Protocol, target_protocol: Protocol, started: Instant) -> Self {
        Self {
            client_protocol,
            target_protocol,
            request_type: RequestType::AiChat,
            request_llm_model: None,
            llm_model: None,
            started,
            tool_count: 0,
            end_user_id: None,
            instance_name: Arc::from(""),
            provider: Provider::OpenAi,
            logging: Logging::default(),
            limits: Limits::default(),
            request_messages: None,
            framing: None,
        }
    }
}
