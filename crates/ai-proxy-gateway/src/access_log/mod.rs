//! The access log: one [`AccessRecord`] per request, however it ended —
//! answered by the gateway, relayed, cut short, or abandoned by the client
//! (status 499, nginx's "client closed request"). Records go to an
//! [`AccessLog`] sink ([`TracingAccessLog`] by default; [`JsonAccessLog`]
//! writes the same JSON line without `tracing`) and to the route's
//! plugins' log phase.
//!
//! Credentials never appear: only the request path is kept (not the
//! query), upstreams as `host:port`, payloads only with `logging.payloads`
//! and capped ([`Settings::max_logged_payload_bytes`](crate::Settings)).

mod json;
pub(crate) mod record;
mod tracing;

use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_proxy::Exchange;
use ai_proxy::config::Logging;
use ai_proxy::core::Metrics;
use ai_proxy::core::context::RequestContext;
use http::StatusCode;
use http::request::Parts;

use crate::metrics::GatewayMetrics;
use crate::plugin::{Pipeline, RequestState};
use crate::relay::{EndRecord, RelayEnd};

pub use self::json::JsonAccessLog;
pub use self::record::{AccessLog, AccessRecord, CLIENT_CLOSED_REQUEST, LoggedPayload};
pub use self::tracing::TracingAccessLog;

/// The longest request path kept (clients choose it).
const MAX_LOGGED_PATH: usize = 4096;

/// A record's text buffers, kept for the thread's next request after its
/// record is emitted: a busy worker allocates none of them per request.
#[derive(Default)]
struct Spare {
    route_id: String,
    path: String,
    upstream_addr: String,
    attempts: Vec<Arc<str>>,
}

/// Buffers larger than this (a long path) are freed, not kept.
const KEPT_BUFFER: usize = MAX_LOGGED_PATH;

thread_local! {
    static SPARE: Cell<Option<Spare>> = const { Cell::new(None) };
}

impl Spare {
    /// The thread's kept buffers (empty), or new ones (also while the
    /// thread's locals are being torn down).
    fn take() -> Self {
        SPARE
            .try_with(Cell::take)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Keeps `record`'s buffers for the thread's next record.
    fn keep(record: &mut AccessRecord) {
        let mut spare = Spare {
            route_id: std::mem::take(&mut record.route_id),
            path: std::mem::take(&mut record.path),
            upstream_addr: std::mem::take(&mut record.upstream_addr),
            attempts: std::mem::take(&mut record.attempts),
        };
        for text in [
            &mut spare.route_id,
            &mut spare.path,
            &mut spare.upstream_addr,
        ] {
            if text.capacity() > KEPT_BUFFER {
                *text = String::new();
            }
            text.clear();
        }
        spare.attempts.clear();
        // A thread being torn down keeps nothing.
        let _ = SPARE.try_with(|kept| kept.set(Some(spare)));
    }
}

/// The record of a request in flight; emits exactly once — when finished,
/// or when dropped unfinished (the client went away: 499). From
/// [`Gateway::request_log`](crate::Gateway::request_log), for proxies that
/// drive requests themselves (Pingora).
pub struct RequestLog {
    sink: Arc<dyn AccessLog>,
    /// The route's plugins and their state, for the log phase.
    plugins: Option<(Arc<Pipeline>, Arc<RequestState>)>,
    start: Instant,
    /// When the response ended, if a relay said so (else the log reads
    /// the clock when it is written).
    ended_at: Option<Instant>,
    payload_cap: usize,
    record: Option<AccessRecord>,
    metrics: Option<Arc<GatewayMetrics>>,
    /// `apisix_llm_active_connections` while an upstream is being talked
    /// to: the labels once preparation is done, the series once the
    /// upstream is known (decremented when the record is emitted).
    llm: Option<LlmConnection>,
    #[cfg(feature = "otel")]
    otel: Option<(Arc<crate::otel::Otel>, crate::otel::RequestTrace)>,
}

enum LlmConnection {
    Prepared {
        request_type: &'static str,
        request_model: Option<Arc<str>>,
        model: Option<Arc<str>>,
    },
    Open(prometheus_client::metrics::gauge::Gauge),
}

impl std::fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLog")
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

impl RequestLog {
    // Always inlined: `proxy::handle` writes it straight into its box (a
    // call returns it on the stack, then ~800 bytes are copied).
    #[inline(always)]
    pub(crate) fn new(
        parts: &Parts,
        remote: SocketAddr,
        start: Instant,
        inner: &crate::shared::Shared,
    ) -> Self {
        let Spare {
            route_id,
            mut path,
            upstream_addr,
            attempts,
        } = Spare::take();
        path.push_str(record::prefix(parts.uri.path(), MAX_LOGGED_PATH));
        Self {
            sink: Arc::clone(&inner.access_log),
            plugins: None,
            start,
            ended_at: None,
            payload_cap: inner.settings.max_logged_payload_bytes,
            metrics: inner.metrics.clone(),
            llm: None,
            #[cfg(feature = "otel")]
            otel: inner.otel.as_ref().map(|otel| {
                let trace = crate::otel::RequestTrace::start(otel, &parts.headers, &parts.method);
                (Arc::clone(otel), trace)
            }),
            record: Some(AccessRecord {
                route_id,
                method: parts.method.clone(),
                path,
                remote,
                status: 0,
                latency: Duration::ZERO,
                attempts,
                upstream_addr,
                provider: None,
                logging: Logging::default(),
                metrics: None,
                error: String::new(),
                client_aborted: false,
                request_payload: None,
            }),
        }
    }

