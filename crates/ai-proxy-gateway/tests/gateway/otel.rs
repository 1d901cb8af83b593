//! OpenTelemetry over OTLP/HTTP: an in-test collector decodes what the
//! gateway exports (opentelemetry-proto protobuf).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ai_proxy_gateway::otel::{Otel, OtelConfig};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;

use super::harness::{self, Gateway, Script, Upstream, openai_events, openai_json, post};

/// Export requests received: path and body.
type Received = Mutex<Vec<(String, Vec<u8>)>>;

/// An OTLP/HTTP collector on 127.0.0.1: every request body by path.
struct Collector {
    addr: SocketAddr,
    received: Arc<Received>,
}

impl Collector {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let store = Arc::clone(&store);
                std::thread::spawn(move || serve(stream, &store));
            }
        });
        Self { addr, received }
    }

    /// Decoded export requests to `path`, waiting up to 10 s for one.
    fn wait<M: Message + Default>(&self, path: &str) -> Vec<M> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got: Vec<M> = self
                .received
                .lock()
                .unwrap()
                .iter()
                .filter(|(p, _)| p == path)
                .map(|(_, body)| M::decode(body.as_slice()).unwrap())
                .collect();
            if !got.is_empty() || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn serve(stream: std::net::TcpStream, store: &Received) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let mut length = 0;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap();
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        store.lock().unwrap().push((path, body));
        let _ = writer.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
        );
    }
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

fn string(attrs: &[KeyValue], key: &str) -> Option<String> {
    match attr(attrs, key) {
        Some(any_value::Value::StringValue(s)) => Some(s.clone()),
        _ => None,
    }
}

fn int(attrs: &[KeyValue], key: &str) -> Option<i64> {
    match attr(attrs, key) {
        Some(any_value::Value::IntValue(n)) => Some(*n),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn spans_metrics_and_traceparent_reach_an_otlp_collector() {
    let collector = Collector::start();
    let up = Upstream::start(|seen| {
        if seen.body.contains("\"stream\":true") {
            Script::Stream {
                events: openai_events("gpt-4o", &["a", "b", "c"], 7, 3),
                gap: Duration::from_millis(5),
            }
        } else {
            Script::Reply {
                status: 200,
                content_type: "application/json",
                body: openai_json("gpt-4o", 11, 5),
            }
        }
    });
    let limited = Upstream::start(|_| Script::Reply {
        status: 429,
        content_type: "application/json",
        body: r#"{"error":{"message":"slow down"}}"#.to_owned(),
    });
    let config = format!(
        "version: \"1\"\nroutes:\n  - id: single\n    uri: /v1/chat/completions\n    plugins:\n      ai-proxy: {{provider: openai, auth: {{}}, override: {{endpoint: \"http://{up}\"}}}}\n  - id: multi\n    uri: /multi\n    plugins:\n      ai-proxy-multi:\n        fallback_strategy: [http_429]\n        instances:\n          - {{name: primary, provider: openai, priority: 1, weight: 1, auth: {{}}, override: {{endpoint: \"http://{limited}\"}}}}\n          - {{name: backup, provider: deepseek, priority: 0, weight: 1, auth: {{}}, override: {{endpoint: \"http://{up}\"}}}}\n",
        up = up.addr,
        limited = limited.addr,
    );
    let otel =
        Otel::start(&OtelConfig::endpoint(&format!("http://{}", collector.addr)).unwrap()).unwrap();
    let gw = Gateway::with(&config, |b| b.settings(harness::settings()).otel(otel));
    let chat = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#;
    let stream = r#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    for (path, body) in [
        ("/v1/chat/completions", chat),
        ("/v1/chat/completions", stream),
        ("/multi", chat),
    ] {
        assert_eq!(post(gw.addr, path, body).status, 200);
        gw.access_log();
    }
    // Stopping the gateway shuts the exporters down, which flushes them.
    drop(gw);

    let traces: Vec<ExportTraceServiceRequest> = collector.wait("/v1/traces");
    let spans: Vec<Span> = traces
        .into_iter()
        .flat_map(|t| t.resource_spans)
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans)
        .collect();
    let requests: Vec<&Span> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Server as i32)
        .collect();
    assert_eq!(requests.len(), 3, "{spans:#?}");
    let multi = requests
        .iter()
        .find(|s| string(&s.attributes, "http.route").as_deref() == Some("multi"))
        .unwrap();
    assert_eq!(multi.name, "chat gpt-4o");
    assert_eq!(
        string(&multi.attributes, "gen_ai.provider.name").as_deref(),
        Some("deepseek")
    );
    assert_eq!(
        string(&multi.attributes, "gen_ai.request.model").as_deref(),
        Some("gpt-4o")
    );
    assert_eq!(
        int(&multi.attributes, "gen_ai.usage.input_tokens"),
        Some(11)
    );
    assert_eq!(
        int(&multi.attributes, "http.response.status_code"),
        Some(200)
    );
    // One child per attempt, in the request's trace.
    let children: Vec<&Span> = spans
        .iter()
        .filter(|s| s.parent_span_id == multi.span_id)
        .collect();
    assert_eq!(children.len(), 2, "{spans:#?}");
    let instances: HashMap<String, &Span> = children
        .iter()
        .map(|s| (string(&s.attributes, "ai_proxy.instance").unwrap(), *s))
        .collect();
    for child in &children {
        assert_eq!(child.trace_id, multi.trace_id);
        assert_eq!(child.kind, SpanKind::Client as i32);
    }
    assert_eq!(
        int(
            &instances["primary"].attributes,
            "http.response.status_code"
        ),
        Some(429)
    );
    assert_eq!(
        string(&instances["backup"].attributes, "gen_ai.response.model").as_deref(),
        Some("gpt-4o")
    );
    // The upstream saw the attempt's span as its parent.
    let backup = &instances["backup"];
    let expected = format!("00-{}-{}-01", hex(&backup.trace_id), hex(&backup.span_id));
    let seen: Vec<String> = up
        .requests()
        .iter()
        .filter_map(|s| s.headers.get("traceparent").cloned())
        .collect();
    assert_eq!(
        seen.len(),
        3,
        "every upstream request carries a traceparent"
    );
    assert!(seen.contains(&expected), "{seen:?} lacks {expected}");
    assert_eq!(limited.requests()[0].headers["traceparent"].len(), 55);

    let metrics: Vec<ExportMetricsServiceRequest> = collector.wait("/v1/metrics");
    let mut counts: HashMap<String, u64> = HashMap::new();
    for metric in metrics
        .into_iter()
        .flat_map(|m| m.resource_metrics)
        .flat_map(|r| r.scope_metrics)
        .flat_map(|s| s.metrics)
    {
        if let Some(Data::Histogram(h)) = &metric.data {
            let n: u64 = h.data_points.iter().map(|p| p.count).sum();
            *counts.entry(metric.name.clone()).or_default() += n;
        }
    }
    assert_eq!(
        counts.get("gen_ai.client.token.usage"),
        Some(&6),
        "{counts:?}"
    );
    assert_eq!(counts.get("gen_ai.client.operation.duration"), Some(&3));
    assert_eq!(counts.get("gen_ai.server.time_to_first_token"), Some(&1));
    assert_eq!(counts.get("gen_ai.server.time_per_output_token"), Some(&1));
}
