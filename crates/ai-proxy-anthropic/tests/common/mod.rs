//! Test-only helpers: a tiny SSE splitter (the real decoder lives in core),
//! the recordings directory, and checkers that a translated stream is a
//! well-formed Anthropic / OpenAI event sequence.
#![allow(dead_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod reference;

use std::path::PathBuf;

use ai_proxy_anthropic::{ChatToMessages, MessagesToChat, ToolNameMap};
use ai_proxy_core::translate::{ResponseTranslator, TranslateError};
use bytes::BytesMut;
use serde_json::Value;

/// One SSE event: (type, data). Type is `message` when unnamed.
pub type Event = (String, String);

/// Splits an SSE byte stream into events (LF or CRLF lines; comments and
/// data-less blocks dropped; one leading space stripped from values).
pub fn split_sse(text: &str) -> Vec<Event> {
    let text = text.replace("\r\n", "\n");
    let mut events = Vec::new();
    for block in text.split("\n\n") {
        let mut kind = String::from("message");
        let mut data: Option<String> = None;
        for line in block.split('\n') {
            if line.is_empty() || line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.find(':') {
                Some(i) => (
                    &line[..i],
                    line[i + 1..].strip_prefix(' ').unwrap_or(&line[i + 1..]),
                ),
                None => (line, ""),
            };
            match field {
                "event" => kind = value.to_owned(),
                "data" => match &mut data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(value);
                    }
                    None => data = Some(value.to_owned()),
                },
                _ => {}
            }
        }
        if let Some(data) = data {
            events.push((kind, data));
        }
    }
    events
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

/// What a well-formed Anthropic stream said.
#[derive(Debug, Default, PartialEq)]
pub struct AnthropicSummary {
    pub text: String,
    pub thinking: String,
    /// (name, concatenated partial_json) per tool_use block.
    pub tools: Vec<(String, String)>,
    pub stop_reason: Option<String>,
    pub usage: Option<Value>,
    pub error: Option<Value>,
    pub block_types: Vec<String>,
}

/// Checks the Anthropic event grammar and returns what was said:
/// `message_start` first; blocks opened with consecutive indexes from 0,
/// deltas only for the open block, each closed once; one `message_delta`
/// after the last block; exactly one `message_stop`, last. An `error`
/// event may end the stream instead.
pub fn check_anthropic(out: &str) -> AnthropicSummary {
    let events = split_sse(out);
    assert!(!events.is_empty(), "no events");
    let mut s = AnthropicSummary::default();
    let mut open: Option<u64> = None;
    let mut next = 0u64;
    let mut started = false;
    let mut delta_seen = false;
    for (i, (kind, data)) in events.iter().enumerate() {
        let v: Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"));
        assert_eq!(v["type"], kind.as_str(), "event name matches type: {data}");
        let last = i == events.len() - 1;
        match kind.as_str() {
            "error" => {
                assert!(last, "error ends the stream");
                s.error = Some(v["error"].clone());
                continue;
            }
            "message_start" => {
                assert!(!started && i == 0, "message_start first, once");
                started = true;
                assert_eq!(v["message"]["role"], "assistant");
                assert_eq!(v["message"]["content"], serde_json::json!([]));
                continue;
            }
            _ => assert!(started, "{kind} before message_start"),
        }
        match kind.as_str() {
            "content_block_start" => {
                assert!(!delta_seen, "block after message_delta");
                assert_eq!(open, None, "block opened while another is open");
                assert_eq!(v["index"], next, "consecutive indexes");
                open = Some(next);
                next += 1;
                let block = &v["content_block"];
                let t = block["type"].as_str().unwrap().to_owned();
                if t == "tool_use" {
                    assert_eq!(block["input"], serde_json::json!({}));
                    s.tools
                        .push((block["name"].as_str().unwrap().to_owned(), String::new()));
                }
                s.block_types.push(t);
            }
            "content_block_delta" => {
                assert_eq!(
                    Some(v["index"].as_u64().unwrap()),
                    open,
                    "delta for the open block"
                );
                let d = &v["delta"];
                let bt = s.block_types.last().unwrap().as_str();
                match d["type"].as_str().unwrap() {
                    "text_delta" => {
                        assert_eq!(bt, "text");
                        s.text.push_str(d["text"].as_str().unwrap());
                    }
                    "thinking_delta" => {
                        assert_eq!(bt, "thinking");
                        s.thinking.push_str(d["thinking"].as_str().unwrap());
                    }
                    "input_json_delta" => {
                        assert_eq!(bt, "tool_use");
                        s.tools
                            .last_mut()
                            .unwrap()
                            .1
                            .push_str(d["partial_json"].as_str().unwrap());
                    }
                    other => panic!("unexpected delta {other}"),
                }
            }
            "content_block_stop" => {
                assert_eq!(
                    Some(v["index"].as_u64().unwrap()),
                    open,
                    "stop for the open block"
                );
                open = None;
            }
            "message_delta" => {
                assert!(!delta_seen, "one message_delta");
                assert_eq!(open, None, "blocks closed before message_delta");
                delta_seen = true;
                s.stop_reason = v["delta"]["stop_reason"].as_str().map(str::to_owned);
                assert!(v["usage"].is_object(), "message_delta carries usage");
                s.usage = Some(v["usage"].clone());
            }
            "message_stop" => {
                assert!(delta_seen, "message_delta before message_stop");
                assert!(last, "message_stop last");
            }
            other => panic!("unexpected event {other}"),
        }
    }
    let (last_kind, _) = events.last().unwrap();
    assert!(
        last_kind == "message_stop" || last_kind == "error",
        "stream ends with message_stop or error, not {last_kind}"
    );
    s
}

