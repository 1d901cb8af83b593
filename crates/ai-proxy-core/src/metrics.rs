//! [`Metrics`]: what one exchange reports, under APISIX's access-log
//! variable names and as OpenTelemetry GenAI attributes.
//!
//! # One exchange, two vocabularies
//!
//! Exporters (the gateway's `/metrics`, OTLP) read these values; the
//! mapping below is the one they use. APISIX metric names are those of
//! its `prometheus` plugin (`apisix/plugins/prometheus/exporter.lua`);
//! OpenTelemetry names are the GenAI semantic conventions (metrics in
//! seconds or tokens, attributes `gen_ai.*`).
//!
//! | [`Metrics`] | APISIX variable → metric | OTel GenAI |
//! |---|---|---|
//! | [`request_type`](Metrics::request_type) | `$request_type` → label `request_type` | — |
//! | [`request_llm_model`](Metrics::request_llm_model) | `$request_llm_model` → label | `gen_ai.request.model` |
//! | [`llm_model`](Metrics::llm_model) / [`response_model`](Metrics::response_model) | `$llm_model` → label | `gen_ai.response.model` |
//! | [`operation_name`](Metrics::operation_name) | — | `gen_ai.operation.name` |
//! | [`provider_name`](Metrics::provider_name) | — | `gen_ai.provider.name` (was `gen_ai.system`) |
//! | `usage.prompt_tokens` | `$llm_prompt_tokens` → `apisix_llm_prompt_tokens` (counter), `apisix_llm_prompt_tokens_dist` | `gen_ai.client.token.usage{gen_ai.token.type="input"}`, `gen_ai.usage.input_tokens` |
//! | `usage.completion_tokens` | `$llm_completion_tokens` → `apisix_llm_completion_tokens` (counter), `apisix_llm_completion_tokens_dist` | `gen_ai.client.token.usage{gen_ai.token.type="output"}`, `gen_ai.usage.output_tokens` |
//! | [`time_to_first_token`](Metrics::time_to_first_token) | `$llm_time_to_first_token` (ms) → `apisix_llm_latency{type="ttft"}` (streams) | `gen_ai.server.time_to_first_token` (s, streams) |
//! | [`upstream_response_time`](Metrics::upstream_response_time) | `$apisix_upstream_response_time` (ms) → `apisix_llm_latency{type="total"}` | `gen_ai.client.operation.duration` (s) |
//! | [`time_per_output_token`](Metrics::time_per_output_token) | — | `gen_ai.server.time_per_output_token` (s, streams) |
//! | [`upstream_status`](Metrics::upstream_status) | `$upstream_status` | `http.response.status_code`, `error.type` |

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

use crate::config::Logging;
use crate::exchange::error::ExchangeError;
use crate::framing::FramingError;
use crate::protocol::{Protocol, RequestType};
use crate::provider::Provider;
use crate::sse::SseError;
use crate::usage::Usage;

/// Every APISIX variable [`Metrics::vars`] reports, in spec order, with the
/// default the nginx template gives it.
pub const APISIX_VARS: [(&str, &str); 16] = [
    ("request_type", "traditional_http"),
    ("request_llm_model", ""),
    ("llm_time_to_first_token", "0"),
    ("llm_model", ""),
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
    ("llm_response_text", ""),
];

/// Where APISIX variable `name` sits in [`APISIX_VARS`] (for
/// [`Metrics::var_at`]); `None` for a name not in the list. A `const fn`:
/// callers with a fixed name resolve it at compile time.
pub const fn var_index(name: &str) -> Option<usize> {
    let mut rest: &[(&str, &str)] = &APISIX_VARS;
    let mut i = 0;
    while let [(candidate, _), tail @ ..] = rest {
        if bytes_eq(candidate.as_bytes(), name.as_bytes()) {
            return Some(i);
        }
        i += 1;
        rest = tail;
    }
    None
}

/// [`var_index`] of a name that must be in the list (a build error
/// otherwise: only used for `const` items).
const fn index_of(name: &str) -> usize {
    match var_index(name) {
        Some(i) => i,
        #[allow(clippy::panic)] // ok: only evaluated in `const` items, so this is a build error
        None => panic!("not an APISIX variable"),
    }
}

