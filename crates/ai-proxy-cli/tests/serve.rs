//! `ai-proxy serve` as a user runs it: the binary with `--demo` (in-process
//! upstreams on loopback) answering every provider family, usage in its
//! JSON access log. The gateway itself is tested as a library in
//! `crates/ai-proxy-gateway/tests/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const CHAT: &str = r#"{"messages":[{"role":"user","content":"hi"}]}"#;
const CHAT_STREAM: &str = r#"{"messages":[{"role":"user","content":"hi"}],"stream":true}"#;

/// `ai-proxy serve --demo` on a free loopback port, JSON logs.
struct Gateway {
    child: Child,
    addr: SocketAddr,
    logs: mpsc::Receiver<String>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gateway {
    fn demo() -> Self {
        Self::demo_with(&[])
    }

    /// `serve --demo` with more flags.
    fn demo_with(flags: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ai-proxy"))
            .args([
                "serve",
                "--demo",
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
            ])
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, logs) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let line = logs
            .recv_timeout(Duration::from_secs(20))
            .expect("gateway did not start");
        let addr = line
            .strip_prefix("ai-proxy listening on http://")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .parse()
            .unwrap();
        Self { child, addr, logs }
    }

    /// The next access-log line, waiting up to 5 s.
    fn access_log(&self) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.logs.recv_timeout(left).expect("no access-log line");
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && v["target"] == "access_log"
            {
                return v;
            }
        }
    }
}

struct Reply {
    status: u16,
    body: String,
}

/// POSTs `body` as HTTP/1.0 (the response ends with the connection, never
/// chunked) and reads the whole response.
fn post(addr: SocketAddr, path: &str, body: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    Reply {
        status,
        body: body.to_owned(),
    }
}

#[test]
fn metrics_listen_serves_prometheus_metrics_on_its_own_port() {
    let metrics = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let gw = Gateway::demo_with(&["--metrics-listen", &metrics.to_string()]);
    let chat = post(gw.addr, "/v1/chat/completions", CHAT);
    assert_eq!(chat.status, 200, "{}", chat.body);
    gw.access_log();
    let mut stream = TcpStream::connect(metrics).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.0 200"), "{response}");
    let line = response
        .lines()
        .find(|l| l.starts_with("apisix_llm_prompt_tokens{route_id=\"openai-chat\""))
        .unwrap_or_else(|| panic!("{response}"));
    assert!(line.ends_with(" 24"), "{line}");
    // The client port does not serve them.
    assert_eq!(post(gw.addr, "/metrics", "").status, 404);
}

#[test]
fn demo_answers_chat_stream_and_embeddings_with_usage_in_the_log() {
    let gw = Gateway::demo();
    let chat = post(gw.addr, "/v1/chat/completions", CHAT);
    assert_eq!(chat.status, 200, "{}", chat.body);
    assert!(chat.body.contains("1 + 1 equals 2."));
    let log = gw.access_log();
    assert_eq!(log["route_id"], "openai-chat");
    assert_eq!(log["llm_prompt_tokens"], "24");
    assert_eq!(log["llm_completion_tokens"], "8");

    let stream = post(gw.addr, "/v1/chat/completions", CHAT_STREAM);
    assert_eq!(stream.status, 200);
    assert!(stream.body.ends_with("data: [DONE]\n\n"));
    let log = gw.access_log();
    assert_eq!(log["request_type"], "ai_stream");
    // The client did not ask for usage; the gateway injected include_usage.
    assert_eq!(log["llm_total_tokens"], "31");

    let emb = post(
        gw.addr,
        "/v1/embeddings",
        r#"{"input":"The food was delicious"}"#,
    );
    assert_eq!(emb.status, 200);
    let log = gw.access_log();
    assert_eq!(log["llm_prompt_tokens"], "8");
    assert_eq!(log["llm_model"], "text-embedding-3-small");
}

