//! The Pingora service end to end, real sockets on 127.0.0.1 only: a
//! client, `AiProxyService` in a Pingora server in-process, and the
//! gateway tests' scripted fake upstreams. Access-log lines are the
//! gateway's own (`TracingAccessLog`), found by route id.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[allow(dead_code)]
#[path = "../../../ai-proxy-gateway/tests/gateway/harness.rs"]
mod harness;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use ai_proxy_gateway::config::Document;
use ai_proxy_gateway::logs::{self, LogFormat};
use ai_proxy_gateway::{Gateway, Settings};
use ai_proxy_pingora::AiProxyService;
use async_trait::async_trait;
use harness::{Script, Upstream, openai_events, openai_json, post, post_with};
use pingora::proxy::http_proxy_service;
use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server, ShutdownSignal, ShutdownSignalWatch};

mod large_bodies;
mod limits;

const CHAT: &str = r#"{"messages":[{"role":"user","content":"hi"}]}"#;
const CHAT_STREAM: &str = r#"{"messages":[{"role":"user","content":"hi"}],"stream":true}"#;
const ANTHROPIC_JSON: &str = include_str!("../../../ai-proxy-cli/demo/anthropic-messages.json");

/// Every log line of this test process (Pingora's threads log too).
fn log_lines() -> &'static Mutex<Vec<String>> {
    static LINES: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    LINES.get_or_init(|| {
        let dispatch = logs::subscriber(LogFormat::Json, tracing::Level::INFO, Lines);
        tracing::dispatcher::set_global_default(dispatch).unwrap();
        Mutex::new(Vec::new())
    })
}

struct Lines;

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = String::from_utf8_lossy(buf).trim_end().to_owned();
        log_lines().lock().unwrap().push(line);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Lines {
    type Writer = Lines;

    fn make_writer(&'a self) -> Lines {
        Lines
    }
}

/// The access-log line of `route`, waiting up to 5 s.
fn access_log(route: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = log_lines().lock().unwrap().iter().find_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            (v["target"] == "access_log" && v["route_id"] == route).then_some(v)
        });
        if let Some(v) = found {
            return v;
        }
        assert!(Instant::now() < deadline, "no access-log line for {route}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Never asks the server to stop: it ends with the test process.
struct NoSignal;

#[async_trait]
impl ShutdownSignalWatch for NoSignal {
    async fn recv(&self) -> ShutdownSignal {
        std::future::pending().await
    }
}

/// Serves `config` through `AiProxyService` in a Pingora server; its
/// address.
fn serve(config: &str) -> SocketAddr {
    serve_with(config, settings())
}

/// The tests' gateway settings: the defaults, a 5 s body timeout.
fn settings() -> Settings {
    Settings::default().with_client_body_timeout(Duration::from_secs(5))
}

/// [`serve`] with `settings`.
fn serve_with(config: &str, settings: Settings) -> SocketAddr {
    let _ = log_lines();
    let document = Document::parse(config).unwrap();
    let gateway = Gateway::builder()
        .settings(settings)
        .build(&document)
        .unwrap();
    let service = AiProxyService::new(gateway).unwrap();
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let conf = ServerConf {
        threads: 1,
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut proxy = http_proxy_service(&server.configuration, service);
    proxy.add_tcp(&addr.to_string());
    server.add_service(proxy);
    thread::spawn(move || {
        server.run(RunArgs {
            shutdown_signal: Box::new(NoSignal),
        })
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "pingora did not start");
        thread::sleep(Duration::from_millis(20));
    }
    addr
}

fn route(id: &str, uri: &str, plugin: &str) -> String {
    format!("version: \"1\"\nroutes:\n  - id: {id}\n    uri: {uri}\n    plugins:\n      {plugin}\n")
}

fn openai_route(id: &str, upstream: SocketAddr) -> String {
    route(
        id,
        "/v1/chat/completions",
        &format!(
            "ai-proxy: {{provider: openai, auth: {{header: {{Authorization: \"Bearer sk-route\"}}}}, \
             options: {{model: gpt-4o}}, override: {{endpoint: \"http://{upstream}\"}}}}"
        ),
    )
}

#[test]
fn non_stream_chat_is_relayed_with_usage_in_the_access_log() {
    let upstream = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o", 7, 3),
    });
    let addr = serve(&openai_route("plain", upstream.addr));
    let reply = post(addr, "/v1/chat/completions", CHAT);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.complete);
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "ok");
    let seen = upstream.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/chat/completions");
    let sent: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(sent["model"], "gpt-4o");
    let log = access_log("plain");
    assert_eq!(log["status"], 200);
    assert_eq!(log["llm_prompt_tokens"], "7");
    assert_eq!(log["llm_completion_tokens"], "3");
    assert_eq!(log["llm_total_tokens"], "10");
}

