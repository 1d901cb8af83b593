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
