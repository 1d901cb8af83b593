//! The series cap against a flood of client-chosen model names.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ai_proxy::core::context::RequestContext;
use ai_proxy::core::exchange::Exchange;
use ai_proxy::{Protocol, RequestType};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::{GatewayMetrics, OVERFLOW};
use crate::access_log::AccessRecord;

/// One served streaming request for `model`, as the access log records it.
fn record(model: &str) -> AccessRecord {
    let start = Instant::now();
    let mut ctx = RequestContext::new(Protocol::OpenAiChat, Protocol::OpenAiChat, start);
    ctx.request_type = RequestType::AiStream;
    ctx.request_llm_model = Some(model.into());
    let mut exchange = Exchange::new(ctx, None);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    let ms = Duration::from_millis;
    let _ = exchange.on_head(StatusCode::OK, &headers, start);
    let events = format!(
        "data: {{\"model\":\"{model}\",\"choices\":[{{\"delta\":{{\"content\":\"a\"}}}}]}}\n\n\
         data: {{\"model\":\"{model}\",\"choices\":[],\"usage\":{{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}}}\n\ndata: [DONE]\n\n"
    );
    let _ = exchange.on_body(Bytes::from(events), start + ms(20));
    let _ = exchange.on_eof(start + ms(50));
    AccessRecord {
        route_id: "r".to_owned(),
        method: Method::POST,
        path: "/v1/chat/completions".to_owned(),
        remote: SocketAddr::from(([127, 0, 0, 1], 1)),
        status: 200,
        latency: ms(60),
        attempts: Vec::new(),
        upstream_addr: "api.example:443".to_owned(),
        provider: None,
        logging: Default::default(),
        metrics: Some(exchange.finish(start + ms(50))),
        error: String::new(),
        client_aborted: false,
        request_payload: None,
    }
}

#[test]
fn ten_thousand_client_model_names_stay_within_the_series_cap() {
    let cap = 100;
    let metrics = GatewayMetrics::new(cap);
    for i in 0..10_000 {
        metrics.observe(&record(&format!("model-{i}")), None);
    }
    let text = metrics.render(0);
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    for family in [
        "apisix_llm_prompt_tokens",
        "apisix_llm_completion_tokens",
        "apisix_llm_latency",
        "gen_ai_client_token_usage",
        "gen_ai_client_operation_duration",
        "gen_ai_server_time_to_first_token",
        "gen_ai_server_time_per_output_token",
    ] {
        let series: HashSet<String> = scrape
            .samples
            .iter()
            .filter(|s| s.metric == family)
            .map(|s| format!("{:?}", s.labels))
            .collect();
        let named = scrape
            .samples
            .iter()
            .filter(|s| s.metric == family)
            .filter(|s| {
                let model = s
                    .labels
                    .get("request_llm_model")
                    .or_else(|| s.labels.get("gen_ai_request_model"));
                model != Some(OVERFLOW)
            })
            .count();
        // The label sets within one family differ in model names (and
        // APISIX's latency `type`, the token type): the cap bounds them.
        assert!(named <= cap, "{family}: {named} named series");
        assert!(series.len() <= cap + 2, "{family}: {} series", series.len());
        assert!(!series.is_empty(), "{family} missing");
    }
    // Every sample past the cap is counted under the overflow series.
    let prompt: f64 = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "apisix_llm_prompt_tokens")
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) => v,
            _ => 0.0,
        })
        .sum();
    assert_eq!(prompt, 30_000.0, "no token lost to the cap");
    assert!(text.contains(&format!(
        "ai_proxy_metric_series_overflow_total{{metric=\"apisix_llm_prompt_tokens\"}} {}",
        10_000 - cap
    )));
}

#[test]
fn the_grafana_dashboard_queries_only_metrics_the_gateway_exports() {
    let metrics = GatewayMetrics::new(10);
    let mut r = record("gpt-4o");
    r.attempts = ["a", "a", "b"].into_iter().map(Into::into).collect();
    metrics.observe(&r, None);
    let labels = super::active_labels("r", None, "h:1", "ai_chat", None, None);
    metrics.llm_connection(labels).dec();
    metrics
        .instance_healthy
        .get_or_create_owned(&super::series::Key([
            ("route_id", "r".into()),
            ("instance", "a".into()),
        ]))
        .set(1);
    let text = metrics.render(0);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/grafana/ai-proxy.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut queried = HashSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if ["apisix_", "gen_ai_", "ai_proxy_"]
                    .iter()
                    .any(|p| word.starts_with(p))
                    && !word.starts_with("gen_ai_request_model")
                    && !word.starts_with("gen_ai_token_type")
                {
                    queried.insert(word.to_owned());
                }
            }
        }
    }
    assert!(queried.len() >= 10, "{queried:?}");
    for name in &queried {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} "))),
            "the dashboard queries {name}, which /metrics does not export"
        );
    }
}
