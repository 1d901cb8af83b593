//! A bounded load generator, loopback only: the same fake upstream hit
//! directly and through `ai-proxy serve`, then many slow SSE streams held
//! through the gateway while its RSS is sampled. Stops by itself.
//!
//! ```sh
//! cargo build --release -p ai-proxy-cli
//! cargo run --release -p ai-proxy-cli --example load            # defaults below
//! cargo run --release -p ai-proxy-cli --example load -- 64 5 1000
//! ```
//! Arguments: concurrent connections, seconds per phase, SSE streams, and
//! the gateway's log level (`info` logs every request, the default).
//! Environment: `LOAD_RATE` (requests/s of the paced phase, default 500),
//! `LOAD_GATEWAY_ARGS` (extra `ai-proxy serve` flags, e.g. `--workers 1`)
//! and `LOAD_PIN=1`, which pins this process (load and upstream) to CPU 0
//! and the gateway to CPU 1 with `taskset`, so the gateway does not compete
//! with what it is measured against (pair it with `--workers 1`).
//!
//! Two regimes are measured, both with the same connections, directly and
//! through the gateway:
//! - closed loop: every connection sends back to back. This finds the
//!   throughput; its latency is mostly queueing (Little's law: 64 requests
//!   in flight / throughput).
//! - paced: the connections together offer `LOAD_RATE` requests/s, well
//!   below saturation, so latency is the service time and the difference
//!   is what the gateway adds. Tokio's timer ticks every millisecond, so
//!   at rates above ~1 000/s the sends of one tick leave together and queue
//!   behind each other: the default stays below that.

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// A ~1 KB chat completion with usage.
fn completion() -> Bytes {
    let content = "x".repeat(700);
    Bytes::from(
        serde_json::json!({
            "id": "chatcmpl-load", "object": "chat.completion", "created": 1, "model": "gpt-4o-load",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 200, "total_tokens": 212}
        })
        .to_string(),
    )
}

/// A slow SSE body: one event every 100 ms for `events` events.
struct Slow {
    left: u32,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl hyper::body::Body for Slow {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                self.left -= 1;
                let next = tokio::time::Instant::now() + Duration::from_millis(100);
                self.sleep.as_mut().reset(next);
                let event = if self.left == 0 {
                    "data: {\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n"
                } else {
                    "data: {\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"tok\"}}]}\n\n"
                };
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(event.as_bytes())))))
            }
        }
    }
}

use std::future::Future;

type UpBody = http_body_util::Either<Full<Bytes>, Slow>;

async fn upstream(
    req: Request<Incoming>,
    body: Bytes,
    events: u32,
) -> Result<Response<UpBody>, Infallible> {
    let stream = req.uri().path().ends_with("/stream");
    let _ = req.into_body().collect().await;
    let mut r = if stream {
        let mut r = Response::new(http_body_util::Either::Right(Slow {
            left: events,
            sleep: Box::pin(tokio::time::sleep(Duration::from_millis(100))),
        }));
        r.headers_mut().insert(
            "content-type",
            http::HeaderValue::from_static("text/event-stream"),
        );
        r
    } else {
        Response::new(http_body_util::Either::Left(Full::new(body)))
    };
    if !stream {
        r.headers_mut().insert(
            "content-type",
            http::HeaderValue::from_static("application/json"),
        );
    }
    Ok(r)
}

async fn start_upstream(events: u32) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let body = completion();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                continue;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| upstream(req, body.clone(), events));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    Ok(addr)
}

