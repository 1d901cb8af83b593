//! [`TracingAccessLog`]: one structured line per request through
//! `tracing` (target `access_log`), with APISIX's variable names, the
//! token counts before the (capped) payloads.

use std::fmt::Write as _;

use ai_proxy::Provider;
use ai_proxy::core::Metrics;
use ai_proxy::core::metrics::{APISIX_VARS, VarValue, var_index};

use super::record::{AccessLog, AccessRecord, LoggedPayload};

/// Where APISIX variable `name` sits in [`APISIX_VARS`], at compile time
/// (a name not in the list fails the build).
pub(super) const fn var(name: &str) -> usize {
    match var_index(name) {
        Some(i) => i,
        #[allow(clippy::panic)] // ok: only evaluated in `const` blocks, so this is a build error
        None => panic!("not an APISIX variable"),
    }
}

/// The one variable not on every line: the response text goes out only
/// with `logging.payloads`, as the `llm_response_text` JSON.
const PAYLOAD_VAR: &str = "llm_response_text";

/// Emits each record as one `tracing` event (target `access_log`, level
/// INFO): route, status, latency, instance, upstream, the APISIX
/// variables, then `llm_summary`, `llm_request` and `llm_response_text`
/// with `logging.summaries` / `logging.payloads`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingAccessLog;

impl AccessLog for TracingAccessLog {
    fn log(&self, record: &AccessRecord) {
        let line = Line::new(record);
        ::tracing::info!(
            target: "access_log",
            route_id = record.route_id.as_str(),
            method = record.method.as_str(),
            uri = record.path.as_str(),
            remote_addr = %record.remote.ip(),
            status = record.status,
            latency_ms = line.latency_ms,
            picked_ai_instance_name = record.picked_instance(),
            attempts = record.attempts.len(),
            upstream_addr = record.upstream_addr.as_str(),
            upstream_status = line.upstream_status.as_str(),
            request_type = line.var(const { var("request_type") }),
            request_llm_model = line.var(const { var("request_llm_model") }),
            llm_model = line.var(const { var("llm_model") }),
            llm_time_to_first_token = line.var(const { var("llm_time_to_first_token") }),
            llm_prompt_tokens = line.var(const { var("llm_prompt_tokens") }),
            llm_completion_tokens = line.var(const { var("llm_completion_tokens") }),
            llm_total_tokens = line.var(const { var("llm_total_tokens") }),
            llm_stream = line.var(const { var("llm_stream") }),
            llm_has_tool_calls = line.var(const { var("llm_has_tool_calls") }),
            llm_tool_count = line.var(const { var("llm_tool_count") }),
            llm_end_user_id = line.var(const { var("llm_end_user_id") }),
            llm_cache_read_input_tokens = line.var(const { var("llm_cache_read_input_tokens") }),
            llm_cache_creation_input_tokens = line.var(const { var("llm_cache_creation_input_tokens") }),
            llm_reasoning_tokens = line.var(const { var("llm_reasoning_tokens") }),
            apisix_upstream_response_time = line.var(const { var("apisix_upstream_response_time") }),
            llm_time_to_first_content_ms = time_to_first_content_ms(line.metrics),
            bytes_sent = record.bytes_sent(),
            client_disconnected = record.client_aborted,
            error = record.error.as_str(),
            hint = line.hint,
            usage_warning = line.usage_warning.as_str(),
            llm_summary = line.extras.summary.as_str(),
            llm_request = line.extras.llm_request.as_str(),
            llm_response_text = line.extras.llm_response_text.as_str(),
            "access"
        );
    }
}

/// The values of one access line beyond the record's own fields,
/// computed once for any output of it.
pub(super) struct Line<'r> {
    pub(super) metrics: Option<&'r Metrics>,
    pub(super) latency_ms: u64,
    pub(super) upstream_status: String,
    pub(super) extras: Extras,
    pub(super) hint: &'static str,
    /// Never a silent 0: why the token counts may be missing.
    pub(super) usage_warning: String,
    /// Every APISIX variable written into one buffer; `ends[i]` is where
    /// variable `i` of [`APISIX_VARS`] ends.
    values: String,
    ends: [usize; APISIX_VARS.len()],
}

