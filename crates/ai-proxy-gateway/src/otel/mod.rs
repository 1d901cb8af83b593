//! OpenTelemetry (feature `otel`): the GenAI metrics and one span per
//! request (a child span per upstream attempt) exported over OTLP/HTTP
//! (protobuf), and the W3C `traceparent` of each attempt sent upstream.
//!
//! Endpoints follow the OTLP exporter conventions:
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is a base URL (`/v1/traces` and
//! `/v1/metrics` are appended), `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` and
//! `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` are used as given. With none of
//! them set nothing is collected or exported. Plain `http://` only (the
//! collector next to the gateway); an `https://` endpoint is refused.
//!
//! Spans: the request's server span, named `{gen_ai.operation.name}
//! {gen_ai.request.model}` once known (the conventions' span name), with
//! the [`Metrics::otel_attributes`](ai_proxy::core::Metrics::otel_attributes)
//! of the answer, `http.route` and `http.response.status_code`; under it
//! one client span per attempt (`ai_proxy.instance`, `server.address`,
//! that attempt's `gen_ai.*`). A client's `traceparent` is the request
//! span's parent.

mod trace;

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Histogram, MeterProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

use crate::access_log::record::AccessRecord;
use crate::metrics::{OPERATION_DURATION, TIME_PER_OUTPUT_TOKEN, TIME_TO_FIRST_TOKEN, TOKEN_USAGE};

pub(crate) use self::trace::RequestTrace;

/// How often metrics are pushed.
const EXPORT_INTERVAL: Duration = Duration::from_secs(10);

/// Where OTLP data goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtelConfig {
    traces: String,
    metrics: String,
}

/// Why OpenTelemetry could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtelError {
    /// An endpoint this build cannot export to.
    #[error(
        "{variable}: `{endpoint}` is not an http:// URL; point it at a collector's OTLP/HTTP port (http://host:4318)"
    )]
    Endpoint {
        /// The variable (or setting) that named it.
        variable: &'static str,
        /// The endpoint.
        endpoint: String,
    },
    /// The OTLP exporter refused its configuration.
    #[error("the OTLP exporter could not be built: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

impl OtelConfig {
    /// Export to the collector at `base` (`http://host:4318`):
    /// `base/v1/traces` and `base/v1/metrics`.
    pub fn endpoint(base: &str) -> Result<Self, OtelError> {
        let base = base.trim_end_matches('/');
        let config = Self {
            traces: format!("{base}/v1/traces"),
            metrics: format!("{base}/v1/metrics"),
        };
        config.check("endpoint")
    }

    /// From the process environment; `Ok(None)` when no OTLP endpoint
    /// variable is set.
    pub fn from_env() -> Result<Option<Self>, OtelError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// From variables `lookup` answers (as [`from_env`](Self::from_env)
    /// reads them).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, OtelError> {
        let base = lookup("OTEL_EXPORTER_OTLP_ENDPOINT");
        let traces = lookup("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        let metrics = lookup("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
        if base.is_none() && traces.is_none() && metrics.is_none() {
            return Ok(None);
        }
        let base = base
            .as_deref()
            .unwrap_or("http://localhost:4318")
            .trim_end_matches('/')
            .to_owned();
        let config = Self {
            traces: traces.unwrap_or_else(|| format!("{base}/v1/traces")),
            metrics: metrics.unwrap_or_else(|| format!("{base}/v1/metrics")),
        };
        config.check("OTEL_EXPORTER_OTLP_ENDPOINT").map(Some)
    }

    fn check(self, variable: &'static str) -> Result<Self, OtelError> {
        for endpoint in [&self.traces, &self.metrics] {
            if !endpoint.starts_with("http://") {
                return Err(OtelError::Endpoint {
                    variable,
                    endpoint: endpoint.clone(),
                });
            }
        }
        Ok(self)
    }

    /// The traces URL.
    pub fn traces_endpoint(&self) -> &str {
        &self.traces
    }

    /// The metrics URL.
    pub fn metrics_endpoint(&self) -> &str {
        &self.metrics
    }
}

/// Running exporters and the instruments requests record into.
pub struct Otel {
    tracers: SdkTracerProvider,
    meters: SdkMeterProvider,
    pub(crate) tracer: SdkTracer,
    token_usage: Histogram<u64>,
    operation_duration: Histogram<f64>,
    time_to_first_token: Histogram<f64>,
    time_per_output_token: Histogram<f64>,
}

impl std::fmt::Debug for Otel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Otel").finish_non_exhaustive()
    }
}

