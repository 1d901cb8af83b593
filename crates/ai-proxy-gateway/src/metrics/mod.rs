//! Prometheus metrics: what every finished request adds, served in the
//! text exposition format (0.0.4, as APISIX's `export_addr` serves it)
//! by [`Gateway::serve`](crate::Gateway::serve) on
//! [`Settings::metrics_listen`](crate::Settings::metrics_listen), or
//! rendered by [`Gateway::render_metrics`](crate::Gateway::render_metrics).
//!
//! - APISIX's LLM metrics, with the names, types, labels and default
//!   buckets of its `prometheus` plugin (`apisix/plugins/prometheus/
//!   exporter.lua`, apache/apisix@f519a0f0): `apisix_llm_latency`
//!   (histogram, ms; `type="total"` for served AI responses,
//!   `type="ttft"` for streams), `apisix_llm_prompt_tokens` and
//!   `apisix_llm_completion_tokens` (counters), `apisix_llm_active_connections`
//!   (gauge). `service`/`service_id` are empty (no services here),
//!   `route` is the route id, `node` the upstream host.
//! - The OpenTelemetry GenAI histograms with the conventions' bucket
//!   boundaries: `gen_ai_client_token_usage` (tokens),
//!   `gen_ai_client_operation_duration`, `gen_ai_server_time_to_first_token`,
//!   `gen_ai_server_time_per_output_token` (seconds); labels are the
//!   attributes with `_` for `.`.
//! - The gateway's own (counters carry `_total` on their samples, as
//!   `prometheus-client` writes them): `ai_proxy_http_requests_total{route_id,code}`,
//!   `ai_proxy_http_request_duration_seconds{route_id}`,
//!   `ai_proxy_instance_fallbacks_total` / `ai_proxy_instance_retries_total`
//!   `{route_id,instance}` (an attempt at `instance` followed by one at
//!   another instance, or at the same), `ai_proxy_instance_healthy`,
//!   `ai_proxy_client_connections`, `ai_proxy_log_lines_dropped_total`,
//!   `ai_proxy_metric_series_overflow_total{metric}`.
//!
//! Model names come from clients: each family holding them keeps at most
//! [`Settings::max_metric_series`](crate::Settings::max_metric_series)
//! series; past it, new names are counted under the model label
//! [`OVERFLOW`].

pub(crate) mod endpoint;
mod series;

use std::sync::Arc;
use std::time::Duration;

use ai_proxy::RequestType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use self::series::{Capped, Key, Labels, Total, Value, model, shared_model, text};
use crate::access_log::record::AccessRecord;

pub use self::series::OVERFLOW;

/// APISIX's `DEFAULT_BUCKETS` (ms), for `apisix_llm_latency`.
const APISIX_LATENCY_MS: [f64; 15] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 30000.0,
    60000.0,
];
/// Semconv `gen_ai.client.token.usage` boundaries.
pub(crate) const TOKEN_USAGE: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
/// Semconv `gen_ai.client.operation.duration` boundaries (s).
pub(crate) const OPERATION_DURATION: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// Semconv `gen_ai.server.time_to_first_token` boundaries (s).
pub(crate) const TIME_TO_FIRST_TOKEN: [f64; 16] = [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// Semconv `gen_ai.server.time_per_output_token` boundaries (s).
pub(crate) const TIME_PER_OUTPUT_TOKEN: [f64; 13] = [
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
];
/// APISIX's `DEFAULT_BUCKETS` in seconds, for the per-route latency.
const HTTP_DURATION: [f64; 15] = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0,
];

type Histograms<const N: usize> = Capped<N, Histogram, fn() -> Histogram>;

/// `apisix_llm_active_connections`' labels, in APISIX's order.
pub(crate) type ActiveLabels = Labels<11>;

fn histograms<const N: usize>(new: fn() -> Histogram, cap: usize) -> Histograms<N> {
    Capped::new(Family::new_with_constructor(new), cap)
}

