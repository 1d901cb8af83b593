//! One client request through the gateway: read the body, match a route,
//! prepare with the SDK, send upstream (with fallback for ai-proxy-multi),
//! relay the response through the SDK's exchange, log one access line.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ai_proxy::core::exchange::{Exchange, ResponseHead};
use ai_proxy::{AiProxy, Prepared};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use tokio::sync::{mpsc, oneshot};

use super::access_log::AccessLog;
use super::gcp::GcpToken;
use super::multi::MultiRoute;
use super::routes::{Instance, RouteTable, Target};
use super::upstream::Clients;

/// Non-streaming bodies up to this size are read whole before answering.
const INLINE_BODY: u64 = 256 * 1024;

/// Largest upstream error body kept when deciding on a fallback.
const MAX_ERROR_BODY: usize = 1 << 20;

/// Everything a request handler needs, shared by every connection.
#[derive(Debug)]
pub struct Gateway {
    /// The routes.
    pub routes: RouteTable,
    /// Upstream clients.
    pub clients: Clients,
    /// Google access tokens, shared by every `auth.gcp` target.
    pub tokens: std::sync::Mutex<ai_proxy::vertex::TokenCache>,
}

/// The response body type: a first chunk, then whatever the relay task
/// sends; ends when the task drops its sender.
pub struct RelayBody {
    first: Option<Bytes>,
    rx: Option<mpsc::Receiver<Bytes>>,
}

impl RelayBody {
    /// A whole body.
    pub(super) fn full(bytes: Bytes) -> Self {
        Self {
            first: (!bytes.is_empty()).then_some(bytes),
            rx: None,
        }
    }

    /// Whatever `rx` receives, until its sender is dropped.
    pub(super) fn channel(rx: mpsc::Receiver<Bytes>) -> Self {
        Self {
            first: None,
            rx: Some(rx),
        }
    }
}

impl HttpBody for RelayBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        match self.rx.as_mut() {
            None => Poll::Ready(None),
            Some(rx) => rx.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rx.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.first, &self.rx) {
            (Some(b), None) => SizeHint::with_exact(b.len() as u64),
            (None, None) => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<RelayBody> {
    let mut r = Response::new(RelayBody::full(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// APISIX's JSON error body, `{"error_msg": "…"}`.
fn error_msg(message: &str) -> String {
    serde_json::json!({ "error_msg": message }).to_string()
}

fn json_error(status: StatusCode, message: &str) -> Response<RelayBody> {
    respond(status, "application/json", error_msg(message))
}

/// Handles one client request.
pub async fn handle(
    gateway: Arc<Gateway>,
    request: Request<Incoming>,
    remote: SocketAddr,
) -> Result<Response<RelayBody>, Infallible> {
    let start = Instant::now();
    let (parts, body) = request.into_parts();
    let mut log = AccessLog::new(&parts, remote, start);
    let max = gateway.routes.max_body();
    let body = match Limited::new(body, usize::try_from(max).unwrap_or(usize::MAX))
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            let too_large = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let (status, message) = if too_large {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "could not get body: request body is larger than the maximum size {max} allowed"
                    ),
                )
            } else {
                (StatusCode::BAD_REQUEST, format!("could not get body: {e}"))
            };
            let response = json_error(status, &message);
            log.finish_local(status, &message, None);
            return Ok(response);
        }
    };
    let Some(route) = gateway.routes.find(&parts, &body, remote) else {
        let message = format!("no route matches {} {}", parts.method, parts.uri.path());
        log.finish_local(StatusCode::NOT_FOUND, &message, None);
        return Ok(json_error(StatusCode::NOT_FOUND, &message));
    };
    log.route(&route.id);
    let response = match &route.target {
        // One attempt: the client's request moves on whole, uncopied.
        Target::Single(proxy) => single(&gateway, proxy, parts, body, log).await,
        Target::Multi(multi) => multi_attempts(&gateway, multi, &parts, body, remote, log).await,
    };
    Ok(response)
}

