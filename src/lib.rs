#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub use ai_proxy_core as core;
pub use ai_proxy_core::config;
pub use ai_proxy_core::secret::Secret;
pub use ai_proxy_core::{Protocol, Provider};
