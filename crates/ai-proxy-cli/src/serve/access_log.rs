//! One structured access-log line per request, through `tracing` (target
//! `access_log`), with APISIX's variable names. Credentials never appear:
//! only the request path is logged (not the query), upstreams are logged as
//! `host:port`, and payloads only with `logging.payloads`.

use std::net::SocketAddr;
use std::time::Instant;

use ai_proxy::Provider;
use ai_proxy::config::Logging;
use ai_proxy::core::context::RequestContext;
use ai_proxy::core::metrics::Metrics;
use http::StatusCode;
use http::request::Parts;

/// The APISIX variables on every line, in order, with their defaults.
const LOGGED_VARS: [(&str, &str); 15] = [
    ("request_type", "traditional_http"),
    ("request_llm_model", ""),
    ("llm_model", ""),
    ("llm_time_to_first_token", "0"),
    ("llm_prompt_tokens", "0"),
    ("llm_completion_tokens", "0"),
    ("llm_total_tokens", "0"),
    ("llm_stream", "false"),
    ("llm_has_tool_calls", "false"),
    ("llm_tool_count", "0"),
    ("llm_end_user_id", ""),
    ("llm_cache_read_input_tokens", "0"),
    ("llm_cache_creation_input_tokens", "0"),
    ("llm_reasoning_tokens", "0"),
    ("apisix_upstream_response_time", "0"),
];

/// The access-log line being assembled for one request.
#[derive(Debug)]
pub struct AccessLog {
    method: String,
    path: String,
    remote: SocketAddr,
    start: Instant,
    route_id: String,
    upstream: String,
    /// Instance names, one per attempt (ai-proxy-multi may make several).
    attempts: Vec<String>,
    logging: Logging,
    provider: Option<Provider>,
    request_messages: Option<String>,
    metrics: Option<Metrics>,
}

impl AccessLog {
    /// Starts the line for a request.
    pub fn new(parts: &Parts, remote: SocketAddr, start: Instant) -> Self {
        Self {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            remote,
            start,
            route_id: String::new(),
            upstream: String::new(),
            attempts: Vec::new(),
            logging: Logging::default(),
            provider: None,
            request_messages: None,
            metrics: None,
        }
    }

    /// The matched route.
    pub fn route(&mut self, id: &str) {
        id.clone_into(&mut self.route_id);
    }

    /// An attempt at an instance.
    pub fn attempt(&mut self, instance: &str) {
        self.attempts.push(instance.to_owned());
    }

    /// The upstream `host:port` of the current attempt.
    pub fn upstream(&mut self, host: &str) {
        host.clone_into(&mut self.upstream);
    }

    /// What preparation decided (logging settings, request messages).
    pub fn context(&mut self, ctx: &RequestContext) {
        self.logging = ctx.logging;
        self.provider = Some(ctx.provider);
        self.request_messages = if ctx.logging.payloads {
            ctx.request_messages.as_ref().map(|m| m.get().to_owned())
        } else {
            None
        };
    }

    /// The exchange's metrics (the last attempt's).
    pub fn metrics(&mut self, metrics: &Metrics) {
        self.metrics = Some(metrics.clone());
    }

    /// Ends a request the gateway answered itself (no route, rejected
    /// request, transport failure, exhausted fallback).
    pub fn finish_local(mut self, status: StatusCode, error: &str, instance: Option<&str>) {
        if let Some(i) = instance
            && self.attempts.is_empty()
        {
            self.attempts.push(i.to_owned());
        }
        let hint = hint(self.provider, status, &self.upstream);
        self.emit(status, error, hint, false);
    }

    /// Ends a relayed response.
    pub fn finish_relayed(
        mut self,
        metrics: Metrics,
        instance: &str,
        abort: Option<&str>,
        client_gone: bool,
    ) {
        if self.attempts.is_empty() {
            self.attempts.push(instance.to_owned());
        }
        let status = metrics.upstream_status.unwrap_or(StatusCode::BAD_GATEWAY);
        let hint = hint(self.provider, status, &self.upstream);
        self.metrics = Some(metrics);
        self.emit(status, abort.unwrap_or(""), hint, client_gone);
    }

    fn emit(self, status: StatusCode, error: &str, hint: &str, client_gone: bool) {
        let latency_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let m = self.metrics.as_ref();
        let upstream_status = m
            .and_then(|m| m.upstream_status)
            .map_or(String::new(), |s| s.as_u16().to_string());
        let summary = if self.logging.summaries {
            m.map(|m| summary_json(m).to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        let (llm_request, llm_response_text) = if self.logging.payloads {
            let request = serde_json::json!({
                "messages": self
                    .request_messages
                    .as_deref()
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok()),
                "stream": m.is_some_and(|m| m.request_type == ai_proxy::core::RequestType::AiStream),
            });
            let text = m.and_then(|m| m.var("llm_response_text"));
            let response = serde_json::json!({ "content": text.unwrap_or_default() });
            (request.to_string(), response.to_string())
        } else {
            (String::new(), String::new())
        };
        // Every variable written into one buffer, logged as slices of it.
        let mut values = String::with_capacity(256);
        let mut ends = [0usize; LOGGED_VARS.len()];
        for ((name, default), end) in LOGGED_VARS.iter().zip(&mut ends) {
            if !m.is_some_and(|m| m.write_var(name, &mut values).unwrap_or(false)) {
                values.push_str(default);
            }
            *end = values.len();
        }
        let logged = |i: usize| {
            let start = i
                .checked_sub(1)
                .and_then(|p| ends.get(p))
                .copied()
                .unwrap_or(0);
            let end = ends.get(i).copied().unwrap_or(start);
            values.get(start..end).unwrap_or_default()
        };
        let picked = self.attempts.last().map_or("", String::as_str);
        let attempts = self.attempts.len();
        tracing::info!(
            target: "access_log",
            route_id = self.route_id.as_str(),
            method = self.method.as_str(),
            uri = self.path.as_str(),
            remote_addr = %self.remote.ip(),
            status = status.as_u16(),
            latency_ms,
            picked_ai_instance_name = picked,
            attempts,
            upstream_addr = self.upstream.as_str(),
            upstream_status = upstream_status.as_str(),
            request_type = logged(0),
            request_llm_model = logged(1),
            llm_model = logged(2),
            llm_time_to_first_token = logged(3),
            llm_prompt_tokens = logged(4),
            llm_completion_tokens = logged(5),
            llm_total_tokens = logged(6),
            llm_stream = logged(7),
            llm_has_tool_calls = logged(8),
            llm_tool_count = logged(9),
            llm_end_user_id = logged(10),
            llm_cache_read_input_tokens = logged(11),
            llm_cache_creation_input_tokens = logged(12),
            llm_reasoning_tokens = logged(13),
            apisix_upstream_response_time = logged(14),
            llm_time_to_first_content_ms = m
                .and_then(|m| m.time_to_first_content)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            bytes_sent = m.map_or(0, |m| m.bytes_sent),
            client_disconnected = client_gone,
            error,
            hint,
            llm_summary = summary.as_str(),
            llm_request = llm_request.as_str(),
            llm_response_text = llm_response_text.as_str(),
            "access"
        );
    }
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
fn hint(provider: Option<Provider>, status: StatusCode, upstream: &str) -> &'static str {
    match (provider, status.as_u16()) {
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
        _ => "",
    }
}