impl<'r> Line<'r> {
    pub(super) fn new(record: &'r AccessRecord) -> Self {
        let m = record.metrics.as_ref();
        let upstream_status = record
            .upstream_status()
            .map_or(String::new(), |s| s.as_u16().to_string());
        let mut values = String::with_capacity(256);
        let mut ends = [0usize; APISIX_VARS.len()];
        for (i, ((name, default), end)) in APISIX_VARS.iter().zip(&mut ends).enumerate() {
            let value = m.filter(|_| *name != PAYLOAD_VAR).and_then(|m| m.var_at(i));
            match value {
                Some(VarValue::Text(text)) => values.push_str(text),
                Some(VarValue::Number(n)) => {
                    let _ = write!(values, "{n}");
                }
                Some(VarValue::Flag(flag)) => values.push_str(if flag { "true" } else { "false" }),
                _ => values.push_str(default),
            }
            *end = values.len();
        }
        Self {
            metrics: m,
            latency_ms: latency_ms(record),
            upstream_status,
            extras: Extras::new(record),
            hint: hint(record),
            usage_warning: m
                .and_then(|m| m.usage_gap.as_ref())
                .map(ToString::to_string)
                .unwrap_or_default(),
            values,
            ends,
        }
    }

    /// APISIX variable `i` (an index from [`var`]).
    // ok: `i` comes from `var`, so it is below APISIX_VARS.len() ==
    // ends.len(); `ends` only grows and each end was `values.len()` after a
    // whole `str` was pushed, so every range is in bounds and on char
    // boundaries.
    #[allow(clippy::indexing_slicing)]
    pub(super) fn var(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.values[start..self.ends[i]]
    }
}

/// `latency_ms`: whole milliseconds, saturating.
pub(super) fn latency_ms(record: &AccessRecord) -> u64 {
    u64::try_from(record.latency.as_millis()).unwrap_or(u64::MAX)
}

