//! `serve --demo`: in-process upstreams on loopback that speak each
//! provider's wire format (replaying the hand-written fixtures in
//! `crates/ai-proxy-cli/demo/`, paced like a model), and a config that
//! routes to them.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::channel::Channel;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

const OPENAI_JSON: &str = include_str!("../../demo/openai-chat.json");
const OPENAI_SSE: &str = include_str!("../../demo/openai-chat.sse");
const AZURE_JSON: &str = include_str!("../../demo/azure-chat.json");
const AZURE_SSE: &str = include_str!("../../demo/azure-chat.sse");
const GEMINI_JSON: &str = include_str!("../../demo/gemini-chat.json");
const GEMINI_SSE: &str = include_str!("../../demo/gemini-chat.sse");
const ANTHROPIC_JSON: &str = include_str!("../../demo/anthropic-messages.json");
const ANTHROPIC_SSE: &str = include_str!("../../demo/anthropic-messages.sse");
const EMBEDDINGS_JSON: &str = include_str!("../../demo/openai-embeddings.json");

/// The demo's upstream credentials (they only exist on loopback).
pub const OPENAI_KEY: &str = "sk-demo-openai";
/// Azure `api-key`.
pub const AZURE_KEY: &str = "demo-azure-key";
/// Gemini bearer key.
pub const GEMINI_KEY: &str = "demo-gemini-key";
/// Anthropic `x-api-key`.
pub const ANTHROPIC_KEY: &str = "sk-ant-demo";

/// Time between replayed SSE events.
const TOKEN_GAP: Duration = Duration::from_millis(15);

/// Starts the fake upstream server; returns its address.
pub async fn start() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service_fn(upstream))
                    .await;
            });
        }
    });
    Ok(addr)
}

/// The demo gateway configuration (config-sync YAML) for upstreams at `addr`.
pub fn config(addr: SocketAddr) -> String {
    format!(
        r#"version: "1"
routes:
  - id: gemini-chat
    uri: /v1/chat/completions
    methods: [POST]
    vars: [["post_arg.model", "~~", "^gemini"]]
    plugins:
      ai-proxy:
        provider: gemini
        auth: {{header: {{Authorization: "Bearer {GEMINI_KEY}"}}}}
        override: {{endpoint: "http://{addr}"}}
        logging: {{summaries: true}}
  - id: openai-chat
    uri: /v1/chat/completions
    methods: [POST]
    plugins:
      ai-proxy:
        provider: openai
        auth: {{header: {{Authorization: "Bearer {OPENAI_KEY}"}}}}
        options: {{model: gpt-4o}}
        override: {{endpoint: "http://{addr}"}}
        logging: {{summaries: true}}
  - id: azure-chat
    uri: /azure/chat/completions
    methods: [POST]
    plugins:
      ai-proxy:
        provider: azure-openai
        auth: {{header: {{api-key: "{AZURE_KEY}"}}}}
        override: {{endpoint: "http://{addr}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"}}
  - id: anthropic-messages
    uri: /v1/messages
    methods: [POST]
    plugins:
      ai-proxy:
        provider: anthropic
        auth: {{header: {{x-api-key: "{ANTHROPIC_KEY}"}}}}
        override: {{endpoint: "http://{addr}"}}
  - id: anthropic-native-for-openai-clients
    uri: /anthropic/chat/completions
    methods: [POST]
    plugins:
      ai-proxy:
        provider: anthropic
        auth: {{header: {{x-api-key: "{ANTHROPIC_KEY}"}}}}
        options: {{model: claude-sonnet-4-5}}
        override: {{endpoint: "http://{addr}/v1/messages"}}
  - id: embeddings
    uri: /v1/embeddings
    methods: [POST]
    plugins:
      ai-proxy:
        provider: openai
        auth: {{header: {{Authorization: "Bearer {OPENAI_KEY}"}}}}
        options: {{model: text-embedding-3-small}}
        override: {{endpoint: "http://{addr}"}}
  - id: balanced
    uri: /multi/chat/completions
    methods: [POST]
    plugins:
      ai-proxy-multi:
        fallback_strategy: [http_429, http_5xx]
        instances:
          - name: openai
            provider: openai
            weight: 3
            auth: {{header: {{Authorization: "Bearer {OPENAI_KEY}"}}}}
            options: {{model: gpt-4o}}
            override: {{endpoint: "http://{addr}"}}
          - name: gemini
            provider: gemini
            weight: 1
            auth: {{header: {{Authorization: "Bearer {GEMINI_KEY}"}}}}
            options: {{model: gemini-2.0-flash}}
            override: {{endpoint: "http://{addr}"}}
"#
    )
}

