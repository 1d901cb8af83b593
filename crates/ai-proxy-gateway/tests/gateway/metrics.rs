//! `/metrics` on `--metrics-listen`: after real requests through the
//! gateway, the scrape parses with an independent Prometheus text-format
//! parser and agrees with the access log.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use prometheus_parse::{Scrape, Value};

use super::harness::{self, Gateway, Script, Upstream, openai_events, openai_json, post};

/// A port free a moment ago, for the metrics listener.
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// `GET /metrics`: status, content type, body.
fn scrape(addr: SocketAddr) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("content-type: "))
        .unwrap_or_default()
        .to_owned();
    (status, content_type, body.to_owned())
}

fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

/// The samples of `metric` whose labels include all of `with`.
fn samples<'a>(
    scrape: &'a Scrape,
    metric: &str,
    with: &[(&str, &str)],
) -> Vec<&'a prometheus_parse::Sample> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric && with.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .collect()
}

/// The sum of a counter's samples with these labels.
fn counter(scrape: &Scrape, metric: &str, with: &[(&str, &str)]) -> f64 {
    samples(scrape, metric, with)
        .iter()
        .map(|s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            _ => panic!("{metric} is not a counter"),
        })
        .sum()
}

/// The observation count (the `+Inf` bucket) of a histogram's series with
/// these labels, summed.
fn histogram_count(scrape: &Scrape, metric: &str, with: &[(&str, &str)]) -> f64 {
    samples(scrape, metric, with)
        .iter()
        .map(|s| match &s.value {
            Value::Histogram(buckets) => buckets
                .iter()
                .find(|b| b.less_than.is_infinite())
                .map_or(0.0, |b| b.count),
            _ => panic!("{metric} is not a histogram"),
        })
        .sum()
}

/// Echoes the request's model; streams when asked to (three tokens).
fn echo_model(seen: &harness::Seen) -> Script {
    let body: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
    let model = body["model"].as_str().unwrap_or("none").to_owned();
    if body["stream"] == true {
        Script::Stream {
            events: openai_events(&model, &["a", "b", "c"], 7, 3),
            gap: Duration::from_millis(5),
        }
    } else {
        // APISIX (and the gateway) observe `apisix_llm_latency` only for a
        // time to first token of at least 1 ms: a reply faster than that
        // on an idle machine would drop one observation from the counts.
        std::thread::sleep(Duration::from_millis(2));
        Script::Reply {
            status: 200,
            content_type: "application/json",
            body: openai_json(&model, 11, 5),
        }
    }
}