/// The gateway's metrics. See the [module docs](self).
pub struct GatewayMetrics {
    registry: Registry,
    llm_latency: Histograms<8>,
    llm_prompt_tokens: Capped<7, Total>,
    llm_completion_tokens: Capped<7, Total>,
    llm_active_connections: Capped<11, Gauge>,
    token_usage: Histograms<5>,
    operation_duration: Histograms<5>,
    time_to_first_token: Histograms<4>,
    time_per_output_token: Histograms<4>,
    http_requests: Family<Key<2>, Counter>,
    http_duration: Family<Key<1>, Histogram, fn() -> Histogram>,
    fallbacks: Family<Key<2>, Counter>,
    retries: Family<Key<2>, Counter>,
    pub(crate) instance_healthy: Family<Key<2>, Gauge>,
    pub(crate) client_connections: Gauge,
    log_lines_dropped: Counter,
    series_overflow: Family<Key<1>, Counter>,
}

impl std::fmt::Debug for GatewayMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayMetrics").finish_non_exhaustive()
    }
}

impl GatewayMetrics {
    /// Metrics whose model-labelled families hold at most `max_series`
    /// series each.
    pub(crate) fn new(max_series: usize) -> Self {
        let cap = max_series.max(1);
        let m = Self {
            registry: Registry::default(),
            llm_latency: histograms(|| Histogram::new(APISIX_LATENCY_MS), cap),
            llm_prompt_tokens: Capped::new(Family::default(), cap),
            llm_completion_tokens: Capped::new(Family::default(), cap),
            llm_active_connections: Capped::new(Family::default(), cap),
            token_usage: histograms(|| Histogram::new(TOKEN_USAGE), cap),
            operation_duration: histograms(|| Histogram::new(OPERATION_DURATION), cap),
            time_to_first_token: histograms(|| Histogram::new(TIME_TO_FIRST_TOKEN), cap),
            time_per_output_token: histograms(|| Histogram::new(TIME_PER_OUTPUT_TOKEN), cap),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(|| Histogram::new(HTTP_DURATION)),
            fallbacks: Family::default(),
            retries: Family::default(),
            instance_healthy: Family::default(),
            client_connections: Gauge::default(),
            log_lines_dropped: Counter::default(),
            series_overflow: Family::default(),
        };
        m.register()
    }

    fn register(mut self) -> Self {
        let r = &mut self.registry;
        r.register(
            "apisix_llm_latency",
            "LLM request latency in milliseconds",
            self.llm_latency.family.clone(),
        );
        r.register(
            "apisix_llm_prompt_tokens",
            "LLM service consumed prompt tokens",
            self.llm_prompt_tokens.family.clone(),
        );
        r.register(
            "apisix_llm_completion_tokens",
            "LLM service consumed completion tokens",
            self.llm_completion_tokens.family.clone(),
        );
        r.register(
            "apisix_llm_active_connections",
            "Number of active connections to LLM service",
            self.llm_active_connections.family.clone(),
        );
        r.register(
            "gen_ai_client_token_usage",
            "Number of input and output tokens used (OTel GenAI gen_ai.client.token.usage)",
            self.token_usage.family.clone(),
        );
        r.register(
            "gen_ai_client_operation_duration",
            "GenAI operation duration in seconds (OTel GenAI gen_ai.client.operation.duration)",
            self.operation_duration.family.clone(),
        );
        r.register(
            "gen_ai_server_time_to_first_token",
            "Time to generate the first token in seconds, streams (OTel GenAI gen_ai.server.time_to_first_token)",
            self.time_to_first_token.family.clone(),
        );
        r.register(
            "gen_ai_server_time_per_output_token",
            "Time per output token after the first in seconds, streams (OTel GenAI gen_ai.server.time_per_output_token)",
            self.time_per_output_token.family.clone(),
        );
        r.register(
            "ai_proxy_http_requests",
            "Client requests by route and status",
            self.http_requests.clone(),
        );
        r.register(
            "ai_proxy_http_request_duration_seconds",
            "Client request latency by route, in seconds",
            self.http_duration.clone(),
        );
        r.register(
            "ai_proxy_instance_fallbacks",
            "ai-proxy-multi attempts at an instance followed by an attempt at another",
            self.fallbacks.clone(),
        );
        r.register(
            "ai_proxy_instance_retries",
            "ai-proxy-multi attempts at an instance followed by another attempt at it",
            self.retries.clone(),
        );
        r.register(
            "ai_proxy_instance_healthy",
            "1 while an ai-proxy-multi instance may be picked, 0 while it is down",
            self.instance_healthy.clone(),
        );
        r.register(
            "ai_proxy_client_connections",
            "Client connections open",
            self.client_connections.clone(),
        );
        r.register(
            "ai_proxy_log_lines_dropped",
            "Log lines dropped because stdout did not keep up",
            self.log_lines_dropped.clone(),
        );
        r.register(
            "ai_proxy_metric_series_overflow",
            "Samples counted under the overflow model label because a family reached its series cap",
            self.series_overflow.clone(),
        );
        self
    }