const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    match (a, b) {
        ([x, a @ ..], [y, b @ ..]) => *x == *y && bytes_eq(a, b),
        ([], []) => true,
        _ => false,
    }
}

/// One APISIX variable's value as [`Metrics::var_at`] gives it: text as
/// held, numbers and flags unformatted (written in decimal and as
/// `true`/`false`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VarValue<'a> {
    /// A string variable (a model, the request type, the end user).
    Text(&'a str),
    /// A count or milliseconds.
    Number(u64),
    /// `llm_stream`, `llm_has_tool_calls`.
    Flag(bool),
}

/// An OpenTelemetry attribute value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttributeValue {
    /// A string.
    String(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
}

/// The outcome of one upstream attempt, from [`Exchange::finish`].
///
/// [`Exchange::finish`]: crate::exchange::Exchange::finish
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct Metrics {
    /// `$request_type`.
    pub request_type: RequestType,
    /// What the client sent.
    pub client_protocol: Protocol,
    /// What the upstream spoke.
    pub target_protocol: Protocol,
    /// The provider called.
    pub provider: Provider,
    /// `picked_ai_instance_name`.
    pub instance_name: Arc<str>,
    /// `$llm_stream`: the response streamed.
    pub stream: bool,
    /// `$request_llm_model`: the client body's model.
    pub request_llm_model: Option<Arc<str>>,
    /// The model the response named, if any.
    pub response_model: Option<Arc<str>>,
    /// `$llm_model`: the response's model, else the request's.
    pub llm_model: Option<Arc<str>>,
    /// Token usage (`None`: the response carried none; the variables then
    /// keep their `"0"` defaults).
    pub usage: Option<Usage>,
    /// `$llm_time_to_first_token`: first body chunk of a stream, or the
    /// whole body of a non-streaming response.
    pub time_to_first_token: Option<Duration>,
    /// The first event carrying generated output (text, reasoning, a tool
    /// call).
    pub time_to_first_content: Option<Duration>,
    /// `$apisix_upstream_response_time`: the whole body (stream: until its
    /// end or abort).
    pub upstream_response_time: Option<Duration>,
    /// From the attempt's start to `finish(now)`.
    pub duration: Duration,
    /// The upstream status (`None`: no response head).
    pub upstream_status: Option<StatusCode>,
    /// Body bytes read from the upstream (`$upstream_response_length`).
    pub bytes_received: u64,
    /// Body bytes handed out for the client.
    pub bytes_sent: u64,
    /// Dispatched SSE events.
    pub events: u64,
    /// The response's own end marker was seen (`[DONE]`, `message_stop`,
    /// `response.completed`, a finish reason).
    pub done: bool,
    /// `$llm_request_done`-like: the body was read to its end without error.
    pub completed: bool,
    /// `$llm_has_tool_calls`.
    pub has_tool_calls: bool,
    /// `$llm_tool_count`.
    pub tool_count: usize,
    /// `$llm_end_user_id`.
    pub end_user_id: Option<String>,
    /// `$llm_response_text` (with `logging.payloads`): at most the
    /// exchange's text limit, a prefix when
    /// [`response_text_truncated`](Self::response_text_truncated).
    pub response_text: Option<String>,
    /// The response had more text than `response_text` keeps.
    pub response_text_truncated: bool,
    /// Why usage may be missing or partial although the response was read
    /// (a body past the observation cap, a stream no longer observed).
    pub usage_gap: Option<UsageGap>,
    /// Upstream error events or error bodies seen.
    pub error_events: u64,
    /// Events or bodies that were not the JSON they should be.
    pub malformed_events: u64,
    /// The last upstream error message.
    pub upstream_error: Option<String>,
    /// Why the exchange was cut short, if it was.
    pub error: Option<ExchangeError>,
}