/// Rebuilds the client request for one of several attempts (each starts
/// from the original request).
fn client_request(parts: &http::request::Parts, body: Bytes) -> Request<Bytes> {
    let mut r = Request::new(body);
    *r.method_mut() = parts.method.clone();
    *r.uri_mut() = parts.uri.clone();
    *r.version_mut() = parts.version;
    *r.headers_mut() = parts.headers.clone();
    r
}

async fn single(
    gateway: &Gateway,
    instance: &Instance,
    parts: http::request::Parts,
    body: Bytes,
    mut log: AccessLog,
) -> Response<RelayBody> {
    let proxy = &instance.proxy;
    let request = Request::from_parts(parts, body);
    let prepared = match prepare(gateway, proxy, instance.gcp.as_ref(), request).await {
        Ok(p) => p,
        Err(response) => {
            log.finish_local(response.0, &response.2, Some(proxy.instance_name()));
            return respond(response.0, response.1, response.2);
        }
    };
    match send(gateway, prepared, &mut log).await {
        Sent::Head(head) => relay(*head, log).await,
        Sent::Failed(failure) => {
            log.finish_local(
                failure.status,
                &failure.message,
                Some(proxy.instance_name()),
            );
            failure.response()
        }
    }
}

type Rejection = (StatusCode, &'static str, String);

async fn prepare(
    gateway: &Gateway,
    proxy: &AiProxy,
    gcp: Option<&GcpToken>,
    request: Request<Bytes>,
) -> Result<Prepared, Rejection> {
    let token = match gcp {
        None => None,
        Some(gcp) => match gcp.token(&gateway.tokens).await {
            Ok(t) => Some(t),
            Err(e) => {
                return Err((
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "application/json",
                    error_msg(&format!("failed to get gcp access token: {e}")),
                ));
            }
        },
    };
    proxy
        .prepare(request, Instant::now(), token.as_ref())
        .map_err(|e| {
            let body = String::from_utf8_lossy(&e.body()).into_owned();
            (e.status(), e.content_type(), body)
        })
}

/// An upstream response head, ready to relay.
struct UpstreamHead {
    response: Response<Incoming>,
    exchange: Exchange,
    head: ResponseHead,
    timeout: Duration,
    instance: Arc<str>,
}

struct Failure {
    status: StatusCode,
    message: String,
    timeout: bool,
    /// APISIX answers limit errors in plain text, its own errors in JSON.
    plain: bool,
}

impl Failure {
    /// Content type and body of the answer: APISIX's limit errors are
    /// plain text, its own errors `{"error_msg": …}`.
    fn body(&self) -> (&'static str, Bytes) {
        if self.plain {
            ("text/plain", Bytes::from(self.message.clone()))
        } else {
            ("application/json", Bytes::from(error_msg(&self.message)))
        }
    }

    /// Status, headers and body of the response this failure becomes.
    fn parts(&self) -> (StatusCode, HeaderMap, Bytes) {
        let (content_type, body) = self.body();
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        (self.status, headers, body)
    }

    fn response(&self) -> Response<RelayBody> {
        let (content_type, body) = self.body();
        respond(self.status, content_type, body)
    }
}

enum Sent {
    Head(Box<UpstreamHead>),
    Failed(Failure),
}

/// Sends a prepared request and waits (within `timeout`) for the head.
async fn send(gateway: &Gateway, prepared: Prepared, log: &mut AccessLog) -> Sent {
    let Prepared {
        upstream,
        context,
        hints,
        translator,
        ..
    } = prepared;
    let instance = context.instance_name.clone();
    let provider = context.provider;
    log.context(&context);
    let host = upstream
        .uri()
        .authority()
        .map(|a| a.to_string())
        .unwrap_or_default();
    log.upstream(&host);
    let client = match gateway.clients.get(hints) {
        Ok(c) => c,
        Err(message) => {
            return Sent::Failed(Failure {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message,
                timeout: false,
                plain: false,
            });
        }
    };
    let (up_parts, up_body) = upstream.into_parts();
    let request = Request::from_parts(up_parts, Full::new(up_body));
    let result = tokio::time::timeout(hints.timeout, client.request(request)).await;
    let response = match result {
        Err(_) => {
            return Sent::Failed(Failure {
                status: StatusCode::GATEWAY_TIMEOUT,
                message: format!(
                    "upstream {host} did not answer within {} ms (timeout); raise `timeout` \
                     (default 30000) or use streaming for long completions",
                    hints.timeout.as_millis()
                ),
                timeout: true,
                plain: false,
            });
        }
        Ok(Err(e)) => {
            let cause = std::error::Error::source(&e)
                .map(|s| s.to_string())
                .unwrap_or_else(|| e.to_string());
            let timeout = cause.contains("timed out") || cause.contains("timeout");
            return Sent::Failed(Failure {
                status: if timeout {
                    StatusCode::GATEWAY_TIMEOUT
                } else {
                    StatusCode::BAD_GATEWAY
                },
                message: format!(
                    "cannot reach upstream {host} for provider {provider}: {cause}; check that \
                     `provider` matches your API and that override.endpoint is right"
                ),
                timeout,
                plain: false,
            });
        }
        Ok(Ok(r)) => r,
    };
    let now = Instant::now();
    let mut exchange = Exchange::new(context, translator);
    match exchange.on_head(response.status(), response.headers(), now) {
        Ok(head) => Sent::Head(Box::new(UpstreamHead {
            response,
            exchange,
            head,
            timeout: hints.timeout,
            instance,
        })),
        Err(e) => {
            let metrics = exchange.finish(now);
            log.metrics(&metrics);
            Sent::Failed(Failure {
                status: e.status(),
                message: e.client_body(),
                timeout: false,
                plain: true,
            })
        }
    }
}

/// What the relay task tells the handler first.
enum First {
    /// Send the head with this first chunk (possibly empty), then stream.
    Start(Bytes),
    /// Nothing was sent: answer this instead.
    Fail(StatusCode, String),
}

/// Relays the upstream body through the exchange. The response head goes
/// out with the first bytes the exchange releases, so limit errors that
/// happen before any output can still become a proper status.
async fn relay(up: UpstreamHead, log: AccessLog) -> Response<RelayBody> {
    let UpstreamHead {
        response,
        exchange,
        head,
        timeout,
        instance,
    } = up;
    let (parts, body) = response.into_parts();
    let small = !head.streaming
        && parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n <= INLINE_BODY);
    if small {
        return relay_inline(parts, body, exchange, head, timeout, log, instance).await;
    }
    let (first_tx, first_rx) = oneshot::channel();
    let (tx, rx) = mpsc::channel::<Bytes>(32);
    tokio::spawn(relay_task(
        body, exchange, timeout, first_tx, tx, log, instance,
    ));
    match first_rx.await {
        Ok(First::Start(first)) => {
            let mut response = Response::new(RelayBody {
                first: (!first.is_empty()).then_some(first),
                rx: Some(rx),
            });
            *response.status_mut() = head.status;
            copy_response_headers(&parts.headers, response.headers_mut(), &head);
            response
        }
        Ok(First::Fail(status, message)) => respond(status, "text/plain", message),
        Err(_) => respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            "relay task ended",
        ),
    }
}

