//! Properties of both stream translators over generated (and hostile)
//! upstream event sequences: the client always gets a well-formed stream
//! (or `EmptyStream` with no bytes), identical for identical input, and
//! nothing panics. Also the entry points of the fuzz targets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use ai_proxy_anthropic::{ChatToMessages, MessagesToChat, ToolNameMap};
use common::{
    Event, chat_to_messages_holds, check_anthropic, check_openai, events_from_bytes,
    messages_to_chat_holds, run,
};
use proptest::prelude::*;
use serde_json::json;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z ]{1,8}",
        "\\PC{0,6}",
        Just("\"\\\n\u{0}é😀".to_owned()),
    ]
}

fn usage() -> impl Strategy<Value = serde_json::Value> {
    (0u64..100_000, 0u64..10_000, proptest::option::of(0u64..200)).prop_map(|(p, c, cached)| {
        let mut u = json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c});
        if let Some(cached) = cached {
            u["prompt_tokens_details"] = json!({"cached_tokens": cached.min(p)});
        }
        u
    })
}

/// Any JSON value, small.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i32>().prop_map(serde_json::Value::from),
        text().prop_map(serde_json::Value::from),
        prop_oneof![
            Just("user"),
            Just("assistant"),
            Just("tool"),
            Just("system"),
            Just("text"),
            Just("image_url"),
            Just("tool_use"),
            Just("tool_result"),
            Just("function"),
            Just("data:image/png;base64,QQ==")
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just("role"),
                        Just("content"),
                        Just("type"),
                        Just("text"),
                        Just("tool_calls"),
                        Just("function"),
                        Just("name"),
                        Just("arguments"),
                        Just("id"),
                        Just("input"),
                        Just("tool_use_id"),
                        Just("image_url"),
                        Just("url"),
                        Just("source"),
                        Just("x")
                    ],
                    inner
                ),
                0..5,
            )
            .prop_map(|kv| serde_json::Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

/// Request-shaped JSON: messages of generated values plus top-level noise.
fn request_body() -> impl Strategy<Value = String> {
    (proptest::collection::vec(json_value(), 0..4), json_value(), json_value()).prop_map(|(messages, tools, extra)| {
        json!({"model": "m", "messages": messages, "tools": tools, "tool_choice": extra, "system": extra, "max_tokens": 5}).to_string()
    })
}

/// One upstream OpenAI chat SSE event.
fn openai_event() -> impl Strategy<Value = Event> {
    let msg = |v: serde_json::Value| ("message".to_owned(), v.to_string());
    prop_oneof![
        4 => text().prop_map(move |t| msg(json!({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": null}]}))),
        2 => text().prop_map(move |t| msg(json!({"choices": [{"delta": {"reasoning_content": t}}]}))),
        1 => text().prop_map(move |t| msg(json!({"choices": [{"delta": {"reasoning": t}}]}))),
        3 => (0u64..4, text(), "[a-z_.]{1,8}").prop_map(move |(i, args, name)| msg(json!({"choices": [{"delta": {"tool_calls": [{"index": i, "id": format!("call_{i}"), "type": "function", "function": {"name": name, "arguments": args}}]}}]}))),
        3 => (0u64..4, text()).prop_map(move |(i, args)| msg(json!({"choices": [{"delta": {"tool_calls": [{"index": i, "function": {"arguments": args}}]}}]}))),
        2 => prop_oneof![Just("stop"), Just("length"), Just("tool_calls"), Just("content_filter"), Just("null"), Just(""), Just("weird")]
            .prop_map(move |r| msg(json!({"choices": [{"delta": {}, "finish_reason": r}]}))),
        2 => usage().prop_map(move |u| msg(json!({"choices": [], "usage": u}))),
        1 => usage().prop_map(move |u| msg(json!({"choices": [{"delta": {}, "finish_reason": "stop"}], "usage": u}))),
        1 => Just(("message".to_owned(), "[DONE]".to_owned())),
        1 => Just(("message".to_owned(), json!({"error": {"message": "boom", "code": 500}}).to_string())),
        1 => Just(("error".to_owned(), json!({"error": {"message": "named", "type": "x"}}).to_string())),
        1 => "\\PC{0,20}".prop_map(|s| ("message".to_owned(), s)),
        1 => Just(("message".to_owned(), json!({"choices": "nope", "usage": {"prompt_tokens": -3.5}}).to_string())),
        1 => Just(("ping".to_owned(), "{}".to_owned())),
    ]
}

/// One upstream Anthropic SSE event.
fn anthropic_event() -> impl Strategy<Value = Event> {
    let ev = |k: &str, v: serde_json::Value| (k.to_owned(), v.to_string());
    prop_oneof![
        1 => (0u64..1000, 0u64..100).prop_map(move |(i, c)| ev("message_start", json!({"type": "message_start", "message": {"id": "msg", "type": "message", "role": "assistant", "model": "claude", "content": [], "usage": {"input_tokens": i, "cache_read_input_tokens": c, "output_tokens": 1}}}))),
        3 => (0u64..5, prop_oneof![Just("text"), Just("thinking"), Just("tool_use"), Just("server_tool_use"), Just("redacted_thinking")], text())
            .prop_map(move |(i, kind, t)| ev("content_block_start", json!({"type": "content_block_start", "index": i, "content_block": {"type": kind, "text": t, "thinking": t, "id": format!("toolu_{i}"), "name": "f", "input": {}}}))),
        5 => (0u64..5, prop_oneof![Just("text_delta"), Just("thinking_delta"), Just("input_json_delta"), Just("signature_delta"), Just("citations_delta")], text())
            .prop_map(move |(i, kind, t)| ev("content_block_delta", json!({"type": "content_block_delta", "index": i, "delta": {"type": kind, "text": t, "thinking": t, "partial_json": t, "signature": t}}))),
        2 => (0u64..5).prop_map(move |i| ev("content_block_stop", json!({"type": "content_block_stop", "index": i}))),
        2 => (prop_oneof![Just(json!("end_turn")), Just(json!("max_tokens")), Just(json!("tool_use")), Just(json!("refusal")), Just(json!(null))], 0u64..1000)
            .prop_map(move |(r, o)| ev("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": r, "stop_sequence": null}, "usage": {"output_tokens": o}}))),
        1 => Just(ev("message_stop", json!({"type": "message_stop"}))),
        1 => Just(ev("ping", json!({"type": "ping"}))),
        1 => Just(ev("error", json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))),
        1 => "\\PC{0,20}".prop_map(|s| ("message".to_owned(), s)),
        1 => Just(ev("content_block_delta", json!({"type": "content_block_delta", "index": "x", "delta": 5}))),
    ]
}

proptest! {
    #[test]
    fn any_openai_chunk_stream_yields_a_well_formed_anthropic_stream(events in proptest::collection::vec(openai_event(), 0..40)) {
        chat_to_messages_holds(&events);
    }

    #[test]
    fn any_anthropic_event_stream_yields_a_well_formed_openai_stream(events in proptest::collection::vec(anthropic_event(), 0..40)) {
        messages_to_chat_holds(&events);
    }

    #[test]
    fn fuzz_entry_points_hold_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let events = events_from_bytes(&bytes);
        chat_to_messages_holds(&events);
        messages_to_chat_holds(&events);
    }

    #[test]
    fn request_converters_hold_on_generated_bodies(body in request_body()) {
        common::requests_hold(body.as_bytes());
    }

    #[test]
    fn request_converters_hold_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        common::requests_hold(&bytes);
    }

    #[test]
    fn translation_is_deterministic(events in proptest::collection::vec(openai_event(), 0..20), events2 in proptest::collection::vec(anthropic_event(), 0..20)) {
        let a = run(&mut ChatToMessages::new(ToolNameMap::new(), None), &events);
        let b = run(&mut ChatToMessages::new(ToolNameMap::new(), None), &events);
        prop_assert_eq!(a, b);
        let a = run(&mut MessagesToChat::new(), &events2);
        let b = run(&mut MessagesToChat::new(), &events2);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn openai_text_survives_translation(texts in proptest::collection::vec("\\PC{1,10}", 1..10)) {
        let mut events: Vec<Event> = texts.iter().map(|t| ("message".to_owned(), json!({"choices": [{"delta": {"content": t}}]}).to_string())).collect();
        events.push(("message".to_owned(), json!({"choices": [{"delta": {}, "finish_reason": "stop"}]}).to_string()));
        events.push(("message".to_owned(), "[DONE]".to_owned()));
        let (out, r) = run(&mut ChatToMessages::new(ToolNameMap::new(), None), &events);
        r.unwrap();
        prop_assert_eq!(check_anthropic(&out).text, texts.concat());
    }

    #[test]
    fn anthropic_text_survives_translation(texts in proptest::collection::vec("\\PC{1,10}", 1..10)) {
        let mut events: Vec<Event> = vec![("message_start".to_owned(), json!({"type": "message_start", "message": {"id": "m", "model": "c", "usage": {"input_tokens": 1}}}).to_string())];
        events.extend(texts.iter().map(|t| ("content_block_delta".to_owned(), json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}).to_string())));
        events.push(("message_stop".to_owned(), json!({"type": "message_stop"}).to_string()));
        let (out, r) = run(&mut MessagesToChat::new(), &events);
        r.unwrap();
        prop_assert_eq!(check_openai(&out).content, texts.concat());
    }
}
