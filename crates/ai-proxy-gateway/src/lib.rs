//! # ai-proxy-gateway
//!
//! The runtime layer of [ai-proxy](https://docs.rs/ai-proxy), as quinn is
//! to quinn-proto: the SDK decides, this crate moves the bytes. It is what
//! `ai-proxy serve` runs, as a library:
//!
//! - [`config`]: configuration documents (a plugin, an APISIX route, a
//!   config-sync YAML) and route `vars`;
//! - [`Gateway`]: routes matched on `uri`, `methods`, `vars` and
//!   `priority`, the `ai-proxy-multi` attempt loop over the SDK's balancer,
//!   HTTP/1 upstream connection pools (the gateway's own HTTP/1.1 client,
//!   over rustls; per worker on current-thread runtimes) per transport
//!   setting, Vertex AI access tokens, active health checks; served by
//!   [`Gateway::serve`] (or by several workers, each calling
//!   [`Gateway::serve_connections`] on its own runtime and listener) or
//!   mounted as a tower `Service`;
//! - [`relay`](mod@relay): the relay driver, an upstream body pulled through the
//!   SDK's exchange under deadlines — also usable on its own;
//! - [`Settings`]: client timeouts, the connection cap and the in-flight
//!   body budget, with nginx's defaults;
//! - [`plugin`]: the per-route plugin pipeline and its registry, with
//!   [`key_auth`] (consumers) and [`rate_limit`] (`ai-rate-limiting`);
//! - [`access_log`]: one record per request, however it ended;
//! - [`embed`]: the same decisions for proxies that own their connections
//!   (the `ai-proxy-pingora` crate);
//! - [`metrics`]: Prometheus `/metrics` (APISIX's LLM metrics and the
//!   OpenTelemetry GenAI histograms) on [`Settings::metrics_listen`];
//! - `otel` (feature `otel`): the same GenAI metrics and a span per request
//!   over OTLP/HTTP, `traceparent` to the upstream.
//!
//! Client connections are served by the crate's own HTTP/1.1 server
//! (HTTP/2 with prior knowledge by hyper's). Hostile clients and upstreams
//! meet limits everywhere: request heads within the header timeout, under
//! 64 KiB and 100 fields, bodies framed without ambiguity (no
//! `Transfer-Encoding` with `Content-Length`), bodies within the route's
//! `max_req_body_size` (a declared length over it is refused before a byte
//! is read) and the global budget, idle connections closed, connections
//! capped without spinning, truncated upstream responses passed on as
//! aborted client responses, payload logs capped.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use ai_proxy_gateway::{Gateway, Settings};
//! use ai_proxy_gateway::config::Document;
//!
//! let doc = Document::parse(r#"
//! version: "1"
//! routes:
//!   - id: chat
//!     uri: /v1/chat/completions
//!     plugins:
//!       ai-proxy:
//!         provider: openai
//!         auth: {header: {Authorization: "Bearer sk-..."}}
//! "#)?;
//! let gateway = Gateway::builder()
//!     .settings(Settings::default().with_keepalive_timeout(Duration::from_secs(30)))
//!     .build(&doc)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9080").await?;
//! gateway.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod access_log;
mod activity;
mod attempts;
mod body;
mod budget;
pub mod config;
mod deliver;
pub mod embed;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod gateway;
mod gcp;
mod h1;
mod health;
mod hop_by_hop;
mod json_str;
pub mod key_auth;
pub mod logs;
pub mod metrics;
mod moderation;
#[cfg(feature = "otel")]
pub mod otel;
pub mod plugin;
mod pool;
mod prompt;
mod proxy;
pub mod rate_limit;
pub mod relay;
mod request_body;
mod routes;
mod send;
mod server;
mod settings;
mod shared;
mod timer;
mod upstream;

pub use body::GatewayBody;
pub use error::{AttemptFailure, Rejection, TransportCause};
pub use gateway::{ClientAddr, Gateway, GatewayBuilder};
pub use health::HealthChecks;
pub use pool::{Http1Error, TransportError, UpstreamBody};
pub use relay::{Deadlines, ObserveError, Relay, RelayEnd, RelayError, RelayReport, relay};
pub use server::MetricsEndpoint;
pub use settings::{
    DEFAULT_CLIENT_TIMEOUT, DEFAULT_MAX_INFLIGHT_BODY_BYTES, DEFAULT_MAX_LOGGED_PAYLOAD_BYTES,
    DEFAULT_MAX_METRIC_SERIES, Settings, default_max_connections,
};
