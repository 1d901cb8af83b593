//! # ai-proxy-gemini
//!
//! Google's native Gemini API for [ai-proxy](https://docs.rs/ai-proxy):
//! `generateContent` / `streamGenerateContent` on the Gemini API
//! (`generativelanguage.googleapis.com/v1beta/models`) and on Vertex AI
//! (`…/publishers/google/models`).
//!
//! - [`GeminiNative`]: the switch. `provider: gemini` whose
//!   `override.endpoint` ends in [`MODELS_PATH`] (`/models`) and
//!   `provider: vertex-ai` whose endpoint ends in [`VERTEX_MODELS_PATH`]
//!   (`/publishers/google/models`) speak the native API (no new config
//!   fields): the model goes into the path, `options` into
//!   `generationConfig`, and native Gemini clients
//!   (`…/models/{model}:generateContent`) are forwarded and metered.
//! - [`OpenAiToGemini`]: OpenAI chat clients → native Gemini requests
//!   (roles, parts, tools with a JSON-schema subset, `tool_choice`,
//!   `response_format`, `generationConfig`, `reasoning_effort` →
//!   `thinkingConfig`); responses and SSE come back as `chat.completion` /
//!   `chat.completion.chunk` through [`GeminiToChat`], with thoughts as
//!   `reasoning_content` and `thoughtSignature`s carried in
//!   `extra_content.google.thought_signature` (as Google's own
//!   OpenAI-compatible endpoint does) so the next request puts them back.
//!
//! Everything is sans-IO: the converter takes body bytes and returns body
//! bytes; the translator is a state machine fed one decoded SSE event at a
//! time, with bounded state and no panics on any input (malformed events
//! are skipped and counted, see `skipped_events`). Request JSON is scanned
//! once without a `Value` tree; text passes through as raw JSON string
//! tokens.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod converter;
mod native;
mod options;
mod request;
mod response;

pub use converter::OpenAiToGemini;
pub use native::{GEMINI_HOST, GeminiNative, MODELS_PATH, VERTEX_MODELS_PATH, endpoint_variants};
pub use response::{GeminiToChat, MAX_CANDIDATES, MAX_STREAM_TOOL_CALLS};
