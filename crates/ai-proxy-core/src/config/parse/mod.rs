//! Validation of the APISIX plugin JSON into the [`model`](super::model)
//! types.
//!
//! Configs are small, so they are read into a `serde_json::Value` first and
//! walked by hand: that is what lets every problem carry its JSON path and
//! lets all of them be reported at once, instead of serde's first-error-wins.

mod auth;
mod multi;
mod plugin;
mod service_account;
mod suggest;
mod upstream;
mod validator;

pub(crate) use multi::ai_proxy_multi;
pub(crate) use plugin::ai_proxy;
pub use service_account::check_service_account;
pub(crate) use validator::Validator;