    /// Counts one finished request.
    pub(crate) fn observe(&self, record: &AccessRecord, consumer: Option<&str>) {
        let route: Value = text(&record.route_id);
        self.http_requests
            .get_or_create_owned(&Key([
                ("route_id", route.clone()),
                ("code", status(record.status)),
            ]))
            .inc();
        self.http_duration
            .get_or_create_owned(&Key([("route_id", route.clone())]))
            .observe(record.latency.as_secs_f64());
        self.count_attempts(record, &route);
        let Some(m) = &record.metrics else { return };
        let ai = matches!(m.request_type, RequestType::AiChat | RequestType::AiStream);
        if ai {
            self.apisix(record, m, consumer, &route);
        }
        let attrs = |response_model: Option<&str>| {
            [
                (
                    "gen_ai_operation_name",
                    Value::Static(m.operation_name().unwrap_or_default()),
                ),
                ("gen_ai_provider_name", Value::Static(m.provider_name())),
                (
                    "gen_ai_request_model",
                    shared_model(m.request_llm_model.as_ref()),
                ),
                ("gen_ai_response_model", model(response_model)),
            ]
        };
        let [op, provider, req, resp] = attrs(m.response_model.as_deref());
        if let Some(usage) = &m.usage {
            for (kind, n) in [
                ("input", usage.prompt_tokens),
                ("output", usage.completion_tokens),
            ] {
                let labels = [
                    op.clone(),
                    provider.clone(),
                    req.clone(),
                    resp.clone(),
                    ("gen_ai_token_type", Value::Static(kind)),
                ];
                self.token_usage.series(labels).observe(n as f64);
            }
        }
        let error = if record.status >= 400 {
            status(record.status)
        } else {
            Value::Static("")
        };
        let labels = [
            op.clone(),
            provider.clone(),
            req.clone(),
            resp.clone(),
            ("error_type", error),
        ];
        self.operation_duration
            .series(labels)
            .observe(m.duration.as_secs_f64());
        if m.stream && record.status < 400 {
            let labels = [op, provider, req, resp];
            if let Some(ttft) = m.time_to_first_token {
                self.time_to_first_token
                    .series(labels.clone())
                    .observe(ttft.as_secs_f64());
            }
            if let Some(tpot) = m.time_per_output_token() {
                self.time_per_output_token
                    .series(labels)
                    .observe(tpot.as_secs_f64());
            }
        }
    }

