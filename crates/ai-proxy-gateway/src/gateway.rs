//! [`Gateway`]: the compiled routes and everything a request needs,
//! shared by every connection; built by [`GatewayBuilder`].

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use ai_proxy::config::ConfigErrors;
use ai_proxy::vertex::TokenCache;
use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tokio::net::TcpListener;

use crate::access_log::{AccessLog, TracingAccessLog};
use crate::body::GatewayBody;
use crate::budget::BodyBudget;
use crate::config::Document;
use crate::health::HealthChecks;
use crate::metrics::GatewayMetrics;
use crate::plugin::PluginRegistry;
use crate::routes::RouteTable;
use crate::server::MetricsEndpoint;
use crate::settings::Settings;
use crate::shared::Shared;
use crate::upstream::Clients;

/// The client's address, for a [`Gateway`] used as a tower `Service`:
/// put it in the request's extensions (`serve` does); without it the
/// gateway sees `0.0.0.0:0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// An AI gateway: routes from a configuration document, each running
/// `ai-proxy` or `ai-proxy-multi` (and the route's other plugins),
/// upstream pools, limits and the access log. Cheap to clone (shared).
///
/// Serve it with [`serve`](Self::serve), or mount it as a tower
/// `Service<Request<B>>` (answering `Response<GatewayBody>`).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use ai_proxy_gateway::Gateway;
/// use ai_proxy_gateway::config::Document;
///
/// let doc = Document::parse(&std::fs::read_to_string("gateway.yaml")?)?;
/// let gateway = Gateway::from_document(&doc)?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:9080").await?;
/// gateway.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Gateway {
    pub(crate) inner: Arc<Shared>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("routes", &self.inner.routes.routes().len())
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// A gateway for `document` with the default settings, every adapter
    /// of [`ai_proxy::registry`], the plugins of [`PluginRegistry::new`]
    /// and the access log through `tracing`. Every problem (a plugin this
    /// gateway does not run, an instance that does not compile) comes back
    /// with its JSON path.
    pub fn from_document(document: &Document) -> Result<Self, ConfigErrors> {
        Self::builder().build(document)
    }

    /// A builder to choose settings, adapters, plugins and the access log.
    pub fn builder() -> GatewayBuilder {
        GatewayBuilder::default()
    }

    /// The gateway's settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The route ids, in matching order.
    pub fn route_ids(&self) -> impl Iterator<Item = &str> {
        self.inner.routes.routes().iter().map(|r| r.id.as_str())
    }

    /// Answers one request from `remote`.
    pub async fn handle<B>(&self, request: Request<B>, remote: SocketAddr) -> Response<GatewayBody>
    where
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let (parts, body) = request.into_parts();
        crate::proxy::handle(&self.inner, parts, body, remote).await
    }

    /// Serves `listener` (HTTP/1.1, and HTTP/2 with prior knowledge) until
    /// `shutdown` completes, then lets open connections finish for up to
    /// [`Settings::shutdown_timeout`]. Runs the active health checks
    /// meanwhile.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        crate::server::serve(Arc::clone(&self.inner), listener, shutdown).await
    }

    /// Serves `listener`'s clients until `shutdown` completes, then lets
    /// the connections it opened finish for up to
    /// [`Settings::shutdown_timeout`]: [`serve`](Self::serve) without the
    /// health checks and the metrics endpoint. For a server of several
    /// workers, each a current-thread runtime with its own listener (e.g.
    /// bound with `SO_REUSEPORT` to one address), as nginx's worker
    /// processes: call this once per worker and
    /// [`spawn_health_checks`](Self::spawn_health_checks) and
    /// [`spawn_metrics_endpoint`](Self::spawn_metrics_endpoint) once. The
    /// connection cap ([`Settings::max_connections`]) holds per call, as
    /// nginx's `worker_connections` per worker: give each worker its share
    /// (a shared cap would let a worker hold the last slot while clients
    /// wait in another worker's backlog). On a current-thread runtime each
    /// worker keeps its own upstream connection pools.
    pub async fn serve_connections(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        crate::server::serve_connections(Arc::clone(&self.inner), listener, shutdown).await
    }

    /// Binds [`Settings::metrics_listen`], if set, and serves `GET
    /// /metrics` there on the current runtime until the returned handle is
    /// dropped. [`serve`](Self::serve) does this itself.
    pub async fn spawn_metrics_endpoint(&self) -> std::io::Result<Option<MetricsEndpoint>> {
        crate::server::spawn_metrics_endpoint(&self.inner).await
    }

    /// The metrics in the Prometheus text format (0.0.4), as `GET
    /// /metrics` serves them; `None` when metrics are not collected (see
    /// [`Settings::metrics_listen`], [`GatewayBuilder::collect_metrics`]).
    pub fn render_metrics(&self) -> Option<String> {
        crate::metrics::endpoint::render(&self.inner)
    }

    /// Starts the active health checks (`checks.active` of
    /// `ai-proxy-multi` instances) on the current runtime; they stop when
    /// the returned handle is dropped. [`serve`](Self::serve) does this
    /// itself.
    pub fn spawn_health_checks(&self) -> HealthChecks {
        crate::health::spawn(&self.inner)
    }
}