    fn record(&mut self) -> Option<&mut AccessRecord> {
        self.record.as_mut()
    }

    /// The matched route.
    pub fn route(&mut self, id: &str) {
        if let Some(r) = self.record() {
            id.clone_into(&mut r.route_id);
        }
    }

    /// The route's plugins and their state: their log phase runs with the
    /// record.
    pub(crate) fn plugins(&mut self, pipeline: Arc<Pipeline>, state: Arc<RequestState>) {
        self.plugins = Some((pipeline, state));
    }

    /// An attempt at an instance.
    pub fn attempt(&mut self, instance: &Arc<str>) {
        #[cfg(feature = "otel")]
        if let Some((_, trace)) = &mut self.otel {
            trace.attempt(instance);
        }
        if let Some(r) = self.record() {
            r.attempts.push(Arc::clone(instance));
        }
    }

    /// The current attempt's upstream `host:port`.
    pub fn upstream(&mut self, host: &str) {
        if let Some(r) = self.record() {
            host.clone_into(&mut r.upstream_addr);
        }
        #[cfg(feature = "otel")]
        if let Some((_, trace)) = &mut self.otel {
            trace.upstream(host);
        }
        self.open_llm_connection(host);
    }

    /// The W3C `traceparent` for the current attempt's upstream request
    /// (feature `otel`, with an exporter running).
    pub(crate) fn traceparent(&self) -> Option<http::HeaderValue> {
        #[cfg(feature = "otel")]
        if let Some((_, trace)) = &self.otel {
            return trace.traceparent();
        }
        None
    }

    /// Counts the request in `apisix_llm_active_connections` (once, at
    /// its first upstream).
    fn open_llm_connection(&mut self, host: &str) {
        let (Some(metrics), Some(LlmConnection::Prepared { .. })) = (&self.metrics, &self.llm)
        else {
            return;
        };
        let Some(LlmConnection::Prepared {
            request_type,
            request_model,
            model,
        }) = self.llm.take()
        else {
            return;
        };
        let route = self.record.as_ref().map_or("", |r| r.route_id.as_str());
        let consumer = self
            .plugins
            .as_ref()
            .and_then(|(_, s)| s.consumer.as_deref());
        let labels = crate::metrics::active_labels(
            route,
            consumer,
            host,
            request_type,
            request_model.as_ref(),
            model.as_ref(),
        );
        self.llm = Some(LlmConnection::Open(metrics.llm_connection(labels)));
    }

