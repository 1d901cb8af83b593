//! Shared test helpers: the wire recordings and event-stream decoding.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ai_proxy_bedrock::Bedrock;
use ai_proxy_bedrock::eventstream::{EventStreamDecoder, EventStreamError, MessageKind};
use ai_proxy_core::Protocol;
use ai_proxy_core::adapter::Adapter;
use ai_proxy_core::context::RequestContext;
use ai_proxy_core::exchange::{Exchange, ExchangeError};
use ai_proxy_core::metrics::Metrics;
use ai_proxy_core::translate::ResponseTranslator;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::Value;

/// `../shared/fixtures/wire` (searched upwards from the crate), if present.
pub fn wire_dir() -> Option<PathBuf> {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/fixtures/wire"))
        .find(|dir| dir.is_dir())
}

/// A recording's bytes, or `None` (with a note) when the fixtures are absent.
pub fn recording(relative: &str) -> Option<Vec<u8>> {
    match wire_dir() {
        Some(dir) => Some(std::fs::read(dir.join(relative)).unwrap()),
        None => {
            eprintln!("skipping: ../shared/fixtures/wire not found");
            None
        }
    }
}

/// One decoded message, owned: (kind tag, type, payload).
pub type Owned = (String, String, Vec<u8>);

fn own(kind: MessageKind<'_>, payload: &[u8]) -> Owned {
    let (tag, name) = match kind {
        MessageKind::Event(t) => ("event", t.to_owned()),
        MessageKind::Exception(t) => ("exception", t.to_owned()),
        MessageKind::Error { code, .. } => ("error", code.to_owned()),
        MessageKind::Other(t) => ("other", t.to_owned()),
        _ => ("unknown", String::new()),
    };
    (tag.to_owned(), name, payload.to_vec())
}

/// Decodes `wire` fed in `chunks` (split points), draining after each feed.
pub fn decode_chunked(wire: &[u8], splits: &[usize]) -> Result<Vec<Owned>, EventStreamError> {
    let mut decoder = EventStreamDecoder::new();
    let mut out = Vec::new();
    let mut start = 0;
    let mut points: Vec<usize> = splits.iter().map(|s| s % (wire.len() + 1)).collect();
    points.sort_unstable();
    points.push(wire.len());
    for end in points {
        let end = end.max(start);
        decoder.feed(bytes::Bytes::copy_from_slice(&wire[start..end]));
        start = end;
        while let Some(m) = decoder.next_message()? {
            out.push(own(m.kind(), m.payload()));
        }
    }
    decoder.finish()?;
    Ok(out)
}

/// The result of running a body through an exchange.
pub struct Run {
    pub status: StatusCode,
    pub content_type: Option<HeaderValue>,
    pub out: Vec<u8>,
    pub metrics: Metrics,
}

pub fn context(client: Protocol, target: Protocol, text: bool) -> RequestContext {
    let mut ctx = RequestContext::new(client, target, Instant::now());
    ctx.logging.payloads = text;
    ctx.llm_model = Some("amazon.nova-micro-v1:0".into());
    ctx.framing = Bedrock.stream_framing(target);
    ctx
}

pub fn run(
    ctx: RequestContext,
    translator: Option<Box<dyn ResponseTranslator>>,
    status: StatusCode,
    content_type: &str,
    body: &[u8],
    splits: &[usize],
) -> Run {
    let start = ctx.started;
    let mut exchange = Exchange::new(ctx, translator);
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    let head = exchange.on_head(status, &headers, start).unwrap();
    let mut points: Vec<usize> = splits.iter().map(|s| s % (body.len() + 1)).collect();
    points.sort_unstable();
    points.push(body.len());
    let mut out = Vec::new();
    let mut from = 0;
    for (i, to) in points.into_iter().enumerate() {
        let now = start + Duration::from_millis(10 * (i as u64 + 1));
        out.extend_from_slice(
            &exchange
                .on_body(Bytes::copy_from_slice(&body[from..to]), now)
                .unwrap(),
        );
        from = to;
    }
    let end = start + Duration::from_secs(1);
    out.extend_from_slice(&exchange.on_eof(end).unwrap());
    Run {
        status: head.status,
        content_type: head.content_type,
        out,
        metrics: exchange.finish(end),
    }
}

/// What an OpenAI client receives, read back: content, reasoning, tool
/// calls (id, name, arguments), finish reasons, the usage chunk, `[DONE]`.
#[derive(Debug, Default, PartialEq)]
pub struct ChatStream {
    pub content: String,
    pub reasoning: String,
    pub tools: Vec<(String, String, String)>,
    pub finish: Vec<String>,
    pub usage: Option<Value>,
    pub done: bool,
    pub errors: Vec<Value>,
}