impl<B> tower::Service<Request<B>> for Gateway
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    type Response = Response<GatewayBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<GatewayBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let gateway = self.clone();
        let remote = request
            .extensions()
            .get::<ClientAddr>()
            .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |a| a.0);
        Box::pin(async move { Ok(gateway.handle(request, remote).await) })
    }
}

/// Builds a [`Gateway`].
#[derive(Clone)]
pub struct GatewayBuilder {
    settings: Settings,
    registry: ai_proxy::Registry,
    plugins: PluginRegistry,
    access_log: Arc<dyn AccessLog>,
    collect_metrics: bool,
    #[cfg(feature = "otel")]
    otel: Option<Arc<crate::otel::Otel>>,
}

impl Default for GatewayBuilder {
    fn default() -> Self {
        Self {
            settings: Settings::default(),
            registry: ai_proxy::registry(),
            plugins: PluginRegistry::new(),
            access_log: Arc::new(TracingAccessLog),
            collect_metrics: false,
            #[cfg(feature = "otel")]
            otel: None,
        }
    }
}

impl std::fmt::Debug for GatewayBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayBuilder")
            .field("settings", &self.settings)
            .field("plugins", &self.plugins)
            .finish_non_exhaustive()
    }
}

impl GatewayBuilder {
    /// Timeouts and caps.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// The adapters routes compile against (default: every adapter of
    /// [`ai_proxy::registry`]).
    pub fn registry(mut self, registry: ai_proxy::Registry) -> Self {
        self.registry = registry;
        self
    }

    /// The plugins routes may carry besides the AI plugins.
    pub fn plugins(mut self, plugins: PluginRegistry) -> Self {
        self.plugins = plugins;
        self
    }

    /// Where access records go (default: [`TracingAccessLog`]).
    pub fn access_log(mut self, access_log: Arc<dyn AccessLog>) -> Self {
        self.access_log = access_log;
        self
    }

    /// Collects metrics even without [`Settings::metrics_listen`] (for an
    /// embedder serving [`Gateway::render_metrics`] itself).
    pub fn collect_metrics(mut self) -> Self {
        self.collect_metrics = true;
        self
    }

    /// Exports to these OpenTelemetry exporters instead of the ones
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` names (feature `otel`).
    #[cfg(feature = "otel")]
    pub fn otel(mut self, otel: crate::otel::Otel) -> Self {
        self.otel = Some(Arc::new(otel));
        self
    }

    /// Compiles `document`'s routes; every problem with its JSON path.
    /// With feature `otel` and no [`otel`](Self::otel) given, exporters
    /// start for the `OTEL_EXPORTER_OTLP_*ENDPOINT` variables, if set (an
    /// endpoint that cannot be used is an error under that name).
    pub fn build(self, document: &Document) -> Result<Gateway, ConfigErrors> {
        let clients = Clients::default();
        let routes = RouteTable::compile(document, &self.registry, &self.plugins, &clients)?;
        #[cfg(feature = "otel")]
        let otel = match self.otel {
            Some(otel) => Some(otel),
            None => crate::otel::from_env()?.map(Arc::new),
        };
        let metrics = (self.collect_metrics || self.settings.metrics_listen.is_some())
            .then(|| Arc::new(GatewayMetrics::new(self.settings.max_metric_series)));
        Ok(Gateway {
            inner: Arc::new(Shared {
                routes,
                budget: BodyBudget::new(self.settings.max_inflight_body_bytes),
                settings: self.settings,
                tokens: Mutex::new(TokenCache::new()),
                clients,
                access_log: self.access_log,
                metrics,
                #[cfg(feature = "otel")]
                otel,
            }),
        })
    }
}
