//! `ai-proxy serve --config FILE [--listen ADDR] [--demo] [--log-format text|json]`:
//! a real gateway on the SDK (hyper server, hyper-util pooled client over
//! rustls). The SDK decides; this module only moves bytes and reads clocks.

mod access_log;
pub mod demo;
mod gcp;
mod multi;
mod proxy;
mod routes;
mod upstream;

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use ai_proxy::config::Document;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::input;
use proxy::Gateway;

/// Access-log format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable `key=value` lines.
    Text,
    /// One JSON object per line.
    Json,
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
    init_logging(args.log_format, args.log_level);
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
    flush_logs();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(format: LogFormat, level: tracing::Level) {
    let builder = tracing_subscriber::fmt()
        .with_writer(LogWriter::start())
        .with_max_level(level);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}

/// Log lines are appended to a shared buffer that a dedicated thread
/// writes to stdout every few milliseconds (sooner when it fills), so
/// request tasks never block on the terminal or a slow pipe, and a busy
/// gateway makes one `write` per batch instead of a thread wake-up and a
/// syscall per line. Lines are never dropped; [`flush_logs`] writes what
/// is left at shutdown.
#[derive(Clone)]
struct LogWriter {
    shared: Arc<LogBuffer>,
}

struct LogBuffer {
    lines: std::sync::Mutex<Vec<u8>>,
    writer: std::thread::Thread,
}

/// How long a line may wait in the buffer.
const LOG_FLUSH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);
/// A buffer this full is written at once.
const LOG_FLUSH_BYTES: usize = 256 * 1024;

static LOGS: std::sync::OnceLock<Arc<LogBuffer>> = std::sync::OnceLock::new();

impl LogBuffer {
    /// Writes out what is buffered; `spare` keeps the capacity of the
    /// last batch so steady logging does not allocate.
    fn write_out(&self, spare: &mut Vec<u8>) {
        spare.clear();
        match self.lines.lock() {
            Ok(mut lines) => std::mem::swap(&mut *lines, spare),
            Err(poisoned) => std::mem::swap(&mut *poisoned.into_inner(), spare),
        }
        if !spare.is_empty() {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(spare);
            let _ = out.flush();
        }
    }
}

impl LogWriter {
    fn start() -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Arc<LogBuffer>>();
        let handle = std::thread::spawn(move || {
            let Ok(shared) = rx.recv() else { return };
            let mut spare = Vec::new();
            loop {
                std::thread::park_timeout(LOG_FLUSH_INTERVAL);
                shared.write_out(&mut spare);
            }
        });
        let shared = Arc::new(LogBuffer {
            lines: std::sync::Mutex::new(Vec::with_capacity(64 * 1024)),
            writer: handle.thread().clone(),
        });
        let _ = tx.send(Arc::clone(&shared));
        let _ = LOGS.set(Arc::clone(&shared));
        Self { shared }
    }
}

/// Writes the log lines still buffered (at shutdown).
fn flush_logs() {
    if let Some(shared) = LOGS.get() {
        shared.write_out(&mut Vec::new());
    }
}

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let full = {
            let mut lines = self
                .shared
                .lines
                .lock()
                .map_err(|_| std::io::Error::other("log buffer poisoned"))?;
            lines.extend_from_slice(buf);
            lines.len() >= LOG_FLUSH_BYTES
        };
        if full {
            self.shared.writer.unpark();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
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
