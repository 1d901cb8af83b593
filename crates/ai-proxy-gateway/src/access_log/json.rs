//! [`JsonAccessLog`]: the access line of
//! [`TracingAccessLog`](super::TracingAccessLog) as
//! [`logs::subscriber`](crate::logs::subscriber) writes it in JSON, written
//! straight into a writer. The same bytes without the `tracing` event (a
//! value set of thirty-odd fields, each visited through `dyn` calls and
//! re-formatted): that path was a fifth of a proxied request's user-space
//! instructions (callgrind, `gateway_cpu.py` load).

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use ai_proxy::core::date::civil_from_days;
use tracing_subscriber::fmt::MakeWriter;

use super::record::{AccessLog, AccessRecord};
use super::tracing::{Line, var};
use crate::json_str::write_json_str;

/// Writes each record as one JSON line — byte for byte what
/// [`TracingAccessLog`](super::TracingAccessLog) gives under
/// [`logs::subscriber`](crate::logs::subscriber) with
/// [`LogFormat::Json`](crate::logs::LogFormat::Json) — with one `write` per
/// line to a writer of `make`.
#[derive(Debug)]
pub struct JsonAccessLog<W> {
    make: W,
}

impl<W> JsonAccessLog<W> {
    /// Access lines to writers of `make`.
    pub fn new(make: W) -> Self {
        Self { make }
    }
}

thread_local! {
    /// Each thread's line buffer, reused.
    static LINE: RefCell<String> = RefCell::new(String::with_capacity(1024));
}

impl<W> AccessLog for JsonAccessLog<W>
where
    W: for<'a> MakeWriter<'a> + Send + Sync,
{
    fn log(&self, record: &AccessRecord) {
        LINE.with(|cell| {
            // A re-entrant call (a writer that logs) gets a fresh buffer.
            let mut fresh = String::new();
            let mut borrowed = cell.try_borrow_mut();
            let out = match &mut borrowed {
                Ok(line) => &mut **line,
                Err(_) => &mut fresh,
            };
            out.clear();
            if write_line(record, out).is_ok() {
                let _ = self.make.make_writer().write_all(out.as_bytes());
            }
        });
    }
}

/// One JSON object, field by field.
struct Object<'o>(&'o mut String);

impl Object<'_> {
    fn str(&mut self, name: &str, value: &str) -> fmt::Result {
        self.key(name);
        write_json_str(self.0, value)
    }

    fn u64(&mut self, name: &str, value: u64) {
        self.key(name);
        push_u64(self.0, value);
    }

    fn bool(&mut self, name: &str, value: bool) {
        self.key(name);
        self.0.push_str(if value { "true" } else { "false" });
    }

    /// Names are Rust identifiers: nothing to escape.
    fn key(&mut self, name: &str) {
        self.0.push_str(",\"");
        self.0.push_str(name);
        self.0.push_str("\":");
    }
}

/// The line: timestamp, level, message, the fields in the order of
/// [`TracingAccessLog`](super::TracingAccessLog)'s event, target.
fn write_line(record: &AccessRecord, out: &mut String) -> fmt::Result {
    let line = Line::new(record);
    out.push_str("{\"timestamp\":\"");
    push_timestamp(out, SystemTime::now());
    out.push_str("\",\"level\":\"INFO\",\"message\":\"access\"");
    let mut o = Object(out);
    o.str("route_id", &record.route_id)?;
    o.str("method", record.method.as_str())?;
    o.str("uri", &record.path)?;
    o.key("remote_addr");
    push_ip(o.0, record.remote.ip())?;
    o.u64("status", u64::from(record.status));
    o.u64("latency_ms", line.latency_ms);
    o.str("picked_ai_instance_name", record.picked_instance())?;
    o.u64("attempts", record.attempts.len() as u64);
    o.str("upstream_addr", &record.upstream_addr)?;
    o.str("upstream_status", &line.upstream_status)?;
    for (name, i) in VARS {
        o.str(name, line.var(i))?;
    }
    o.u64(
        "llm_time_to_first_content_ms",
        line.time_to_first_content_ms(),
    );
    o.u64("bytes_sent", record.bytes_sent());
    o.bool("client_disconnected", record.client_aborted);
    o.str("error", &record.error)?;
    o.str("hint", line.hint)?;
    o.str("usage_warning", &line.usage_warning)?;
    o.str("llm_summary", &line.summary)?;
    o.str("llm_request", &line.llm_request)?;
    o.str("llm_response_text", &line.llm_response_text)?;
    out.push_str(",\"target\":\"access_log\"}\n");
    Ok(())
}

