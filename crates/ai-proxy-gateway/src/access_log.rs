//! One structured access-log line per request, through `tracing` (target
//! `access_log`), with APISIX's variable names. Credentials never appear:
//! only the request path is logged (not the query), upstreams are logged as
//! `host:port`, and payloads only with `logging.payloads`.

use std::net::SocketAddr;
use std::time::Instant;

use ai_proxy::Provider;
use ai_proxy::config::Logging;
use ai_proxy::core::context::RequestContext;
use ai_proxy::core::metrics::{APISIX_VARS, Metrics};
use http::StatusCode;
use http::request::Parts;

/// Where APISIX variable `name` sits in [`APISIX_VARS`], at compile time
/// (a name not in the list fails the build).
const fn var(name: &str) -> usize {
    let mut rest: &[(&str, &str)] = &APISIX_VARS;
    let mut i = 0;
    while let [(candidate, _), tail @ ..] = rest {
        if eq(candidate.as_bytes(), name.as_bytes()) {
            return i;
        }
        i += 1;
        rest = tail;
    }
    #[allow(clippy::panic)] // ok: only evaluated in `const` blocks, so this is a build error
    {
        panic!("not an APISIX variable")
    }
}

const fn eq(a: &[u8], b: &[u8]) -> bool {
    match (a, b) {
        ([x, a @ ..], [y, b @ ..]) => *x == *y && eq(a, b),
        ([], []) => true,
        _ => false,
    }
}

/// The one variable not on every line: the response text goes out only
/// with `logging.payloads`, as the `llm_response_text` JSON.
const PAYLOAD_VAR: &str = "llm_response_text";

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
        let mut ends = [0usize; APISIX_VARS.len()];
        for ((name, default), end) in APISIX_VARS.iter().zip(&mut ends) {
            if *name != PAYLOAD_VAR
                && !m.is_some_and(|m| m.write_var(name, &mut values).unwrap_or(false))
            {
                values.push_str(default);
            }
            *end = values.len();
        }
        // ok: `i` comes from `var`, so it is below APISIX_VARS.len() ==
        // ends.len(); `ends` only grows and each end was `values.len()` after
        // a whole `str` was pushed, so every range is in bounds and on char
        // boundaries.
        #[allow(clippy::indexing_slicing)]
        let logged = |i: usize| {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            &values[start..ends[i]]
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
            request_type = logged(const { var("request_type") }),
            request_llm_model = logged(const { var("request_llm_model") }),
            llm_model = logged(const { var("llm_model") }),
            llm_time_to_first_token = logged(const { var("llm_time_to_first_token") }),
            llm_prompt_tokens = logged(const { var("llm_prompt_tokens") }),
            llm_completion_tokens = logged(const { var("llm_completion_tokens") }),
            llm_total_tokens = logged(const { var("llm_total_tokens") }),
            llm_stream = logged(const { var("llm_stream") }),
            llm_has_tool_calls = logged(const { var("llm_has_tool_calls") }),
            llm_tool_count = logged(const { var("llm_tool_count") }),
            llm_end_user_id = logged(const { var("llm_end_user_id") }),
            llm_cache_read_input_tokens = logged(const { var("llm_cache_read_input_tokens") }),
            llm_cache_creation_input_tokens = logged(const { var("llm_cache_creation_input_tokens") }),
            llm_reasoning_tokens = logged(const { var("llm_reasoning_tokens") }),
            apisix_upstream_response_time = logged(const { var("apisix_upstream_response_time") }),
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
        _ => "",
    }
}
