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

use ai_proxy::core::Metrics;
use ai_proxy::core::date::civil_from_days;
use ai_proxy::core::json::write::{escape, write_str, write_u64};
use ai_proxy::core::metrics::{APISIX_VARS, VarValue};
use tracing_subscriber::fmt::MakeWriter;

use super::record::{AccessLog, AccessRecord};
use super::tracing::{Extras, hint, latency_ms, time_to_first_content_ms, var};

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

/// A line buffer kept past this (a line with large payloads) is freed
/// after use: each thread holds at most this much between lines.
const KEPT_CAPACITY: usize = 16 * 1024;

/// Each thread's line buffer and timestamp, reused from line to line.
struct LineBuffer {
    bytes: Vec<u8>,
    stamp: Stamp,
}

thread_local! {
    static LINE: RefCell<LineBuffer> = RefCell::new(LineBuffer {
        bytes: Vec::with_capacity(1024),
        stamp: Stamp::default(),
    });
}

impl<W> AccessLog for JsonAccessLog<W>
where
    W: for<'a> MakeWriter<'a> + Send + Sync,
{
    fn log(&self, record: &AccessRecord) {
        let write = |line: &mut LineBuffer| {
            line.bytes.clear();
            write_line(record, SystemTime::now(), &mut line.stamp, &mut line.bytes);
            let _ = self.make.make_writer().write_all(&line.bytes);
            if line.bytes.capacity() > KEPT_CAPACITY {
                line.bytes = Vec::with_capacity(1024);
            }
        };
        let fresh = || LineBuffer {
            bytes: Vec::new(),
            stamp: Stamp::default(),
        };
        // A re-entrant call (a writer that logs) gets a fresh buffer, as
        // does one while the thread's locals are being torn down.
        let written = LINE.try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut line) => write(&mut line),
            Err(_) => write(&mut fresh()),
        });
        if written.is_err() {
            write(&mut fresh());
        }
    }
}

/// Writes the APISIX variables on every line, in the event's order: each
/// one's `,"name":` as a literal and its value through [`var`] with its
/// index in [`APISIX_VARS`] as a constant (found at compile time), so each
/// variable's read is one field's (no index dispatch, no key copy call).
macro_rules! write_vars {
    ($out:expr, $m:expr, $($name:ident),* $(,)?) => {
        $(
            $out.extend_from_slice(concat!(",\"", stringify!($name), "\":").as_bytes());
            write_var($out, $m, const { var(stringify!($name)) });
        )*
    };
}

/// `request_type`'s index: its values are [`plain`].
const REQUEST_TYPE: usize = var("request_type");

/// Variable `i`'s value (its default without metrics).
#[inline(always)]
fn write_var(out: &mut Vec<u8>, m: Option<&Metrics>, i: usize) {
    match m.and_then(|m| m.var_at(i)) {
        Some(VarValue::Text(value)) if i == REQUEST_TYPE => plain(out, value),
        Some(VarValue::Text(value)) => text(out, value),
        Some(VarValue::Number(n)) => {
            out.push(b'"');
            number(out, n);
            out.push(b'"');
        }
        Some(VarValue::Flag(flag)) => {
            out.extend_from_slice(if flag { b"\"true\"" } else { b"\"false\"" });
        }
        _ => text(out, APISIX_VARS.get(i).map_or("", |(_, default)| default)),
    }
}

