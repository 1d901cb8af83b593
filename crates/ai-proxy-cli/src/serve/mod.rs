//! `ai-proxy serve --config FILE [--listen ADDR] [--demo] [--log-format text|json] …`:
//! the gateway of `ai-proxy-gateway`, configured from the command line.
//! This module parses arguments, starts the runtime and the demo
//! upstreams; the library does the rest.

pub mod demo;
mod workers;

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use ai_proxy::config::MAX_DOCUMENT_BYTES;
use ai_proxy_gateway::{Gateway, Settings, logs};

use crate::{check, input};

/// Access-log format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable `key=value` lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl From<LogFormat> for logs::LogFormat {
    fn from(format: LogFormat) -> Self {
        match format {
            LogFormat::Text => logs::LogFormat::Text,
            LogFormat::Json => logs::LogFormat::Json,
        }
    }
}

/// Arguments of `ai-proxy serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Routes: a config-sync YAML, a route JSON, or a plugin JSON (every path).
    #[arg(long, required_unless_present = "demo")]
    pub config: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9080")]
    pub listen: SocketAddr,
    /// Serve offline: start in-process upstreams that speak each provider's
    /// wire format and route to them (ignores --config).
    #[arg(long)]
    pub demo: bool,
    /// Access-log format.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Lowest level logged: `info` includes one access-log line per
    /// request; `warn` keeps only problems (aborted streams, fallbacks).
    #[arg(long, default_value = "info")]
    pub log_level: tracing::Level,
    /// Worker threads, each an event loop with its own listening socket
    /// (SO_REUSEPORT) and upstream connection pools, as nginx's worker
    /// processes [default: one per CPU]. `keepalive_pool` is per worker.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,
    /// Seconds a client may take to send a request head (nginx
    /// client_header_timeout); then the connection is closed.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = seconds)]
    pub client_header_timeout: Duration,
    /// Longest pause, in seconds, between two reads of a request body
    /// (nginx client_body_timeout); then the client gets 408.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = seconds)]
    pub client_body_timeout: Duration,
    /// Longest pause, in seconds, of a write of a response to a client that
    /// stopped reading (nginx send_timeout); then the connection is closed.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = seconds)]
    pub client_send_timeout: Duration,
    /// Seconds an idle keep-alive connection stays open (nginx
    /// keepalive_timeout).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = seconds)]
    pub keepalive_timeout: Duration,
    /// Client connections served at once, split evenly across the workers
    /// (each worker's share, as nginx's worker_connections); more wait in
    /// the listen backlog [default: half the file-descriptor limit, after
    /// headroom]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// Request-body bytes all requests may hold at once; a request that
    /// would go over gets 503 before its body is read.
    #[arg(long, value_name = "BYTES", default_value_t = ai_proxy_gateway::DEFAULT_MAX_INFLIGHT_BODY_BYTES)]
    pub max_inflight_body_bytes: u64,
    /// With logging.payloads: bytes of request messages and of response
    /// text kept per request, each (longer ones are cut and marked
    /// truncated).
    #[arg(long, value_name = "BYTES", default_value_t = ai_proxy_gateway::DEFAULT_MAX_LOGGED_PAYLOAD_BYTES)]
    pub max_logged_payload_bytes: usize,
    /// Also serve Prometheus metrics at `GET http://ADDR/metrics` (a
    /// separate listener, as APISIX's export_addr); off by default.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Most series per model-labelled metric family (model names come from
    /// clients); past it, new names are counted under `_overflow`.
    #[arg(long, value_name = "N", default_value_t = ai_proxy_gateway::DEFAULT_MAX_METRIC_SERIES)]
    pub max_metric_series: usize,
}

/// A positive number of seconds (fractions allowed).
fn seconds(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "`{text}` is not a number of seconds from 0 (exclusive) to 86400"
        )),
    }
}

