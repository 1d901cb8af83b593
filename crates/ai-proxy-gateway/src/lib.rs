//! # ai-proxy-gateway
//!
//! The runtime layer of [ai-proxy](https://docs.rs/ai-proxy), as quinn is
//! to quinn-proto: the SDK decides, this crate moves the bytes.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
