//! The `ai-proxy-multi` attempt loop: pick an instance, attempt it, and
//! let the SDK's balancer decide — relay, retry elsewhere, or answer with
//! the last failure. The fallback rules are the SDK's alone
//! (`Balancer::may_fall_back`, `Balancer::on_outcome`); this loop only
//! sends and reports.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ai_proxy::PrepareError;
use ai_proxy::core::prepare::ClientBodyLayout;
use ai_proxy::multi::{Decision, Outcome, Report, RequestKeys};
use bytes::Bytes;
use http::header::{self, HeaderMap};
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};

use crate::access_log::RequestLog;
use crate::body::GatewayBody;
use crate::deliver::{deliver, reject};
use crate::error::Rejection;
use crate::plugin::RequestState;
use crate::pool::UpstreamBody;
use crate::routes::{MultiRoute, Route};
use crate::send::{Answer, attempt};
use crate::shared::Shared;

/// Largest upstream error body kept when deciding on a fallback.
const MAX_ERROR_BODY: usize = 1 << 20;

/// The last failed attempt, answered if no retry follows.
enum LastFailure {
    /// An upstream error response, read whole.
    Upstream {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    /// No usable response (transport failure, refused head).
    Gateway(Rejection),
}

/// What the route's plugins see of the pick: their request state, and the
/// response headers their instance phase adds.
pub(crate) struct Picked<'a> {
    pub(crate) state: Option<&'a RequestState>,
    pub(crate) headers: &'a mut HeaderMap,
}

/// Runs the attempts of one request on an `ai-proxy-multi` route.
#[allow(clippy::too_many_arguments)] // the request's pieces, borrowed apart
pub(crate) async fn run(
    inner: &Shared,
    multi: &MultiRoute,
    route: &Route,
    picked: Picked<'_>,
    parts: &Parts,
    body: Bytes,
    remote: SocketAddr,
    mut log: Box<RequestLog>,
) -> Response<GatewayBody> {
    let Picked { state, headers } = picked;
    let remote_ip = remote.ip().to_string();
    let rate_limited = |instance: &str| matches!((&route.pipeline, state), (Some(p), Some(s)) if p.rate_limited(s, instance));
    let mut keys = RequestKeys::new()
        .with_parts(parts)
        .with_remote_addr(&remote_ip);
    if let Some(consumer) = state.and_then(|s| s.consumer.as_deref()) {
        keys = keys.with_consumer(consumer);
    }
    if route.pipeline.is_some() {
        keys = keys.with_rate_limited(&rate_limited);
    }
    let balancer = multi.multi.balancer();
    let plugins = route.pipeline.as_deref().zip(state);
    let mut attempt_now = match balancer.pick(&keys, Instant::now()) {
        Ok(a) => a,
        Err(e @ ai_proxy::multi::Error::RateLimited) => {
            // Every instance was skipped for quota: the limiter answers.
            let rejection = plugins.and_then(|(p, s)| p.exhausted(s));
            return reject(log, rejection.map_or(Rejection::Pick(e), Rejection::Plugin));
        }
        Err(e) => return reject(log, Rejection::Pick(e)),
    };
    if let Some((pipeline, state)) = plugins {
        let name = multi.instance(&attempt_now).map(|(_, u)| &u.name);
        if let Some(r) = name.and_then(|name| pipeline.picked(state, name, headers)) {
            return reject(log, Rejection::Plugin(r));
        }
    }
    let mut last: Option<LastFailure> = None;
    loop {
        let Some((proxy, upstream)) = multi.instance(&attempt_now) else {
            // Attempts come from this route's balancer, whose ids index
            // its instances.
            let reason = "the picked instance is not this route's".to_owned();
            return reject(log, Rejection::Prepare(PrepareError::Upstream { reason }));
        };
        let request = client_request(parts, body.clone());
        let (outcome, answer) = match attempt(inner, proxy, upstream, request, &mut log).await {
            Ok(answer) => {
                let status = answer.response.status();
                if balancer.may_fall_back(&attempt_now, status.as_u16()) {
                    // Read the error body whole before deciding (APISIX's
                    // error path).
                    last = Some(read_error(answer, &mut log).await);
                    (Outcome::Status(status.as_u16()), None)
                } else {
                    (Outcome::Status(status.as_u16()), Some(answer))
                }
            }
            Err(rejection @ Rejection::Attempt { .. }) => {
                let timeout = matches!(&rejection, Rejection::Attempt { failure, .. } if failure.is_timeout());
                last = Some(LastFailure::Gateway(rejection));
                (Outcome::Transport { timeout }, None)
            }
            Err(rejection @ Rejection::Relay(_)) => {
                let status = rejection.status().as_u16();
                last = Some(LastFailure::Gateway(rejection));
                (Outcome::Status(status), None)
            }
            // The request itself is refused (preparation, access token):
            // another instance would not change that.
            Err(rejection) => return reject(log, rejection),
        };
        // A head is relayed whatever the balancer says (it never retries a
        // delivered attempt); its report still feeds passive health.
        let report = Report {
            outcome,
            delivered: answer.is_some(),
        };
        match balancer.on_outcome(attempt_now, report, &keys, Instant::now()) {
            Decision::Retry(next) => attempt_now = next,
            Decision::Return(finish) => {
                if let Some(answer) = answer {
                    return deliver(answer, log, Some(std::mem::take(headers))).await;
                }
                let exhausted = !finish.passes_response_through();
                return answer_failure(last, exhausted.then_some(finish.status), log);
            }
        }
    }
}

