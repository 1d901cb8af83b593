//! `ai-proxy serve --config FILE [--listen ADDR] [--demo] [--log-format text|json]`:
//! a real gateway on the SDK (hyper server, hyper-util pooled client over
//! rustls). The SDK decides; this module only moves bytes and reads clocks.

pub mod demo;

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use ai_proxy_gateway::config::Document;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use ai_proxy_gateway::gateway::Gateway;
use ai_proxy_gateway::{logs, proxy, routes, upstream};

use crate::input;

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
    /// Runtime worker threads (default: one per CPU). On a machine shared
    /// with the upstream or the load, fewer workers mean fewer cross-thread
    /// wake-ups.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,
}

/// Runs `ai-proxy serve` until interrupted.
pub fn run(args: Args) -> ExitCode {
    logs::init(args.log_format.into(), args.log_level);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = args.workers {
        builder.worker_threads(usize::from(workers));
    }
    let runtime = match builder.enable_all().build() {
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
        (input::read_text(file)?, None)
    };
    let doc = Document::parse(&text).map_err(|e| e.to_string())?;
    let routes = routes::RouteTable::compile(&doc, &ai_proxy::registry())?;
    let gateway = Arc::new(Gateway {
        routes,
        clients: upstream::Clients::default(),
        tokens: std::sync::Mutex::new(ai_proxy::vertex::TokenCache::new()),
    });
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "ai-proxy listening on http://{local} ({} route{})",
            gateway.routes.routes().len(),
            if gateway.routes.routes().len() == 1 {
                ""
            } else {
                "s"
            }
        );
        if let Some(up) = demo_upstream {
            let _ = writeln!(out, "demo upstreams on http://{up}");
            let _ = write!(out, "{}", demo::curl_examples(local));
        }
        let _ = out.flush();
    }
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, remote)) = accepted else { continue };
                // Responses (streamed ones above all) go out as written, not
                // held back by Nagle's algorithm waiting for an ACK.
                let _ = stream.set_nodelay(true);
                let gateway = Arc::clone(&gateway);
                tokio::spawn(async move {
                    let service = service_fn(move |req| proxy::handle(Arc::clone(&gateway), req, remote));
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
