//! The per-route plugin pipeline: the APISIX plugins a route carries next
//! to `ai-proxy` / `ai-proxy-multi`, run by the gateway in APISIX's
//! priority order.
//!
//! A route's plugins are built once, when the gateway is built, by the
//! [`PluginFactory`] registered under their name in a [`PluginRegistry`].
//! A route carrying a plugin no factory is registered for is refused
//! (`routes[0].plugins.limit-req: plugin not supported by ai-proxy serve; …`):
//! a route that looks protected must never be served open.
//!
//! Per request, each [`Plugin`] sees three phases:
//!
//! 1. **request** ([`Plugin::request`], async; [`Phase::Rewrite`] plugins,
//!    then [`Phase::Access`] ones, each highest priority first),
//!    after routing and reading the body, before `prepare`: read or rewrite
//!    the client request (headers, body — e.g. prompt decorators and
//!    templates), identify the consumer (`key-auth`), admit or reject
//!    (`ai-prompt-guard`, moderation, `ai-rate-limiting`'s dry run). A
//!    rejection answers the client; later plugins and the upstream never
//!    see the request.
//! 2. **balancing** ([`Plugin::rate_limited`]): `ai-proxy-multi` asks
//!    whether an instance is out of quota before picking it, when the
//!    route's `fallback_strategy` includes `rate_limiting`.
//! 3. **log** ([`Plugin::log`]), once the response is over (however it
//!    ended), with the [`AccessRecord`]: charge the real token cost, count
//!    metrics. Headers a plugin put in [`RequestState::response_headers`]
//!    during the request phase go out with the response head.
//!
//! [`PluginRegistry::new`] holds the plugins `ai-proxy serve` runs; an
//! embedder adds its own with [`PluginRegistry::with`].

mod registry;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use ai_proxy::config::ConfigErrors;
use bytes::Bytes;
use http::StatusCode;
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use serde_json::Value;

use crate::access_log::record::AccessRecord;
use crate::config::{Document, RouteConfig};

pub use self::registry::PluginRegistry;

/// A boxed future, as plugin phases return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A request phase that finished without waiting: `Ok(())` at once.
/// Zero-sized, so its box allocates nothing (a `ready(Ok(()))` carries
/// room for the error and does).
pub(crate) struct Passed;

impl Future for Passed {
    type Output = Result<(), PluginRejection>;

    fn poll(self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// Per-request state shared by the plugins and the gateway.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RequestState {
    /// The consumer the request belongs to (set by an authentication
    /// plugin); `ai-proxy-multi`'s `hash_on: consumer` and `$consumer_name`
    /// read it.
    pub consumer: Option<String>,
    /// Headers to add to the client response (e.g. quota headers).
    pub response_headers: HeaderMap,
    /// Plugin-private data carried from the request phase to the log
    /// phase.
    pub extensions: http::Extensions,
    /// `ai-rate-limiting`'s admission, in a slot of its own: through
    /// `extensions` it cost three allocations per request.
    pub(crate) rate_limit: Option<crate::rate_limit::admission::Admission>,
}

/// The client request as the request phase sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct PluginRequest<'a> {
    /// Method, URI and headers; changes reach `prepare`.
    pub parts: &'a mut Parts,
    /// The whole client body; changes reach `prepare`.
    pub body: &'a mut Bytes,
    /// The state shared with the other plugins and the log phase.
    pub state: &'a mut RequestState,
    /// The client's address.
    pub remote: SocketAddr,
    /// The matched route's id.
    pub route_id: &'a str,
}

/// What a plugin answers instead of the upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PluginRejection {
    /// The status.
    pub status: StatusCode,
    /// Extra response headers.
    pub headers: HeaderMap,
    /// The body (APISIX plugins mostly answer `{"message": …}` or plain
    /// text; the plugin chooses and sets `Content-Type` in `headers`).
    pub body: Bytes,
}

impl PluginRejection {
    /// A rejection with `status` and a JSON `{"message": …}` body, as
    /// APISIX's auth and guard plugins answer.
    pub fn message(status: StatusCode, message: &str) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Self {
            status,
            headers,
            body: Bytes::from(serde_json::json!({ "message": message }).to_string()),
        }
    }
}

/// The APISIX phase a plugin's request work belongs to. APISIX runs every
/// plugin's `rewrite` phase before any plugin's `access` phase, each phase
/// by priority: `ai-prompt-template` (1071, rewrite) renders the body before
/// `ai-prompt-guard` (1072, access) checks it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// `rewrite` (`key-auth`, `ai-prompt-template`, `ai-prompt-decorator`).
    Rewrite,
    /// `access` (`ai-prompt-guard`, content moderation, rate limiting).
    #[default]
    Access,
}

/// One plugin instance on one route. See the [module docs](self).
pub trait Plugin: Send + Sync + fmt::Debug {
    /// The APISIX plugin name.
    fn name(&self) -> &str;