#[test]
fn stream_chat_is_relayed_event_by_event_with_usage_in_the_access_log() {
    let events = openai_events("gpt-4o", &["Hel", "lo"], 5, 2);
    let upstream = Upstream::start(move |_| Script::Stream {
        events: events.clone(),
        gap: Duration::from_millis(5),
    });
    let addr = serve(&openai_route("stream", upstream.addr));
    let reply = post(addr, "/v1/chat/completions", CHAT_STREAM);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.complete, "the stream ended cleanly");
    assert!(reply.headers["content-type"].starts_with("text/event-stream"));
    assert!(reply.body.contains("\"Hel\"") && reply.body.contains("\"lo\""));
    assert!(reply.body.trim_end().ends_with("data: [DONE]"));
    let log = access_log("stream");
    assert_eq!(log["llm_stream"], "true");
    assert_eq!(log["llm_total_tokens"], "7");
}

#[test]
fn openai_clients_reach_anthropic_natively_and_get_openai_answers() {
    let upstream = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: ANTHROPIC_JSON.to_owned(),
    });
    let plugin = format!(
        "ai-proxy: {{provider: anthropic, auth: {{header: {{x-api-key: sk-ant-route}}}}, \
         options: {{model: claude-sonnet-4-5}}, override: {{endpoint: \"http://{}/v1/messages\"}}}}",
        upstream.addr
    );
    let addr = serve(&route("anthropic", "/anthropic/chat/completions", &plugin));
    let reply = post(addr, "/anthropic/chat/completions", CHAT);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello! How can I help you today?"
    );
    assert_eq!(body["usage"]["prompt_tokens"], 12);
    let seen = &upstream.requests()[0];
    assert_eq!(seen.path, "/v1/messages");
    assert_eq!(seen.headers["x-api-key"], "sk-ant-route");
    let sent: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(sent["model"], "claude-sonnet-4-5");
    assert!(sent["max_tokens"].is_u64(), "Anthropic needs max_tokens");
    let log = access_log("anthropic");
    assert_eq!(log["llm_prompt_tokens"], "12");
    assert_eq!(log["llm_completion_tokens"], "11");
}

#[test]
fn multi_falls_back_from_429_to_the_second_instance() {
    let primary = Upstream::start(|_| Script::Reply {
        status: 429,
        content_type: "application/json",
        body: r#"{"error":{"message":"slow down"}}"#.to_owned(),
    });
    let backup = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("deepseek-chat", 2, 3),
    });
    let plugin = format!(
        "ai-proxy-multi:\n        fallback_strategy: [http_429]\n        instances:\n          \
         - {{name: primary, provider: openai, priority: 1, weight: 1, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n          \
         - {{name: backup, provider: deepseek, priority: 0, weight: 1, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n",
        primary.addr, backup.addr
    );
    let addr = serve(&route("multi", "/v1/chat/completions", &plugin));
    let reply = post(addr, "/v1/chat/completions", CHAT);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(primary.requests().len(), 1);
    assert_eq!(backup.requests().len(), 1);
    let log = access_log("multi");
    assert_eq!(log["picked_ai_instance_name"], "backup");
    assert_eq!(log["attempts"], 2);
    assert_eq!(log["llm_total_tokens"], "5");
}

#[test]
fn multi_answers_502_when_every_instance_is_rate_limited() {
    let limited = || {
        Upstream::start(|_| Script::Reply {
            status: 429,
            content_type: "application/json",
            body: r#"{"error":{"message":"slow down"}}"#.to_owned(),
        })
    };
    let (a, b) = (limited(), limited());
    let plugin = format!(
        "ai-proxy-multi:\n        fallback_strategy: [http_429]\n        instances:\n          \
         - {{name: a, provider: openai, priority: 1, weight: 1, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n          \
         - {{name: b, provider: openai, priority: 0, weight: 1, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n",
        a.addr, b.addr
    );
    let addr = serve(&route("exhausted", "/v1/chat/completions", &plugin));
    let reply = post(addr, "/v1/chat/completions", CHAT);
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert!(reply.body.contains("slow down"));
    assert_eq!(a.requests().len() + b.requests().len(), 2);
    assert_eq!(access_log("exhausted")["status"], 502);
}