#[test]
fn demo_serves_every_provider_family() {
    let gw = Gateway::demo();
    let cases = [
        ("/azure/chat/completions", CHAT, "Hello from Azure.", "24"),
        (
            "/v1/messages",
            r#"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}"#,
            "How can I help you today?",
            "23",
        ),
        (
            "/v1/chat/completions",
            r#"{"model":"gemini-2.0-flash","messages":[{"role":"user","content":"sky?"}]}"#,
            "Rayleigh scattering",
            "19",
        ),
    ];
    for (path, body, text, total) in cases {
        let reply = post(gw.addr, path, body);
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert!(reply.body.contains(text), "{path}: {}", reply.body);
        let log = gw.access_log();
        assert_eq!(log["llm_total_tokens"], total, "{path}");
    }
}

#[test]
fn demo_translates_openai_clients_to_anthropic_native_and_back() {
    let gw = Gateway::demo();
    let reply = post(gw.addr, "/anthropic/chat/completions", CHAT);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello! How can I help you today?"
    );
    assert_eq!(gw.access_log()["llm_total_tokens"], "23");

    let stream = post(gw.addr, "/anthropic/chat/completions", CHAT_STREAM);
    assert_eq!(stream.status, 200);
    assert!(
        stream.body.contains("chat.completion.chunk"),
        "{}",
        stream.body
    );
    assert!(stream.body.contains(" I help you"), "{}", stream.body);
    assert!(stream.body.ends_with("data: [DONE]\n\n"), "{}", stream.body);
    let log = gw.access_log();
    assert_eq!(log["request_type"], "ai_stream");
    assert_eq!(log["llm_prompt_tokens"], "12");
    assert_eq!(log["llm_completion_tokens"], "11");
}

#[test]
fn an_azure_endpoint_without_api_version_is_logged_once_at_start() {
    let dir = std::env::temp_dir().join(format!("ai-proxy-serve-azure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        "version: \"1\"\nroutes:\n  - uri: /v1/chat/completions\n    plugins:\n      ai-proxy:\n        provider: azure-openai\n        auth: {header: {api-key: k}}\n        override: {endpoint: \"http://127.0.0.1:9/openai/deployments/d/chat/completions\"}\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ai-proxy"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // Startup lines come before the one saying the gateway is up.
    let mut startup = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.starts_with("ai-proxy listening on http://") {
            break;
        }
        startup.push(line);
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let warnings: Vec<&String> = startup
        .iter()
        .filter(|l| l.contains("has no `api-version` query parameter"))
        .collect();
    assert_eq!(warnings.len(), 1, "{startup:?}");
    assert!(
        warnings[0].contains("routes[0].plugins.ai-proxy.override.endpoint"),
        "{}",
        warnings[0]
    );
}

#[test]
fn workers_share_one_port_and_every_request_is_logged() {
    let gw = Gateway::demo_with(&["--workers", "3"]);
    // New connections land on whichever worker's socket the kernel picks.
    for _ in 0..24 {
        let chat = post(gw.addr, "/v1/chat/completions", CHAT);
        assert_eq!(chat.status, 200, "{}", chat.body);
    }
    for _ in 0..24 {
        assert_eq!(gw.access_log()["route_id"], "openai-chat");
    }
}

#[test]
fn a_connection_cap_below_the_worker_count_still_holds() {
    let gw = Gateway::demo_with(&["--workers", "4", "--max-connections", "1"]);
    // The first client holds the only slot (HTTP/1.1 keep-alive, idle).
    let mut first = TcpStream::connect(gw.addr).unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(first, "GET /nothing HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    let mut head = [0u8; 12];
    first.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 404");
    // The second waits in the backlog.
    let (tx, rx) = mpsc::channel();
    let addr = gw.addr;
    thread::spawn(move || {
        let _ = tx.send(post(addr, "/v1/chat/completions", CHAT).status);
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "a second connection was served past --max-connections 1"
    );
    drop(first);
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 200);
}