/// A small non-streaming body (known length ≤ [`INLINE_BODY`]) is read
/// here and answered whole: one write to the client, no relay task.
async fn relay_inline(
    parts: http::response::Parts,
    mut body: Incoming,
    mut exchange: Exchange,
    head: ResponseHead,
    timeout: Duration,
    log: AccessLog,
    instance: Arc<str>,
) -> Response<RelayBody> {
    let mut out = bytes::BytesMut::new();
    let failure = loop {
        match tokio::time::timeout(timeout, body.frame()).await {
            Err(_) => {
                break Some((
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream read timed out".to_owned(),
                ));
            }
            Ok(Some(Err(e))) => {
                break Some((StatusCode::BAD_GATEWAY, format!("upstream body error: {e}")));
            }
            Ok(Some(Ok(frame))) => {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                match exchange.on_body(data, Instant::now()) {
                    Ok(chunk) => out.extend_from_slice(&chunk),
                    Err(e) => break Some((e.status(), e.client_body())),
                }
            }
            Ok(None) => match exchange.on_eof(Instant::now()) {
                Ok(last) => {
                    out.extend_from_slice(&last);
                    break None;
                }
                Err(e) => break Some((e.status(), e.client_body())),
            },
        }
    };
    let metrics = exchange.finish(Instant::now());
    log.finish_relayed(
        metrics,
        &instance,
        failure.as_ref().map(|(_, m)| m.as_str()),
        false,
    );
    if let Some((status, message)) = failure {
        return respond(status, "text/plain", message);
    }
    let mut response = Response::new(RelayBody::full(out.freeze()));
    *response.status_mut() = head.status;
    copy_response_headers(&parts.headers, response.headers_mut(), &head);
    response
}

