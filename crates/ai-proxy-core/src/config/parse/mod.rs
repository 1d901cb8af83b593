//! Validation of the APISIX plugin JSON into the [`model`](super::model)
//! types.
//!
//! Configs are small, so they are read into a `serde_json::Value` first and
//! walked by hand: that is what lets every problem carry its JSON path and
//! lets all of them be reported at once, instead of serde's first-error-wins.

mod auth;
mod consumer;
mod moderation;
mod multi;
mod plugin;
mod prompt;
mod rate_limiting;
mod redis;
mod service_account;
mod suggest;
mod upstream;
mod validator;

pub(crate) use consumer::{consumers, key_auth};
pub(crate) use moderation::aws_content_moderation;
pub(crate) use multi::ai_proxy_multi;
pub(crate) use plugin::ai_proxy;
pub(crate) use prompt::{decorator, guard, template};
pub(crate) use rate_limiting::ai_rate_limiting;
pub use service_account::check_service_account;
pub(crate) use validator::Validator;
