//! Reading configuration text: the strict reader (duplicate keys refused,
//! depth and size bounded) against `serde_json::from_str::<Value>`, the
//! lax baseline it replaced, on a realistic config-sync-sized document;
//! and the linear YAML pre-scan's share of a YAML parse.
//!
//! Run: `cargo bench --bench config -- --warm-up-time 1 --measurement-time 3`
//! (thread CPU time per iteration).
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test code: failing loudly is the point

use std::hint::black_box;

use ai_proxy::config::parse_json;
use ai_proxy_gateway::config::Document;
use common::CpuTime;
use criterion::measurement::{Measurement, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod common;

/// A route list of `n` ai-proxy-multi routes with three instances each,
/// escapes and non-ASCII text included.
fn routes_json(n: usize) -> String {
    let routes: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"id":"route-{i}","uri":"/v1/chat/{i}/*","methods":["POST"],"vars":[["post_arg.model","==","gpt-4o"]],
"plugins":{{"ai-proxy-multi":{{"balancer":{{"algorithm":"roundrobin"}},"fallback_strategy":["http_429","http_5xx"],
"instances":[
{{"name":"openai-{i}","provider":"openai","weight":3,"priority":1,"auth":{{"header":{{"Authorization":"Bearer sk-\u00e9t\u00e9-{i}"}}}},
"options":{{"model":"gpt-4o","temperature":0.7,"max_tokens":1024}}}},
{{"name":"deepseek-{i}","provider":"deepseek","weight":1,"auth":{{"header":{{"Authorization":"Bearer sk-ds-{i}"}}}},
"options":{{"model":"deepseek-chat"}},"override":{{"endpoint":"https://api.deepseek.com/chat/completions"}}}},
{{"name":"azure-{i}","provider":"azure-openai","weight":1,"auth":{{"header":{{"api-key":"k\"{i}\""}}}},
"override":{{"endpoint":"https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21"}}}}]}}}}}}"#
            )
        })
        .collect();
    format!("[{}]", routes.join(","))
}

/// The same routes as config-sync YAML (flow style inside block style).
fn routes_yaml(n: usize) -> String {
    let json: serde_json::Value = serde_json::from_str(&routes_json(n)).unwrap();
    let mut out = String::from("version: \"1\"\nroutes:\n");
    for route in json.as_array().unwrap() {
        out.push_str(&format!("  - {route}\n"));
    }
    out
}

fn bench<M: Measurement>(c: &mut Criterion<M>) {
    let json = routes_json(200);
    let mut g = c.benchmark_group("config_json_200_routes");
    g.throughput(Throughput::Bytes(json.len() as u64));
    g.bench_function("baseline_serde_json_value", |b| {
        b.iter(|| black_box(serde_json::from_str::<serde_json::Value>(black_box(&json)).unwrap()))
    });
    g.bench_function("strict_parse_json", |b| {
        b.iter(|| black_box(parse_json(black_box(&json)).unwrap()))
    });
    g.bench_function("document_parse", |b| {
        b.iter(|| black_box(Document::parse(black_box(&json)).unwrap()))
    });
    g.finish();

    let yaml = routes_yaml(200);
    let mut g = c.benchmark_group("config_yaml_200_routes");
    g.throughput(Throughput::Bytes(yaml.len() as u64));
    g.bench_function("baseline_serde_norway_value", |b| {
        b.iter(|| black_box(serde_norway::from_str::<serde_json::Value>(black_box(&yaml)).unwrap()))
    });
    g.bench_function("document_parse", |b| {
        b.iter(|| black_box(Document::parse(black_box(&yaml)).unwrap()))
    });
    g.finish();
}

// Thread CPU time: the machine these run on is shared and loaded.
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(CpuTime(WallTime));
    targets = bench
}
criterion_main!(cpu);
