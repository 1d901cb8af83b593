//! The gateway's decisions for proxies that own their connections
//! (Pingora): route matching, each route's AI plugin and instances, Vertex
//! access tokens and the access log — without the hyper server or the
//! upstream pool. The proxy reads the body, sends the prepared request and
//! drives the SDK's `Exchange`; the gateway decides everything else, the
//! same way it does for [`Gateway::serve`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use ai_proxy::core::Protocol;
use ai_proxy::multi::{AiProxyMulti, Attempt};
use ai_proxy::{AiProxy, Secret};
use bytes::Bytes;
use http::request::Parts;

use crate::access_log::RequestLog;
use crate::budget::Reservation;
use crate::error::Rejection;
use crate::gateway::Gateway;
use crate::relay::RelayError;
use crate::routes::{HeadMatch, Route, Target, Upstream};

/// Request-body bytes one request holds against the gateway's in-flight
/// budget ([`Gateway::hold_body`]); given back when dropped, so it lives as
/// long as the body does.
#[derive(Debug, Default)]
pub struct BodyHold(Option<Reservation>);

/// The in-flight body budget cannot hold a request's body
/// ([`Gateway::hold_body`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSpent {
    budget: u64,
}

impl From<BudgetSpent> for Rejection {
    fn from(spent: BudgetSpent) -> Self {
        Rejection::BodyBudget {
            budget: spent.budget,
        }
    }
}

/// The event a client of `protocol` gets before its stream is cut for
/// `error`, as [`Gateway::serve`] sends it: `Some` only for a cut by
/// `max_stream_duration_ms`, on protocols with an in-stream error event.
pub fn stream_cut_event(protocol: Protocol, error: &RelayError) -> Option<Bytes> {
    crate::relay::cut_event(protocol, error)
}

/// A route of a [`Gateway`], by position (valid for that gateway's life).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouteKey(usize);

/// What the request head says about the route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeadRoute {
    /// This route, whatever the body: read the body under its
    /// `max_req_body_size`.
    Route(RouteKey),
    /// Routes whose `vars` read the body are in the running: read it under
    /// `limit`, then match with [`Gateway::route_with_body`].
    NeedsBody {
        /// The largest `max_req_body_size` among them.
        limit: u64,
    },
    /// No route can match (404, without reading the body).
    NotFound,
}

/// One route: its id, limit and AI plugin.
#[derive(Clone, Copy, Debug)]
pub struct RouteView<'a> {
    route: &'a Route,
}

/// What a route runs.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum TargetView<'a> {
    /// One `ai-proxy` instance.
    Single(InstanceView<'a>),
    /// An `ai-proxy-multi` balancer over instances.
    Multi(MultiView<'a>),
}

/// One compiled instance and how it authenticates.
#[derive(Clone, Copy, Debug)]
pub struct InstanceView<'a> {
    proxy: &'a AiProxy,
    upstream: &'a Upstream,
}

/// An `ai-proxy-multi` plugin: its balancer and instances.
#[derive(Clone, Copy, Debug)]
pub struct MultiView<'a> {
    multi: &'a crate::routes::MultiRoute,
}

impl Gateway {
    /// Matches on the head alone (see [`HeadRoute`]).
    pub fn route_by_head(&self, parts: &Parts, remote: SocketAddr) -> HeadRoute {
        let routes = &self.inner.routes;
        match routes.find_by_head(parts, remote) {
            HeadMatch::Route(route) => HeadRoute::Route(key_of(routes.routes(), route)),
            HeadMatch::NeedsBody { limit } => HeadRoute::NeedsBody { limit },
            HeadMatch::None => HeadRoute::NotFound,
        }
    }

    /// The first route matching the request, body included (the caller
    /// checks that route's own `max_req_body_size` against the body).
    pub fn route_with_body(
        &self,
        parts: &Parts,
        body: &[u8],
        remote: SocketAddr,
    ) -> Option<RouteKey> {
        let routes = &self.inner.routes;
        let route = routes.find(parts, body, remote)?;
        Some(key_of(routes.routes(), route))
    }

    /// Every route with its key, in matching order.
    pub fn routes(&self) -> impl Iterator<Item = (RouteKey, RouteView<'_>)> {
        self.inner
            .routes
            .routes()
            .iter()
            .enumerate()
            .map(|(i, route)| (RouteKey(i), RouteView { route }))
    }

