//! `GET /metrics` on its own listener (APISIX's `export_addr`), and the
//! values read at scrape time (instance health).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::GatewayMetrics;
use crate::routes::Target;
use crate::shared::Shared;

/// The text format's content type (what APISIX and nginx-lua-prometheus
/// serve).
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A scrape connection's time to send its request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Scrape connections served at once; more wait in the backlog.
const MAX_SCRAPERS: usize = 16;

/// The metrics in the text format, as `GET /metrics` serves them; `None`
/// when metrics are not collected.
pub(crate) fn render(inner: &Shared) -> Option<String> {
    let metrics = inner.metrics.as_deref()?;
    refresh_health(inner, metrics);
    Some(metrics.render(crate::logs::dropped_lines()))
}

/// Sets `ai_proxy_instance_healthy` from each balancer's view now.
fn refresh_health(inner: &Shared, metrics: &GatewayMetrics) {
    let now = Instant::now();
    for route in inner.routes.routes() {
        let Target::Multi(multi) = &route.target else {
            continue;
        };
        let balancer = multi.multi.balancer();
        for id in balancer.instances() {
            let (Some(name), Some(health)) = (balancer.instance_name(id), balancer.health(id, now))
            else {
                continue;
            };
            let labels = super::series::Key([
                ("route_id", super::series::text(&route.id)),
                ("instance", super::series::text(name)),
            ]);
            metrics
                .instance_healthy
                .get_or_create_owned(&labels)
                .set(i64::from(health.healthy));
        }
    }
}

/// Serves `GET /metrics` on `listener` (HTTP/1.1) until dropped.
pub(crate) async fn serve(shared: Arc<Shared>, listener: TcpListener) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_SCRAPERS));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let response = answer(&shared, &request);
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(slot);
        });
    }
}

fn answer(shared: &Shared, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => match render(shared) {
            Some(text) => (StatusCode::OK, CONTENT_TYPE, Bytes::from(text)),
            None => (
                StatusCode::NOT_FOUND,
                "text/plain",
                Bytes::from_static(b"metrics are not collected\n"),
            ),
        },
        (_, "/metrics") => (
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            Bytes::from_static(b"GET /metrics\n"),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            Bytes::from_static(b"metrics are at GET /metrics\n"),
        ),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}