/// Upstream response headers minus hop-by-hop ones; `Content-Type`
/// replaced and `Content-Length` dropped when the body is rewritten.
fn copy_response_headers(from: &HeaderMap, to: &mut HeaderMap, head: &ResponseHead) {
    const HOP: [&str; 8] = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authenticate",
    ];
    for (name, value) in from {
        if HOP.contains(&name.as_str()) {
            continue;
        }
        if head.rewritten && name == header::CONTENT_LENGTH {
            continue;
        }
        to.append(name.clone(), value.clone());
    }
    if let Some(ct) = &head.content_type {
        to.insert(header::CONTENT_TYPE, ct.clone());
    }
}

async fn relay_task(
    mut body: Incoming,
    mut exchange: Exchange,
    timeout: Duration,
    first_tx: oneshot::Sender<First>,
    tx: mpsc::Sender<Bytes>,
    log: AccessLog,
    instance: Arc<str>,
) {
    let mut first_tx = Some(first_tx);
    let mut client_gone = false;
    let mut abort: Option<String> = None;
    // Sends `bytes` to the client; false when the client went away.
    async fn deliver(
        bytes: Bytes,
        first_tx: &mut Option<oneshot::Sender<First>>,
        tx: &mpsc::Sender<Bytes>,
    ) -> bool {
        if let Some(f) = first_tx.take() {
            return f.send(First::Start(bytes)).is_ok();
        }
        if bytes.is_empty() {
            return true;
        }
        tx.send(bytes).await.is_ok()
    }
    loop {
        let deadline = exchange.poll_timeout();
        let read = tokio::time::timeout(timeout, body.frame());
        let frame = match deadline {
            Some(at) => {
                tokio::select! {
                    f = read => f,
                    () = tokio::time::sleep_until(at.into()) => {
                        match exchange.on_timeout(Instant::now()) {
                            Ok(()) => continue,
                            Err(e) => {
                                abort = Some(e.to_string());
                                if let Some(f) = first_tx.take() {
                                    let _ = f.send(First::Fail(e.status(), e.client_body()));
                                }
                                break;
                            }
                        }
                    }
                }
            }
            None => read.await,
        };
        let now = Instant::now();
        match frame {
            Err(_) => {
                abort = Some(format!(
                    "upstream read timed out after {} ms",
                    timeout.as_millis()
                ));
                if let Some(f) = first_tx.take() {
                    let _ = f.send(First::Fail(
                        StatusCode::GATEWAY_TIMEOUT,
                        "upstream read timed out".to_owned(),
                    ));
                }
                break;
            }
            Ok(None) => match exchange.on_eof(now) {
                Ok(last) => {
                    client_gone = !deliver(last, &mut first_tx, &tx).await;
                    break;
                }
                Err(e) => {
                    abort = Some(e.to_string());
                    if let Some(f) = first_tx.take() {
                        let _ = f.send(First::Fail(e.status(), e.client_body()));
                    }
                    break;
                }
            },
            Ok(Some(Err(e))) => {
                abort = Some(format!("upstream body error: {e}"));
                if let Some(f) = first_tx.take() {
                    let _ = f.send(First::Fail(
                        StatusCode::BAD_GATEWAY,
                        format!("upstream body error: {e}"),
                    ));
                }
                break;
            }
            Ok(Some(Ok(frame))) => {
                let Ok(data) = frame.into_data() else {
                    continue; // trailers
                };
                match exchange.on_body(data, now) {
                    Ok(out) => {
                        if !deliver(out, &mut first_tx, &tx).await {
                            client_gone = true;
                            break;
                        }
                    }
                    Err(e) => {
                        abort = Some(e.to_string());
                        if let Some(f) = first_tx.take() {
                            let _ = f.send(First::Fail(e.status(), e.client_body()));
                        }
                        break;
                    }
                }
            }
        }
    }
    // Dropping `body` here cancels the upstream request when we stop early.
    drop(body);
    drop(tx);
    let now = Instant::now();
    let metrics = exchange.finish(now);
    log.finish_relayed(metrics, &instance, abort.as_deref(), client_gone);
}