    /// The route `key` names.
    pub fn route(&self, key: RouteKey) -> Option<RouteView<'_>> {
        self.inner
            .routes
            .routes()
            .get(key.0)
            .map(|route| RouteView { route })
    }

    /// A new access record for a request from `remote`, going to this
    /// gateway's access log; it is emitted when ended, or as a 499 when
    /// dropped unfinished.
    pub fn request_log(&self, parts: &Parts, remote: SocketAddr) -> RequestLog {
        RequestLog::new(parts, remote, Instant::now(), &self.inner)
    }

    /// The access token `instance` sends (Vertex AI `auth.gcp`), cached and
    /// refreshed as for [`serve`](Self::serve); `None` when it needs none.
    pub async fn access_token(
        &self,
        instance: InstanceView<'_>,
    ) -> Result<Option<Secret>, Rejection> {
        match &instance.upstream.gcp {
            None => Ok(None),
            Some(gcp) => gcp
                .token(&self.inner.tokens)
                .await
                .map(Some)
                .map_err(Rejection::Token),
        }
    }

    /// Adds `bytes` to the request-body bytes `hold` keeps against the
    /// in-flight budget ([`Settings::max_inflight_body_bytes`]) — a declared
    /// length before the body is read, else each chunk as it arrives, as
    /// [`serve`](Self::serve) does; [`BudgetSpent`] (answered as
    /// [`Rejection::BodyBudget`], 503; nothing held) when that would go over
    /// it.
    ///
    /// [`Settings::max_inflight_body_bytes`]: crate::Settings::max_inflight_body_bytes
    pub fn hold_body(&self, hold: &mut BodyHold, bytes: u64) -> Result<(), BudgetSpent> {
        if self.inner.budget.hold(&mut hold.0, bytes) {
            return Ok(());
        }
        Err(BudgetSpent {
            budget: self.inner.budget.limit(),
        })
    }

    /// The upstream refused `instance`'s access token (401): forget it so
    /// the next request fetches a new one.
    pub fn token_refused(&self, instance: InstanceView<'_>) {
        if let Some(gcp) = &instance.upstream.gcp {
            gcp.evict(&self.inner.tokens);
        }
    }
}

/// Routes are compared by address: `route` is an element of `routes`.
fn key_of(routes: &[Route], route: &Route) -> RouteKey {
    RouteKey(
        routes
            .iter()
            .position(|r| std::ptr::eq(r, route))
            .unwrap_or(usize::MAX),
    )
}

impl<'a> RouteView<'a> {
    /// The route's id (`id`, else its first uri, else its position).
    pub fn id(&self) -> &'a str {
        &self.route.id
    }

    /// The largest request body this route accepts.
    pub fn max_req_body_size(&self) -> u64 {
        self.route.max_req_body_size
    }

    /// Whether the route carries plugins besides its AI plugin (a proxy
    /// that does not run them must refuse the route).
    pub fn has_other_plugins(&self) -> bool {
        self.route.pipeline.is_some()
    }

    /// What the route runs.
    pub fn target(&self) -> TargetView<'a> {
        match &self.route.target {
            Target::Single(instance) => TargetView::Single(InstanceView {
                proxy: &instance.proxy,
                upstream: &instance.upstream,
            }),
            Target::Multi(multi) => TargetView::Multi(MultiView { multi }),
        }
    }
}

impl<'a> InstanceView<'a> {
    /// The compiled instance: `prepare` it.
    pub fn proxy(&self) -> &'a AiProxy {
        self.proxy
    }

    /// `picked_ai_instance_name`.
    pub fn name(&self) -> &'a Arc<str> {
        &self.upstream.name
    }
}

impl<'a> MultiView<'a> {
    /// The plugin: its balancer decides picks and fallbacks.
    pub fn multi(&self) -> &'a AiProxyMulti {
        &self.multi.multi
    }

    /// The instance an attempt goes to.
    pub fn instance(&self, attempt: &Attempt) -> Option<InstanceView<'a>> {
        let (proxy, upstream) = self.multi.instance(attempt)?;
        Some(InstanceView { proxy, upstream })
    }
}