    /// APISIX's `http_log` for an AI request (`ai_chat`, `ai_stream`).
    fn apisix(
        &self,
        record: &AccessRecord,
        m: &ai_proxy::core::Metrics,
        consumer: Option<&str>,
        route: &Value,
    ) {
        let usage = m.usage.unwrap_or_default();
        let labels = [
            ("route_id", route.clone()),
            ("service_id", Value::Static("")),
            ("consumer", text(consumer.unwrap_or_default())),
            ("node", text(node(&record.upstream_addr))),
            ("request_type", Value::Static(m.request_type.as_str())),
            (
                "request_llm_model",
                shared_model(m.request_llm_model.as_ref()),
            ),
            ("llm_model", shared_model(m.llm_model.as_ref())),
        ];
        let ttft = m.time_to_first_token.unwrap_or_default();
        // APISIX observes served responses only (status < 400) with a
        // non-zero `$llm_time_to_first_token` (whole ms).
        if ttft >= Duration::from_millis(1) && record.status < 400 {
            let ms = |d: Duration| d.as_millis() as f64;
            let with_type = |kind: &'static str| {
                let [a, b, c, d, e, f, g] = labels.clone();
                [("type", Value::Static(kind)), a, b, c, d, e, f, g]
            };
            let total = m.upstream_response_time.unwrap_or_default();
            self.llm_latency
                .series(with_type("total"))
                .observe(ms(total));
            if m.request_type == RequestType::AiStream {
                self.llm_latency.series(with_type("ttft")).observe(ms(ttft));
            }
        }
        self.llm_prompt_tokens
            .series(labels.clone())
            .inc_by(usage.prompt_tokens);
        self.llm_completion_tokens
            .series(labels)
            .inc_by(usage.completion_tokens);
    }

    /// Fallbacks and retries from the record's attempts.
    fn count_attempts(&self, record: &AccessRecord, route: &Value) {
        for pair in record.attempts.windows(2) {
            let [from, to] = pair else { continue };
            let labels = Key([
                ("route_id", route.clone()),
                ("instance", Value::Shared(Arc::clone(from))),
            ]);
            let family = if from == to {
                &self.retries
            } else {
                &self.fallbacks
            };
            family.get_or_create_owned(&labels).inc();
        }
    }

    /// One more request talking to an LLM upstream, until the returned
    /// gauge is decremented.
    pub(crate) fn llm_connection(&self, labels: ActiveLabels) -> Gauge {
        let gauge = self.llm_active_connections.series(labels);
        gauge.inc();
        gauge
    }

    /// Renders every metric in the text format, after `dropped_log_lines`
    /// (the process's running count) is mirrored.
    pub(crate) fn render(&self, dropped_log_lines: u64) -> String {
        mirror(&self.log_lines_dropped, dropped_log_lines);
        for (name, overflow) in [
            ("apisix_llm_latency", &self.llm_latency.overflow),
            ("apisix_llm_prompt_tokens", &self.llm_prompt_tokens.overflow),
            (
                "apisix_llm_completion_tokens",
                &self.llm_completion_tokens.overflow,
            ),
            (
                "apisix_llm_active_connections",
                &self.llm_active_connections.overflow,
            ),
            ("gen_ai_client_token_usage", &self.token_usage.overflow),
            (
                "gen_ai_client_operation_duration",
                &self.operation_duration.overflow,
            ),
            (
                "gen_ai_server_time_to_first_token",
                &self.time_to_first_token.overflow,
            ),
            (
                "gen_ai_server_time_per_output_token",
                &self.time_per_output_token.overflow,
            ),
        ] {
            let series = self
                .series_overflow
                .get_or_create_owned(&Key([("metric", Value::Static(name))]));
            mirror(&series, overflow.value());
        }
        let mut out = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry);
        out
    }
}

/// Sets a counter that mirrors a running count kept elsewhere (it only
/// grows).
fn mirror(counter: &Counter, value: u64) {
    counter
        .inner()
        .fetch_max(value, std::sync::atomic::Ordering::Relaxed);
}

/// `apisix_llm_active_connections`' labels, in APISIX's order (`route`
/// is the route id; no services, no matched host).
pub(crate) fn active_labels(
    route: &str,
    consumer: Option<&str>,
    upstream: &str,
    request_type: &'static str,
    request_model: Option<&Arc<str>>,
    llm_model: Option<&Arc<str>>,
) -> ActiveLabels {
    let route = text(route);
    [
        ("route", route.clone()),
        ("route_id", route),
        ("matched_uri", Value::Static("")),
        ("matched_host", Value::Static("")),
        ("service", Value::Static("")),
        ("service_id", Value::Static("")),
        ("consumer", text(consumer.unwrap_or_default())),
        ("node", text(node(upstream))),
        ("request_type", Value::Static(request_type)),
        ("request_llm_model", shared_model(request_model)),
        ("llm_model", shared_model(llm_model)),
    ]
}

/// A status code as a label value (the common ones without allocating).
fn status(code: u16) -> Value {
    match code {
        200 => Value::Static("200"),
        404 => Value::Static("404"),
        429 => Value::Static("429"),
        499 => Value::Static("499"),
        500 => Value::Static("500"),
        502 => Value::Static("502"),
        503 => Value::Static("503"),
        504 => Value::Static("504"),
        other => text(&other.to_string()),
    }
}

/// The host of an upstream `host:port` (APISIX's `node` is the upstream
/// address without its port).
fn node(upstream: &str) -> &str {
    match upstream.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => upstream,
    }
}

#[cfg(test)]
mod tests;
