//! The request phase: the route from the head, the body under that
//! route's limits, the first `ai-proxy-multi` pick.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ai_proxy::multi::{Attempt, RequestKeys};
use ai_proxy_gateway::embed::{BodyHold, HeadRoute, MultiView, RouteKey, TargetView};
use ai_proxy_gateway::{Gateway, Rejection};
use bytes::{Bytes, BytesMut};
use http::header;
use http::request::Parts;
use pingora::proxy::Session;

/// A request let in: its route, and its body held against the gateway's
/// in-flight budget.
pub(crate) struct Admitted {
    pub(crate) key: RouteKey,
    pub(crate) body: Bytes,
    pub(crate) hold: BodyHold,
}

/// Finds the route and reads the body under its limits and the gateway's
/// in-flight body budget.
pub(crate) async fn admit(
    gateway: &Gateway,
    session: &mut Session,
    parts: &Parts,
    remote: SocketAddr,
) -> Result<Admitted, Rejection> {
    let (head_route, limit) = match gateway.route_by_head(parts, remote) {
        HeadRoute::Route(key) => (Some(key), route_limit(gateway, key)),
        HeadRoute::NeedsBody { limit } => (None, limit),
        _ => return Err(no_route(parts)),
    };
    let declared = declared_length(parts);
    if declared.is_some_and(|n| n > limit) {
        return Err(Rejection::BodyTooLarge { limit });
    }
    let mut hold = BodyHold::default();
    if let Some(n) = declared.filter(|&n| n > 0) {
        gateway.hold_body(&mut hold, n)?;
    }
    // Pingora replays a body that fits its retry buffer to each attempt
    // itself (see `bodiless` for the others).
    session.enable_retry_buffering();
    let timeout = gateway.settings().client_body_timeout;
    // Undeclared lengths are held as they arrive.
    let undeclared = declared.is_none().then_some((gateway, &mut hold));
    let body = read_body(session, limit, timeout, undeclared).await?;
    let key = match head_route {
        Some(key) => key,
        None => {
            let key = gateway
                .route_with_body(parts, &body, remote)
                .ok_or_else(|| no_route(parts))?;
            let limit = route_limit(gateway, key);
            if body.len() as u64 > limit {
                return Err(Rejection::BodyTooLarge { limit });
            }
            key
        }
    };
    Ok(Admitted { key, body, hold })
}

fn route_limit(gateway: &Gateway, key: RouteKey) -> u64 {
    gateway.route(key).map_or(0, |r| r.max_req_body_size())
}

fn no_route(parts: &Parts) -> Rejection {
    Rejection::NoRoute {
        method: parts.method.clone(),
        path: parts.uri.path().to_owned(),
    }
}

fn declared_length(parts: &Parts) -> Option<u64> {
    parts
        .headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Reads the whole body: at most `limit` bytes, each read within
/// `timeout`, each chunk added to `hold` when given.
async fn read_body(
    session: &mut Session,
    limit: u64,
    timeout: Duration,
    mut hold: Option<(&Gateway, &mut BodyHold)>,
) -> Result<Bytes, Rejection> {
    let mut body = BytesMut::new();
    loop {
        let chunk = match tokio::time::timeout(timeout, session.read_request_body()).await {
            Err(_) => return Err(Rejection::BodyTimeout { after: timeout }),
            Ok(Err(e)) => return Err(Rejection::BodyRead(e)),
            Ok(Ok(None)) => return Ok(body.freeze()),
            Ok(Ok(Some(chunk))) => chunk,
        };
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(Rejection::BodyTooLarge { limit });
        }
        if let Some((gateway, hold)) = hold.as_mut() {
            gateway.hold_body(hold, chunk.len() as u64)?;
        }
        body.extend_from_slice(&chunk);
    }
}

/// The first attempt of an `ai-proxy-multi` route.
pub(crate) fn pick(
    multi: MultiView<'_>,
    parts: &Parts,
    remote: SocketAddr,
) -> Result<Attempt, ai_proxy::multi::Error> {
    let ip = remote.ip().to_string();
    let keys = RequestKeys::new().with_parts(parts).with_remote_addr(&ip);
    multi.multi().balancer().pick(&keys, Instant::now())
}

/// The multi view of a route, when it is one.
pub(crate) fn multi_of(gateway: &Gateway, key: RouteKey) -> Option<MultiView<'_>> {
    match gateway.route(key)?.target() {
        TargetView::Multi(multi) => Some(multi),
        _ => None,
    }
}