impl Metrics {
    /// The APISIX access-log variables, every name of [`APISIX_VARS`] in
    /// that order, unknown values at their defaults (`"0"`, `""`,
    /// `"false"`).
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        APISIX_VARS
            .iter()
            .map(|(name, default)| {
                (
                    *name,
                    self.var(name).unwrap_or_else(|| (*default).to_owned()),
                )
            })
            .collect()
    }

    /// One APISIX variable by name (`None` for a name not in
    /// [`APISIX_VARS`]).
    pub fn var(&self, name: &str) -> Option<String> {
        let mut out = String::new();
        self.write_var(name, &mut out).ok()?.then_some(out)
    }

    /// Writes one APISIX variable by name into `out`, without allocating
    /// (for log lines); `Ok(false)` for a name not in [`APISIX_VARS`]
    /// (other than `llm_response_text`).
    pub fn write_var(
        &self,
        name: &str,
        out: &mut impl std::fmt::Write,
    ) -> Result<bool, std::fmt::Error> {
        let Some(value) = var_index(name).and_then(|i| self.var_at(i)) else {
            return Ok(false);
        };
        match value {
            VarValue::Text(text) => out.write_str(text)?,
            VarValue::Number(n) => write_number(out, n)?,
            VarValue::Flag(flag) => out.write_str(if flag { "true" } else { "false" })?,
        }
        Ok(true)
    }

    /// APISIX variable `index` of [`APISIX_VARS`] (see [`var_index`]),
    /// unformatted: what a log writer needs without a name lookup per
    /// variable or a detour through `fmt` (`None` past the list's end).
    /// Inlined: with a constant `index` (a writer's unrolled line) it is
    /// one field's read.
    #[inline]
    pub fn var_at(&self, index: usize) -> Option<VarValue<'_>> {
        const REQUEST_TYPE: usize = index_of("request_type");
        const REQUEST_LLM_MODEL: usize = index_of("request_llm_model");
        const TIME_TO_FIRST_TOKEN: usize = index_of("llm_time_to_first_token");
        const LLM_MODEL: usize = index_of("llm_model");
        const PROMPT_TOKENS: usize = index_of("llm_prompt_tokens");
        const COMPLETION_TOKENS: usize = index_of("llm_completion_tokens");
        const TOTAL_TOKENS: usize = index_of("llm_total_tokens");
        const STREAM: usize = index_of("llm_stream");
        const HAS_TOOL_CALLS: usize = index_of("llm_has_tool_calls");
        const TOOL_COUNT: usize = index_of("llm_tool_count");
        const END_USER_ID: usize = index_of("llm_end_user_id");
        const CACHE_READ: usize = index_of("llm_cache_read_input_tokens");
        const CACHE_CREATION: usize = index_of("llm_cache_creation_input_tokens");
        const REASONING_TOKENS: usize = index_of("llm_reasoning_tokens");
        const UPSTREAM_RESPONSE_TIME: usize = index_of("apisix_upstream_response_time");
        const RESPONSE_TEXT: usize = index_of("llm_response_text");
        // One count read where it is (a copy of the whole usage per call
        // was most of a call's cost).
        let usage =
            |count: fn(&Usage) -> u64| VarValue::Number(self.usage.as_ref().map_or(0, count));
        let ms = |d: Option<Duration>| VarValue::Number(d.map_or(0, millis));
        fn text(t: Option<&str>) -> VarValue<'_> {
            VarValue::Text(t.unwrap_or_default())
        }
        Some(match index {
            REQUEST_TYPE => VarValue::Text(self.request_type.as_str()),
            REQUEST_LLM_MODEL => text(self.request_llm_model.as_deref()),
            TIME_TO_FIRST_TOKEN => ms(self.time_to_first_token),
            LLM_MODEL => text(self.llm_model.as_deref()),
            PROMPT_TOKENS => usage(|u| u.prompt_tokens),
            COMPLETION_TOKENS => usage(|u| u.completion_tokens),
            TOTAL_TOKENS => usage(|u| u.total_tokens),
            STREAM => VarValue::Flag(self.stream),
            HAS_TOOL_CALLS => VarValue::Flag(self.has_tool_calls),
            TOOL_COUNT => VarValue::Number(self.tool_count as u64),
            END_USER_ID => text(self.end_user_id.as_deref()),
            CACHE_READ => usage(|u| u.cache_read_input_tokens),
            CACHE_CREATION => usage(|u| u.cache_creation_input_tokens),
            REASONING_TOKENS => usage(|u| u.reasoning_tokens),
            UPSTREAM_RESPONSE_TIME => ms(self.upstream_response_time),
            RESPONSE_TEXT => text(self.response_text.as_deref()),
            _ => return None,
        })
    }

    /// `gen_ai.server.time_per_output_token`: the time per output token
    /// generated after the first one — the stream's time after its first
    /// token ([`upstream_response_time`](Self::upstream_response_time) −
    /// [`time_to_first_token`](Self::time_to_first_token)) divided by the
    /// completion tokens after the first (the conventions' definition, as
    /// Envoy AI Gateway computes it). `None` unless a stream reported at
    /// least two completion tokens (a non-streaming response has no first
    /// token of its own). Computed on demand, no allocation.
    pub fn time_per_output_token(&self) -> Option<Duration> {
        if !self.stream {
            return None;
        }
        let after_first = self.usage?.completion_tokens.checked_sub(1)?;
        let after_first = u32::try_from(after_first).unwrap_or(u32::MAX);
        if after_first == 0 {
            return None;
        }
        let generating = self
            .upstream_response_time?
            .checked_sub(self.time_to_first_token?)?;
        Some(generating / after_first)
    }

    /// `gen_ai.operation.name` for what the client asked: `chat` (OpenAI
    /// chat, Anthropic Messages, Bedrock), `responses` (OpenAI Responses,
    /// a system-specific name the conventions allow), `embeddings` (OpenAI
    /// embeddings, Vertex predict), `generate_content` (Gemini); `None`
    /// for a passthrough body.
    pub fn operation_name(&self) -> Option<&'static str> {
        operation_name(self.client_protocol)
    }

    /// `gen_ai.provider.name`: the conventions' well-known value where
    /// one exists (`openai`, `anthropic`, `gcp.vertex_ai`, `gcp.gemini`,
    /// `aws.bedrock`, `azure.ai.openai`, `deepseek`), else the APISIX
    /// provider name (`openrouter`, `aimlapi`, `openai-compatible`).
    pub fn provider_name(&self) -> &'static str {
        provider_name(self.provider)
    }

    /// OpenTelemetry GenAI semantic-convention attributes (`gen_ai.*`);
    /// attributes whose value is unknown are left out.
    pub fn otel_attributes(&self) -> Vec<(&'static str, AttributeValue)> {
        let int = |n: u64| AttributeValue::Int(i64::try_from(n).unwrap_or(i64::MAX));
        let mut attrs = Vec::new();
        if let Some(operation) = self.operation_name() {
            attrs.push((
                "gen_ai.operation.name",
                AttributeValue::String(operation.to_owned()),
            ));
        }
        attrs.push((
            "gen_ai.provider.name",
            AttributeValue::String(self.provider_name().to_owned()),
        ));
        if let Some(model) = &self.request_llm_model {
            attrs.push((
                "gen_ai.request.model",
                AttributeValue::String(model.to_string()),
            ));
        }
        if let Some(model) = &self.response_model {
            attrs.push((
                "gen_ai.response.model",
                AttributeValue::String(model.to_string()),
            ));
        }
        if let Some(usage) = &self.usage {
            attrs.push(("gen_ai.usage.input_tokens", int(usage.prompt_tokens)));
            attrs.push(("gen_ai.usage.output_tokens", int(usage.completion_tokens)));
            attrs.push((
                "gen_ai.usage.cache_read.input_tokens",
                int(usage.cache_read_input_tokens),
            ));
            attrs.push((
                "gen_ai.usage.cache_creation.input_tokens",
                int(usage.cache_creation_input_tokens),
            ));
        }
        if let Some(user) = &self.end_user_id {
            attrs.push(("user.id", AttributeValue::String(user.clone())));
        }
        if let Some(status) = self.upstream_status {
            attrs.push((
                "http.response.status_code",
                AttributeValue::Int(i64::from(status.as_u16())),
            ));
            if status.is_client_error() || status.is_server_error() {
                attrs.push((
                    "error.type",
                    AttributeValue::String(status.as_u16().to_string()),
                ));
            }
        }
        attrs
    }

    /// Emits APISIX's `llm_summary` (with `logging.summaries`) and
    /// `llm_response_text` (with `logging.payloads`) as `tracing` events.
    /// No credential is ever part of the metrics.
    pub(crate) fn log(&self, logging: Logging) {
        let usage = self.usage.unwrap_or_default();
        let ms = |d: Option<Duration>| d.map_or(0, millis);
        if logging.summaries {
            tracing::info!(
                target: "ai_proxy::llm_summary",
                request_model = self.request_llm_model.as_deref().unwrap_or_default(),
                model = self.llm_model.as_deref().unwrap_or_default(),
                duration = ms(self.time_to_first_token),
                prompt_tokens = usage.prompt_tokens,
                completion_tokens = usage.completion_tokens,
                total_tokens = usage.total_tokens,
                upstream_response_time = ms(self.upstream_response_time),
                stream = self.stream,
                tool_count = self.tool_count,
                has_tool_calls = self.has_tool_calls,
                end_user_id = self.end_user_id.as_deref().unwrap_or_default(),
                cache_read_input_tokens = usage.cache_read_input_tokens,
                cache_creation_input_tokens = usage.cache_creation_input_tokens,
                reasoning_tokens = usage.reasoning_tokens,
                "llm_summary"
            );
        }
        if let Some(gap) = &self.usage_gap {
            tracing::warn!(target: "ai_proxy::llm_summary", "{gap}");
        }
        if logging.payloads {
            tracing::info!(
                target: "ai_proxy::llm_response_text",
                content = self.response_text.as_deref().unwrap_or_default(),
                "llm_response_text"
            );
        }
    }
}

