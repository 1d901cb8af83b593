//! The end of a client request the gateway answers: an upstream answer
//! relayed through the exchange, or a rejection; either way the access
//! record is finished.

use ai_proxy::core::exchange::ResponseHead;
use http::Response;
use http::header::{self, HeaderMap};

use crate::access_log::RequestLog;
use crate::body::{GatewayBody, respond};
use crate::error::Rejection;
use crate::relay::{Deadlines, relay};
use crate::request_body;
use crate::send::Answer;

/// Non-streaming bodies up to this size are read whole before answering
/// (one write to the client, an exact `Content-Length`).
const INLINE_BODY: u64 = 256 * 1024;

/// Answers with the rejection and records it.
pub(crate) fn reject(log: RequestLog, rejection: Rejection) -> Response<GatewayBody> {
    let response = rejection.response();
    log.answered(rejection.status(), rejection.log_message());
    response
}

/// Relays an accepted upstream answer to the client. The head goes out
/// with the exchange's first bytes, so a failure before any output is
/// still answered with a status; a small body goes out whole. `extra`:
/// how many headers the caller adds afterwards (plugins' quota headers),
/// room made for them up front instead of growing the map then.
pub(crate) async fn deliver(
    answer: Answer,
    log: RequestLog,
    extra: usize,
) -> Response<GatewayBody> {
    let Answer {
        response,
        exchange,
        head,
        timeout,
    } = answer;
    let (parts, body) = response.into_parts();
    let small = !head.streaming
        && request_body::declared_length(&parts.headers).is_some_and(|n| n <= INLINE_BODY);
    let mut relay =
        relay(body, exchange, Deadlines::read(timeout)).on_end(move |report| log.relayed(report));
    let body = if small {
        match relay.collect().await {
            Ok(bytes) => GatewayBody::full(bytes),
            Err(e) => return respond(e.status(), e.content_type(), e.client_body()),
        }
    } else {
        if let Err(e) = relay.start().await {
            return respond(e.status(), e.content_type(), e.client_body());
        }
        GatewayBody::relay(relay)
    };
    let mut response = Response::new(body);
    *response.status_mut() = head.status;
    if extra > 0 {
        // Upstream headers, a replaced Content-Type, then the extra ones;
        // past the map's maximum it grows (and refuses) as it would anyway.
        let room = parts.headers.len().saturating_add(1).saturating_add(extra);
        let _ = response.headers_mut().try_reserve(room);
    }
    copy_response_headers(&parts.headers, response.headers_mut(), &head, small);
    response
}

/// Upstream response headers minus hop-by-hop ones; `Content-Type`
/// replaced and `Content-Length` dropped when the body is rewritten (a
/// whole body gets its exact length from the body itself).
fn copy_response_headers(from: &HeaderMap, to: &mut HeaderMap, head: &ResponseHead, whole: bool) {
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
        if (head.rewritten || whole) && name == header::CONTENT_LENGTH {
            continue;
        }
        to.append(name.clone(), value.clone());
    }
    if let Some(ct) = &head.content_type {
        to.insert(header::CONTENT_TYPE, ct.clone());
    }
}
