//! # ai-proxy-gateway
//!
//! The runtime layer of [ai-proxy](https://docs.rs/ai-proxy), as quinn is
//! to quinn-proto: the SDK decides, this crate moves the bytes.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod access_log;
pub mod body;
pub mod config;
pub mod gateway;
pub mod gcp;
pub mod logs;
pub mod multi;
pub mod proxy;
pub mod relay;
pub mod routes;
pub mod send;
pub mod upstream;