    /// What preparation decided (logging settings, request messages).
    pub fn context(&mut self, ctx: &RequestContext) {
        let cap = self.payload_cap;
        #[cfg(feature = "otel")]
        if let Some((_, trace)) = &mut self.otel {
            trace.model(ctx.request_llm_model.as_ref());
        }
        let ai = !matches!(ctx.request_type, ai_proxy::RequestType::TraditionalHttp);
        if self.metrics.is_some() && self.llm.is_none() && ai {
            self.llm = Some(LlmConnection::Prepared {
                request_type: ctx.request_type.as_str(),
                request_model: ctx.request_llm_model.clone(),
                model: ctx.llm_model.clone(),
            });
        }
        if let Some(r) = self.record() {
            r.logging = ctx.logging;
            r.provider = Some(ctx.provider);
            r.request_payload = ctx
                .request_messages
                .as_ref()
                .filter(|_| ctx.logging.payloads)
                .map(|m| LoggedPayload::capped(m.get(), cap));
        }
    }

    /// The last attempt's exchange metrics.
    pub fn metrics(&mut self, metrics: Metrics) {
        #[cfg(feature = "otel")]
        if let Some((_, trace)) = &mut self.otel {
            trace.end_attempt(Some(&metrics));
        }
        if let Some(r) = self.record() {
            r.metrics = Some(metrics);
        }
    }

    /// Ends a request the gateway answered itself.
    pub fn answered(mut self, status: StatusCode, error: String) {
        self.emit(status.as_u16(), error, false);
    }

    /// Ends a relayed response: the exchange's metrics and how the relay
    /// ended (the status logged follows from both).
    pub fn ended(mut self, metrics: Metrics, end: RelayEnd) {
        if let Some(r) = self.record() {
            r.metrics = Some(metrics);
        }
        self.end(end);
    }

    /// Emits the record whose metrics are in: the status and error follow
    /// from them and from how the relay ended.
    fn end(&mut self, end: RelayEnd) {
        let metrics = self.record.as_ref().and_then(|r| r.metrics.as_ref());
        let upstream = metrics
            .and_then(|m| m.upstream_status)
            .map_or(StatusCode::BAD_GATEWAY.as_u16(), |s| s.as_u16());
        let sent = metrics.map_or(0, |m| m.bytes_sent);
        let (status, error, aborted) = match end {
            RelayEnd::Complete => (upstream, String::new(), false),
            RelayEnd::ClientGone => (
                CLIENT_CLOSED_REQUEST,
                format!("client closed the connection after {sent} response bytes"),
                true,
            ),
            RelayEnd::Refused(e) => (e.status().as_u16(), e.to_string(), false),
            RelayEnd::Failed(e) => (
                upstream,
                format!("response cut short after {sent} bytes, client connection aborted: {e}"),
                false,
            ),
        };
        self.emit(status, error, aborted);
    }

    fn emit(&mut self, status: u16, error: String, client_aborted: bool) {
        // Written in place: the record is not moved out to be logged.
        let Some(record) = &mut self.record else {
            return;
        };
        record.status = status;
        record.error = error;
        record.client_aborted = client_aborted;
        let end = self.ended_at.unwrap_or_else(Instant::now);
        record.latency = end.saturating_duration_since(self.start);
        if let Some(LlmConnection::Open(gauge)) = self.llm.take() {
            gauge.dec();
        }
        if let Some(metrics) = &self.metrics {
            let consumer = self
                .plugins
                .as_ref()
                .and_then(|(_, s)| s.consumer.as_deref());
            metrics.observe(record, consumer);
        }
        #[cfg(feature = "otel")]
        if let Some((otel, trace)) = self.otel.take() {
            otel.record(record);
            trace.finish(record);
        }
        self.sink.log(record);
        if let Some((pipeline, state)) = &self.plugins {
            pipeline.log(state, record);
        }
        Spare::keep(record);
        self.record = None;
    }
}

impl EndRecord for RequestLog {
    /// Ends a relayed response: its exchange finished at `now`, how the
    /// relay ended.
    fn relayed(mut self: Box<Self>, exchange: Box<Exchange>, end: RelayEnd, now: Instant) {
        // The relay's end is the request's: its instant serves for the
        // latency too.
        self.ended_at = Some(now);
        // Written into the record where it lies (the metrics are large).
        match self.record() {
            Some(r) => exchange.finish_into(now, &mut r.metrics),
            None => drop(exchange.finish_boxed(now)),
        }
        self.end(end);
    }
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        if self.record.is_none() {
            // Emitted already: no message to make.
            return;
        }
        self.emit(
            CLIENT_CLOSED_REQUEST,
            "client closed the connection before the response head".to_owned(),
            true,
        );
    }
}
