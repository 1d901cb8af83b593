//! Test harness: the gateway served in-process on 127.0.0.1, scripted fake
//! upstreams on 127.0.0.1, and a tiny HTTP/1.1 client. Upstreams and
//! clients are std threads and blocking sockets so timing is easy to reason
//! about.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use ai_proxy_gateway::config::Document;
use ai_proxy_gateway::logs::{self, LogFormat};
use ai_proxy_gateway::{GatewayBuilder, Settings};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// What a fake upstream does for one request.
#[derive(Clone)]
pub enum Script {
    /// Answer with status, content type and body at once.
    Reply {
        status: u16,
        content_type: &'static str,
        body: String,
    },
    /// Send SSE events `gap` apart (chunked), then end.
    Stream { events: Vec<String>, gap: Duration },
    /// Send events `gap` apart forever (until the peer goes away).
    Endless { event: String, gap: Duration },
    /// Send a binary body (an AWS event stream) in chunks `gap` apart.
    Binary {
        content_type: &'static str,
        chunks: Vec<Vec<u8>>,
        gap: Duration,
    },
    /// Send SSE events `gap` apart (chunked), then close the connection
    /// without the terminating chunk (a cut stream).
    Cut { events: Vec<String>, gap: Duration },
    /// Send SSE events `gap` apart, then fall silent with the connection
    /// open.
    StreamThenHang { events: Vec<String>, gap: Duration },
    /// Accept and never answer.
    Hang,
}

/// A request the fake upstream received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// A scripted upstream on 127.0.0.1.
pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// Set when an endless stream noticed its client went away.
    pub peer_gone: Arc<Mutex<Option<Instant>>>,
}

impl Upstream {
    /// Serves `script(path)` for every request.
    pub fn start(script: impl Fn(&Seen) -> Script + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let peer_gone = Arc::new(Mutex::new(None));
        let script = Arc::new(script);
        let (s2, g2) = (Arc::clone(&seen), Arc::clone(&peer_gone));
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (script, seen, gone) = (Arc::clone(&script), Arc::clone(&s2), Arc::clone(&g2));
                thread::spawn(move || serve_conn(stream, &*script, &seen, &gone));
            }
        });
        Self {
            addr,
            seen,
            peer_gone,
        }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn serve_conn(
    stream: TcpStream,
    script: &(dyn Fn(&Seen) -> Script + Send + Sync),
    seen: &Mutex<Vec<Seen>>,
    gone: &Mutex<Option<Instant>>,
) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        seen.lock().unwrap().push(request.clone());
        match script(&request) {
            Script::Reply {
                status,
                content_type,
                body,
            } => {
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                if writer.write_all(head.as_bytes()).is_err()
                    || writer.write_all(body.as_bytes()).is_err()
                {
                    return;
                }
            }
            Script::Stream { events, gap } => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                if writer.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for e in events {
                    thread::sleep(gap);
                    if writer
                        .write_all(format!("{:x}\r\n{e}\r\n", e.len()).as_bytes())
                        .is_err()
                    {
                        return;
                    }
                }
                if writer.write_all(b"0\r\n\r\n").is_err() {
                    return;
                }
            }
            Script::Endless { event, gap } => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                let _ = writer.write_all(head.as_bytes());
                loop {
                    thread::sleep(gap);
                    let chunk = format!("{:x}\r\n{event}\r\n", event.len());
                    if writer
                        .write_all(chunk.as_bytes())
                        .and_then(|()| writer.flush())
                        .is_err()
                    {
                        *gone.lock().unwrap() = Some(Instant::now());
                        return;
                    }
                }
            }
            Script::Binary {
                content_type,
                chunks,
                gap,
            } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n"
                );
                if writer.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for chunk in chunks {
                    thread::sleep(gap);
                    let size = format!("{:x}\r\n", chunk.len());
                    if writer.write_all(size.as_bytes()).is_err()
                        || writer.write_all(&chunk).is_err()
                        || writer.write_all(b"\r\n").is_err()
                    {
                        return;
                    }
                }
                if writer.write_all(b"0\r\n\r\n").is_err() {
                    return;
                }
            }
            Script::Cut { events, gap } => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                let _ = writer.write_all(head.as_bytes());
                for e in events {
                    thread::sleep(gap);
                    let _ = writer.write_all(format!("{:x}\r\n{e}\r\n", e.len()).as_bytes());
                }
                let _ = writer.shutdown(std::net::Shutdown::Both);
                return;
            }
            Script::StreamThenHang { events, gap } => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                let _ = writer.write_all(head.as_bytes());
                for e in events {
                    thread::sleep(gap);
                    let _ = writer.write_all(format!("{:x}\r\n{e}\r\n", e.len()).as_bytes());
                }
                thread::sleep(Duration::from_secs(30));
                return;
            }
            Script::Hang => {
                thread::sleep(Duration::from_secs(30));
                return;
            }
        }
    }
}

/// A gateway served in-process on 127.0.0.1, on its own runtime, its
/// JSON log lines (access records included) captured per gateway.
pub struct Gateway {
    pub addr: SocketAddr,
    logs: mpsc::Receiver<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Each log line the subscriber writes, sent as one string.
#[derive(Clone)]
struct Lines(mpsc::Sender<String>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self
            .0
            .send(String::from_utf8_lossy(buf).trim_end().to_owned());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Lines {
    type Writer = Lines;

    fn make_writer(&'a self) -> Lines {
        self.clone()
    }
}

/// An upstream answering every request 200 with a small chat completion.
pub fn ok_upstream() -> Upstream {
    Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o", 1, 1),
    })
}