/// `ai-proxy-multi`: pick, attempt, and fall back per the balancer.
async fn multi_attempts(
    gateway: &Gateway,
    multi: &MultiRoute,
    parts: &http::request::Parts,
    body: Bytes,
    remote: SocketAddr,
    mut log: AccessLog,
) -> Response<RelayBody> {
    let remote_ip = remote.ip().to_string();
    let keys = multi.keys(parts, &remote_ip);
    let mut attempt = match multi.balancer().pick(&keys, Instant::now()) {
        Ok(a) => a,
        Err(e) => {
            let message = e.to_string();
            log.finish_local(e.status(), &message, None);
            return json_error(e.status(), &message);
        }
    };
    let mut last_error: Option<(StatusCode, HeaderMap, Bytes)> = None;
    loop {
        let Some((proxy, gcp)) = multi.instance(&attempt) else {
            return json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "picked instance has no proxy",
            );
        };
        let name = proxy.instance_name().to_owned();
        log.attempt(&name);
        let request = client_request(parts, body.clone());
        let prepared = match prepare(gateway, proxy, gcp, request).await {
            Ok(p) => p,
            Err((status, ct, message)) => {
                log.finish_local(status, &message, Some(&name));
                return respond(status, ct, message);
            }
        };
        let (outcome, head) = match send(gateway, prepared, &mut log).await {
            Sent::Failed(f) => {
                last_error = Some(f.parts());
                (
                    ai_proxy::multi::Outcome::Transport { timeout: f.timeout },
                    None,
                )
            }
            Sent::Head(head) => {
                let status = head.response.status();
                if multi.balancer().may_fall_back(&attempt, status.as_u16()) {
                    // Read the error body whole before deciding (APISIX's error path).
                    let (p, b) = head.response.into_parts();
                    let bytes = Limited::new(b, MAX_ERROR_BODY)
                        .collect()
                        .await
                        .map(|c| c.to_bytes())
                        .unwrap_or_default();
                    last_error = Some((status, p.headers, bytes));
                    (ai_proxy::multi::Outcome::Status(status.as_u16()), None)
                } else {
                    (
                        ai_proxy::multi::Outcome::Status(status.as_u16()),
                        Some(head),
                    )
                }
            }
        };
        // A head is relayed whatever the balancer says (it never retries a
        // delivered attempt); its report still feeds passive health.
        let report = ai_proxy::multi::Report {
            outcome,
            delivered: head.is_some(),
        };
        match multi
            .balancer()
            .on_outcome(attempt, report, &keys, Instant::now())
        {
            ai_proxy::multi::Decision::Retry(next) => {
                attempt = next;
            }
            ai_proxy::multi::Decision::Return(finish) => {
                if let Some(head) = head {
                    return relay(*head, log).await;
                }
                let (status, headers, bytes) =
                    last_error.unwrap_or((StatusCode::BAD_GATEWAY, HeaderMap::new(), Bytes::new()));
                let status = if finish.passes_response_through() {
                    status
                } else {
                    finish.status
                };
                log.finish_local(status, &String::from_utf8_lossy(&bytes), Some(&name));
                let mut r = Response::new(RelayBody::full(bytes));
                *r.status_mut() = status;
                if let Some(ct) = headers.get(header::CONTENT_TYPE) {
                    r.headers_mut().insert(header::CONTENT_TYPE, ct.clone());
                }
                return r;
            }
        }
    }
}