/// Rebuilds the client request for one of several attempts (each starts
/// from the original request).
fn client_request(parts: &Parts, body: Bytes) -> Request<Bytes> {
    let mut r = Request::new(body);
    *r.method_mut() = parts.method.clone();
    *r.uri_mut() = parts.uri.clone();
    *r.version_mut() = parts.version;
    *r.headers_mut() = parts.headers.clone();
    // Where a decorator left the body's members, so prepare need not
    // parse the body again (prepare checks the layout is this body's).
    if let Some(layout) = parts.extensions.get::<ClientBodyLayout>() {
        r.extensions_mut().insert(layout.clone());
    }
    r
}

/// Reads an upstream error response whole (up to 1 MiB, within the
/// route's `timeout`), finishing its exchange for the record.
async fn read_error(answer: Answer, log: &mut RequestLog) -> LastFailure {
    let Answer {
        response,
        exchange,
        timeout,
        ..
    } = answer;
    let status = response.status();
    let (parts, body) = response.into_parts();
    let body = read_capped(Limited::new(body, MAX_ERROR_BODY), timeout).await;
    log.metrics(exchange.finish(Instant::now()));
    LastFailure::Upstream {
        status,
        headers: parts.headers,
        body,
    }
}

async fn read_capped(body: Limited<UpstreamBody>, timeout: Duration) -> Bytes {
    match tokio::time::timeout(timeout, body.collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        _ => Bytes::new(),
    }
}

/// Answers the last failure: its own status, or `status` (502) when every
/// instance was tried, as APISIX does.
fn answer_failure(
    last: Option<LastFailure>,
    status: Option<StatusCode>,
    log: Box<RequestLog>,
) -> Response<GatewayBody> {
    match last {
        Some(LastFailure::Upstream {
            status: upstream,
            headers,
            body,
        }) => {
            let status = status.unwrap_or(upstream);
            let message = String::from_utf8_lossy(&body).into_owned();
            let mut r = Response::new(GatewayBody::full(body));
            *r.status_mut() = status;
            if let Some(ct) = headers.get(header::CONTENT_TYPE) {
                r.headers_mut().insert(header::CONTENT_TYPE, ct.clone());
            }
            log.answered(status, message);
            r
        }
        Some(LastFailure::Gateway(rejection)) => {
            let mut r = rejection.response();
            if let Some(status) = status {
                *r.status_mut() = status;
            }
            log.answered(r.status(), rejection.log_message());
            r
        }
        None => {
            let status = status.unwrap_or(StatusCode::BAD_GATEWAY);
            log.answered(status, "no attempt was made".to_owned());
            crate::body::respond(status, "text/plain", "")
        }
    }
}
