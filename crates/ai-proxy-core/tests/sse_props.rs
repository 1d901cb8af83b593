//! Property tests: decoding is independent of chunking and agrees with a
//! plain reference implementation of the WHATWG algorithm; arbitrary bytes
//! never panic the decoder, the observers or the exchange; the fast
//! (no-text) path reports what parsing every event reports; skimming (the
//! fast path's boundary-only scan) reports exactly what observing every
//! event reports.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::time::Instant;

use ai_proxy_core::context::RequestContext;
use ai_proxy_core::exchange::{Exchange, Observer};
use ai_proxy_core::sse::{OwnedSseEvent, SseDecoder};
use ai_proxy_core::{Metrics, Protocol};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use proptest::prelude::*;

/// The spec's algorithm, written as plainly as possible.
fn reference(stream: &[u8]) -> Vec<OwnedSseEvent> {
    let stream = stream.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(stream);
    let mut lines: Vec<&[u8]> = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < stream.len() {
        match stream[i] {
            b'\n' => {
                lines.push(&stream[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&stream[start..i]);
                if stream.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let (mut events, mut data, mut kind, mut id) =
        (Vec::new(), None::<String>, String::new(), String::new());
    let mut retry = None;
    for line in lines {
        let line = String::from_utf8_lossy(line);
        if line.is_empty() {
            if let Some(data) = data.take() {
                let kind = if kind.is_empty() {
                    "message"
                } else {
                    kind.as_str()
                };
                events.push(OwnedSseEvent::new(kind, data, id.clone(), retry));
            }
            kind.clear();
            retry = None;
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "data" => match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => data = Some(value.to_owned()),
            },
            "event" => kind = value.to_owned(),
            "id" if !value.contains('\0') => id = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse() {
                    retry = Some(ms);
                }
            }
            _ => {}
        }
    }
    events
}

fn decode(chunks: &[&[u8]]) -> Vec<OwnedSseEvent> {
    let mut decoder = SseDecoder::new();
    let mut events = Vec::new();
    for chunk in chunks {
        decoder.feed(Bytes::copy_from_slice(chunk));
        while let Some(event) = decoder.poll_event().unwrap() {
            events.push(event.to_owned_event());
        }
    }
    decoder.finish().unwrap();
    events
}

fn split<'a>(stream: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut at = 0;
    for cut in cuts {
        chunks.push(&stream[at..cut]);
        at = cut;
    }
    chunks.push(&stream[at..]);
    chunks
}

/// SSE-shaped bytes: fields, comments, odd lines, every line ending, BOMs,
/// NULs and invalid UTF-8.
fn sse_bytes() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        Just(&b"data"[..]),
        Just(&b"event"[..]),
        Just(&b"id"[..]),
        Just(&b"retry"[..]),
        Just(&b"Data"[..]),
        Just(&b""[..]),
        Just(&b"x"[..]),
    ];
    let value = proptest::collection::vec(
        prop_oneof![
            Just(b'a'),
            Just(b' '),
            Just(b':'),
            Just(b'7'),
            Just(0u8),
            Just(0xFFu8),
            Just(0xE2u8),
            Just(0x80u8)
        ],
        0..6,
    );
    let ending = prop_oneof![Just(&b"\n"[..]), Just(&b"\r"[..]), Just(&b"\r\n"[..])];
    let line = (name, any::<u8>(), value, ending).prop_map(|(name, form, value, ending)| {
        let mut line = Vec::new();
        match form % 4 {
            0 => line.extend_from_slice(name),
            1 => {
                line.extend_from_slice(name);
                line.push(b':');
                line.extend_from_slice(&value);
            }
            2 => {
                line.extend_from_slice(name);
                line.extend_from_slice(b": ");
                line.extend_from_slice(&value);
            }
            _ => {
                line.push(b':');
                line.extend_from_slice(&value);
            }
        }
        line.extend_from_slice(ending);
        line
    });
    let item = prop_oneof![
        3 => line,
        1 => prop_oneof![Just(b"\n".to_vec()), Just(b"\r\n".to_vec()), Just(b"\r".to_vec())],
    ];
    (any::<bool>(), proptest::collection::vec(item, 0..24)).prop_map(|(bom, items)| {
        let mut out = if bom {
            b"\xEF\xBB\xBF".to_vec()
        } else {
            Vec::new()
        };
        for item in items {
            out.extend_from_slice(&item);
        }
        out
    })
}