impl Otel {
    /// Starts the exporters (their own threads; no runtime needed).
    pub fn start(config: &OtelConfig) -> Result<Self, OtelError> {
        let resource = Resource::builder()
            .with_service_name("ai-proxy-gateway")
            .build();
        let spans = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(config.traces.clone())
            .build()?;
        let tracers = SdkTracerProvider::builder()
            .with_batch_exporter(spans)
            .with_resource(resource.clone())
            .build();
        let metrics = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_endpoint(config.metrics.clone())
            .build()?;
        let reader = PeriodicReader::builder(metrics)
            .with_interval(EXPORT_INTERVAL)
            .build();
        let meters = SdkMeterProvider::builder()
            .with_reader(reader)
            .with_resource(resource)
            .build();
        let meter = meters.meter("ai-proxy-gateway");
        let seconds = |name: &'static str, description: &'static str, bounds: &[f64]| {
            meter
                .f64_histogram(name)
                .with_unit("s")
                .with_description(description)
                .with_boundaries(bounds.to_vec())
                .build()
        };
        Ok(Self {
            tracer: opentelemetry::trace::TracerProvider::tracer(&tracers, "ai-proxy-gateway"),
            token_usage: meter
                .u64_histogram("gen_ai.client.token.usage")
                .with_unit("{token}")
                .with_description("Number of input and output tokens used")
                .with_boundaries(TOKEN_USAGE.to_vec())
                .build(),
            operation_duration: seconds(
                "gen_ai.client.operation.duration",
                "GenAI operation duration",
                &OPERATION_DURATION,
            ),
            time_to_first_token: seconds(
                "gen_ai.server.time_to_first_token",
                "Time to generate first token for successful responses",
                &TIME_TO_FIRST_TOKEN,
            ),
            time_per_output_token: seconds(
                "gen_ai.server.time_per_output_token",
                "Time per output token generated after the first token for successful responses",
                &TIME_PER_OUTPUT_TOKEN,
            ),
            tracers,
            meters,
        })
    }

    /// Pushes what is pending now (spans and metrics).
    pub fn flush(&self) {
        let _ = self.tracers.force_flush();
        let _ = self.meters.force_flush();
    }

    /// Records one finished request's GenAI metrics.
    pub(crate) fn record(&self, record: &AccessRecord) {
        let Some(m) = &record.metrics else { return };
        let mut attrs = vec![KeyValue::new("gen_ai.provider.name", m.provider_name())];
        if let Some(op) = m.operation_name() {
            attrs.push(KeyValue::new("gen_ai.operation.name", op));
        }
        if let Some(model) = &m.request_llm_model {
            attrs.push(KeyValue::new("gen_ai.request.model", model.to_string()));
        }
        if let Some(model) = &m.response_model {
            attrs.push(KeyValue::new("gen_ai.response.model", model.to_string()));
        }
        if let Some(usage) = &m.usage {
            for (kind, n) in [
                ("input", usage.prompt_tokens),
                ("output", usage.completion_tokens),
            ] {
                let mut with_type = attrs.clone();
                with_type.push(KeyValue::new("gen_ai.token.type", kind));
                self.token_usage.record(n, &with_type);
            }
        }
        let served = record.status < 400;
        if m.stream && served {
            if let Some(ttft) = m.time_to_first_token {
                self.time_to_first_token.record(ttft.as_secs_f64(), &attrs);
            }
            if let Some(tpot) = m.time_per_output_token() {
                self.time_per_output_token
                    .record(tpot.as_secs_f64(), &attrs);
            }
        }
        if !served {
            attrs.push(KeyValue::new("error.type", record.status.to_string()));
        }
        self.operation_duration
            .record(m.duration.as_secs_f64(), &attrs);
    }
}

/// Exporters for the environment's endpoints, if any; a bad endpoint is a
/// configuration error under the variable's name.
pub(crate) fn from_env() -> Result<Option<Otel>, ai_proxy::config::ConfigErrors> {
    let refused = |e: OtelError| {
        let path = match &e {
            OtelError::Endpoint { variable, .. } => *variable,
            OtelError::Exporter(_) => "OTEL_EXPORTER_OTLP_ENDPOINT",
        };
        ai_proxy::config::ConfigErrors::new(vec![ai_proxy::config::ConfigError::new(
            path,
            ai_proxy::config::ConfigErrorKind::Invalid,
            e.to_string(),
        )])
    };
    match OtelConfig::from_env().map_err(refused)? {
        Some(config) => Otel::start(&config).map(Some).map_err(refused),
        None => Ok(None),
    }
}

impl Drop for Otel {
    fn drop(&mut self) {
        let _ = self.tracers.shutdown();
        let _ = self.meters.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn nothing_is_exported_without_an_endpoint_variable() {
        assert_eq!(OtelConfig::from_lookup(lookup(&[])).unwrap(), None);
    }

    #[test]
    fn the_base_endpoint_gets_the_signal_paths_and_signal_endpoints_are_kept() {
        let c =
            OtelConfig::from_lookup(lookup(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")]))
                .unwrap()
                .unwrap();
        assert_eq!(c.traces_endpoint(), "http://c:4318/v1/traces");
        assert_eq!(c.metrics_endpoint(), "http://c:4318/v1/metrics");
        let c = OtelConfig::from_lookup(lookup(&[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://t:1/x",
        )]))
        .unwrap()
        .unwrap();
        assert_eq!(c.traces_endpoint(), "http://t:1/x");
        assert_eq!(c.metrics_endpoint(), "http://localhost:4318/v1/metrics");
    }

    #[test]
    fn an_https_endpoint_is_refused_naming_the_variable() {
        let e = OtelConfig::from_lookup(lookup(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c")]))
            .unwrap_err();
        assert!(
            e.to_string().starts_with("OTEL_EXPORTER_OTLP_ENDPOINT"),
            "{e}"
        );
    }
}