/// `llm_time_to_first_content_ms` (0 when no content came).
pub(super) fn time_to_first_content_ms(metrics: Option<&Metrics>) -> u64 {
    metrics
        .and_then(|m| m.time_to_first_content)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The JSON texts a route's `logging` adds to its lines (each empty, and
/// not allocated, when the route does not log it).
pub(super) struct Extras {
    /// `llm_summary`, with `logging.summaries`.
    pub(super) summary: String,
    /// `llm_request`, with `logging.payloads`.
    pub(super) llm_request: String,
    /// `llm_response_text`, with `logging.payloads`.
    pub(super) llm_response_text: String,
}

impl Extras {
    pub(super) fn new(record: &AccessRecord) -> Self {
        let m = record.metrics.as_ref();
        let summary = match m {
            Some(m) if record.logging.summaries => summary_json(m).to_string(),
            _ => String::new(),
        };
        let (llm_request, llm_response_text) = if record.logging.payloads {
            let stream = m.is_some_and(|m| m.request_type == ai_proxy::core::RequestType::AiStream);
            (
                request_json(record.request_payload.as_ref(), stream),
                response_json(m),
            )
        } else {
            (String::new(), String::new())
        };
        Self {
            summary,
            llm_request,
            llm_response_text,
        }
    }
}

/// `llm_request`: `{"messages": …, "stream": …}`, the messages as sent
/// (raw JSON, not re-parsed); a cut prefix goes in as a string, marked
/// `"truncated": true`.
fn request_json(payload: Option<&LoggedPayload>, stream: bool) -> String {
    let mut out = String::from("{\"messages\":");
    match payload {
        None => out.push_str("null"),
        Some(p) if !p.truncated => out.push_str(&p.text),
        Some(p) => out.push_str(&serde_json::Value::from(p.text.as_str()).to_string()),
    }
    let _ = write!(out, ",\"stream\":{stream}");
    if payload.is_some_and(|p| p.truncated) {
        out.push_str(",\"truncated\":true");
    }
    out.push('}');
    out
}

/// `llm_response_text`: `{"content": …}`, marked `"truncated": true` when
/// the exchange kept only a prefix.
fn response_json(m: Option<&Metrics>) -> String {
    let text = m
        .and_then(|m| m.response_text.as_deref())
        .unwrap_or_default();
    let mut out = format!("{{\"content\":{}", serde_json::Value::from(text));
    if m.is_some_and(|m| m.response_text_truncated) {
        out.push_str(",\"truncated\":true");
    }
    out.push('}');
    out
}

/// `llm_summary` as APISIX logs it with `logging.summaries`.
fn summary_json(m: &Metrics) -> serde_json::Value {
    let v = |name: &str| m.var(name).unwrap_or_default();
    let n = |name: &str| v(name).parse::<u64>().unwrap_or(0);
    serde_json::json!({
        "request_model": v("request_llm_model"),
        "model": v("llm_model"),
        "duration": n("llm_time_to_first_token"),
        "prompt_tokens": n("llm_prompt_tokens"),
        "completion_tokens": n("llm_completion_tokens"),
        "total_tokens": n("llm_total_tokens"),
        "upstream_response_time": n("apisix_upstream_response_time"),
        "stream": m.stream,
        "tool_count": m.tool_count,
        "has_tool_calls": m.has_tool_calls,
        "end_user_id": v("llm_end_user_id"),
        "cache_read_input_tokens": n("llm_cache_read_input_tokens"),
        "cache_creation_input_tokens": n("llm_cache_creation_input_tokens"),
        "reasoning_tokens": n("llm_reasoning_tokens"),
    })
}

/// The seed's troubleshooting table, as a hint next to the status.
pub(super) fn hint(record: &AccessRecord) -> &'static str {
    let upstream = record.upstream_addr.as_str();
    match (record.provider, record.status) {
        (Some(Provider::Bedrock), 401 | 403) => {
            "AWS rejected the SigV4 signature: check auth.aws (keys, an expired session_token), provider_conf.region and the gateway's clock"
        }
        (_, 401 | 403) => {
            "upstream rejected the credentials: check auth.header (or auth.query) and that the key is active with the provider"
        }
        (Some(Provider::AzureOpenAi), 404) => {
            "Azure answers 404 without a valid deployment or api-version: include ?api-version=YYYY-MM-DD in override.endpoint"
        }
        (Some(Provider::VertexAi), 500) if upstream.is_empty() => {
            "Vertex AI auth failure: set auth.gcp.service_account_json or the GCP_SERVICE_ACCOUNT environment variable"
        }
        (_, 502) => {
            "bad gateway: verify `provider` matches your API and check override.endpoint (required for azure-openai and openai-compatible)"
        }
        (_, 504) => {
            "timeout: increase `timeout` (default 30000 ms) or use streaming for long completions"
        }
        (_, 404) if upstream.is_empty() => "no route matched: check uri, methods and vars",
        (_, 499) => "the client closed the connection first",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_payload_is_raw_json_or_a_marked_string_prefix() {
        let whole = LoggedPayload {
            text: r#"[{"role":"user","content":"hi"}]"#.to_owned(),
            truncated: false,
        };
        let v: serde_json::Value = serde_json::from_str(&request_json(Some(&whole), true)).unwrap();
        assert_eq!(v["messages"][0]["content"], "hi");
        assert_eq!(v["stream"], true);
        assert!(v.get("truncated").is_none());
        let cut = LoggedPayload {
            text: r#"[{"role":"user","content":"h"#.to_owned(),
            truncated: true,
        };
        let v: serde_json::Value = serde_json::from_str(&request_json(Some(&cut), false)).unwrap();
        assert_eq!(v["messages"], r#"[{"role":"user","content":"h"#);
        assert_eq!(v["truncated"], true);
    }
}