struct Gateway {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_gateway(upstream: SocketAddr, log_level: &str) -> Result<Gateway, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let bin = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("ai-proxy"))
        .ok_or("cannot locate target dir")?;
    if !bin.exists() {
        return Err(format!(
            "{} not found: run `cargo build --release -p ai-proxy-cli` first",
            bin.display()
        ));
    }
    let dir = std::env::temp_dir().join(format!("ai-proxy-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "version: \"1\"\nroutes:\n  - id: load\n    uri: /v1/*\n    plugins:\n      ai-proxy:\n        provider: openai-compatible\n        auth: {{header: {{Authorization: \"Bearer sk-load\"}}}}\n        override: {{endpoint: \"http://{upstream}\"}}\n        keepalive_pool: 256\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--log-level",
            log_level,
        ])
        .args(
            std::env::var("LOAD_GATEWAY_ARGS")
                .ok()
                .iter()
                .flat_map(|a| a.split_whitespace()),
        )
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let first = lines
        .next()
        .and_then(Result::ok)
        .ok_or("gateway did not start")?;
    let addr = first
        .strip_prefix("ai-proxy listening on http://")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .ok_or(format!("unexpected: {first}"))?;
    // Drain the access log so the gateway never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok(Gateway { child, addr })
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

struct Run {
    latencies_us: Vec<u64>,
    requests: u64,
    errors: u64,
    elapsed: Duration,
}

