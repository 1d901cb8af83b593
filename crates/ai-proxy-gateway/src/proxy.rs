//! One client request through the gateway: match a route on the head,
//! read the body under that route's limits, run the route's plugins,
//! attempt the upstream (with fallback for `ai-proxy-multi`), relay the
//! response through the exchange; one access record however it ends.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::HeaderMap;
use http::request::Parts;
use http::{Request, Response};
use http_body::Body;

use crate::access_log::RequestLog;
use crate::attempts;
use crate::body::GatewayBody;
use crate::budget::Reservation;
use crate::deliver::{deliver, reject};
use crate::error::Rejection;
use crate::plugin::RequestState;
use crate::request_body;
use crate::routes::{HeadMatch, Route, Target};
use crate::send::attempt;
use crate::shared::Shared;

/// Headers a response on a route with plugins has room for up front: the
/// quota headers and a usual upstream head (more grow the map once).
const RESPONSE_HEADERS: usize = 12;

/// Answers one client request, its head's `parts` and its `body` (taken
/// apart by the caller: the request is not put together to be taken apart
/// again here, a move of ~360 bytes each way).
pub(crate) async fn handle<B>(
    inner: &Shared,
    mut parts: Parts,
    body: B,
    remote: SocketAddr,
) -> Response<GatewayBody>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    // Boxed: the record (~1.4 KB) moves through reject/deliver and into
    // the relay's end callback; a pointer moves instead of the struct.
    // Written into its allocation, not built on the stack and copied.
    let mut log = Box::write(
        Box::new_uninit(),
        RequestLog::new(&parts, remote, Instant::now(), inner),
    );
    let (route, mut body, reservation) = match route_and_read(inner, &parts, body, remote).await {
        Ok(found) => found,
        Err(rejection) => return reject(log, rejection),
    };
    log.route(&route.id);
    let mut state = None;
    // No map unless plugins add headers or several instances are tried
    // (an empty map still costs its drop, where `None` costs nothing).
    let mut response_headers: Option<HeaderMap> = None;
    if let Some(pipeline) = &route.pipeline {
        let mut s = RequestState::default();
        // Boxed: only routes with plugins pay for their future's room.
        let admitted =
            Box::pin(pipeline.request(&mut parts, &mut body, &mut s, remote, &route.id)).await;
        // The response goes out in this map (`deliver`): sized once for the
        // plugins' headers and a usual upstream head.
        let headers = response_headers.insert(std::mem::take(&mut s.response_headers));
        let _ = headers.try_reserve(RESPONSE_HEADERS);
        let s = Arc::new(s);
        log.plugins(Arc::clone(pipeline), Arc::clone(&s));
        if let Err(rejection) = admitted {
            return reject(log, Rejection::Plugin(rejection));
        }
        state = Some(s);
    }
    let mut response = match &route.target {
        // One attempt: the client's request moves on whole, uncopied.
        Target::Single(instance) => {
            if let (Some(pipeline), Some(s)) = (&route.pipeline, state.as_deref()) {
                let name = &instance.upstream.name;
                let headers = response_headers.get_or_insert_with(HeaderMap::new);
                if let Some(r) = pipeline.picked(s, name, headers) {
                    let mut response = reject(log, Rejection::Plugin(r));
                    response.headers_mut().extend(std::mem::take(headers));
                    return response;
                }
            }
            let request = Request::from_parts(parts, body);
            match attempt(
                inner,
                &instance.proxy,
                &instance.upstream,
                request,
                &mut log,
            )
            .await
            {
                Ok(answer) => deliver(answer, log, response_headers.take()).await,
                Err(rejection) => reject(log, rejection),
            }
        }
        Target::Multi(multi) => {
            let state = state.as_deref();
            let picked = attempts::Picked {
                state,
                headers: response_headers.get_or_insert_with(HeaderMap::new),
            };
            // Boxed: the attempt loop's future is the largest; routes
            // with one target do not carry its room.
            Box::pin(attempts::run(
                inner, multi, route, picked, &parts, body, remote, log,
            ))
            .await
        }
    };
    // The body went upstream; its bytes are no longer held.
    drop(reservation);
    // Routes without plugins add none (extending by an empty map is not
    // free).
    if let Some(headers) = response_headers.filter(|h| !h.is_empty()) {
        response.headers_mut().extend(headers);
    }
    response
}

/// Finds the route and reads the body under its limits.
async fn route_and_read<'a, B>(
    inner: &'a Shared,
    parts: &Parts,
    body: B,
    remote: SocketAddr,
) -> Result<(&'a Route, Bytes, Option<Reservation>), Rejection>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let (head_route, limit) = match inner.routes.find_by_head(parts, remote) {
        HeadMatch::None => return Err(no_route(parts)),
        HeadMatch::Route(route) => (Some(route), route.max_req_body_size),
        HeadMatch::NeedsBody { limit } => (None, limit),
    };
    let (bytes, reservation) = request_body::read(
        body,
        &parts.headers,
        limit,
        &inner.budget,
        inner.settings.client_body_timeout,
    )
    .await?;
    let route = match head_route {
        Some(route) => route,
        None => {
            let route = inner
                .routes
                .find(parts, &bytes, remote)
                .ok_or_else(|| no_route(parts))?;
            if bytes.len() as u64 > route.max_req_body_size {
                return Err(Rejection::BodyTooLarge {
                    limit: route.max_req_body_size,
                });
            }
            route
        }
    };
    Ok((route, bytes, reservation))
}

fn no_route(parts: &Parts) -> Rejection {
    Rejection::NoRoute {
        method: parts.method.clone(),
        path: parts.uri.path().to_owned(),
    }
}
