//! [`Quota`]: one budget as it applies to one request, and the admission
//! arithmetic of limit-count (apache/apisix master
//! `apisix/plugins/limit-count/init.lua`, `run_rate_limit`).
//!
//! Admission is a dry run of cost 1: the request passes while
//! `limit - consumed - 1 >= 0`. The quota headers then carry the limit, the
//! remaining tokens before this request (0 when rejected) and the seconds
//! until the window resets, floored to hundredths.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use super::store::Counter;

/// One budget for one request: its counter key, its limit and its window
/// (`limit` / `count` and `time_window` resolved for this request).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Shared with the limiter for per-instance budgets (no copy per
    /// request); built per request for rules.
    pub(super) key: Arc<str>,
    pub(super) limit: u64,
    pub(super) window: Duration,
}

impl Quota {
    /// The counter key in the store.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Tokens per window.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The window length (whole seconds).
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The admission check against `counter`.
    pub fn check(&self, counter: Counter) -> QuotaCheck {
        let remaining = i128::from(self.limit) - i128::from(counter.consumed);
        QuotaCheck {
            admitted: remaining >= 1,
            limit: self.limit,
            remaining: u64::try_from(remaining.max(0)).unwrap_or(u64::MAX),
            reset: counter.reset,
        }
    }
}

/// The outcome of an admission check, with what the headers show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuotaCheck {
    /// Whether the dry run of cost 1 passed.
    pub admitted: bool,
    /// The limit.
    pub limit: u64,
    /// Tokens left before this request (0 when none or overdrawn).
    pub remaining: u64,
    /// Time until the window resets.
    pub reset: Duration,
}

/// The three header names of one quota.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct QuotaHeaders {
    limit: HeaderName,
    remaining: HeaderName,
    reset: HeaderName,
    /// The first limit written and its value: limits are mostly fixed, so
    /// later requests share it instead of rendering one each.
    limit_value: OnceLock<(u64, HeaderValue)>,
}

impl QuotaHeaders {
    /// `X-AI-RateLimit-{Limit,Remaining,Reset}-<instance>`.
    pub(crate) fn for_instance(instance: &str) -> Option<Arc<Self>> {
        Self::build(|part| format!("x-ai-ratelimit-{part}-{instance}"))
    }

    /// `X-AI-<prefix>-RateLimit-{Limit,Remaining,Reset}` (APISIX inserts the
    /// rule's prefix before `RateLimit-`).
    pub(crate) fn for_rule(prefix: &str) -> Option<Arc<Self>> {
        Self::build(|part| format!("x-ai-{prefix}-ratelimit-{part}"))
    }

    fn build(name: impl Fn(&str) -> String) -> Option<Arc<Self>> {
        let header = |part| HeaderName::from_bytes(name(part).as_bytes()).ok();
        Some(Arc::new(Self {
            limit: header("limit")?,
            remaining: header("remaining")?,
            reset: header("reset")?,
            limit_value: OnceLock::new(),
        }))
    }

    /// Names in this quota's headers (to take them back off a response).
    pub(crate) fn names(&self) -> [&HeaderName; 3] {
        [&self.limit, &self.remaining, &self.reset]
    }

    /// Writes the three headers into `headers` (the response's own map:
    /// no intermediate map, one allocation per varying value).
    pub(crate) fn write(&self, check: &QuotaCheck, headers: &mut HeaderMap) {
        let remaining = if check.admitted { check.remaining } else { 0 };
        let limit = match self
            .limit_value
            .get_or_init(|| (check.limit, decimal_value(check.limit)))
        {
            (n, value) if *n == check.limit => value.clone(),
            _ => decimal_value(check.limit),
        };
        headers.reserve(3);
        headers.insert(self.limit.clone(), limit);
        headers.insert(self.remaining.clone(), decimal_value(remaining));
        let mut buf = [0; RESET_LEN];
        if let Ok(reset) = HeaderValue::from_bytes(write_reset(check.reset, &mut buf)) {
            headers.insert(self.reset.clone(), reset);
        }
    }
}

/// `n` as a header value: one exact allocation (`HeaderValue::from(u64)`
/// makes two: a 20-byte buffer, then a shared handle when it is frozen
/// shorter).
fn decimal_value(n: u64) -> HeaderValue {
    let mut digits = itoa::Buffer::new();
    HeaderValue::from_str(digits.format(n)).unwrap_or_else(|_| HeaderValue::from(n))
}

/// Room for `u64::MAX` seconds, a dot and two digits.
const RESET_LEN: usize = 24;

