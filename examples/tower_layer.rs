//! The SDK as a tower `Layer`: `AiProxyLayer` turns any HTTP client service
//! (`Service<Request<Full<Bytes>>>`) into an AI endpoint that axum can
//! mount. Preparation, auth, limits and usage metering are the SDK's; the
//! inner service only sends bytes; the response body is the gateway
//! crate's relay driver (read timeout, `max_stream_duration_ms`, cut
//! responses aborted).
//!
//! ```sh
//! cargo run -p ai-proxy-cli --release -- serve --demo   # note the "demo upstreams" address
//! UPSTREAM=http://127.0.0.1:PORT cargo run --example tower_layer
//! curl localhost:8081/v1/chat/completions -H 'content-type: application/json' \
//!   -d '{"messages":[{"role":"user","content":"hi"}]}'
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use ai_proxy::config::AiProxyConfig;
use ai_proxy::{AiProxy, Exchange, Prepared};
use ai_proxy_gateway::{Deadlines, relay};
use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{Layer, Service, ServiceExt};

/// Wraps an HTTP client service with one compiled `ai-proxy` config.
#[derive(Clone)]
pub struct AiProxyLayer {
    proxy: Arc<AiProxy>,
}

impl<S> Layer<S> for AiProxyLayer {
    type Service = AiProxyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AiProxyService {
            proxy: Arc::clone(&self.proxy),
            inner,
        }
    }
}

/// The layered service: client request in, provider response out.
#[derive(Clone)]
pub struct AiProxyService<S> {
    proxy: Arc<AiProxy>,
    inner: S,
}

fn error(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Body::from(body.into()));
    *r.status_mut() = status;
    r
}

impl<S, B> Service<Request<Body>> for AiProxyService<S>
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: std::fmt::Display,
    S::Future: Send,
    B: hyper::body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let proxy = Arc::clone(&self.proxy);
        let inner = self.inner.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
                return Ok(error(StatusCode::BAD_REQUEST, "cannot read body"));
            };
            let prepared =
                match proxy.prepare(Request::from_parts(parts, body), Instant::now(), None) {
                    Ok(p) => p,
                    Err(e) => return Ok(error(e.status(), e.body())),
                };
            let Prepared {
                upstream,
                context,
                hints,
                translator,
                ..
            } = prepared;
            let (up_parts, up_body) = upstream.into_parts();
            let upstream = match inner
                .oneshot(Request::from_parts(up_parts, Full::new(up_body)))
                .await
            {
                Ok(r) => r,
                Err(e) => return Ok(error(StatusCode::BAD_GATEWAY, format!("upstream: {e}"))),
            };
            let mut exchange = Exchange::new(context, translator);
            let head = match exchange.on_head(upstream.status(), upstream.headers(), Instant::now())
            {
                Ok(h) => h,
                Err(e) => return Ok(error(e.status(), e.client_body())),
            };
            let content_type = head
                .content_type
                .clone()
                .or_else(|| upstream.headers().get(http::header::CONTENT_TYPE).cloned());
            // Relay chunk by chunk through the exchange as the client reads;
            // log the metrics at the end.
            let body = relay(
                upstream.into_body(),
                exchange,
                Deadlines::read(hints.timeout),
            )
            .on_end(|report| {
                let m = report.metrics;
                println!(
                    "model={} prompt_tokens={} completion_tokens={}",
                    m.var("llm_model").unwrap_or_default(),
                    m.var("llm_prompt_tokens").unwrap_or_default(),
                    m.var("llm_completion_tokens").unwrap_or_default()
                );
            });
            let mut response = Response::new(Body::new(body));
            *response.status_mut() = head.status;
            if let Some(ct) = content_type {
                response
                    .headers_mut()
                    .insert(http::header::CONTENT_TYPE, ct);
            }
            Ok(response)
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = std::env::var("UPSTREAM").unwrap_or_else(|_| "http://127.0.0.1:9999".to_owned());
    let config = AiProxyConfig::from_json(
        &serde_json::json!({
            "provider": "openai",
            "auth": {"header": {"Authorization": "Bearer sk-demo-openai"}},
            "override": {"endpoint": endpoint},
        })
        .to_string(),
    )?;
    let layer = AiProxyLayer {
        proxy: Arc::new(AiProxy::compile(&config, &ai_proxy::registry())?),
    };
    // Any HTTP client service works as the inner service; hyper-util's here.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let app = axum::Router::new().route_service("/v1/chat/completions", layer.layer(client));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
    println!("listening on http://127.0.0.1:8081");
    axum::serve(listener, app).await?;
    Ok(())
}
