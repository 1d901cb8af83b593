//! Relaying the upstream body through the SDK's exchange: small bodies
//! whole, streams chunk by chunk from a task.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_proxy::core::exchange::{Exchange, ResponseHead};
use bytes::Bytes;
use http::header::{self, HeaderMap};
use http::{Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::{mpsc, oneshot};

use crate::access_log::AccessLog;
use crate::body::{RelayBody, respond};
use crate::send::UpstreamHead;

/// Non-streaming bodies up to this size are read whole before answering.
const INLINE_BODY: u64 = 256 * 1024;

/// What the relay task tells the handler first.
enum First {
    /// Send the head with this first chunk (possibly empty), then stream.
    Start(Bytes),
    /// Nothing was sent: answer this instead (status, content type, body).
    Fail(StatusCode, &'static str, String),
}

/// Relays the upstream body through the exchange. The response head goes
/// out with the first bytes the exchange releases, so limit errors that
/// happen before any output can still become a proper status.
pub(crate) async fn relay(up: UpstreamHead, log: AccessLog) -> Response<RelayBody> {
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
        Ok(First::Fail(status, content_type, message)) => respond(status, content_type, message),
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
                    "text/plain",
                    "upstream read timed out".to_owned(),
                ));
            }
            Ok(Some(Err(e))) => {
                break Some((
                    StatusCode::BAD_GATEWAY,
                    "text/plain",
                    format!("upstream body error: {e}"),
                ));
            }
            Ok(Some(Ok(frame))) => {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                match exchange.on_body(data, Instant::now()) {
                    Ok(chunk) => out.extend_from_slice(&chunk),
                    Err(e) => break Some((e.status(), e.content_type(), e.client_body())),
                }
            }
            Ok(None) => match exchange.on_eof(Instant::now()) {
                Ok(last) => {
                    out.extend_from_slice(&last);
                    break None;
                }
                Err(e) => break Some((e.status(), e.content_type(), e.client_body())),
            },
        }
    };
    let metrics = exchange.finish(Instant::now());
    log.finish_relayed(
        metrics,
        &instance,
        failure.as_ref().map(|(_, _, m)| m.as_str()),
        false,
    );
    if let Some((status, content_type, message)) = failure {
        return respond(status, content_type, message);
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
    // Tells the handler the relay failed, while it still waits for the
    // first chunk (later, the client already has the head).
    fn fail_first(
        first_tx: &mut Option<oneshot::Sender<First>>,
        status: StatusCode,
        content_type: &'static str,
        body: String,
    ) {
        if let Some(f) = first_tx.take() {
            let _ = f.send(First::Fail(status, content_type, body));
        }
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
                                fail_first(&mut first_tx, e.status(), e.content_type(), e.client_body());
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
                fail_first(
                    &mut first_tx,
                    StatusCode::GATEWAY_TIMEOUT,
                    "text/plain",
                    "upstream read timed out".to_owned(),
                );
                break;
            }
            Ok(None) => match exchange.on_eof(now) {
                Ok(last) => {
                    client_gone = !deliver(last, &mut first_tx, &tx).await;
                    break;
                }
                Err(e) => {
                    abort = Some(e.to_string());
                    fail_first(&mut first_tx, e.status(), e.content_type(), e.client_body());
                    break;
                }
            },
            Ok(Some(Err(e))) => {
                abort = Some(format!("upstream body error: {e}"));
                fail_first(
                    &mut first_tx,
                    StatusCode::BAD_GATEWAY,
                    "text/plain",
                    format!("upstream body error: {e}"),
                );
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
                        fail_first(&mut first_tx, e.status(), e.content_type(), e.client_body());
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