/// `conns` connections sending back to back (closed loop: throughput at
/// saturation), or, with `rate`, each pacing its requests so all together
/// offer `rate` requests per second (latency below saturation, where it is
/// the service time and not queueing).
async fn drive(
    target: SocketAddr,
    path: &str,
    conns: usize,
    seconds: u64,
    rate: Option<f64>,
) -> Run {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(conns)
        .build_http();
    let body = Bytes::from_static(
        br#"{"model":"gpt-4o-load","messages":[{"role":"user","content":"load test"}]}"#,
    );
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    // Each paced connection sends every `conns / rate` seconds, the
    // connections staggered evenly across one interval.
    let interval = rate.map(|r| Duration::from_secs_f64(conns as f64 / r.max(1.0)));
    for n in 0..conns {
        let (client, body, stop, errors) = (
            client.clone(),
            body.clone(),
            Arc::clone(&stop),
            Arc::clone(&errors),
        );
        let uri = format!("http://{target}{path}");
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut next =
                interval.map(|i| tokio::time::Instant::now() + i.mul_f64(n as f64 / conns as f64));
            while !stop.load(Ordering::Relaxed) {
                if let (Some(at), Some(interval)) = (next.as_mut(), interval) {
                    tokio::time::sleep_until(*at).await;
                    *at += interval;
                }
                let t = Instant::now();
                let Ok(req) = Request::post(uri.as_str())
                    .header("content-type", "application/json")
                    .body(Full::new(body.clone()))
                else {
                    break;
                };
                match client.request(req).await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.into_body().collect().await;
                        lat.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies_us = Vec::new();
    for t in tasks {
        if let Ok(l) = t.await {
            latencies_us.extend(l);
        }
    }
    let elapsed = start.elapsed();
    latencies_us.sort_unstable();
    Run {
        requests: latencies_us.len() as u64,
        latencies_us,
        errors: errors.load(Ordering::Relaxed),
        elapsed,
    }
}

fn pct(v: &[u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v.get(i).copied().unwrap_or(0)
}

async fn hold_streams(gateway: &Gateway, streams: usize) -> Result<(), String> {
    let pid = gateway.child.id();
    let idle = rss_kib(pid);
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build_http();
    let body = Bytes::from_static(br#"{"messages":[{"role":"user","content":"s"}],"stream":true}"#);
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..streams {
        let (client, body, done) = (client.clone(), body.clone(), Arc::clone(&done));
        let uri = format!("http://{}/v1/stream", gateway.addr);
        tasks.push(tokio::spawn(async move {
            let Ok(req) = Request::post(uri.as_str())
                .header("content-type", "application/json")
                .body(Full::new(body))
            else {
                return;
            };
            if let Ok(r) = client.request(req).await {
                let mut b = r.into_body();
                while let Some(Ok(_)) = b.frame().await {}
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut peak = idle;
    let mut samples = Vec::new();
    let start = Instant::now();
    while done.load(Ordering::Relaxed) < streams as u64 && start.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let r = rss_kib(pid);
        samples.push(r);
        peak = peak.max(r);
    }
    for t in tasks {
        let _ = t.await;
    }
    let after = rss_kib(pid);
    println!(
        "sse: {streams} concurrent slow streams ({} completed): gateway RSS idle {idle} KiB, peak {peak} KiB, after {after} KiB → {:.1} KiB per stream",
        done.load(Ordering::Relaxed),
        (peak.saturating_sub(idle)) as f64 / streams as f64
    );
    let mid = samples.len() / 2;
    if let (Some(a), Some(b)) = (
        samples.get(mid),
        samples.get(samples.len().saturating_sub(2)),
    ) {
        println!("sse: RSS mid-stream {a} KiB vs late-stream {b} KiB (flat while held)");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let conns: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(64);
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5);
    let streams: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let events = 50; // 5 s per stream
    let up = start_upstream(events).await.map_err(|e| e.to_string())?;
    // A fourth argument `warn` turns the per-request access log off.
    let log_level = args.get(4).map_or("info", String::as_str);
    let gateway = start_gateway(up, log_level)?;
    println!(
        "upstream {up}, gateway {} (pid {})",
        gateway.addr,
        gateway.child.id()
    );
    if std::env::var_os("LOAD_PIN").is_some() {
        for (pid, cpu) in [(std::process::id(), "0"), (gateway.child.id(), "1")] {
            let pinned = Command::new("taskset")
                .args(["-a", "-p", "-c", cpu, &pid.to_string()])
                .stdout(Stdio::null())
                .status()
                .map_err(|e| format!("LOAD_PIN needs taskset: {e}"))?;
            if !pinned.success() {
                return Err(format!("taskset could not pin pid {pid} to CPU {cpu}"));
            }
        }
        println!("pinned: load and upstream on CPU 0, gateway on CPU 1");
    }
    // Warm both paths (connection pools), then measure each.
    let path = "/v1/chat/completions";
    let _ = drive(up, path, conns, 1, None).await;
    let _ = drive(gateway.addr, path, conns, 1, None).await;
    let direct = drive(up, path, conns, seconds, None).await;
    let through = drive(gateway.addr, path, conns, seconds, None).await;
    println!("closed loop (each connection sends back to back: saturation):");
    report(&direct, &through, conns);
    // Below saturation: both paths offered the same load.
    let rate: f64 = std::env::var("LOAD_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(500.0);
    let direct = drive(up, path, conns, seconds, Some(rate)).await;
    let through = drive(gateway.addr, path, conns, seconds, Some(rate)).await;
    println!("paced at {rate:.0} req/s in all (below saturation: latency is service time):");
    report(&direct, &through, conns);
    hold_streams(&gateway, streams).await?;
    Ok(())
}

fn report(direct: &Run, through: &Run, conns: usize) {
    for (name, r) in [("  direct ", direct), ("  gateway", through)] {
        println!(
            "{name}: {} req in {:.1} s = {:.0} req/s, errors {}, latency p50 {} µs, p99 {} µs",
            r.requests,
            r.elapsed.as_secs_f64(),
            r.requests as f64 / r.elapsed.as_secs_f64(),
            r.errors,
            pct(&r.latencies_us, 0.5),
            pct(&r.latencies_us, 0.99),
        );
    }
    let added = pct(&through.latencies_us, 0.5) as i64 - pct(&direct.latencies_us, 0.5) as i64;
    let ratio = (through.requests as f64 / through.elapsed.as_secs_f64())
        / (direct.requests as f64 / direct.elapsed.as_secs_f64()).max(1.0);
    println!(
        "  added median latency {added} µs; gateway throughput {:.0}% of direct ({conns} connections, 1 KB bodies)",
        ratio * 100.0
    );
}
