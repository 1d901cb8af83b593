//! Log output for a gateway process: the subscriber, a JSON line format, and a
//! batched writer that keeps stdout off the request path.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::access_log::{AccessLog, JsonAccessLog, TracingAccessLog};
use crate::json_str::write_json_str;

/// Access-log format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable `key=value` lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The access-log sink for a process set up by [`init`]: in JSON, lines
/// written straight to the batched writer ([`JsonAccessLog`], the same
/// bytes as [`TracingAccessLog`] through the subscriber, without the
/// `tracing` event); otherwise, or before [`init`], [`TracingAccessLog`].
pub fn access_log(format: LogFormat, level: tracing::Level) -> Arc<dyn AccessLog> {
    match LOGS.get() {
        // `level` and up are logged; access lines are INFO.
        Some(shared) if format == LogFormat::Json && level >= tracing::Level::INFO => {
            Arc::new(JsonAccessLog::new(LogWriter {
                shared: Arc::clone(shared),
            }))
        }
        _ => Arc::new(TracingAccessLog),
    }
}

/// Installs the global subscriber: `level` and up, as text or JSON lines,
/// through the batched stdout writer ([`flush`] at shutdown).
pub fn init(format: LogFormat, level: tracing::Level) {
    let _ = tracing::dispatcher::set_global_default(subscriber(format, level, LogWriter::start()));
}

/// A subscriber writing `level` and up to `writer`, one text or JSON line
/// per event (each line in one `write`): what [`init`] installs, for a
/// writer of the caller's.
pub fn subscriber<W>(format: LogFormat, level: tracing::Level, writer: W) -> tracing::Dispatch
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_max_level(level);
    match format {
        LogFormat::Json => tracing::Dispatch::new(builder.event_format(JsonLine).finish()),
        LogFormat::Text => tracing::Dispatch::new(builder.with_ansi(false).finish()),
    }
}

/// One JSON object per event: `timestamp`, `level`, the event's fields in
/// order (the message as `message`), then `target` — the shape of
/// tracing-subscriber's JSON format with flattened fields, written straight
/// into the line buffer. (That formatter goes through serde_json and
/// re-validates every piece as UTF-8; with thirty-odd fields per access-log
/// line it cost a gateway about 5 µs per request.)
struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        writer.write_str("{\"timestamp\":\"")?;
        SystemTime.format_time(&mut writer)?;
        write!(writer, "\",\"level\":\"{}\"", event.metadata().level())?;
        let mut fields = JsonFields {
            writer: &mut writer,
            scratch: String::new(),
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_str(",\"target\":")?;
        write_json_str(&mut writer, event.metadata().target())?;
        writer.write_str("}\n")
    }
}

/// Writes each field as `,"name":value`.
struct JsonFields<'w, 'a> {
    writer: &'w mut Writer<'a>,
    /// Reused for fields that arrive as `Debug`/`Display` values.
    scratch: String,
    result: fmt::Result,
}

impl JsonFields<'_, '_> {
    fn key(&mut self, field: &Field) -> fmt::Result {
        // Field names are Rust identifiers (or `message`): nothing to
        // escape.
        self.writer.write_str(",\"")?;
        self.writer.write_str(field.name())?;
        self.writer.write_str("\":")
    }

    fn put(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = self.key(field).and_then(|()| value(self.writer));
        }
    }
}

impl Visit for JsonFields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, |w| write_json_str(w, value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, |w| write!(w, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, |w| write!(w, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, |w| w.write_str(if value { "true" } else { "false" }));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinities.
        if value.is_finite() {
            self.put(field, |w| write!(w, "{value}"));
        } else {
            self.put(field, |w| w.write_str("null"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        if write!(scratch, "{value:?}").is_err() {
            self.result = Err(fmt::Error);
        }
        self.put(field, |w| write_json_str(w, &scratch));
        self.scratch = scratch;
    }
}

/// Log lines are appended to a shared buffer that a dedicated thread
/// writes to stdout every few milliseconds (sooner when it fills), so
/// request tasks never block on the terminal or a slow pipe, and a busy
/// gateway makes one `write` per batch instead of a thread wake-up and a
/// syscall per line. A line over [`MAX_LINE`] is cut (its head, where the
/// access log puts status and token counts, is kept; the cut is marked),
/// never dropped for its size; lines are dropped only when stdout falls
/// [`LOG_BUFFER_CAP`] behind (their count goes to stderr); [`flush`] writes
/// what is left at shutdown.
#[derive(Clone)]
struct LogWriter {
    shared: Arc<LogBuffer>,
}

struct LogBuffer {
    lines: std::sync::Mutex<Vec<u8>>,
    writer: std::thread::Thread,
    /// Lines dropped because stdout fell [`LOG_BUFFER_CAP`] behind.
    dropped: std::sync::atomic::AtomicU64,
}

/// How far stdout may fall behind before lines are dropped (and counted
/// on stderr) rather than held: a stuck log reader must not grow the
/// gateway's memory without bound.
const LOG_BUFFER_CAP: usize = 64 * 1024 * 1024;

/// The longest line written whole; longer ones are cut to it.
const MAX_LINE: usize = 1024 * 1024;

/// How long a line may wait in the buffer.
const LOG_FLUSH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);
/// A buffer this full is written at once.
const LOG_FLUSH_BYTES: usize = 256 * 1024;

static LOGS: std::sync::OnceLock<Arc<LogBuffer>> = std::sync::OnceLock::new();

/// Notified when stdout's reader has gone (a closed pipe).
static STDOUT_CLOSED: std::sync::LazyLock<tokio::sync::Notify> =
    std::sync::LazyLock::new(tokio::sync::Notify::new);

/// Completes when a write of the log lines to stdout finds its reader gone
/// (a closed pipe): the access log has nowhere to go, and a server should
/// stop rather than run unlogged.
pub async fn stdout_closed() {
    STDOUT_CLOSED.notified().await;
}

/// Every line dropped since the process started (for metrics).
static DROPPED_TOTAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Log lines dropped since the process started because stdout fell
/// behind (`ai_proxy_log_lines_dropped_total`).
pub fn dropped_lines() -> u64 {
    DROPPED_TOTAL.load(std::sync::atomic::Ordering::Relaxed)
}

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
            if let Err(e) = out.write_all(spare).and_then(|()| out.flush())
                && e.kind() == std::io::ErrorKind::BrokenPipe
            {
                STDOUT_CLOSED.notify_one();
            }
        }
        let dropped = self.dropped.swap(0, std::sync::atomic::Ordering::Relaxed);
        if dropped > 0 {
            // Not eprintln!: it panics when stderr is closed too.
            let _ = writeln!(
                std::io::stderr(),
                "ai-proxy: dropped {dropped} log lines: stdout did not keep up"
            );
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
            dropped: std::sync::atomic::AtomicU64::new(0),
        });
        let _ = tx.send(Arc::clone(&shared));
        let _ = LOGS.set(Arc::clone(&shared));
        Self { shared }
    }
}