/// What a well-formed OpenAI chunk stream said.
#[derive(Debug, Default, PartialEq)]
pub struct OpenAiSummary {
    pub content: String,
    pub reasoning: String,
    /// (id, name, arguments) per tool call index.
    pub tools: Vec<(String, String, String)>,
    pub finish_reason: Option<String>,
    pub usage: Option<Value>,
    pub error: Option<Value>,
}

/// Checks the OpenAI chunk grammar: the first chunk carries
/// `delta.role`; tool call indexes appear in order, the first delta of
/// each with id and name; exactly one `finish_reason`; then one usage
/// chunk with `choices: []`; `[DONE]` last (or an error chunk last).
pub fn check_openai(out: &str) -> OpenAiSummary {
    let events = split_sse(out);
    assert!(!events.is_empty(), "no events");
    let mut s = OpenAiSummary::default();
    let mut finished = false;
    let mut usage_seen = false;
    for (i, (kind, data)) in events.iter().enumerate() {
        assert_eq!(kind, "message", "OpenAI streams are unnamed");
        let last = i == events.len() - 1;
        if data == "[DONE]" {
            assert!(last, "[DONE] last");
            assert!(usage_seen, "usage chunk before [DONE]");
            continue;
        }
        let v: Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"));
        if v.get("error").is_some() {
            assert!(last, "error chunk ends the stream");
            s.error = Some(v["error"].clone());
            continue;
        }
        assert_eq!(v["object"], "chat.completion.chunk");
        let choices = v["choices"].as_array().unwrap();
        if i == 0 {
            assert_eq!(
                choices[0]["delta"]["role"], "assistant",
                "first chunk has the role"
            );
        }
        if choices.is_empty() {
            assert!(finished, "usage chunk after the finish chunk");
            assert!(!usage_seen, "one usage chunk");
            usage_seen = true;
            s.usage = Some(v["usage"].clone());
            continue;
        }
        assert!(!finished, "no chunk after the finish chunk but usage");
        let c = &choices[0];
        if let Some(r) = c["finish_reason"].as_str() {
            finished = true;
            s.finish_reason = Some(r.to_owned());
            continue;
        }
        let d = &c["delta"];
        if let Some(t) = d["content"].as_str() {
            s.content.push_str(t);
        }
        if let Some(t) = d["reasoning_content"].as_str() {
            s.reasoning.push_str(t);
        }
        if let Some(calls) = d["tool_calls"].as_array() {
            for call in calls {
                let idx = call["index"].as_u64().unwrap() as usize;
                if idx == s.tools.len() {
                    s.tools.push((
                        call["id"]
                            .as_str()
                            .expect("first tool delta has an id")
                            .to_owned(),
                        call["function"]["name"]
                            .as_str()
                            .expect("and a name")
                            .to_owned(),
                        String::new(),
                    ));
                }
                assert!(idx < s.tools.len(), "tool indexes appear in order");
                if let Some(a) = call["function"]["arguments"].as_str() {
                    s.tools[idx].2.push_str(a);
                }
            }
        }
    }
    s
}