/// `gen_ai.operation.name` for the client's protocol.
fn operation_name(protocol: Protocol) -> Option<&'static str> {
    match protocol {
        Protocol::OpenAiChat
        | Protocol::AnthropicMessages
        | Protocol::BedrockConverse
        | Protocol::BedrockInvoke => Some("chat"),
        Protocol::OpenAiResponses => Some("responses"),
        Protocol::Gemini => Some("generate_content"),
        Protocol::OpenAiEmbeddings | Protocol::VertexPredict => Some("embeddings"),
        _ => None,
    }
}

/// `gen_ai.provider.name` (well-known values where the conventions define
/// one, else the APISIX provider name).
fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::OpenAi => "openai",
        Provider::AzureOpenAi => "azure.ai.openai",
        Provider::Anthropic => "anthropic",
        Provider::DeepSeek => "deepseek",
        Provider::Gemini => "gcp.gemini",
        Provider::VertexAi => "gcp.vertex_ai",
        Provider::Bedrock => "aws.bedrock",
        other => other.as_str(),
    }
}

/// Whole milliseconds, saturating (how APISIX's variables count time).
/// `n` in decimal without the formatting machinery (`write!` was a third
/// of the gateway's access line; callgrind).
fn write_number(out: &mut (impl std::fmt::Write + ?Sized), n: u64) -> std::fmt::Result {
    struct Digits<'w, W: ?Sized> {
        out: &'w mut W,
        result: std::fmt::Result,
    }
    impl<W: std::fmt::Write + ?Sized> crate::json::write::Out for Digits<'_, W> {
        fn raw(&mut self, bytes: &[u8]) {
            // ASCII digits, a char each (no UTF-8 check to pay for).
            for &digit in bytes {
                if self.result.is_ok() {
                    self.result = self.out.write_char(char::from(digit));
                }
            }
        }
    }
    let mut digits = Digits {
        out,
        result: Ok(()),
    };
    crate::json::write::write_u64(&mut digits, n);
    digits.result
}

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Why token usage may be missing although the response itself was fine.
/// Gateways log it next to the token counts, so that a `0` there is never
/// silent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageGap {
    /// A non-streaming body was larger than the observation cap, and the
    /// window kept from its end carried no usage.
    #[error(
        "response body of {bytes} bytes is larger than the {cap}-byte observation cap and its \
         last {window} bytes carry no usage: token counts are unknown"
    )]
    BodyOverCap {
        /// The body's size.
        bytes: u64,
        /// The observation cap.
        cap: usize,
        /// The size of the window searched at its end.
        window: usize,
    },
    /// Observation of a stream stopped early (an event over the decoder's
    /// cap); the bytes kept flowing, later usage was not read.
    #[error("stopped observing the stream ({0}): token counts may be incomplete")]
    StreamUnobserved(SseError),
    /// Observation of a stream in another framing (an AWS event stream)
    /// stopped early on a corrupt or oversized frame.
    #[error("stopped observing the stream ({0}): token counts may be incomplete")]
    FramesUnobserved(FramingError),
}
