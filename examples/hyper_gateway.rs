//! A minimal AI gateway on hyper: one `ai-proxy` route, the SDK deciding
//! everything, this file only moving bytes and reading the clock.
//!
//! ```sh
//! OPENAI_KEY=sk-... cargo run --example hyper_gateway
//! curl localhost:8080/v1/chat/completions -H 'content-type: application/json' \
//!   -d '{"messages":[{"role":"user","content":"hi"}],"stream":true}'
//! ```
//!
//! `UPSTREAM` overrides the endpoint (e.g. the demo upstreams
//! `ai-proxy serve --demo` prints, with any `OPENAI_KEY`). The response
//! body is the gateway crate's relay driver, which keeps the route's
//! `timeout` between upstream reads and `max_stream_duration_ms`, and aborts
//! the client's response when the upstream's is cut short. `ai-proxy serve`
//! (the `ai-proxy-gateway` crate) shows the rest: routes, per-route client
//! settings, fallback, limits and access logs.

use std::convert::Infallible;
use std::time::Instant;

use ai_proxy::config::AiProxyConfig;
use ai_proxy::{AiProxy, Exchange, Prepared};
use ai_proxy_gateway::{Deadlines, RelayError, relay};
use bytes::Bytes;

use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, RelayError>;
type HttpsClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let whole = Full::new(body.into()).map_err(|never: Infallible| match never {});
    let mut r = Response::new(whole.boxed_unsync());
    *r.status_mut() = status;
    r
}

async fn handle(proxy: &AiProxy, client: &HttpsClient, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return text(StatusCode::BAD_REQUEST, "cannot read body");
    };
    // 1. Prepare: protocol detection, options, auth, endpoint, header policy.
    let prepared = match proxy.prepare(Request::from_parts(parts, body), Instant::now(), None) {
        Ok(p) => p,
        Err(e) => return text(e.status(), e.body()),
    };
    let Prepared {
        upstream,
        context,
        hints,
        translator,
        ..
    } = prepared;
    let (up_parts, up_body) = upstream.into_parts();
    let upstream = match client
        .request(Request::from_parts(up_parts, Full::new(up_body)))
        .await
    {
        Ok(r) => r,
        Err(e) => return text(StatusCode::BAD_GATEWAY, format!("upstream: {e}")),
    };
    // 2. Observe: the exchange decides streaming, limits, translation.
    let mut exchange = Exchange::new(context, translator);
    let head = match exchange.on_head(upstream.status(), upstream.headers(), Instant::now()) {
        Ok(h) => h,
        Err(e) => return text(e.status(), e.client_body()),
    };
    let content_type = head
        .content_type
        .clone()
        .or_else(|| upstream.headers().get("content-type").cloned());
    // The relay pulls the upstream body through the exchange as the client
    // reads; dropping it (the client went away) cancels the upstream.
    let body = relay(
        upstream.into_body(),
        exchange,
        Deadlines::read(hints.timeout),
    )
    .on_end(|report| {
        // 3. Report: APISIX variables for the access log.
        let vars: Vec<String> = report
            .metrics
            .vars()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!("{}", vars.join(" "));
    });
    let mut response = Response::new(body.boxed_unsync());
    *response.status_mut() = head.status;
    if let Some(ct) = content_type {
        response.headers_mut().insert("content-type", ct);
    }
    response
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = std::env::var("OPENAI_KEY").unwrap_or_else(|_| "sk-demo-openai".to_owned());
    let endpoint =
        std::env::var("UPSTREAM").unwrap_or_else(|_| "https://api.openai.com".to_owned());
    let config = AiProxyConfig::from_json(
        &serde_json::json!({
            "provider": "openai",
            "auth": {"header": {"Authorization": format!("Bearer {key}")}},
            "options": {"model": "gpt-4o-mini"},
            "override": {"endpoint": endpoint},
        })
        .to_string(),
    )?;
    let proxy: &'static AiProxy =
        Box::leak(Box::new(AiProxy::compile(&config, &ai_proxy::registry())?));
    let client: &'static _ = Box::leak(Box::new(
        Client::builder(TokioExecutor::new()).build(
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_webpki_roots()
                .https_or_http()
                .enable_http1()
                .build(),
        ),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    println!("listening on http://127.0.0.1:8080");
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| async move {
                Ok::<_, Infallible>(handle(proxy, client, req).await)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