/// A client connection to `addr`; reads give up after 10 s.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Settings for tests: quick to shut down.
pub fn settings() -> Settings {
    Settings::default().with_shutdown_timeout(Duration::from_millis(500))
}

impl Gateway {
    /// Serves this YAML config with the default plugins and test settings.
    pub fn start(config: &str) -> Self {
        Self::with(config, |b| b)
    }

    /// Serves this YAML config; `build` adjusts the builder (settings,
    /// plugins).
    pub fn with(config: &str, build: impl FnOnce(GatewayBuilder) -> GatewayBuilder) -> Self {
        let doc = Document::parse(config).unwrap();
        let (tx, logs) = mpsc::channel();
        let dispatch = logs::subscriber(LogFormat::Json, tracing::Level::INFO, Lines(tx));
        let gateway = {
            let _log_here = tracing::dispatcher::set_default(&dispatch);
            build(GatewayBuilder::default().settings(settings()))
                .build(&doc)
                .unwrap()
        };
        let (addr_tx, addr_rx) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = thread::spawn(move || {
            let per_thread = dispatch.clone();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                // Every runtime thread logs to this gateway's lines.
                .on_thread_start(move || {
                    std::mem::forget(tracing::dispatcher::set_default(&per_thread));
                })
                .build()
                .unwrap();
            let _log_here = tracing::dispatcher::set_default(&dispatch);
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let stopped = async {
                    let _ = stopped.await;
                };
                gateway.serve(listener, stopped).await.unwrap();
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        Self {
            addr,
            logs,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The next access-log line (JSON), waiting up to 5 s.
    pub fn access_log(&self) -> serde_json::Value {
        self.access_log_within(Duration::from_secs(5))
            .expect("no access-log line")
    }

    /// The next access-log line within `wait`, if any.
    pub fn access_log_within(&self, wait: Duration) -> Option<serde_json::Value> {
        self.access_line_within(wait)
            .and_then(|line| serde_json::from_str(&line).ok())
    }

    /// The next access-log line as written, within `wait`, if any.
    pub fn access_line_within(&self, wait: Duration) -> Option<String> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.logs.recv_timeout(left).ok()?;
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && v["target"] == "access_log"
            {
                return Some(line);
            }
        }
    }
}

/// A response from the gateway.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
    /// The body's bytes as received.
    pub raw: Vec<u8>,
    /// When each body chunk arrived.
    pub chunk_times: Vec<Instant>,
    /// The body ended as HTTP says it must (terminating chunk, or the whole
    /// `Content-Length`); `false` when the connection ended it early.
    pub complete: bool,
}

/// Sends a POST with a JSON body and reads the whole response.
pub fn post(addr: SocketAddr, path: &str, body: &str) -> Reply {
    post_with(addr, path, body, &[])
}

/// Like [`post`], with extra headers.
pub fn post_with(addr: SocketAddr, path: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
    let mut stream = open(addr, path, body, headers);
    read_reply(&mut stream, usize::MAX)
}

/// Opens a request and returns the stream before reading anything.
pub fn open(addr: SocketAddr, path: &str, body: &str, headers: &[(&str, &str)]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).unwrap();
    stream
}

/// Reads a response; stops after `max_chunks` body chunks.
pub fn read_reply(stream: &mut TcpStream, max_chunks: usize) -> Reply {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    let mut body = Vec::new();
    let mut chunk_times = Vec::new();
    let mut complete = false;
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        while chunk_times.len() < max_chunks {
            let mut size = String::new();
            if reader.read_line(&mut size).unwrap_or(0) == 0 {
                break;
            }
            let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
                break;
            };
            if size == 0 {
                complete = true;
                break;
            }
            let mut chunk = vec![0; size + 2];
            if reader.read_exact(&mut chunk).is_err() {
                break;
            }
            chunk.truncate(size);
            body.extend_from_slice(&chunk);
            chunk_times.push(Instant::now());
        }
    } else if let Some(len) = headers
        .get("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        body.resize(len, 0);
        complete = reader.read_exact(&mut body).is_ok();
        chunk_times.push(Instant::now());
    } else {
        complete = reader.read_to_end(&mut body).is_ok();
        chunk_times.push(Instant::now());
    }
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        raw: body,
        chunk_times,
        complete,
    }
}

/// An OpenAI chat completion with usage.
pub fn openai_json(model: &str, prompt: u64, completion: u64) -> String {
    serde_json::json!({
        "id": "chatcmpl-t", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    })
    .to_string()
}

/// OpenAI chat chunks: one per token, then a usage chunk and `[DONE]`.
pub fn openai_events(model: &str, tokens: &[&str], prompt: u64, completion: u64) -> Vec<String> {
    let mut out: Vec<String> = tokens
        .iter()
        .map(|t| {
            format!(
                "data: {}\n\n",
                serde_json::json!({"id":"c","object":"chat.completion.chunk","model":model,
                    "choices":[{"index":0,"delta":{"content":t},"finish_reason":null}],"usage":null})
            )
        })
        .collect();
    out.push(format!(
        "data: {}\n\n",
        serde_json::json!({"id":"c","object":"chat.completion.chunk","model":model,"choices":[],
            "usage":{"prompt_tokens":prompt,"completion_tokens":completion,"total_tokens":prompt+completion}})
    ));
    out.push("data: [DONE]\n\n".to_owned());
    out
}