pub fn read_chat_stream(out: &[u8]) -> ChatStream {
    let text = std::str::from_utf8(out).unwrap();
    let mut s = ChatStream::default();
    for event in text.split("\n\n").filter(|e| !e.is_empty()) {
        let data = event.strip_prefix("data: ").unwrap();
        assert!(!s.done, "nothing after [DONE]");
        if data == "[DONE]" {
            s.done = true;
            continue;
        }
        let v: Value = serde_json::from_str(data).unwrap();
        if v.get("error").is_some() {
            s.errors.push(v);
            continue;
        }
        assert_eq!(v["object"], "chat.completion.chunk");
        if let Some(u) = v.get("usage") {
            s.usage = Some(u.clone());
        }
        for choice in v["choices"].as_array().unwrap() {
            let d = &choice["delta"];
            s.content.push_str(d["content"].as_str().unwrap_or(""));
            s.reasoning
                .push_str(d["reasoning_content"].as_str().unwrap_or(""));
            for call in d["tool_calls"].as_array().into_iter().flatten() {
                let i = call["index"].as_u64().unwrap() as usize;
                if i == s.tools.len() {
                    s.tools.push((
                        call["id"].as_str().unwrap().to_owned(),
                        call["function"]["name"].as_str().unwrap().to_owned(),
                        String::new(),
                    ));
                }
                s.tools[i]
                    .2
                    .push_str(call["function"]["arguments"].as_str().unwrap());
            }
            if let Some(f) = choice["finish_reason"].as_str() {
                s.finish.push(f.to_owned());
            }
        }
    }
    s
}

