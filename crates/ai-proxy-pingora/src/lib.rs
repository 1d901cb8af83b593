//! # ai-proxy-pingora
//!
//! [ai-proxy](https://docs.rs/ai-proxy) inside Cloudflare's
//! [Pingora](https://github.com/cloudflare/pingora): [`AiProxyService`]
//! implements Pingora's `ProxyHttp` with the SDK's `prepare`, `Exchange`
//! and `ai-proxy-multi` balancer, and the routes, access log and typed
//! failures of [`ai_proxy_gateway`] — Pingora owns the sockets, the
//! connection pool and TLS (rustls), the SDK decides everything else.
//!
//! The hooks, in the order Pingora calls them:
//!
//! - `request_filter` matches the route on the head (404 and a declared
//!   `Content-Length` over the route's limit are answered before any body
//!   byte is read), reads the body under the route's `max_req_body_size`,
//!   the client body timeout and the gateway's in-flight body budget (503
//!   past `max_inflight_body_bytes`), and picks the `ai-proxy-multi`
//!   instance;
//! - `upstream_peer` calls `prepare` for the picked instance and returns its
//!   peer: address, TLS and SNI from the prepared URI, timeouts and
//!   certificate checks from `ClientHints`;
//! - `upstream_request_filter` writes the prepared head — only the headers
//!   `prepare` produced, so client credentials never reach the upstream;
//! - `request_body_filter` sends the prepared body. Pingora 0.9 replays a
//!   body read this early to each attempt only from its 64 KiB retry
//!   buffer, so a larger request goes through Pingora as a bodiless
//!   subrequest of itself (the same hooks, with the request's context),
//!   whose `request_body_filter` emits the prepared body on every attempt;
//! - `upstream_response_filter` feeds the balancer (passive health, and a
//!   fallback to the next instance, e.g. on 429, before any byte reaches
//!   the client); `response_filter` / `response_body_filter` drive the
//!   `Exchange` (passthrough, or a converted stream; a stream cut by
//!   `max_stream_duration_ms` gets the gateway's error event first, the cut
//!   following at the next upstream chunk);
//! - `fail_to_connect` / `error_while_proxy` / `fail_to_proxy` turn
//!   Pingora's errors into the gateway's [`AttemptFailure`] and
//!   [`Rejection`] — same statuses, same bodies, same fallbacks;
//! - `logging` ends the gateway's access record (tokens, model, instance,
//!   upstream, 499 for a client that left).
//!
//! ```no_run
//! use ai_proxy_gateway::{Gateway, config::Document};
//! use ai_proxy_pingora::AiProxyService;
//! use pingora::server::Server;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let doc = Document::parse(&std::fs::read_to_string("gateway.yaml")?)?;
//! let service = AiProxyService::new(Gateway::from_document(&doc)?)?;
//! let mut server = Server::new(None)?;
//! server.bootstrap();
//! let mut proxy = pingora::proxy::http_proxy_service(&server.configuration, service);
//! proxy.add_tcp("127.0.0.1:9080");
//! server.add_service(proxy);
//! server.run_forever();
//! # }
//! ```
//!
//! [`AttemptFailure`]: ai_proxy_gateway::AttemptFailure
//! [`Rejection`]: ai_proxy_gateway::Rejection
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod bodiless;
mod ctx;
mod failure;
mod request;
mod response;
mod service;
mod upstream;

pub use ctx::RequestCtx;
pub use service::{AiProxyService, ServiceError};