/// [`reset_seconds`] into `buf` (no allocation); returns the written part.
fn write_reset(reset: Duration, buf: &mut [u8; RESET_LEN]) -> &[u8] {
    let centis = u64::try_from(reset.as_millis() / 10).unwrap_or(u64::MAX);
    let (secs, frac) = (centis / 100, centis % 100);
    let mut digits = itoa::Buffer::new();
    let secs = digits.format(secs).as_bytes();
    // ok: `frac` is below 100.
    #[allow(clippy::cast_possible_truncation)]
    let (tens, ones) = (b'0' + (frac / 10) as u8, b'0' + (frac % 10) as u8);
    let tail: &[u8] = match (frac, ones) {
        (0, _) => &[],
        (_, b'0') => &[b'.', tens],
        _ => &[b'.', tens, ones],
    };
    let len = secs.len() + tail.len();
    let Some(out) = buf.get_mut(..len) else {
        return &[];
    };
    let (head, rest) = out.split_at_mut(secs.len());
    head.copy_from_slice(secs);
    rest.copy_from_slice(tail);
    out
}

/// Seconds floored to hundredths and printed as Lua prints numbers
/// (`60`, `59.5`, `0.07`): APISIX's `math_floor(reset * 100) / 100`.
/// Written digit by digit: through `format!` it was a third of the quota
/// headers' cost per request (callgrind, gateway under load).
pub fn reset_seconds(reset: Duration) -> String {
    let mut buf = [0; RESET_LEN];
    String::from_utf8_lossy(write_reset(reset, &mut buf)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(limit: u64) -> Quota {
        Quota {
            key: "k".into(),
            limit,
            window: Duration::from_secs(60),
        }
    }

    fn counter(consumed: u64) -> Counter {
        Counter {
            consumed,
            reset: Duration::from_secs(60),
        }
    }

    #[test]
    fn admission_is_a_dry_run_of_cost_one() {
        let q = quota(30);
        assert!(q.check(counter(0)).admitted);
        assert!(q.check(counter(29)).admitted);
        assert_eq!(q.check(counter(29)).remaining, 1);
        assert!(!q.check(counter(30)).admitted);
        assert_eq!(q.check(counter(30)).remaining, 0);
    }

    #[test]
    fn an_overdrawn_budget_shows_zero_remaining() {
        let c = quota(30).check(counter(45));
        assert!(!c.admitted);
        assert_eq!(c.remaining, 0);
    }

    #[test]
    fn reset_is_floored_to_hundredths_and_printed_like_lua() {
        let s = |ms| reset_seconds(Duration::from_millis(ms));
        assert_eq!(s(60_000), "60");
        assert_eq!(s(59_999), "59.99");
        assert_eq!(s(59_500), "59.5");
        assert_eq!(s(70), "0.07");
        assert_eq!(s(9), "0");
        assert_eq!(s(10_100), "10.1");
        assert_eq!(s(1_000), "1");
        assert_eq!(s(100_010), "100.01");
        assert_eq!(
            reset_seconds(Duration::from_secs(u64::MAX)),
            (u64::MAX / 100).to_string() + ".15"
        );
    }

    #[test]
    fn decimal_values_are_written_exactly() {
        for n in [0, 7, 10, 9_007_199_254_740_991, u64::MAX] {
            assert_eq!(decimal_value(n), n.to_string().as_str());
        }
    }

    #[test]
    fn headers_show_limit_remaining_and_reset() {
        let h = QuotaHeaders::for_instance("ai-proxy-openai").unwrap();
        let mut map = HeaderMap::new();
        h.write(&quota(30).check(counter(10)), &mut map);
        assert_eq!(map["X-AI-RateLimit-Limit-ai-proxy-openai"], "30");
        assert_eq!(map["X-AI-RateLimit-Remaining-ai-proxy-openai"], "20");
        assert_eq!(map["X-AI-RateLimit-Reset-ai-proxy-openai"], "60");
        let r = QuotaHeaders::for_rule("1").unwrap();
        r.write(&quota(20).check(counter(25)), &mut map);
        assert_eq!(map["X-AI-1-RateLimit-Limit"], "20");
        assert_eq!(map["X-AI-1-RateLimit-Remaining"], "0");
    }

    #[test]
    fn a_limit_other_than_the_first_is_written_as_is() {
        let h = QuotaHeaders::for_instance("i").unwrap();
        let mut map = HeaderMap::new();
        h.write(&quota(30).check(counter(0)), &mut map);
        h.write(&quota(7).check(counter(0)), &mut map);
        assert_eq!(map["X-AI-RateLimit-Limit-i"], "7");
        h.write(&quota(30).check(counter(0)), &mut map);
        assert_eq!(map["X-AI-RateLimit-Limit-i"], "30");
    }

    #[test]
    fn names_that_are_not_header_tokens_give_no_headers() {
        assert!(QuotaHeaders::for_instance("a b").is_none());
        assert!(QuotaHeaders::for_rule("é").is_none());
    }
}