/// The line: timestamp, level, message, the fields in the order of
/// [`TracingAccessLog`](super::TracingAccessLog)'s event, target — written
/// straight into `out`: names as literal bytes, numbers and flags as
/// digits and words, only client- and upstream-chosen text through the
/// escaper.
fn write_line(record: &AccessRecord, now: SystemTime, stamp: &mut Stamp, out: &mut Vec<u8>) {
    let m = record.metrics.as_ref();
    out.extend_from_slice(b"{\"timestamp\":\"");
    stamp.write(now, out);
    out.extend_from_slice(b"\",\"level\":\"INFO\",\"message\":\"access\",\"route_id\":");
    text(out, &record.route_id);
    out.extend_from_slice(b",\"method\":");
    plain(out, record.method.as_str());
    out.extend_from_slice(b",\"uri\":");
    text(out, &record.path);
    out.extend_from_slice(b",\"remote_addr\":\"");
    push_ip(out, record.remote.ip());
    out.extend_from_slice(b"\",\"status\":");
    number(out, u64::from(record.status));
    out.extend_from_slice(b",\"latency_ms\":");
    number(out, latency_ms(record));
    out.extend_from_slice(b",\"picked_ai_instance_name\":");
    text(out, record.picked_instance());
    out.extend_from_slice(b",\"attempts\":");
    number(out, record.attempts.len() as u64);
    out.extend_from_slice(b",\"upstream_addr\":");
    text(out, &record.upstream_addr);
    out.extend_from_slice(b",\"upstream_status\":\"");
    if let Some(status) = record.upstream_status() {
        number(out, u64::from(status.as_u16()));
    }
    out.push(b'"');
    write_vars!(
        out,
        m,
        request_type,
        request_llm_model,
        llm_model,
        llm_time_to_first_token,
        llm_prompt_tokens,
        llm_completion_tokens,
        llm_total_tokens,
        llm_stream,
        llm_has_tool_calls,
        llm_tool_count,
        llm_end_user_id,
        llm_cache_read_input_tokens,
        llm_cache_creation_input_tokens,
        llm_reasoning_tokens,
        apisix_upstream_response_time,
    );
    out.extend_from_slice(b",\"llm_time_to_first_content_ms\":");
    number(out, time_to_first_content_ms(m));
    out.extend_from_slice(b",\"bytes_sent\":");
    number(out, record.bytes_sent());
    out.extend_from_slice(if record.client_aborted {
        b",\"client_disconnected\":true,\"error\":"
    } else {
        b",\"client_disconnected\":false,\"error\":"
    });
    text(out, &record.error);
    out.extend_from_slice(b",\"hint\":");
    text(out, hint(record));
    out.extend_from_slice(b",\"usage_warning\":\"");
    if let Some(gap) = m.and_then(|m| m.usage_gap.as_ref()) {
        let _ = write!(Escaped(out), "{gap}");
    }
    if !(record.logging.summaries || record.logging.payloads) {
        // No summary, no payloads (most routes): their three empty strings
        // and the line's end in one piece.
        out.extend_from_slice(
            b"\",\"llm_summary\":\"\",\"llm_request\":\"\",\"llm_response_text\":\"\",\"target\":\"access_log\"}\n",
        );
        return;
    }
    let extras = Extras::new(record);
    out.extend_from_slice(b"\",\"llm_summary\":");
    text(out, &extras.summary);
    out.extend_from_slice(b",\"llm_request\":");
    text(out, &extras.llm_request);
    out.extend_from_slice(b",\"llm_response_text\":");
    text(out, &extras.llm_response_text);
    out.extend_from_slice(b",\"target\":\"access_log\"}\n");
}

/// `value` as a JSON string: most of a line's strings are empty (no
/// error, no hint, no payloads), and those need no escaper call (nor a call
/// of this: always inlined).
#[inline(always)]
fn text(out: &mut Vec<u8>, value: &str) {
    if value.is_empty() {
        out.extend_from_slice(b"\"\"");
    } else {
        write_str(out, value);
    }
}

/// `value` as a JSON string, for text that never needs an escape: an HTTP
/// method (a token: `http` refuses a quote, a backslash or a control byte
/// in one) and a [`RequestType`](ai_proxy::core::RequestType) name.
#[inline]
fn plain(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    out.extend_from_slice(value.as_bytes());
    out.push(b'"');
}

/// `n` in decimal: most of a line's numbers are single digits (zero
/// tokens, one attempt) or three (statuses, token counts, address
/// octets): those in one fixed-length write each, no digit loop. Always
/// inlined: a call costs about what the write does.
#[inline(always)]
fn number(out: &mut Vec<u8>, n: u64) {
    // The digits of `n`, each below ten.
    let digit = |n: u64| b'0' + (n % 10) as u8;
    match n {
        0..=9 => out.push(digit(n)),
        10..=99 => out.extend_from_slice(&[digit(n / 10), digit(n)]),
        100..=999 => out.extend_from_slice(&[digit(n / 100), digit(n / 10), digit(n)]),
        _ => write_u64(out, n),
    }
}

/// Text formatted through `fmt` (an IPv6 address, a usage warning) as the
/// contents of a JSON string, escaped on the way in.
struct Escaped<'o>(&'o mut Vec<u8>);

impl fmt::Write for Escaped<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        escape(text, |piece| {
            self.0.extend_from_slice(piece.as_bytes());
            Ok(())
        })
    }
}

/// The address as `Display` writes it (inside the caller's quotes).
fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                number(out, u64::from(octet));
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(Escaped(out), "{v6}");
        }
    }
}

/// The timestamp as tracing-subscriber's `SystemTime` writes it (RFC 3339,
/// UTC, microseconds: `2026-11-30T00:31:14.072643Z`), its text up to the
/// second kept for the second it names: a busy thread formats the date
/// once a second, not once a line.
#[derive(Default)]
struct Stamp {
    /// The second `text` names.
    secs: u64,
    /// `YYYY-MM-DDTHH:MM:SS.` (empty: nothing formatted yet).
    text: Vec<u8>,
}