#[test]
fn client_credentials_never_reach_the_upstream() {
    let upstream = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o", 1, 1),
    });
    let addr = serve(&openai_route("creds", upstream.addr));
    let reply = post_with(
        addr,
        "/v1/chat/completions",
        CHAT,
        &[
            ("authorization", "Bearer client-secret"),
            ("x-api-key", "client-secret"),
            ("api-key", "client-secret"),
            ("cookie", "session=client-secret"),
            ("proxy-authorization", "Basic client-secret"),
        ],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let seen = &upstream.requests()[0];
    assert_eq!(seen.headers["authorization"], "Bearer sk-route");
    for (name, value) in &seen.headers {
        assert!(
            !value.contains("client-secret"),
            "{name} carried the client's secret"
        );
    }
}

#[test]
fn unmatched_paths_get_404_without_reaching_an_upstream() {
    let upstream = Upstream::start(|_| Script::Hang);
    let addr = serve(&openai_route("notfound", upstream.addr));
    let reply = post(addr, "/v2/elsewhere", CHAT);
    assert_eq!(reply.status, 404, "{}", reply.body);
    assert!(reply.body.contains("no route matches POST /v2/elsewhere"));
    assert!(upstream.requests().is_empty());
}

#[test]
fn unreachable_upstreams_get_502_naming_the_cause_not_the_address() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let addr = serve(&openai_route("refused", closed));
    let reply = post(addr, "/v1/chat/completions", CHAT);
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert!(reply.body.contains("connection refused"), "{}", reply.body);
    assert!(!reply.body.contains(&closed.port().to_string()));
    let log = access_log("refused");
    assert_eq!(log["status"], 502);
}

#[test]
fn an_upstream_closing_mid_stream_makes_the_client_read_fail() {
    let events = openai_events("gpt-4o", &["t0", "t1", "t2"], 5, 3);
    let upstream = Upstream::start(move |_| Script::Cut {
        events: events.iter().take(2).cloned().collect(),
        gap: Duration::from_millis(20),
    });
    let addr = serve(&openai_route("cut", upstream.addr));
    let reply = post(addr, "/v1/chat/completions", CHAT_STREAM);
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("t1"), "{}", reply.body);
    assert!(
        !reply.complete,
        "the cut stream ended cleanly for the client"
    );
    let error = access_log("cut")["error"].as_str().unwrap().to_owned();
    assert!(error.contains("response cut short"), "{error}");
}

#[test]
fn max_response_bytes_mid_stream_aborts_the_client() {
    let tokens: Vec<String> = (0..50).map(|i| format!("t{i}")).collect();
    let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let events = openai_events("gpt-4o", &refs, 5, 50);
    let upstream = Upstream::start(move |_| Script::Stream {
        events: events.clone(),
        gap: Duration::from_millis(1),
    });
    let plugin = format!(
        "ai-proxy: {{provider: openai, auth: {{}}, max_response_bytes: 2000, \
         override: {{endpoint: \"http://{}\"}}}}",
        upstream.addr
    );
    let addr = serve(&route("capped", "/v1/chat/completions", &plugin));
    let reply = post(addr, "/v1/chat/completions", CHAT_STREAM);
    assert_eq!(reply.status, 200);
    assert!(!reply.complete);
    assert!(reply.raw.len() <= 2000, "{} bytes", reply.raw.len());
    let error = access_log("capped")["error"].as_str().unwrap().to_owned();
    assert!(error.contains("max_response_bytes"), "{error}");
}

#[test]
fn a_client_leaving_mid_stream_is_logged_499() {
    let upstream = Upstream::start(|_| Script::Endless {
        event: "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n".to_owned(),
        gap: Duration::from_millis(10),
    });
    let addr = serve(&openai_route("gone", upstream.addr));
    let mut stream = harness::open(addr, "/v1/chat/completions", CHAT_STREAM, &[]);
    let reply = harness::read_reply(&mut stream, 2);
    assert_eq!(reply.status, 200);
    drop(stream);
    let log = access_log("gone");
    assert_eq!(log["status"], 499, "{log}");
}
