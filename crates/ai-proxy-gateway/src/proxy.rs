//! One client request through the gateway: read the body, match a route,
//! prepare with the SDK, send upstream (with fallback for ai-proxy-multi),
//! relay the response through the SDK's exchange, log one access line.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use ai_proxy::{AiProxy, Prepared};
use bytes::Bytes;
use http::header::{self, HeaderMap};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::access_log::AccessLog;
use crate::body::{RelayBody, error_msg, json_error, respond};
use crate::gateway::Gateway;
use crate::gcp::GcpToken;
use crate::multi::MultiRoute;
use crate::relay::relay;
use crate::routes::{Instance, Target};
use crate::send::{Sent, send};

/// Largest upstream error body kept when deciding on a fallback.
const MAX_ERROR_BODY: usize = 1 << 20;

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
        // The wall clock is for signed routes (bedrock's SigV4).
        .prepare_at(request, Instant::now(), SystemTime::now(), token.as_ref())
        .map_err(|e| {
            let body = String::from_utf8_lossy(&e.body()).into_owned();
            (e.status(), e.content_type(), body)
        })
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