/// Like [`run`], stopping at the first exchange error: the output so far
/// and the error.
pub fn run_until_error(
    ctx: RequestContext,
    translator: Option<Box<dyn ResponseTranslator>>,
    status: StatusCode,
    content_type: &str,
    body: &[u8],
) -> (Vec<u8>, Option<ExchangeError>, Metrics) {
    let start = ctx.started;
    let mut exchange = Exchange::new(ctx, translator);
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    let _ = exchange.on_head(status, &headers, start).unwrap();
    let mut out = Vec::new();
    let mut error = None;
    let mut last = start;
    for (i, chunk) in body.chunks(64).enumerate() {
        last = start + Duration::from_millis(i as u64 + 1);
        match exchange.on_body(Bytes::copy_from_slice(chunk), last) {
            Ok(b) => out.extend_from_slice(&b),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    if error.is_none() {
        match exchange.on_eof(last) {
            Ok(b) => out.extend_from_slice(&b),
            Err(e) => error = Some(e),
        }
    }
    (out, error, exchange.finish(last))
}

/// Rewrites the prelude and message CRCs of every message `data` declares
/// (as far as its lengths fit), so fuzzers and proptests reach the header
/// and payload parsers instead of stopping at a checksum.
pub fn repair_crcs(data: &mut [u8]) {
    let mut at = 0;
    while data.len() >= at + 12 {
        let total = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        if total < 16 || at + total > data.len() {
            return;
        }
        let prelude = crc32fast::hash(&data[at..at + 8]);
        data[at + 8..at + 12].copy_from_slice(&prelude.to_be_bytes());
        let message = crc32fast::hash(&data[at..at + total - 4]);
        data[at + total - 4..at + total].copy_from_slice(&message.to_be_bytes());
        at += total;
    }
}

/// Fuzz and proptest entry for the event-stream decoder. First byte: chunk
/// size and whether to repair checksums. Never panics; decoding in chunks
/// gives exactly what decoding the whole gives (messages or error).
pub fn eventstream_holds(data: &[u8]) {
    let Some((&seed, body)) = data.split_first() else {
        return;
    };
    let mut body = body.to_vec();
    if seed & 1 == 1 {
        repair_crcs(&mut body);
    }
    let step = usize::from(seed >> 1).max(1);
    let whole = decode_chunked(&body, &[]);
    let splits: Vec<usize> = (step..body.len()).step_by(step).collect();
    assert_eq!(decode_chunked(&body, &splits), whole);
}

/// Fuzz and proptest entry for the OpenAI chat → Converse converter: any
/// bytes convert to a JSON object with a non-empty `messages` array, or are
/// refused; never a panic.
pub fn converse_request_holds(body: &[u8]) {
    use ai_proxy_core::adapter::{ConvertContext, Converter};
    let ctx = ConvertContext::new(
        ai_proxy_core::Provider::Bedrock,
        Some("m"),
        None,
        ai_proxy_core::RequestType::AiStream,
    );
    if let Ok(converted) = ai_proxy_bedrock::OpenAiToConverse.convert_request(body, &ctx) {
        let out: Value = serde_json::from_slice(&converted.body).expect("converted body is JSON");
        let messages = out["messages"].as_array().expect("messages is an array");
        assert!(!messages.is_empty());
    }
}

/// Converse stream events from fuzz bytes: one per line, the first byte
/// names the event, the rest is its payload.
pub fn converse_events_from_bytes(data: &[u8]) -> Vec<(String, String)> {
    const NAMES: [&str; 8] = [
        "messageStart",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
        "throttlingException",
        "somethingNew",
    ];
    data.split(|b| *b == b'\n')
        .filter_map(|line| {
            let (&name, payload) = line.split_first()?;
            Some((
                NAMES[usize::from(name) % NAMES.len()].to_owned(),
                String::from_utf8_lossy(payload).into_owned(),
            ))
        })
        .collect()
}

/// Fuzz and proptest entry for [`ConverseToChat`]: whatever the events, the
/// client stream is well formed — every event is `data: <JSON>` or `data:
/// [DONE]`, nothing follows `[DONE]` or an error chunk, at most one chunk
/// carries a finish reason — an in-stream error before output is the
/// gateway's answer, and an empty stream is `EmptyStream` with no bytes.
pub fn converse_to_chat_holds(events: &[(String, String)]) {
    use ai_proxy_core::translate::TranslateError;
    let mut t = ai_proxy_bedrock::ConverseToChat::new(Some("m"));
    let mut out = bytes::BytesMut::new();
    let mut upstream_error = false;
    for (kind, data) in events {
        match t.translate_event(kind, data, &mut out) {
            Ok(()) => {}
            Err(TranslateError::Upstream { status, body }) => {
                assert!(
                    out.is_empty(),
                    "an upstream error answers only before output"
                );
                assert!(status.is_client_error() || status.is_server_error());
                let _: Value = serde_json::from_str(&body).expect("error body is JSON");
                upstream_error = true;
                break;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    if upstream_error {
        return;
    }
    match t.finish(&mut out) {
        Ok(()) => assert!(!out.is_empty()),
        Err(TranslateError::EmptyStream) => assert!(out.is_empty()),
        Err(other) => panic!("unexpected {other:?}"),
    }
    let text = std::str::from_utf8(&out).expect("UTF-8 output");
    let mut closed = false;
    let mut finishes = 0;
    for event in text.split("\n\n").filter(|e| !e.is_empty()) {
        assert!(!closed, "nothing after [DONE] or an error: {text}");
        let data = event.strip_prefix("data: ").expect("data events only");
        if data == "[DONE]" {
            closed = true;
            continue;
        }
        let v: Value = serde_json::from_str(data).expect("chunks are JSON");
        if v.get("error").is_some() {
            closed = true;
            continue;
        }
        finishes += v["choices"].as_array().map_or(0, |c| {
            c.iter().filter(|c| c["finish_reason"].is_string()).count()
        });
    }
    assert!(finishes <= 1, "{text}");
}

/// Fuzz and proptest entry for passthrough metering through the exchange
/// with the adapter's framing: any body, chunked by the first byte, for
/// both Bedrock protocols, with and without text, is forwarded unchanged
/// and never panics.
pub fn passthrough_holds(data: &[u8]) {
    let Some((&seed, body)) = data.split_first() else {
        return;
    };
    let mut body = body.to_vec();
    if seed & 1 == 1 {
        repair_crcs(&mut body);
    }
    let step = usize::from(seed >> 1).max(1);
    for protocol in [Protocol::BedrockConverse, Protocol::BedrockInvoke] {
        for text in [false, true] {
            let ctx = context(protocol, protocol, text);
            let start = ctx.started;
            let mut exchange = Exchange::new(ctx, None);
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/vnd.amazon.eventstream"),
            );
            let _ = exchange.on_head(StatusCode::OK, &headers, start).unwrap();
            for chunk in body.chunks(step) {
                let chunk = Bytes::copy_from_slice(chunk);
                assert_eq!(exchange.on_body(chunk.clone(), start).unwrap(), chunk);
            }
            let _ = exchange.on_eof(start).unwrap();
            let metrics = exchange.finish(start);
            let _ = (metrics.vars(), metrics.otel_attributes());
        }
    }
}
