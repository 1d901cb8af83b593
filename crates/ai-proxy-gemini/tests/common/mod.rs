//! Test-only helpers: SSE events through core's decoder, the recordings
//! directory, a checker that a translated stream is a
//! well-formed OpenAI chunk sequence, and the fuzz targets' properties.
#![allow(dead_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use ai_proxy_core::translate::{ResponseTranslator, TranslateError};
use ai_proxy_gemini::{GeminiToChat, OpenAiToGemini};
use bytes::BytesMut;
use serde_json::Value;

/// One SSE event: (type, data). Type is `message` when unnamed.
pub type Event = (String, String);

/// The events of an SSE byte stream, as core's decoder (WHATWG rules)
/// dispatches them.
pub fn split_sse(text: &str) -> Vec<Event> {
    ai_proxy_core::sse::decode_all(text.as_bytes())
        .unwrap()
        .into_iter()
        .map(|e| (e.event_type, e.data))
        .collect()
}

/// `../shared/fixtures/wire/<sub>` from the workspace root, if present.
pub fn wire_dir(sub: &str) -> Option<PathBuf> {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let candidate = dir.join("shared").join("fixtures").join("wire").join(sub);
        if candidate.is_dir() {
            return Some(candidate);
        }
        if !dir.pop() {
            eprintln!("skipping: shared/fixtures/wire/{sub} not found");
            return None;
        }
    }
}

/// Feeds events to a translator and finishes it.
pub fn run(
    t: &mut dyn ResponseTranslator,
    events: &[Event],
) -> (String, Result<(), TranslateError>) {
    let mut out = BytesMut::new();
    for (kind, data) in events {
        t.translate_event(kind, data, &mut out).unwrap();
    }
    let r = t.finish(&mut out);
    (String::from_utf8(out.to_vec()).unwrap(), r)
}

/// One tool call as the client assembles it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
    pub signature: Option<String>,
}

/// One choice as the client assembles it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Choice {
    pub content: String,
    pub reasoning: String,
    pub tools: Vec<ToolCall>,
    /// `delta.extra_content.google.thought_signature`s, in order.
    pub signatures: Vec<String>,
    pub finish_reason: Option<String>,
}

/// What a well-formed OpenAI chunk stream said.
#[derive(Debug, Default, PartialEq)]
pub struct Summary {
    pub choices: BTreeMap<u64, Choice>,
    pub usage: Option<Value>,
    pub error: Option<Value>,
    pub id: Option<Value>,
    pub model: Option<Value>,
}

/// Checks the OpenAI chunk grammar: every chunk one choice; a choice's
/// first delta carries `role`; tool call indexes appear in order, each
/// call whole (id, name, arguments) in one delta; exactly one
/// `finish_reason` per choice and nothing after it for that choice; then
/// at most one usage chunk (`choices: []`) when `usage` is expected;
/// `[DONE]` last (or an error chunk last). All chunks share id and model;
/// generated call ids (`call_…`) are unique.
pub fn check_openai(out: &str, usage_expected: bool) -> Summary {
    let events = split_sse(out);
    assert!(!events.is_empty(), "no events");
    let mut s = Summary::default();
    let mut finished = 0usize;
    let mut done = false;
    for (i, (kind, data)) in events.iter().enumerate() {
        assert_eq!(kind, "message", "OpenAI streams are unnamed");
        let last = i == events.len() - 1;
        if data == "[DONE]" {
            assert!(last, "[DONE] last");
            assert_eq!(
                s.usage.is_some(),
                usage_expected,
                "usage chunk iff asked for"
            );
            done = true;
            continue;
        }
        let v: Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"));
        if v.get("error").is_some() {
            assert!(last, "error chunk ends the stream");
            s.error = Some(v["error"].clone());
            continue;
        }
        assert_eq!(v["object"], "chat.completion.chunk");
        assert_eq!(v["created"], 0);
        match (&s.id, &s.model) {
            (Some(id), Some(model)) => {
                assert_eq!(&v["id"], id, "one id per stream");
                assert_eq!(&v["model"], model, "one model per stream");
            }
            _ => {
                s.id = Some(v["id"].clone());
                s.model = Some(v["model"].clone());
            }
        }
        let choices = v["choices"].as_array().unwrap();
        if choices.is_empty() {
            assert!(usage_expected, "usage chunk only when asked for");
            assert!(s.usage.is_none(), "one usage chunk");
            assert_eq!(finished, s.choices.len(), "usage after every finish");
            s.usage = Some(v["usage"].clone());
            continue;
        }
        assert!(s.usage.is_none(), "no choice chunk after usage");
        assert_eq!(choices.len(), 1, "one choice per chunk");
        let c = &choices[0];
        let index = c["index"].as_u64().unwrap();
        let d = &c["delta"];
        let fresh = !s.choices.contains_key(&index);
        assert_eq!(
            d.get("role").is_some(),
            fresh,
            "role exactly in a choice's first delta: {data}"
        );
        let choice = s.choices.entry(index).or_default();
        assert!(
            choice.finish_reason.is_none(),
            "nothing after a choice's finish"
        );
        if let Some(r) = c["finish_reason"].as_str() {
            choice.finish_reason = Some(r.to_owned());
            finished += 1;
            continue;
        }
        assert!(c["finish_reason"].is_null());
        if let Some(t) = d["content"].as_str() {
            choice.content.push_str(t);
        }
        if let Some(t) = d["reasoning_content"].as_str() {
            choice.reasoning.push_str(t);
        }
        if let Some(sig) = d["extra_content"]["google"]["thought_signature"].as_str() {
            choice.signatures.push(sig.to_owned());
        }
        if let Some(calls) = d["tool_calls"].as_array() {
            assert_eq!(calls.len(), 1, "one call per delta");
            let call = &calls[0];
            assert_eq!(
                call["index"].as_u64().unwrap() as usize,
                choice.tools.len(),
                "tool indexes in order"
            );
            assert_eq!(call["type"], "function");
            let arguments = call["function"]["arguments"].as_str().unwrap().to_owned();
            let parsed: Value = serde_json::from_str(&arguments).unwrap();
            assert!(parsed.is_object(), "arguments are a JSON object");
            choice.tools.push(ToolCall {
                id: call["id"].as_str().expect("id").to_owned(),
                name: call["function"]["name"].as_str().expect("name").to_owned(),
                arguments,
                signature: call["extra_content"]["google"]["thought_signature"]
                    .as_str()
                    .map(str::to_owned),
            });
        }
    }
    if s.error.is_none() {
        assert!(done, "stream ends with [DONE]");
        assert_eq!(finished, s.choices.len(), "every choice finished");
    }
    let ids: Vec<&str> = s
        .choices
        .values()
        .flat_map(|c| c.tools.iter().map(|t| t.id.as_str()))
        .filter(|id| id.starts_with("call_"))
        .collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        ids.len(),
        "generated tool call ids are unique"
    );
    s
}