impl Args {
    /// The gateway's settings for `workers` workers: each gets an equal
    /// share of the connection cap.
    fn settings(&self, workers: usize) -> Settings {
        let mut settings = Settings::default()
            .with_client_header_timeout(self.client_header_timeout)
            .with_client_body_timeout(self.client_body_timeout)
            .with_client_send_timeout(self.client_send_timeout)
            .with_keepalive_timeout(self.keepalive_timeout)
            .with_max_inflight_body_bytes(self.max_inflight_body_bytes)
            .with_max_logged_payload_bytes(self.max_logged_payload_bytes)
            .with_max_metric_series(self.max_metric_series);
        if let Some(addr) = self.metrics_listen {
            settings = settings.with_metrics_listen(addr);
        }
        let max = self
            .max_connections
            .map_or(settings.max_connections, |max| {
                usize::try_from(max).unwrap_or(usize::MAX)
            });
        settings.with_max_connections(max / workers.max(1))
    }
}

/// Runs `ai-proxy serve` until interrupted.
pub fn run(args: Args) -> ExitCode {
    logs::init(args.log_format.into(), args.log_level);
    // The main thread's runtime: start-up, signals, the demo upstreams,
    // health checks and the metrics endpoint; clients are served by the
    // workers.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(serve(args));
    logs::flush();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
    }
}

async fn serve(args: Args) -> Result<(), String> {
    let (text, demo_upstream) = if args.demo {
        let addr = demo::start()
            .await
            .map_err(|e| format!("cannot start the demo upstreams: {e}"))?;
        (demo::config(addr), Some(addr))
    } else {
        let file = args.config.as_deref().unwrap_or("-");
        let text = input::read_text(file, MAX_DOCUMENT_BYTES, "config");
        (text.map_err(|e| e.to_string())?, None)
    };
    let doc = check::load(&text).map_err(|errors| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    for warning in check::warnings(&doc) {
        tracing::warn!("config: {warning}");
    }
    // Startup warnings go out before the banner says the gateway is up.
    logs::flush();
    let worker_count = workers::count(args.workers, args.max_connections);
    let gateway = Gateway::builder()
        .settings(args.settings(worker_count))
        .access_log(logs::access_log(args.log_format.into(), args.log_level))
        .build(&doc)
        .map_err(|e| e.to_string())?;
    let listeners = workers::listeners(args.listen, worker_count)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listeners
        .first()
        .ok_or_else(|| format!("cannot listen on {}: no socket", args.listen))?
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    let banner = {
        let routes = gateway.route_ids().count();
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "ai-proxy listening on http://{local} ({routes} route{})",
            if routes == 1 { "" } else { "s" }
        )
        .and_then(|()| match demo_upstream {
            Some(up) => writeln!(out, "demo upstreams on http://{up}")
                .and_then(|()| write!(out, "{}", demo::curl_examples(local))),
            None => Ok(()),
        })
        .and_then(|()| out.flush())
    };
    banner.map_err(|e| format!("cannot write to standard output: {e}"))?;
    // Stop on ^C, or when stdout's reader has gone: the access log would
    // have nowhere to go, and a gateway should not run unlogged.
    let stdout_closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = {
        let stdout_closed = std::sync::Arc::clone(&stdout_closed);
        async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = logs::stdout_closed() => {
                    stdout_closed.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    };
    let _health = gateway.spawn_health_checks();
    let _metrics = gateway
        .spawn_metrics_endpoint()
        .await
        .map_err(|e| format!("cannot serve metrics: {e}"))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut workers = workers::Workers::start(&gateway, listeners, &stop_rx)?;
    // A worker that ends on its own (it could not start its runtime or
    // listen) stops the others: its error is reported below.
    tokio::select! {
        () = stop => {}
        () = workers.any_exited() => {}
    }
    let _ = stop_tx.send(true);
    // The workers drain their connections (up to the shutdown timeout).
    tokio::task::spawn_blocking(move || workers.join())
        .await
        .map_err(|e| format!("serving on {local} failed: {e}"))?
        .map_err(|e| format!("serving on {local} failed: {e}"))?;
    if stdout_closed.load(std::sync::atomic::Ordering::Relaxed) {
        return Err("standard output was closed: the access log has nowhere to go".to_owned());
    }
    Ok(())
}
