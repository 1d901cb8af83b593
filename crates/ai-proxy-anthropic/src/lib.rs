//! # ai-proxy-anthropic
//!
//! Everything Anthropic for [ai-proxy](https://docs.rs/ai-proxy): the
//! `anthropic` provider's adapters and Anthropic Messages both ways.
//!
//! - [`Anthropic`]: the provider's default adapter — Anthropic's
//!   OpenAI-compatible chat endpoint for OpenAI clients, the native
//!   Messages API for Anthropic clients; [`AnthropicNative`]: the
//!   native-only variant for routes whose `override.endpoint` ends in
//!   [`MESSAGES_PATH`].
//! - [`AnthropicToOpenAi`]: Anthropic clients (`/v1/messages`) → any
//!   OpenAI-chat provider, field by field as Apache APISIX's
//!   `anthropic-messages-to-openai-chat` converter; responses and SSE come
//!   back as Anthropic `message` / `message_start` … `message_stop`
//!   through [`ChatToMessages`].
//! - [`OpenAiToAnthropic`]: OpenAI chat clients → Anthropic's native
//!   Messages API ([`AnthropicNative`]); responses and SSE come back as
//!   `chat.completion` / `chat.completion.chunk` through
//!   [`MessagesToChat`].
//!
//! Everything is sans-IO: converters take body bytes and return body
//! bytes; translators are state machines fed one decoded SSE event at a
//! time, with bounded state and no panics on any input (malformed events
//! are skipped and counted, see `skipped_events`). JSON is read into
//! borrowed typed structs; text passes through as raw JSON string tokens.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod anthropic_to_openai;
mod compat;
mod native;
mod openai_to_anthropic;
mod tool_names;

pub use anthropic_to_openai::{AnthropicToOpenAi, ChatToMessages, MAX_STREAM_TOOL_CALLS};
pub use compat::Anthropic;
pub use native::{ANTHROPIC_HOST, AnthropicNative, MESSAGES_PATH};
pub use openai_to_anthropic::{
    ANTHROPIC_VERSION, DEFAULT_MAX_TOKENS, MAX_STREAM_TOOL_USES, MessagesToChat, OpenAiToAnthropic,
};
pub use tool_names::{MAX_TOOL_NAME_LEN, ToolNameMap, is_valid_tool_name, sanitize_tool_name};