/// Fuzz input → events: one event per line, the rest (lossy UTF-8) is the
/// data; a first byte `e` names the event `error`, anything else `message`.
pub fn events_from_bytes(input: &[u8]) -> Vec<Event> {
    input
        .split(|b| *b == b'\n')
        .filter_map(|line| {
            let (first, rest) = line.split_first()?;
            let name = if *first == b'e' { "error" } else { "message" };
            Some((name.to_owned(), String::from_utf8_lossy(rest).into_owned()))
        })
        .collect()
}

/// The stream translator's property (fuzz target and proptest): any
/// events, no panic, a well-formed OpenAI stream or `EmptyStream` with no
/// bytes; the same input gives the same output.
pub fn gemini_to_chat_holds(events: &[Event], include_usage: bool) {
    let (out, r) = run(&mut GeminiToChat::new(include_usage, Some("m")), events);
    match r {
        Ok(()) => {
            check_openai(&out, include_usage);
        }
        Err(e) => {
            assert_eq!(e, TranslateError::EmptyStream);
            assert!(out.is_empty());
        }
    }
    let (again, _) = run(&mut GeminiToChat::new(include_usage, Some("m")), events);
    assert_eq!(out, again, "deterministic");
}

/// The non-streaming translator's property: any body, no panic; a JSON
/// object body gives a JSON object (a completion or an error) or a 500.
pub fn gemini_body_holds(body: &[u8]) {
    let mut out = BytesMut::new();
    let r = GeminiToChat::new(false, None).translate_body(http::StatusCode::OK, body, &mut out);
    let is_json = serde_json::from_slice::<Value>(body).is_ok();
    match r {
        Ok(()) if is_json => {
            let v: Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
                panic!("{e}: {}", String::from_utf8_lossy(&out));
            });
            assert!(v.is_object());
        }
        Ok(()) => assert_eq!(&out[..], body, "non-JSON bodies pass verbatim"),
        Err(e) => assert_eq!(e.status(), http::StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// The request converter's property (fuzz target and proptest): any body,
/// no panic; JSON in gives JSON out or a 400.
pub fn requests_hold(body: &[u8]) {
    use ai_proxy_core::adapter::{ConvertContext, Converter};
    use ai_proxy_core::{Provider, RequestType};
    let is_json = serde_json::from_slice::<Value>(body).is_ok();
    for model in [Some("gemini-2.5-flash"), Some("gemini-3-pro-preview"), None] {
        let ctx = ConvertContext::new(Provider::Gemini, model, None, RequestType::AiChat);
        match OpenAiToGemini.convert_request(body, &ctx) {
            Ok(out) => {
                if is_json {
                    let v: Value = serde_json::from_slice(&out.body).unwrap_or_else(|e| {
                        panic!(
                            "invalid JSON ({e}) from {}: {}",
                            String::from_utf8_lossy(body),
                            String::from_utf8_lossy(&out.body)
                        )
                    });
                    assert!(v["contents"].is_array(), "contents always written");
                }
            }
            Err(e) => assert_eq!(e.status(), http::StatusCode::BAD_REQUEST),
        }
    }
}