#[test]
fn metrics_agree_with_the_access_log() {
    let up = Upstream::start(echo_model);
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
    let metrics_addr = free_addr();
    let gw = Gateway::with(&config, |b| {
        b.settings(harness::settings().with_metrics_listen(metrics_addr))
    });
    let requests = [
        ("/v1/chat/completions", "gpt-4o", false),
        ("/v1/chat/completions", "gpt-4o", false),
        ("/v1/chat/completions", "gpt-4o", true),
        ("/v1/chat/completions", "o3-mini", false),
        ("/v1/chat/completions", "o3-mini", true),
        ("/v1/chat/completions", "o3-mini", true),
        ("/multi", "gpt-4o", false),
        ("/nowhere", "gpt-4o", false),
    ];
    let mut logs = Vec::new();
    for (path, model, stream) in requests {
        let body = format!(
            r#"{{"model":"{model}","stream":{stream},"messages":[{{"role":"user","content":"hi"}}]}}"#
        );
        let reply = post(gw.addr, path, &body);
        let expected = if path == "/nowhere" { 404 } else { 200 };
        assert_eq!(reply.status, expected, "{path}: {}", reply.body);
        logs.push(gw.access_log());
    }

    let (status, content_type, text) = scrape(metrics_addr);
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let scrape = parse(&text);

    // Token counters equal the access log's sums, per route and model.
    let mut sums: HashMap<(String, String), (f64, f64)> = HashMap::new();
    for log in logs.iter().filter(|l| l["route_id"] != "") {
        let key = (
            log["route_id"].as_str().unwrap().to_owned(),
            log["llm_model"].as_str().unwrap().to_owned(),
        );
        let tokens = |name: &str| log[name].as_str().unwrap().parse::<f64>().unwrap();
        let sum = sums.entry(key).or_default();
        sum.0 += tokens("llm_prompt_tokens");
        sum.1 += tokens("llm_completion_tokens");
    }
    assert_eq!(sums.len(), 3, "{sums:?}");
    for ((route, model), (prompt, completion)) in &sums {
        let with = [("route_id", route.as_str()), ("llm_model", model.as_str())];
        assert_eq!(
            counter(&scrape, "apisix_llm_prompt_tokens", &with),
            *prompt,
            "{route} {model}\n{text}"
        );
        assert_eq!(
            counter(&scrape, "apisix_llm_completion_tokens", &with),
            *completion
        );
    }
    let streams = requests.iter().filter(|r| r.2).count() as f64;
    let served = 7.0;
    // Histogram counts equal request counts.
    assert_eq!(
        histogram_count(&scrape, "apisix_llm_latency", &[("type", "total")]),
        served
    );
    assert_eq!(
        histogram_count(&scrape, "apisix_llm_latency", &[("type", "ttft")]),
        streams
    );
    assert_eq!(
        histogram_count(
            &scrape,
            "gen_ai_client_token_usage",
            &[("gen_ai_token_type", "input")]
        ),
        served
    );
    assert_eq!(
        histogram_count(&scrape, "gen_ai_client_operation_duration", &[]),
        served
    );
    assert_eq!(
        histogram_count(&scrape, "gen_ai_server_time_to_first_token", &[]),
        streams
    );
    assert_eq!(
        histogram_count(&scrape, "gen_ai_server_time_per_output_token", &[]),
        streams
    );
    assert_eq!(
        histogram_count(
            &scrape,
            "gen_ai_client_token_usage",
            &[
                ("gen_ai_operation_name", "chat"),
                ("gen_ai_provider_name", "deepseek"),
                ("gen_ai_request_model", "gpt-4o"),
            ]
        ),
        2.0,
        "the multi request's input and output"
    );
    assert_eq!(
        histogram_count(&scrape, "ai_proxy_http_request_duration_seconds", &[]),
        requests.len() as f64
    );
    // Per-route status counters.
    for (route, code, n) in [
        ("single", "200", 6.0),
        ("multi", "200", 1.0),
        ("", "404", 1.0),
    ] {
        let with = [("route_id", route), ("code", code)];
        assert_eq!(
            counter(&scrape, "ai_proxy_http_requests_total", &with),
            n,
            "{route} {code}"
        );
    }
    // The fallback, the instances' health, nothing in flight.
    let from_primary = [("route_id", "multi"), ("instance", "primary")];
    assert_eq!(
        counter(&scrape, "ai_proxy_instance_fallbacks_total", &from_primary),
        1.0
    );
    assert_eq!(
        counter(&scrape, "ai_proxy_instance_retries_total", &[]),
        0.0
    );
    let backup = [("route_id", "multi"), ("instance", "backup")];
    assert_eq!(counter(&scrape, "ai_proxy_instance_healthy", &backup), 1.0);
    assert_eq!(counter(&scrape, "apisix_llm_active_connections", &[]), 0.0);
    assert_eq!(
        counter(&scrape, "ai_proxy_metric_series_overflow_total", &[]),
        0.0
    );
    assert!(text.contains("# TYPE apisix_llm_prompt_tokens counter\n"));
    assert!(text.contains("# TYPE apisix_llm_latency histogram\n"));
    assert!(text.contains("# TYPE apisix_llm_active_connections gauge\n"));
}

#[test]
fn metrics_are_off_unless_asked_for() {
    let up = Upstream::start(echo_model);
    let config = format!(
        "version: \"1\"\nroutes:\n  - id: r\n    uri: /v1/chat/completions\n    plugins:\n      ai-proxy: {{provider: openai, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n",
        up.addr
    );
    let gw = Gateway::start(&config);
    let reply = post(
        gw.addr,
        "/v1/chat/completions",
        r#"{"model":"m","messages":[]}"#,
    );
    assert_eq!(reply.status, 200);
    gw.access_log();
    // The gateway's own listener has no /metrics either.
    let reply = harness::post(gw.addr, "/metrics", "");
    assert_eq!(reply.status, 404);
}