/// Writes the log lines still buffered (at shutdown).
pub fn flush() {
    if let Some(shared) = LOGS.get() {
        shared.write_out(&mut Vec::new());
    }
}

/// `line` cut to [`MAX_LINE`] bytes on a UTF-8 boundary, marked, still one
/// line.
fn cut_line(line: &[u8]) -> Vec<u8> {
    let mut end = MAX_LINE.min(line.len());
    // Back off continuation bytes (0b10xx_xxxx) to a char boundary.
    while end > 0 && line.get(end).is_some_and(|b| b & 0xC0 == 0x80) {
        end -= 1;
    }
    let mut out = line.get(..end).unwrap_or_default().to_vec();
    let dropped = line.len() - end;
    out.extend_from_slice(format!("…[line cut: {dropped} bytes dropped]\n").as_bytes());
    out
}

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = buf.len();
        let cut;
        let buf = if buf.len() > MAX_LINE {
            cut = cut_line(buf);
            cut.as_slice()
        } else {
            buf
        };
        let full = {
            let mut lines = self
                .shared
                .lines
                .lock()
                .map_err(|_| std::io::Error::other("log buffer poisoned"))?;
            if lines.len().saturating_add(buf.len()) > LOG_BUFFER_CAP {
                self.shared
                    .dropped
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                DROPPED_TOTAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                true
            } else {
                lines.extend_from_slice(buf);
                lines.len() >= LOG_FLUSH_BYTES
            }
        };
        if full {
            self.shared.writer.unpark();
        }
        Ok(written)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stuck_stdout_caps_the_buffer_and_counts_dropped_lines() {
        let shared = Arc::new(LogBuffer {
            lines: std::sync::Mutex::new(Vec::new()),
            writer: std::thread::current(),
            dropped: std::sync::atomic::AtomicU64::new(0),
        });
        let mut writer = LogWriter {
            shared: Arc::clone(&shared),
        };
        let line = vec![b'x'; 1024 * 1024];
        for _ in 0..70 {
            assert_eq!(
                std::io::Write::write(&mut writer, &line).unwrap(),
                line.len()
            );
        }
        assert_eq!(shared.lines.lock().unwrap().len(), LOG_BUFFER_CAP);
        assert_eq!(shared.dropped.load(std::sync::atomic::Ordering::Relaxed), 6);
    }

    #[test]
    fn an_oversized_line_is_cut_and_kept_not_dropped() {
        let shared = Arc::new(LogBuffer {
            lines: std::sync::Mutex::new(Vec::new()),
            writer: std::thread::current(),
            dropped: std::sync::atomic::AtomicU64::new(0),
        });
        let mut writer = LogWriter {
            shared: Arc::clone(&shared),
        };
        let mut line =
            b"{\"status\":200,\"llm_total_tokens\":\"42\",\"llm_response_text\":\"".to_vec();
        line.extend(std::iter::repeat_n(b'x', LOG_BUFFER_CAP + 10));
        line.extend_from_slice("é\"}\n".as_bytes());
        assert_eq!(
            std::io::Write::write(&mut writer, &line).unwrap(),
            line.len()
        );
        let kept = shared.lines.lock().unwrap().clone();
        assert!(kept.len() < MAX_LINE + 64);
        let text = String::from_utf8(kept).unwrap();
        assert!(text.starts_with("{\"status\":200,\"llm_total_tokens\":\"42\""));
        assert!(
            text.ends_with("bytes dropped]\n"),
            "{}",
            &text[text.len() - 60..]
        );
        assert_eq!(shared.dropped.load(std::sync::atomic::Ordering::Relaxed), 0);
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        let mut line = vec![b'a'; MAX_LINE - 1];
        line.extend_from_slice("é".repeat(4).as_bytes());
        let cut = cut_line(&line);
        assert!(String::from_utf8(cut).is_ok());
    }
}