/// Event names a fuzz input line can select with its first byte.
const FUZZ_EVENT_NAMES: [&str; 9] = [
    "message",
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "error",
    "ping",
];

/// Fuzz input → events: one event per line, the first byte picks the
/// event name, the rest (lossy UTF-8) is the data.
pub fn events_from_bytes(input: &[u8]) -> Vec<Event> {
    input
        .split(|b| *b == b'\n')
        .filter_map(|line| {
            let (first, rest) = line.split_first()?;
            let name = FUZZ_EVENT_NAMES[usize::from(*first) % FUZZ_EVENT_NAMES.len()];
            Some((name.to_owned(), String::from_utf8_lossy(rest).into_owned()))
        })
        .collect()
}

/// The `ChatToMessages` property (fuzz target and proptest): any events,
/// no panic, a well-formed Anthropic stream or `EmptyStream` with no bytes.
pub fn chat_to_messages_holds(events: &[Event]) {
    let (out, r) = run(&mut ChatToMessages::new(ToolNameMap::new(), None), events);
    match r {
        Ok(()) => {
            check_anthropic(&out);
        }
        Err(e) => {
            assert_eq!(e, TranslateError::EmptyStream);
            assert!(out.is_empty());
        }
    }
}

/// The `MessagesToChat` property (fuzz target and proptest).
pub fn messages_to_chat_holds(events: &[Event]) {
    let (out, r) = run(&mut MessagesToChat::new(), events);
    match r {
        Ok(()) => {
            check_openai(&out);
        }
        Err(e) => {
            assert_eq!(e, TranslateError::EmptyStream);
            assert!(out.is_empty());
        }
    }
}