fn observe_stream(protocol: Protocol, stream: &[u8], cuts: &[usize], text: bool) -> Metrics {
    let start = Instant::now();
    let mut ctx = RequestContext::new(protocol, protocol, start);
    ctx.logging.payloads = text;
    let mut exchange = Exchange::new(ctx, None);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    let _ = exchange.on_head(StatusCode::OK, &headers, start).unwrap();
    for chunk in split(stream, cuts) {
        let chunk = Bytes::copy_from_slice(chunk);
        assert_eq!(exchange.on_body(chunk.clone(), start).unwrap(), chunk);
    }
    let _ = exchange.on_eof(start).unwrap();
    exchange.finish(start)
}

/// Realistic provider events in random order and shapes.
fn provider_stream() -> impl Strategy<Value = (Protocol, Vec<u8>)> {
    let chat = prop_oneof![
        Just(r#"{"id":"c","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"He"}}],"usage":null}"#.to_owned()),
        Just(r#"{"model":"gpt-4o","choices":[{"delta":{"role":"assistant","content":""}}],"usage":null}"#.to_owned()),
        Just(r#"{"choices":[{"delta":{"reasoning_content":"think"}}]}"#.to_owned()),
        Just(r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}],"usage":null}"#.to_owned()),
        (0u64..500, 0u64..500).prop_map(|(p, c)| format!(r#"{{"choices":[],"usage":{{"prompt_tokens":{p},"completion_tokens":{c},"prompt_tokens_details":{{"cached_tokens":{}}}}}}}"#, p / 2)),
        Just(r#"{"error":{"message":"boom"}}"#.to_owned()),
        Just(r#"{"choices":[{"delta":{"content":"x\"usage\":{}"}}], "usage" : null }"#.to_owned()),
        Just(r#"{"choices":[{"delta":{"content":[{"type":"text","text":"part"}]}}]}"#.to_owned()),
        Just("[DONE]".to_owned()),
        Just("{not json".to_owned()),
    ];
    let anthropic = prop_oneof![
        (0u64..900).prop_map(|i| format!("event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"model\":\"claude\",\"usage\":{{\"input_tokens\":{i},\"output_tokens\":1,\"cache_read_input_tokens\":3}}}}}}")),
        Just("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}".to_owned()),
        Just("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"content_block\":{\"type\":\"tool_use\"}}".to_owned()),
        (0u64..900).prop_map(|o| format!("event: message_delta\ndata: {{\"type\":\"message_delta\",\"usage\":{{\"output_tokens\":{o}}}}}")),
        Just("event: ping\ndata: {\"type\":\"ping\"}".to_owned()),
        Just("data: {\"type\":\"message_stop\"}".to_owned()),
        Just("event: error\ndata: {\"type\":\"error\",\"error\":{\"message\":\"Overloaded\"}}".to_owned()),
    ];
    let gemini = prop_oneof![
        (0u64..99, 0u64..99).prop_map(|(p, c)| format!(r#"{{"candidates":[{{"content":{{"parts":[{{"text":"a"}}]}}}}],"usageMetadata":{{"promptTokenCount":{p},"candidatesTokenCount":{c},"thoughtsTokenCount":2}},"modelVersion":"g"}}"#)),
        Just(r#"{"candidates":[{"content":{"parts":[{"text":"t","thought":true}]},"finishReason":"STOP"}]}"#.to_owned()),
        Just(r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f"}}]}}]}"#.to_owned()),
        Just(r#"{"error":{"message":"cancelled"}}"#.to_owned()),
    ];
    let responses = prop_oneof![
        Just("event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"model\":\"gpt-4.1\"}}".to_owned()),
        Just("event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}".to_owned()),
        (0u64..99).prop_map(|n| format!("event: response.completed\ndata: {{\"type\":\"response.completed\",\"response\":{{\"model\":\"gpt-4.1\",\"usage\":{{\"input_tokens\":{n},\"output_tokens\":3}},\"output\":[{{\"type\":\"function_call\"}}]}}}}")),
        Just("data: {\"type\":\"response.output_text.delta\",\"delta\":\"untyped\"}".to_owned()),
    ];
    fn join(items: Vec<String>, prefix_data: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for item in items {
            if prefix_data {
                out.extend_from_slice(b"data: ");
            }
            out.extend_from_slice(item.as_bytes());
            out.extend_from_slice(b"\n\n: keep-alive\n\n");
        }
        out
    }
    prop_oneof![
        proptest::collection::vec(chat, 0..12).prop_map(|v| (Protocol::OpenAiChat, join(v, true))),
        proptest::collection::vec(anthropic, 0..12)
            .prop_map(|v| (Protocol::AnthropicMessages, join(v, false))),
        proptest::collection::vec(gemini, 0..12).prop_map(|v| (Protocol::Gemini, join(v, true))),
        proptest::collection::vec(responses, 0..12)
            .prop_map(|v| (Protocol::OpenAiResponses, join(v, false))),
    ]
}

/// OpenAI chunks as streamed: one template, events differing in a few
/// bytes — where skimming compares an event with the one before — with the
/// keys it looks for (`usage`, `error`, `tool_calls`, `model`) null or not,
/// spaced oddly, inside strings, and now and then a line or an event that
/// is not plain.
fn templated_chat_stream() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => Just("He".to_owned()),
        4 => Just(" world".to_owned()),
        1 => Just(String::new()),
        1 => Just(r#"x"usage":{}"#.to_owned()),
        1 => Just(r#""error":1"#.to_owned()),
        // Escapes and non-ASCII text, a key spelled inside the text.
        1 => Just(r#"say \"usage\": {\"n\":1}\n"#.to_owned()),
        1 => Just(r#"\\"#.to_owned()),
        1 => Just("é✓日本語🚀".to_owned()),
        1 => (0u32..2000).prop_map(|n| format!(" token{n}")),
    ];
    let spaces = prop_oneof![3 => Just(String::new()), 1 => " {1,20}"];
    let usage = prop_oneof![
        6 => Just("null".to_owned()),
        1 => (0u64..50).prop_map(|n| format!(r#"{{"prompt_tokens":{n},"completion_tokens":2}}"#)),
    ];
    let extra = prop_oneof![
        8 => Just(String::new()),
        1 => Just(r#""error":null,"#.to_owned()),
        1 => Just(r#""error":{"message":"boom"},"#.to_owned()),
        1 => Just(r#""model":"gpt-x","#.to_owned()),
        // Groq's usage, one more place usage is split over events.
        1 => Just(r#""x_groq":{"usage":{"prompt_tokens":4,"completion_tokens":1}},"#.to_owned()),
        1 => Just(r#""x_groq":{"id":"req_1"},"#.to_owned()),
    ];
    let tools = prop_oneof![
        8 => Just(String::new()),
        1 => Just(r#","tool_calls":null"#.to_owned()),
        1 => Just(r#","tool_calls":[{"index":0}]"#.to_owned()),
    ];
    let event = (piece, spaces.clone(), usage, extra, tools, spaces).prop_map(
        |(piece, s1, usage, extra, tools, s2)| {
            format!(
                r#"data: {{"id":"chatcmpl-1",{extra}"object":"chat.completion.chunk","choices":[{{"index":0,"delta":{{"content":"{piece}"{tools}}},"finish_reason":null}}],"usage"{s1}:{s2}{usage}}}"#
            )
        },
    );
    let framed = prop_oneof![
        20 => event.clone().prop_map(|e| format!("{e}

")),
        1 => event.clone().prop_map(|e| format!(": ping
{e}

")),
        1 => event.clone().prop_map(|e| format!("{e}

")),
        1 => event.clone().prop_map(|e| format!("event: error
{e}

")),
        1 => event.clone().prop_map(|e| format!("id: 7
{e}

")),
        1 => event.prop_map(|e| format!("{e}
data: {{}}

")),
        1 => Just("data: [DONE]

".to_owned()),
        1 => Just("data:

".to_owned()),
        1 => Just("

".to_owned()),
    ];
    let first = r#"data: {"model":"gpt-4o","choices":[{"delta":{"role":"assistant","content":"Hi"}}],"usage":null}

"#;
    proptest::collection::vec(framed, 0..40).prop_map(move |events| {
        let mut out = first.as_bytes().to_vec();
        for e in events {
            out.extend_from_slice(e.as_bytes());
        }
        out
    })
}

/// Anthropic Messages streams as sent, shuffled: mostly text deltas and
/// pings, with the events that matter (start, usage, tool use, stop,
/// errors) anywhere, names spelled with and without the space, and data
/// before the name now and then.
fn anthropic_stream() -> impl Strategy<Value = Vec<u8>> {
    let event = prop_oneof![
        8 => Just("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}".to_owned()),
        2 => Just("event: ping\ndata: {\"type\":\"ping\"}".to_owned()),
        1 => Just("event:content_block_stop\ndata: {\"type\":\"content_block_stop\"}".to_owned()),
        1 => (0u64..900).prop_map(|i| format!("event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"model\":\"claude\",\"usage\":{{\"input_tokens\":{i},\"output_tokens\":1}}}}}}")),
        1 => Just("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"content_block\":{\"type\":\"tool_use\"}}".to_owned()),
        1 => Just("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"content_block\":{\"type\":\"text\"}}".to_owned()),
        1 => (0u64..900).prop_map(|o| format!("data: {{\"type\":\"message_delta\",\"usage\":{{\"output_tokens\":{o}}}}}\nevent: message_delta")),
        1 => Just("event: message_stop\ndata: {\"type\":\"message_stop\"}".to_owned()),
        1 => Just("data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"unnamed\"}}".to_owned()),
        1 => Just("event: error\ndata: {\"type\":\"error\",\"error\":{\"message\":\"Overloaded\"}}".to_owned()),
        1 => Just("event: message\ndata: {\"type\":\"message_stop\"}".to_owned()),
        1 => Just("event: ping\r\ndata: {}".to_owned()),
    ];
    proptest::collection::vec(event, 0..40).prop_map(|events| {
        let mut out = Vec::new();
        for e in events {
            out.extend_from_slice(e.as_bytes());
            out.extend_from_slice(b"\n\n");
        }
        out
    })
}

/// Plain events (an `event` line before or after one `data` line, comments)
/// whose lines hover around a small cap, after one event that gets the
/// decoder past the stream start: where skimming must fail exactly where
/// decoding does.
fn capped_plain_stream() -> impl Strategy<Value = Vec<u8>> {
    let event =
        (0u8..4, "[a-z_]{0,10}", "[a-z{}\":]{0,12}").prop_map(|(shape, name, data)| match shape {
            0 => format!("event: {name}\ndata: {data}\n\n"),
            1 => format!("data: {data}\nevent:{name}\n\n"),
            2 => format!(": {name}\ndata:{data}\n\n"),
            _ => format!("data: {data}\n\n"),
        });
    proptest::collection::vec(event, 0..12).prop_map(|events| {
        let mut out = b"data: 0\n\n".to_vec();
        for e in events {
            out.extend_from_slice(e.as_bytes());
        }
        out
    })
}

/// What an observer sees, skimming or not (`Err` when the decoder fails).
fn observe_events(
    protocol: Protocol,
    stream: &[u8],
    cuts: &[usize],
    cap: usize,
    skim: bool,
) -> Result<ai_proxy_core::exchange::Observation, ()> {
    let mut decoder = SseDecoder::with_max_event_bytes(cap);
    let mut observer = Observer::new(protocol, false);
    for chunk in split(stream, cuts) {
        decoder.feed(Bytes::copy_from_slice(chunk));
        loop {
            if skim {
                observer.skim(&mut decoder);
            }
            match decoder.poll_event().map_err(drop)? {
                Some(event) => {
                    observer.on_event(&event);
                }
                None => break,
            }
        }
    }
    decoder.finish().map_err(drop)?;
    Ok(observer.into_observation())
}

fn observe_chat(stream: &[u8], cuts: &[usize], skim: bool) -> ai_proxy_core::exchange::Observation {
    observe_events(Protocol::OpenAiChat, stream, cuts, 1 << 20, skim).unwrap()
}

fn decode_capped(chunks: &[&[u8]], cap: usize) -> Result<Vec<OwnedSseEvent>, ()> {
    let mut decoder = SseDecoder::with_max_event_bytes(cap);
    let mut events = Vec::new();
    for chunk in chunks {
        decoder.feed(Bytes::copy_from_slice(chunk));
        while let Some(event) = decoder.poll_event().map_err(drop)? {
            events.push(event.to_owned_event());
        }
    }
    decoder.finish().map_err(drop)?;
    Ok(events)
}

proptest! {
    #[test]
    fn the_event_cap_fails_the_same_however_the_input_is_split(stream in sse_bytes(), cuts in proptest::collection::vec(any::<usize>(), 0..8), cap in 1usize..40) {
        prop_assert_eq!(decode_capped(&split(&stream, &cuts), cap), decode_capped(&[&stream], cap));
    }

    #[test]
    fn decoding_is_independent_of_chunking(stream in sse_bytes(), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        let whole = decode(&[&stream]);
        prop_assert_eq!(decode(&split(&stream, &cuts)), whole.clone());
        prop_assert_eq!(whole, reference(&stream));
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(stream in proptest::collection::vec(any::<u8>(), 0..512), cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
        let mut decoder = SseDecoder::with_max_event_bytes(128);
        for chunk in split(&stream, &cuts) {
            decoder.feed(Bytes::copy_from_slice(chunk));
            while let Ok(Some(event)) = decoder.poll_event() {
                let _ = (event.data(), event.id(), event.event_type());
            }
            prop_assert!(decoder.buffered_bytes() <= 128);
        }
        let _ = decoder.finish();
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_observers(body in proptest::collection::vec(any::<u8>(), 0..512), cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
        for protocol in Protocol::ALL {
            for text in [false, true] {
                let _ = observe_stream(protocol, &body, &cuts, text);
                let mut observer = Observer::new(protocol, text);
                observer.on_body(&body);
            }
        }
    }

    #[test]
    fn skimming_reports_exactly_what_observing_every_event_reports(stream in templated_chat_stream(), cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
        prop_assert_eq!(observe_chat(&stream, &cuts, true), observe_chat(&stream, &cuts, false));
    }

    #[test]
    fn skimming_anthropic_streams_reports_what_observing_every_event_reports(stream in anthropic_stream(), cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
        let skimmed = observe_events(Protocol::AnthropicMessages, &stream, &cuts, 1 << 20, true);
        prop_assert_eq!(skimmed, observe_events(Protocol::AnthropicMessages, &stream, &cuts, 1 << 20, false));
    }

    #[test]
    fn skimming_any_event_stream_agrees_with_decoding_it_even_at_the_cap(
        stream in sse_bytes(),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
        cap in 1usize..48,
        anthropic in any::<bool>(),
    ) {
        let protocol = if anthropic { Protocol::AnthropicMessages } else { Protocol::OpenAiChat };
        prop_assert_eq!(
            observe_events(protocol, &stream, &cuts, cap, true),
            observe_events(protocol, &stream, &cuts, cap, false)
        );
    }

    #[test]
    fn skimming_plain_events_fails_at_the_cap_exactly_where_decoding_does(
        stream in capped_plain_stream(),
        cuts in proptest::collection::vec(any::<usize>(), 0..4),
        cap in 4usize..24,
        anthropic in any::<bool>(),
    ) {
        let protocol = if anthropic { Protocol::AnthropicMessages } else { Protocol::OpenAiChat };
        prop_assert_eq!(
            observe_events(protocol, &stream, &cuts, cap, true),
            observe_events(protocol, &stream, &cuts, cap, false)
        );
    }

    #[test]
    fn fast_path_reports_what_full_parsing_reports((protocol, stream) in provider_stream(), cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
        let full = observe_stream(protocol, &stream, &cuts, true);
        let mut fast = observe_stream(protocol, &stream, &cuts, false);
        prop_assert!(fast.response_text.is_none());
        fast.response_text.clone_from(&full.response_text);
        fast.time_to_first_content = full.time_to_first_content;
        // Malformed events are counted when parsed; the fast path parses fewer.
        prop_assert!(fast.malformed_events <= full.malformed_events);
        fast.malformed_events = full.malformed_events;
        prop_assert_eq!(fast, full);
    }
}