/// `n` in decimal, without the formatting machinery.
fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    for slot in digits.iter_mut().rev() {
        // ok: `n % 10` is below 10, so the cast does not truncate.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (n % 10) as u8;
        *slot = b'0' + digit;
        start -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in digits.get(start..).unwrap_or_default() {
        out.push(char::from(d));
    }
}

/// `n` with at least `width` digits (zero-padded).
fn push_padded(out: &mut String, n: u64, width: u32) {
    let mut bound = 10u64.pow(width.saturating_sub(1));
    while bound > 1 && n < bound {
        out.push('0');
        bound /= 10;
    }
    push_u64(out, n);
}

/// The address as a JSON string, as `Display` writes it.
fn push_ip(out: &mut String, ip: IpAddr) -> fmt::Result {
    out.push('"');
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_u64(out, u64::from(octet));
            }
        }
        IpAddr::V6(v6) => write!(out, "{v6}")?,
    }
    out.push('"');
    Ok(())
}

/// `now` as tracing-subscriber's `SystemTime` writes it (RFC 3339, UTC,
/// microseconds): `2026-11-30T00:31:14.072643Z`.
fn push_timestamp(out: &mut String, now: SystemTime) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days(secs / 86_400);
    let of_day = secs % 86_400;
    push_padded(out, year, 4);
    out.push('-');
    push_padded(out, month, 2);
    out.push('-');
    push_padded(out, day, 2);
    out.push('T');
    push_padded(out, of_day / 3600, 2);
    out.push(':');
    push_padded(out, of_day % 3600 / 60, 2);
    out.push(':');
    push_padded(out, of_day % 60, 2);
    out.push('.');
    push_padded(out, u64::from(since.subsec_micros()), 6);
    out.push('Z');
}

/// The APISIX variables on every line, in the event's order, with their
/// index in [`APISIX_VARS`](ai_proxy::core::metrics::APISIX_VARS) (found at
/// compile time).
const VARS: [(&str, usize); 15] = [
    ("request_type", var("request_type")),
    ("request_llm_model", var("request_llm_model")),
    ("llm_model", var("llm_model")),
    ("llm_time_to_first_token", var("llm_time_to_first_token")),
    ("llm_prompt_tokens", var("llm_prompt_tokens")),
    ("llm_completion_tokens", var("llm_completion_tokens")),
    ("llm_total_tokens", var("llm_total_tokens")),
    ("llm_stream", var("llm_stream")),
    ("llm_has_tool_calls", var("llm_has_tool_calls")),
    ("llm_tool_count", var("llm_tool_count")),
    ("llm_end_user_id", var("llm_end_user_id")),
    (
        "llm_cache_read_input_tokens",
        var("llm_cache_read_input_tokens"),
    ),
    (
        "llm_cache_creation_input_tokens",
        var("llm_cache_creation_input_tokens"),
    ),
    ("llm_reasoning_tokens", var("llm_reasoning_tokens")),
    (
        "apisix_upstream_response_time",
        var("apisix_upstream_response_time"),
    ),
];

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tracing_subscriber::fmt::format::Writer;
    use tracing_subscriber::fmt::time::FormatTime;

    use super::*;

    fn timestamp(secs: u64, micros: u32) -> String {
        let mut out = String::new();
        let at = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(u64::from(micros));
        push_timestamp(&mut out, at);
        out
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        assert_eq!(timestamp(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(timestamp(951_782_400, 7), "2000-02-29T00:00:00.000007Z");
        assert_eq!(
            timestamp(1_767_225_599, 999_999),
            "2025-12-31T23:59:59.999999Z"
        );
        assert_eq!(
            timestamp(4_107_542_400, 120_000),
            "2100-03-01T00:00:00.120000Z"
        );
    }

    #[test]
    fn timestamps_match_tracing_subscriber_to_the_second() {
        for _ in 0..5 {
            let mut theirs = String::new();
            tracing_subscriber::fmt::time::SystemTime
                .format_time(&mut Writer::new(&mut theirs))
                .unwrap();
            let ours = {
                let mut out = String::new();
                push_timestamp(&mut out, SystemTime::now());
                out
            };
            assert_eq!(ours.len(), theirs.len(), "{ours} vs {theirs}");
            if ours[..19] == theirs[..19] {
                return;
            }
        }
        panic!("timestamps never agreed on the second");
    }

    #[test]
    fn numbers_and_addresses_are_written_like_display() {
        for n in [0, 7, 10, 99, 100, 12_345, u64::MAX] {
            let mut out = String::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
        for ip in ["127.0.0.1", "0.0.0.0", "255.10.0.9", "::1", "fe80::1:2"] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut out = String::new();
            push_ip(&mut out, ip).unwrap();
            assert_eq!(out, format!("\"{ip}\""));
        }
    }
}
