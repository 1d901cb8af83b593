//! One request's spans: the request span and a child per attempt, and the
//! `traceparent` each attempt carries upstream.

use std::borrow::Cow;
use std::sync::Arc;

use ai_proxy::core::Metrics;
use ai_proxy::core::metrics::AttributeValue;
use http::HeaderMap;
use http::header::HeaderValue;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, Span};

use super::Otel;
use crate::access_log::record::AccessRecord;

/// The request's spans while it is served.
pub(crate) struct RequestTrace {
    tracer: SdkTracer,
    request: Span,
    attempt: Option<Span>,
    /// The client's model, for span names.
    model: Option<Arc<str>>,
}

impl RequestTrace {
    /// Starts the request span, child of the client's `traceparent` if any.
    pub(crate) fn start(otel: &Otel, headers: &HeaderMap, method: &http::Method) -> Self {
        let parent = TraceContextPropagator::new().extract(&Headers(headers));
        let request = otel
            .tracer
            .span_builder(method.to_string())
            .with_kind(SpanKind::Server)
            .start_with_context(&otel.tracer, &parent);
        Self {
            tracer: otel.tracer.clone(),
            request,
            attempt: None,
            model: None,
        }
    }

    /// Starts a child span for an attempt at `instance` (ending the last).
    pub(crate) fn attempt(&mut self, instance: &str) {
        self.end_attempt(None);
        let parent = Context::new().with_remote_span_context(self.request.span_context().clone());
        let mut span = self
            .tracer
            .span_builder(format!("attempt {instance}"))
            .with_kind(SpanKind::Client)
            .start_with_context(&self.tracer, &parent);
        span.set_attribute(KeyValue::new("ai_proxy.instance", instance.to_owned()));
        self.attempt = Some(span);
    }

    /// The client's model (known once the request is prepared).
    pub(crate) fn model(&mut self, model: Option<&Arc<str>>) {
        if self.model.is_none() {
            self.model = model.cloned();
        }
    }

    /// The attempt's upstream.
    pub(crate) fn upstream(&mut self, host: &str) {
        if let Some(span) = &mut self.attempt {
            span.set_attribute(KeyValue::new("server.address", host.to_owned()));
        }
    }

    /// The W3C `traceparent` of the current attempt.
    pub(crate) fn traceparent(&self) -> Option<HeaderValue> {
        let span = self.attempt.as_ref()?;
        let cx = Context::new().with_remote_span_context(span.span_context().clone());
        let mut headers = HeaderMap::new();
        TraceContextPropagator::new().inject_context(&cx, &mut HeadersMut(&mut headers));
        headers.remove("traceparent")
    }

    /// The current attempt's outcome: its attributes, then its end.
    pub(crate) fn end_attempt(&mut self, metrics: Option<&Metrics>) {
        let Some(mut span) = self.attempt.take() else {
            return;
        };
        if let Some(m) = metrics {
            if let Some(op) = m.operation_name() {
                span.update_name(name(op, self.model.as_deref()));
            }
            span.set_attributes(attributes(m));
        }
        span.end();
    }

    /// Ends every span with the request's outcome.
    pub(crate) fn finish(mut self, record: &AccessRecord) {
        let metrics = record.metrics.as_ref();
        self.end_attempt(metrics);
        let span = &mut self.request;
        if let Some(m) = metrics {
            if let Some(op) = m.operation_name() {
                let name = name(op, self.model.as_deref());
                span.update_name(name);
            }
            span.set_attributes(attributes(m));
        }
        span.set_attribute(KeyValue::new("http.route", record.route_id.clone()));
        span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(record.status),
        ));
        if record.status >= 500 || record.client_aborted {
            span.set_status(Status::error(Cow::Owned(record.error.clone())));
        }
        span.end();
    }
}

/// The conventions' span name: `{gen_ai.operation.name} {gen_ai.request.model}`.
fn name(op: &str, model: Option<&str>) -> String {
    match model {
        Some(model) => format!("{op} {model}"),
        None => op.to_owned(),
    }
}

/// The exchange's `gen_ai.*` attributes as OpenTelemetry key-values.
fn attributes(m: &Metrics) -> Vec<KeyValue> {
    m.otel_attributes()
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                AttributeValue::String(s) => Value::from(s),
                AttributeValue::Int(n) => Value::from(n),
                AttributeValue::Bool(b) => Value::from(b),
                // Future kinds: as text.
                #[allow(unreachable_patterns)]
                other => Value::from(format!("{other:?}")),
            };
            KeyValue::new(key, value)
        })
        .collect()
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct HeadersMut<'a>(&'a mut HeaderMap);

impl Injector for HeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::header::HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}