    /// APISIX's priority: within a [`Phase`], plugins with higher numbers
    /// run first (`key-auth` 2500, `ai-prompt-guard` 1072,
    /// `ai-prompt-template` 1071, `ai-prompt-decorator` 1070).
    fn priority(&self) -> i64;

    /// The phase its request work runs in. The default: [`Phase::Access`].
    fn phase(&self) -> Phase {
        Phase::Access
    }

    /// The request phase. The default does nothing.
    fn request<'a>(
        &'a self,
        request: PluginRequest<'a>,
    ) -> BoxFuture<'a, Result<(), PluginRejection>> {
        let _ = request;
        Box::pin(Passed)
    }

    /// Whether `instance` of the route's `ai-proxy-multi` is out of quota
    /// for this request. The default: never.
    fn rate_limited(&self, state: &RequestState, instance: &str) -> bool {
        let _ = (state, instance);
        false
    }

    /// The instance phase: `instance` (`picked_ai_instance_name`) will
    /// serve the request — the route's `ai-proxy`, or `ai-proxy-multi`'s
    /// first pick (APISIX runs `ai-rate-limiting`'s access after the pick).
    /// Answers a rejection, or `None` to admit; `headers` go out with the
    /// response, a rejection's too. The default admits.
    fn picked(
        &self,
        state: &RequestState,
        instance: &str,
        headers: &mut HeaderMap,
    ) -> Option<PluginRejection> {
        let _ = (state, instance, headers);
        None
    }

    /// The answer when `ai-proxy-multi` skipped every instance as out of
    /// quota (this plugin's [`rate_limited`](Self::rate_limited) said so).
    /// The default: none (the balancer's 503).
    fn exhausted(&self, state: &RequestState) -> Option<PluginRejection> {
        let _ = state;
        None
    }

    /// The log phase, once per request, after the response ended. Runs on
    /// the gateway's runtime: slow work (a network call) belongs in a task
    /// the plugin spawns. The default does nothing.
    fn log(&self, state: &RequestState, record: &AccessRecord) {
        let _ = (state, record);
    }
}

/// Where a plugin is being built.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct PluginContext<'a> {
    /// JSON path of the plugin's configuration (`routes[0].plugins.key-auth`),
    /// to prefix its errors with.
    pub path: &'a str,
    /// The route carrying it.
    pub route: &'a RouteConfig,
    /// The whole document (consumers, other routes).
    pub document: &'a Document,
}

impl PluginContext<'_> {
    /// `errors` in the plugin's configuration, each under its JSON path.
    pub(crate) fn prefixed(&self, errors: ConfigErrors) -> ConfigErrors {
        ConfigErrors::new(
            errors
                .into_errors()
                .into_iter()
                .map(|e| e.prefixed(self.path))
                .collect(),
        )
    }
}

/// Builds one plugin from its configuration.
pub trait PluginFactory: Send + Sync {
    /// The APISIX plugin name it builds.
    fn name(&self) -> &str;

    /// Validates `config` and builds the plugin; errors carry their JSON
    /// path (under `context.path`).
    fn build(
        &self,
        config: &Value,
        context: &PluginContext<'_>,
    ) -> Result<Arc<dyn Plugin>, ConfigErrors>;
}

/// A route's plugins, in the order they run.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pipeline {
    plugins: Vec<Arc<dyn Plugin>>,
}

impl Pipeline {
    pub(crate) fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    /// Runs the request phase; the first rejection wins.
    pub(crate) async fn request(
        &self,
        parts: &mut Parts,
        body: &mut Bytes,
        state: &mut RequestState,
        remote: SocketAddr,
        route_id: &str,
    ) -> Result<(), PluginRejection> {
        for plugin in &self.plugins {
            plugin
                .request(PluginRequest {
                    parts: &mut *parts,
                    body: &mut *body,
                    state: &mut *state,
                    remote,
                    route_id,
                })
                .await?;
        }
        Ok(())
    }

    pub(crate) fn rate_limited(&self, state: &RequestState, instance: &str) -> bool {
        self.plugins.iter().any(|p| p.rate_limited(state, instance))
    }

    /// Runs the instance phase; the first rejection wins.
    pub(crate) fn picked(
        &self,
        state: &RequestState,
        instance: &str,
        headers: &mut HeaderMap,
    ) -> Option<PluginRejection> {
        self.plugins
            .iter()
            .find_map(|p| p.picked(state, instance, headers))
    }

    pub(crate) fn exhausted(&self, state: &RequestState) -> Option<PluginRejection> {
        self.plugins.iter().find_map(|p| p.exhausted(state))
    }

    pub(crate) fn log(&self, state: &RequestState, record: &AccessRecord) {
        for plugin in &self.plugins {
            plugin.log(state, record);
        }
    }
}