/// The request-converter property (fuzz target and proptest): any body,
/// no panic; a body that is JSON converts to JSON or to a 400; and where
/// the body is JSON without duplicate keys, each converter answers what its
/// `reference` answers: the same bytes for a body serde_json itself would
/// write (compact, canonical), the same tree otherwise, the same errors.
pub fn requests_hold(body: &[u8]) {
    use ai_proxy_anthropic::{AnthropicToOpenAi, DEFAULT_MAX_TOKENS, OpenAiToAnthropic};
    use ai_proxy_core::adapter::{ConvertContext, ConvertError, Converter};
    use ai_proxy_core::{Provider, RequestType};
    let ctx = ConvertContext::new(Provider::OpenAi, Some("m"), None, RequestType::AiChat);
    let parsed = serde_json::from_slice::<serde_json::Value>(body).ok();
    let comparable = parsed.is_some() && !has_duplicate_keys(body);
    let canonical = parsed
        .as_ref()
        .is_some_and(|v| serde_json::to_vec(v).is_ok_and(|b| b == body));
    type Expected = Result<Option<(serde_json::Value, bool)>, ConvertError>;
    let expected: [Expected; 2] = [
        reference::anthropic_to_openai::convert(body).map(|v| Some((v, true))),
        reference::openai_to_anthropic::convert(body, DEFAULT_MAX_TOKENS),
    ];
    let converters: [&dyn Converter; 2] = [&AnthropicToOpenAi, &OpenAiToAnthropic::new()];
    for (converter, expected) in converters.into_iter().zip(expected) {
        let got = converter.convert_request(body, &ctx);
        match &got {
            Ok(out) => {
                if parsed.is_some() {
                    assert!(
                        serde_json::from_slice::<serde_json::Value>(&out.body).is_ok(),
                        "{converter:?} produced invalid JSON from {}",
                        String::from_utf8_lossy(body)
                    );
                }
                if let Some(layout) = &out.layout {
                    check_layout(&out.body, layout);
                }
            }
            Err(e) => assert_eq!(e.status(), http::StatusCode::BAD_REQUEST),
        }
        if !comparable {
            continue;
        }
        let body = String::from_utf8_lossy(body);
        match (got, expected) {
            (_, Ok(None)) => {}
            (Ok(got), Ok(Some((want, exact)))) => {
                if canonical && exact {
                    assert_eq!(
                        String::from_utf8_lossy(&got.body),
                        want.to_string(),
                        "{converter:?} differs from its reference on {body}"
                    );
                } else {
                    let got: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
                    assert_eq!(
                        with_arguments_parsed(got),
                        with_arguments_parsed(want),
                        "{converter:?} differs from its reference on {body}"
                    );
                }
            }
            (Err(got), Err(want)) => {
                // Both refuse; a body that is not the right JSON shape is
                // described in each reader's own words.
                let shape = ["must be a JSON object", "malformed JSON"];
                if !shape.iter().any(|s| want.message.contains(s)) {
                    assert_eq!(got, want, "{converter:?} on {body}");
                }
            }
            (got, want) => panic!(
                "{converter:?} on {body}: got {:?}, the reference {:?}",
                got.map(|c| String::from_utf8_lossy(&c.body).into_owned()),
                want.map(|w| w.map(|(v, _)| v.to_string()))
            ),
        }
    }
}

/// `tool_calls[].function.arguments` (JSON in a string) parsed, so that
/// two spellings of the same arguments compare equal.
fn with_arguments_parsed(mut v: serde_json::Value) -> serde_json::Value {
    let messages = v.get_mut("messages").and_then(|m| m.as_array_mut());
    for call in messages
        .into_iter()
        .flatten()
        .filter_map(|m| m.get_mut("tool_calls").and_then(|c| c.as_array_mut()))
        .flatten()
    {
        let function = &mut call["function"];
        if let Some(parsed) = function["arguments"]
            .as_str()
            .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
        {
            function["arguments"] = parsed;
        }
    }
    v
}

/// A converter's layout names the body's top-level members exactly.
fn check_layout(body: &[u8], layout: &ai_proxy_core::adapter::BodyLayout) {
    let value: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).expect("a converted body is an object");
    let keys: Vec<&str> = layout.members.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, value.keys().map(String::as_str).collect::<Vec<_>>());
    for (key, range) in &layout.members {
        let text = &body[range.clone()];
        let parsed: serde_json::Value = serde_json::from_slice(text)
            .unwrap_or_else(|e| panic!("{key}: {e}: {}", String::from_utf8_lossy(text)));
        assert_eq!(&parsed, &value[*key], "{key}");
    }
    let tools = value
        .get("tools")
        .and_then(|t| t.as_array())
        .map_or(0, Vec::len);
    assert_eq!(layout.tool_count, tools);
}

/// Whether any object in the JSON text repeats a key (where serde's struct
/// reading, which refuses them, and a last-key-wins reading part ways).
pub fn has_duplicate_keys(json: &[u8]) -> bool {
    use serde::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Visitor};
    struct Unique;
    impl<'de> Deserialize<'de> for Unique {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(UniqueVisitor)
        }
    }
    struct UniqueVisitor;
    impl<'de> Visitor<'de> for UniqueVisitor {
        type Value = Unique;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_unit<E>(self) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
            while seq.next_element::<Unique>()?.is_some() {}
            Ok(Unique)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
            let mut keys = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if !keys.insert(key) {
                    return Err(A::Error::custom("duplicate key"));
                }
                map.next_value::<Unique>()?;
            }
            Ok(Unique)
        }
    }
    serde_json::from_slice::<Unique>(json).is_err()
}
