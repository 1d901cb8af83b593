//! Shared by the criterion benches: chat-like bodies (sentences, escapes,
//! non-ASCII, tools and tool calls), agentic conversations in both wire
//! forms (`agentic`) and a thread-CPU-time measurement.

#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

pub mod agentic;

use std::time::{Duration, Instant};

use ai_proxy::anthropic::OpenAiToAnthropic;
use ai_proxy::core::adapter::{ConvertContext, Converter};
use ai_proxy::core::exchange::Exchange;
use bytes::Bytes;
use cpu_time::ThreadTime;
use criterion::BenchmarkGroup;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;
use std::hint::black_box;

/// Chat-like text: sentences ending in a newline, a quoted phrase every
/// few sentences, some non-ASCII (the escapes real chat text has).
pub fn prose(seed: usize, len: usize) -> String {
    const SENTENCES: [&str; 8] = [
        "The gateway forwards the request to the upstream model and records token usage.\n",
        "Streaming responses are translated event by event, so latency stays low.\n",
        "She said \"use the cached prompt\" before the second call.\n",
        "Über-long contexts are split into chunks of roughly four thousand tokens each.\n",
        "If the provider returns an error, the client receives the same status code.\n",
        "Tool calls carry their arguments as JSON text inside a string field.\n",
        "The summary lists prompt, completion and total tokens for the request.\n",
        "Retries move to the next instance only before the first byte was sent.\n",
    ];
    let mut s = String::with_capacity(len + 96);
    let mut i = seed;
    while s.len() < len {
        s.push_str(SENTENCES[i % SENTENCES.len()]);
        i = i.wrapping_mul(31).wrapping_add(7);
    }
    s
}

/// Worst case for string scanning: an escaped quote every ~40 bytes.
pub fn quote_dense(seed: usize, len: usize) -> String {
    const WORDS: [&str; 12] = [
        "the",
        "request",
        "gateway",
        "model",
        "returns",
        "a \"quoted\"",
        "token",
        "stream",
        "usage:\n",
        "über",
        "latency",
        "cache",
    ];
    let mut s = String::with_capacity(len + 16);
    let mut i = seed;
    while s.len() < len {
        s.push_str(WORDS[i % WORDS.len()]);
        s.push(' ');
        i = i.wrapping_mul(31).wrapping_add(7);
    }
    s
}

/// An OpenAI chat request of about `target` bytes: system prompt, tools,
/// and alternating turns with a tool call and its result every few turns.
pub fn openai_request(target: usize, prose: fn(usize, usize) -> String) -> Vec<u8> {
    let mut messages = vec![json!({"role": "system", "content": prose(1, 200)})];
    let tools = json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}}
    ]);
    let mut turn = 0;
    let mut size = 600;
    loop {
        if size >= target {
            let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "temperature": 0.7,
                "stream": true, "tools": tools, "tool_choice": "auto", "messages": messages});
            return serde_json::to_vec(&body).unwrap();
        }
        let left = target - size;
        let chunk = left.clamp(40, 900);
        match turn % 4 {
            0 => messages.push(json!({"role": "user", "content": prose(turn, chunk)})),
            1 => messages.push(json!({"role": "assistant", "content": prose(turn, chunk / 2), "tool_calls": [
                {"id": format!("call_{turn}"), "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\",\"unit\":\"c\"}"}}]})),
            2 => messages.push(json!({"role": "tool", "tool_call_id": format!("call_{}", turn - 1), "content": prose(turn, chunk / 2)})),
            _ => messages.push(json!({"role": "assistant", "content": prose(turn, chunk)})),
        }
        size += messages.last().unwrap().to_string().len() + 1;
        turn += 1;
    }
}

/// Thread CPU time: on a shared, loaded machine wall time also counts
/// the time other processes held the core; this counts only ours.
pub struct CpuTime(pub WallTime);

impl Measurement for CpuTime {
    type Intermediate = ThreadTime;
    type Value = Duration;
    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }
    fn end(&self, start: ThreadTime) -> Duration {
        start.elapsed()
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, d: &Duration) -> f64 {
        d.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.0.formatter()
    }
}

/// `cpu` or `wall`: the group prefix for measurement `M`.
pub fn clock<M: Measurement>() -> &'static str {
    if std::any::type_name::<M>().ends_with("CpuTime") {
        "cpu"
    } else {
        "wall"
    }
}

/// Text of a given length from a seed: [`prose`] or [`quote_dense`].
pub type Text = fn(usize, usize) -> String;

/// The OpenAI request bodies the converters' request benches share:
/// label, target size and text, the largest one also with an escaped quote
/// every ~40 bytes.
pub const REQUEST_BODIES: [(&str, usize, Text); 4] = [
    ("1.2KB", 1_200, prose),
    ("16KB", 16_000, prose),
    ("258KB", 258_000, prose),
    ("258KB_quote_dense", 258_000, quote_dense),
];

/// Bench `id` of `g`: `converter` turning `body` into its upstream
/// request (checked to convert first).
pub fn convert_request<M: Measurement, C: Converter + ?Sized>(
    g: &mut BenchmarkGroup<'_, M>,
    id: impl Into<String>,
    converter: &C,
    body: &[u8],
    ctx: &ConvertContext,
) {
    assert!(converter.convert_request(body, ctx).is_ok());
    g.bench_function(id.into(), |b| {
        b.iter(|| {
            converter
                .convert_request(black_box(body), ctx)
                .map(|c| c.body.len())
        })
    });
}

/// The sibling converter over the same OpenAI request: the reference the
/// request benches of other providers measure next to theirs.
pub fn openai_to_anthropic<M: Measurement>(
    g: &mut BenchmarkGroup<'_, M>,
    label: &str,
    body: &[u8],
    ctx: &ConvertContext,
) {
    let id = format!("openai_to_anthropic/{label}");
    convert_request(g, id, &OpenAiToAnthropic::new(), body, ctx);
}

/// `chunks` through `exchange` as the relay drives it, all at `now`: a 200
/// head with `content_type`, each chunk, then the end of the stream.
/// Answers the bytes the client would be sent.
pub fn relay(
    exchange: &mut Exchange,
    content_type: &'static str,
    chunks: &[Bytes],
    now: Instant,
) -> usize {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let _ = exchange.on_head(StatusCode::OK, &headers, now).unwrap();
    let mut sent = 0;
    for chunk in chunks {
        sent += exchange.on_body(chunk.clone(), now).unwrap().len();
    }
    sent + exchange.on_eof(now).unwrap().len()
}

/// A client's chat request with this body, as `prepare` receives it.
pub fn client_request(body: &Bytes) -> http::Request<Bytes> {
    http::Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .header("authorization", "Bearer client")
        .body(body.clone())
        .unwrap()
}
