//! # ai-proxy-bedrock
//!
//! Amazon Bedrock for [ai-proxy](https://docs.rs/ai-proxy).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod eventstream;
pub mod sigv4;
