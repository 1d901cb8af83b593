//! # ai-proxy-bedrock
//!
//! Amazon Bedrock for [ai-proxy](https://docs.rs/ai-proxy), sans-IO:
//!
//! - [`Bedrock`]: the `bedrock` provider. APISIX parity first: a
//!   Converse-shaped client request (`…/converse` with `messages`) goes
//!   through natively to `/model/{model}/converse` (`converse-stream` when
//!   streaming), `stream` and `model` removed, `max_tokens` →
//!   `inferenceConfig.maxTokens`; Anthropic-on-Bedrock `InvokeModel` bodies
//!   pass through to `/model/{model}/invoke[-with-response-stream]`.
//! - [`OpenAiToConverse`]: OpenAI chat clients → Converse, with
//!   [`ConverseToChat`] turning responses, event streams and Bedrock errors
//!   back into chat completions, chunks and OpenAI error objects.
//! - [`sigv4`]: AWS Signature Version 4, the caller passing the wall clock;
//!   every request is signed last, over its final body and headers.
//! - [`eventstream`]: the `application/vnd.amazon.eventstream` decoder
//!   (both CRCs verified, bounded, incremental) and encoder;
//!   [`EventStreamFraming`] plugs it into the core exchange so passthrough
//!   streams are metered (`metadata.usage` with cache tokens, InvokeModel's
//!   `invocationMetrics`) and converted ones translated.
//! - [`exception_status`]: Bedrock error types → HTTP statuses, hence the
//!   fallback classes of `ai-proxy-multi` (throttling = 429).
//!
//! No I/O, no clock, no environment: credentials come from `auth.aws`, the
//! time from the caller.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod adapter;
mod converse;
pub mod eventstream;
mod exceptions;
mod framing;
mod json;
pub mod sigv4;

pub use adapter::{Bedrock, SIGNING_SERVICE, escape_model};
pub use converse::{ConverseToChat, MAX_STREAM_TOOL_CALLS, OpenAiToConverse};
pub use exceptions::exception_status;
pub use framing::{EVENT_STREAM_CONTENT_TYPE, EventStreamFrames, EventStreamFraming};
