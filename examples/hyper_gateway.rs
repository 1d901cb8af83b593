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
//! `ai-proxy serve --demo` prints, with any `OPENAI_KEY`). `ai-proxy serve`
//! shows the rest: per-route client settings, fallback and access logs.

use std::convert::Infallible;
use std::time::Instant;

use ai_proxy::config::AiProxyConfig;
use ai_proxy::{AiProxy, Exchange};
use bytes::Bytes;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::mpsc;

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;
type HttpsClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed());
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
    let (up_parts, up_body) = prepared.upstream.into_parts();
    let upstream = match client
        .request(Request::from_parts(up_parts, Full::new(up_body)))
        .await
    {
        Ok(r) => r,
        Err(e) => return text(StatusCode::BAD_GATEWAY, format!("upstream: {e}")),
    };
    // 2. Observe: the exchange decides streaming, limits, translation.
    let mut exchange = Exchange::new(prepared.context, prepared.translator);
    let head = match exchange.on_head(upstream.status(), upstream.headers(), Instant::now()) {
        Ok(h) => h,
        Err(e) => return text(e.status(), e.client_body()),
    };
    let content_type = head
        .content_type
        .clone()
        .or_else(|| upstream.headers().get("content-type").cloned());
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        let mut body = upstream.into_body();
        while let Some(Ok(frame)) = body.frame().await {
            let Ok(chunk) = frame.into_data() else {
                continue;
            };
            match exchange.on_body(chunk, Instant::now()) {
                Ok(out) if out.is_empty() => {}
                Ok(out) => {
                    if tx.send(out).await.is_err() {
                        break; // client went away: dropping `body` cancels upstream
                    }
                }
                Err(_) => break,
            }
        }
        if let Ok(last) = exchange.on_eof(Instant::now())
            && !last.is_empty()
        {
            let _ = tx.send(last).await;
        }
        // 3. Report: APISIX variables for the access log.
        let metrics = exchange.finish(Instant::now());
        let vars: Vec<String> = metrics
            .vars()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!("{}", vars.join(" "));
    });
    let mut response = Response::new(ChannelBody(rx).boxed());
    *response.status_mut() = head.status;
    if let Some(ct) = content_type {
        response.headers_mut().insert("content-type", ct);
    }
    response
}

/// The relayed body: whatever the relay task sends, until it hangs up.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
    }
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