/// Ready-to-paste requests against the gateway at `gateway`.
pub fn curl_examples(gateway: SocketAddr) -> String {
    let chat = r#"{"messages":[{"role":"user","content":"What is 1+1?"}]}"#;
    let stream = r#"{"messages":[{"role":"user","content":"What is 1+1?"}],"stream":true}"#;
    let gemini = r#"{"model":"gemini-2.0-flash","messages":[{"role":"user","content":"Why is the sky blue?"}],"stream":true}"#;
    let anthropic = r#"{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"Hello"}]}"#;
    let embeddings = r#"{"input":"The food was delicious"}"#;
    let h = "-H 'Content-Type: application/json'";
    format!(
        "Try:\n\
         \x20 # chat (OpenAI)\n  curl -s http://{gateway}/v1/chat/completions {h} -d '{chat}'\n\
         \x20 # streaming, usage injected by the gateway\n  curl -sN http://{gateway}/v1/chat/completions {h} -d '{stream}'\n\
         \x20 # routed by post_arg.model to Gemini\n  curl -sN http://{gateway}/v1/chat/completions {h} -d '{gemini}'\n\
         \x20 # Azure OpenAI\n  curl -s http://{gateway}/azure/chat/completions {h} -d '{chat}'\n\
         \x20 # Anthropic Messages\n  curl -s http://{gateway}/v1/messages {h} -d '{anthropic}'\n\
         \x20 # OpenAI client → Anthropic's native Messages API (translated both ways)\n  curl -sN http://{gateway}/anthropic/chat/completions {h} -d '{stream}'\n\
         \x20 # embeddings\n  curl -s http://{gateway}/v1/embeddings {h} -d '{embeddings}'\n\
         \x20 # ai-proxy-multi (weights 3:1)\n  curl -s http://{gateway}/multi/chat/completions {h} -d '{chat}'\n"
    )
}

/// A whole body, or events sent as they are replayed.
type DemoBody = Either<Full<Bytes>, Channel<Bytes>>;

fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<DemoBody> {
    let mut r = Response::new(Either::Left(Full::new(body.into())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// Replays SSE events one by one, `TOKEN_GAP` apart.
fn sse(events: Vec<String>) -> Response<DemoBody> {
    let (mut tx, rx) = Channel::new(4);
    tokio::spawn(async move {
        for event in events {
            tokio::time::sleep(TOKEN_GAP).await;
            if tx.send_data(Bytes::from(event)).await.is_err() {
                return;
            }
        }
    });
    let mut r = Response::new(Either::Right(rx));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    r
}

/// Splits an SSE fixture into its events (blank-line separated).
fn events(fixture: &str) -> Vec<String> {
    fixture.split_inclusive("\n\n").map(str::to_owned).collect()
}

/// OpenAI sends the usage chunk (and `"usage":null` in every chunk) only
/// when the client asked with `stream_options.include_usage`.
fn openai_stream(fixture: &str, include_usage: bool) -> Vec<String> {
    events(fixture)
        .into_iter()
        .filter(|e| include_usage || !e.contains("\"choices\":[],\"usage\":{"))
        .map(|e| {
            if include_usage {
                e
            } else {
                e.replace(",\"usage\":null", "")
            }
        })
        .collect()
}

fn unauthorized(message: &str) -> Response<DemoBody> {
    json(
        StatusCode::UNAUTHORIZED,
        serde_json::json!({"error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}})
            .to_string(),
    )
}

async fn upstream(request: Request<Incoming>) -> Result<Response<DemoBody>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let stream = request.get("stream").and_then(serde_json::Value::as_bool) == Some(true);
    let include_usage = request
        .pointer("/stream_options/include_usage")
        .and_then(serde_json::Value::as_bool)
        == Some(true);
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let bearer = |key: &str| header("authorization") == Some(&format!("Bearer {key}"));
    let path = parts.uri.path();
    let response = match path {
        "/v1/chat/completions" | "/v1/embeddings" if !bearer(OPENAI_KEY) => {
            unauthorized("Incorrect API key provided")
        }
        "/v1/chat/completions" if stream => sse(openai_stream(OPENAI_SSE, include_usage)),
        "/v1/chat/completions" => json(StatusCode::OK, OPENAI_JSON),
        "/v1/embeddings" => json(StatusCode::OK, EMBEDDINGS_JSON),
        "/v1beta/openai/chat/completions" if !bearer(GEMINI_KEY) => {
            unauthorized("API key not valid. Please pass a valid API key.")
        }
        "/v1beta/openai/chat/completions" if stream => {
            sse(openai_stream(GEMINI_SSE, include_usage))
        }
        "/v1beta/openai/chat/completions" => json(StatusCode::OK, GEMINI_JSON),
        "/v1/messages" if header("x-api-key") != Some(ANTHROPIC_KEY) => json(
            StatusCode::UNAUTHORIZED,
            r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
        ),
        "/v1/messages" if stream => sse(events(ANTHROPIC_SSE)),
        "/v1/messages" => json(StatusCode::OK, ANTHROPIC_JSON),
        p if p.starts_with("/openai/deployments/") => {
            if !parts
                .uri
                .query()
                .is_some_and(|q| q.contains("api-version="))
            {
                json(
                    StatusCode::NOT_FOUND,
                    r#"{"error":{"code":"404","message":"Resource not found"}}"#,
                )
            } else if header("api-key") != Some(AZURE_KEY) {
                unauthorized("Access denied due to invalid subscription key")
            } else if stream {
                sse(openai_stream(AZURE_SSE, include_usage))
            } else {
                json(StatusCode::OK, AZURE_JSON)
            }
        }
        _ => json(
            StatusCode::NOT_FOUND,
            r#"{"error":{"message":"unknown demo endpoint"}}"#,
        ),
    };
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_are_well_formed_streams() {
        for fixture in [OPENAI_SSE, AZURE_SSE, GEMINI_SSE, ANTHROPIC_SSE] {
            let events = events(fixture);
            assert!(events.len() > 3);
            assert!(events.iter().all(|e| e.ends_with("\n\n")));
        }
        for body in [
            OPENAI_JSON,
            AZURE_JSON,
            GEMINI_JSON,
            ANTHROPIC_JSON,
            EMBEDDINGS_JSON,
        ] {
            serde_json::from_str::<serde_json::Value>(body).unwrap();
        }
    }

    #[test]
    fn openai_streams_carry_usage_only_when_asked() {
        let with = openai_stream(OPENAI_SSE, true).concat();
        let without = openai_stream(OPENAI_SSE, false).concat();
        assert!(with.contains("\"prompt_tokens\":24"));
        assert!(with.contains("\"usage\":null"));
        assert!(!without.contains("usage"));
        assert!(without.ends_with("data: [DONE]\n\n"));
    }

    #[test]
    fn demo_config_is_valid() {
        let addr: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        ai_proxy_gateway::config::Document::parse(&config(addr)).unwrap();
    }
}