impl Stamp {
    fn write(&mut self, now: SystemTime, out: &mut Vec<u8>) {
        let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        if secs != self.secs || self.text.is_empty() {
            self.secs = secs;
            self.text.clear();
            let (year, month, day) = civil_from_days(secs / 86_400);
            let of_day = secs % 86_400;
            let text = &mut self.text;
            push_padded(text, year, 4);
            text.push(b'-');
            push_padded(text, month, 2);
            text.push(b'-');
            push_padded(text, day, 2);
            text.push(b'T');
            push_padded(text, of_day / 3600, 2);
            text.push(b':');
            push_padded(text, of_day % 3600 / 60, 2);
            text.push(b':');
            push_padded(text, of_day % 60, 2);
            text.push(b'.');
        }
        out.extend_from_slice(&self.text);
        push_micros(out, since.subsec_micros());
        out.push(b'Z');
    }
}

/// A second's microseconds (`< 1_000_000`) as six digits: every line's,
/// in one fixed-length write (no digit count, no padding loop).
fn push_micros(out: &mut Vec<u8>, micros: u32) {
    let mut digits = [b'0'; 6];
    let mut n = micros;
    for digit in digits.iter_mut().rev() {
        // `n % 10` is one digit.
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits);
}

/// `n` with at least `width` digits (zero-padded).
fn push_padded(out: &mut Vec<u8>, n: u64, width: u32) {
    let mut bound = 10u64.pow(width.saturating_sub(1));
    while bound > 1 && n < bound {
        out.push(b'0');
        bound /= 10;
    }
    write_u64(out, n);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tracing_subscriber::fmt::format::Writer;
    use tracing_subscriber::fmt::time::FormatTime;

    use super::*;

    fn at(secs: u64, micros: u32) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
    }

    fn stamped(stamp: &mut Stamp, now: SystemTime) -> String {
        let mut out = Vec::new();
        stamp.write(now, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn timestamp(secs: u64, micros: u32) -> String {
        stamped(&mut Stamp::default(), at(secs, micros))
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
    fn numbers_are_written_in_decimal() {
        for n in [
            0,
            7,
            9,
            10,
            42,
            99,
            100,
            200,
            512,
            999,
            1000,
            65_535,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            number(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
    }

    #[test]
    fn microseconds_are_six_digits() {
        for (micros, want) in [
            (0, "000000"),
            (7, "000007"),
            (120_000, "120000"),
            (999_999, "999999"),
        ] {
            let mut out = Vec::new();
            push_micros(&mut out, micros);
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }

    #[test]
    fn a_kept_timestamp_follows_the_clock_across_seconds_and_days() {
        let mut stamp = Stamp::default();
        let steps = [
            (0, 5, "1970-01-01T00:00:00.000005Z"),
            (0, 900_000, "1970-01-01T00:00:00.900000Z"),
            (1_767_225_599, 1, "2025-12-31T23:59:59.000001Z"),
            (1_767_225_600, 2, "2026-01-01T00:00:00.000002Z"),
            (1_767_225_600, 3, "2026-01-01T00:00:00.000003Z"),
            (951_782_400, 7, "2000-02-29T00:00:00.000007Z"),
        ];
        for (secs, micros, want) in steps {
            assert_eq!(stamped(&mut stamp, at(secs, micros)), want);
        }
    }

    #[test]
    fn timestamps_match_tracing_subscriber_to_the_second() {
        let mut stamp = Stamp::default();
        for _ in 0..5 {
            let mut theirs = String::new();
            tracing_subscriber::fmt::time::SystemTime
                .format_time(&mut Writer::new(&mut theirs))
                .unwrap();
            let ours = stamped(&mut stamp, SystemTime::now());
            assert_eq!(ours.len(), theirs.len(), "{ours} vs {theirs}");
            if ours[..19] == theirs[..19] {
                return;
            }
        }
        panic!("timestamps never agreed on the second");
    }

    #[test]
    fn methods_and_request_types_are_written_as_the_escaper_writes_them() {
        let extension = http::Method::from_bytes(b"!#$%&'*+-.^_`|~09azAZ").unwrap();
        let methods = [http::Method::GET, http::Method::POST, extension];
        let types = [
            ai_proxy::core::RequestType::TraditionalHttp,
            ai_proxy::core::RequestType::AiChat,
            ai_proxy::core::RequestType::AiStream,
        ];
        let names = methods
            .iter()
            .map(|m| m.as_str())
            .chain(types.map(|t| t.as_str()));
        for name in names {
            let (mut ours, mut escaped) = (Vec::new(), Vec::new());
            plain(&mut ours, name);
            write_str(&mut escaped, name);
            assert_eq!(ours, escaped, "{name}");
        }
        assert!(http::Method::from_bytes(b"PO\"ST").is_err());
        assert!(http::Method::from_bytes(b"PO\\ST").is_err());
    }

    #[test]
    fn addresses_are_written_like_display() {
        for ip in ["127.0.0.1", "0.0.0.0", "255.10.0.9", "::1", "fe80::1:2"] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut out = Vec::new();
            push_ip(&mut out, ip);
            assert_eq!(String::from_utf8(out).unwrap(), ip.to_string());
        }
    }
}
