//! # ai-proxy-prompt
//!
//! The AI pipeline plugins APISIX runs next to `ai-proxy`, sans-IO, for
//! [ai-proxy](https://docs.rs/ai-proxy):
//!
//! - request transforms that run on the client body before `prepare`,
//!   each compiled once from its APISIX plugin JSON:
//!   [`PromptTemplate`] (`ai-prompt-template`), [`PromptDecorator`]
//!   (`ai-prompt-decorator`) and [`PromptGuard`] (`ai-prompt-guard`),
//!   composed in APISIX's order by [`PromptPlugins`];
//! - content moderation as an extension point ([`moderation`]): a
//!   [`ContentModerator`](moderation::ContentModerator) reads the request's
//!   text before it is sent upstream and may refuse it with a status and a
//!   message; [`AwsContentModeration`](moderation::AwsContentModeration) is
//!   APISIX's `ai-aws-content-moderation` on it (AWS Comprehend
//!   `DetectToxicContent`, SigV4-signed requests the caller sends).
//!
//! Bodies are bytes in, bytes out: a transform writes only the members it
//! changes and copies every other byte as it came. Nothing here opens a
//! socket or reads a clock: the caller passes the time and moves the
//! bytes.
//!
//! ```
//! use ai_proxy_prompt::PromptPlugins;
//! use bytes::Bytes;
//!
//! let plugins: serde_json::Map<String, serde_json::Value> = serde_json::from_str(r#"{
//!     "ai-prompt-decorator": {"prepend": [{"role": "system", "content": "Answer in French."}]},
//!     "ai-prompt-guard": {"deny_patterns": ["(?i)password"]}
//! }"#).unwrap();
//! let plugins = PromptPlugins::from_plugins(&plugins).unwrap();
//!
//! let body = Bytes::from_static(br#"{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}"#);
//! let out = plugins.apply("/v1/chat/completions", body).unwrap();
//! assert_eq!(
//!     out.body,
//!     r#"{"model":"gpt-4o","messages":[{"role":"system","content":"Answer in French."},{"role":"user","content":"Hi"}]}"#
//! );
//!
//! let denied = plugins
//!     .apply("/v1/chat/completions", Bytes::from_static(br#"{"messages":[{"role":"user","content":"my PASSWORD is"}]}"#))
//!     .unwrap_err();
//! assert_eq!(denied.status(), 400);
//! assert_eq!(denied.body(), r#"{"message":"Request contains prohibited content"}"#);
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod body;
mod conversation;
mod decorator;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod guard;
pub mod moderation;
mod pattern;
mod pipeline;
mod splice;
mod template;

pub use decorator::PromptDecorator;
pub use error::PromptError;
pub use guard::{GuardOutcome, MAX_PATTERN_SIZE, PromptGuard};
pub use pipeline::{PromptPlugins, Transformed};
pub use template::PromptTemplate;
