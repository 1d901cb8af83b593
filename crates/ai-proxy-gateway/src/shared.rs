//! [`Shared`]: what every request of a gateway reads — the compiled
//! routes, the settings, the upstream clients and the sinks its records go
//! to. The request path (`proxy`, `attempts`, `send`), the server, health
//! checks and the metrics endpoint take it; the public
//! [`Gateway`](crate::Gateway) owns it.

use std::sync::{Arc, Mutex};

use ai_proxy::vertex::TokenCache;

use crate::access_log::record::AccessLog;
use crate::budget::BodyBudget;
use crate::metrics::GatewayMetrics;
use crate::routes::RouteTable;
use crate::settings::Settings;
use crate::upstream::Clients;

/// A gateway's compiled routes and everything a request needs, shared by
/// every connection.
pub(crate) struct Shared {
    pub(crate) routes: RouteTable,
    pub(crate) settings: Settings,
    pub(crate) budget: Arc<BodyBudget>,
    /// Google access tokens, shared by every `auth.gcp` target.
    pub(crate) tokens: Mutex<TokenCache>,
    pub(crate) clients: Clients,
    pub(crate) access_log: Arc<dyn AccessLog>,
    /// Collected when [`Settings::metrics_listen`] is set (or asked for).
    pub(crate) metrics: Option<Arc<GatewayMetrics>>,
    /// OpenTelemetry export, when an endpoint is configured.
    #[cfg(feature = "otel")]
    pub(crate) otel: Option<Arc<crate::otel::Otel>>,
}
