//! Properties of the converter and the translator over generated (and
//! hostile) input: the client always gets a well-formed stream (or
//! `EmptyStream` with no bytes), identical for identical input; requests
//! give JSON or a 400; nothing panics. These are the entry points of the
//! fuzz targets too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Event, events_from_bytes, gemini_body_holds, gemini_to_chat_holds, requests_hold};
use proptest::prelude::*;
use serde_json::{Value, json};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z ]{1,8}",
        "\\PC{0,6}",
        Just("\"\\\n\u{0}é😀".to_owned()),
    ]
}

fn part() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => text().prop_map(|t| json!({"text": t})),
        2 => text().prop_map(|t| json!({"text": t, "thought": true})),
        1 => (text(), "[A-Za-z0-9+/=]{0,12}").prop_map(|(t, s)| json!({"text": t, "thoughtSignature": s})),
        2 => ("[a-z_]{1,6}", proptest::option::of("[A-Za-z0-9]{1,8}"), proptest::option::of("[a-z]{1,4}"))
            .prop_map(|(name, sig, id)| {
                let mut p = json!({"functionCall": {"name": name, "args": {"k": [1, "v"]}}});
                if let Some(sig) = sig {
                    p["thoughtSignature"] = json!(sig);
                }
                if let Some(id) = id {
                    p["functionCall"]["id"] = json!(id);
                }
                p
            }),
        1 => Just(json!({"executableCode": {"language": "PYTHON", "code": "print(1)"}})),
        1 => Just(json!({"functionCall": null, "text": 3})),
    ]
}

fn candidate() -> impl Strategy<Value = Value> {
    (
        proptest::collection::vec(part(), 0..4),
        proptest::option::of(prop_oneof![
            Just("STOP"),
            Just("MAX_TOKENS"),
            Just("SAFETY"),
            Just(""),
            Just("FINISH_REASON_UNSPECIFIED"),
            Just("WEIRD")
        ]),
        proptest::option::of(0u64..4),
    )
        .prop_map(|(parts, finish, index)| {
            let mut c = json!({"content": {"role": "model", "parts": parts}});
            if let Some(f) = finish {
                c["finishReason"] = json!(f);
            }
            if let Some(i) = index {
                c["index"] = json!(i);
            }
            c
        })
}

fn usage() -> impl Strategy<Value = Value> {
    (0u64..100_000, 0u64..10_000, 0u64..5_000, 0u64..200).prop_map(|(p, c, t, cached)| {
        json!({"promptTokenCount": p, "candidatesTokenCount": c, "thoughtsTokenCount": t,
            "cachedContentTokenCount": cached, "totalTokenCount": p + c + t})
    })
}

/// One upstream Gemini SSE event.
fn gemini_event() -> impl Strategy<Value = Event> {
    let msg = |v: Value| ("message".to_owned(), v.to_string());
    prop_oneof![
        6 => (proptest::collection::vec(candidate(), 0..3), proptest::option::of(usage()), proptest::option::of("[a-zA-Z0-9_-]{0,6}"))
            .prop_map(move |(cands, u, id)| {
                let mut c = json!({"candidates": cands, "modelVersion": "gemini-x"});
                if let Some(u) = u {
                    c["usageMetadata"] = u;
                }
                if let Some(id) = id {
                    c["responseId"] = json!(id);
                }
                msg(c)
            }),
        1 => usage().prop_map(move |u| msg(json!({"usageMetadata": u}))),
        1 => Just(msg(json!({"promptFeedback": {"blockReason": "SAFETY"}}))),
        1 => Just(msg(json!({"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}))),
        1 => "\\PC{0,20}".prop_map(|s| ("message".to_owned(), s)),
        1 => Just(msg(json!({"candidates": "nope", "usageMetadata": {"promptTokenCount": -3.5}}))),
    ]
}

/// Any JSON value, small, biased to the request's vocabulary.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        text().prop_map(Value::from),
        prop_oneof![
            Just("user"),
            Just("assistant"),
            Just("tool"),
            Just("system"),
            Just("text"),
            Just("image_url"),
            Just("function"),
            Just("object"),
            Just("string"),
            Just("null"),
            Just("#/$defs/A"),
            Just("data:image/png;base64,QQ=="),
            Just("low"),
            Just("json_schema"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
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
                        Just("tool_call_id"),
                        Just("image_url"),
                        Just("url"),
                        Just("parameters"),
                        Just("properties"),
                        Just("items"),
                        Just("anyOf"),
                        Just("$ref"),
                        Just("$defs"),
                        Just("required"),
                        Just("extra_content"),
                        Just("google"),
                        Just("thought_signature"),
                        Just("schema"),
                        Just("json_schema"),
                        Just("const"),
                        Just("x"),
                    ],
                    inner
                ),
                0..5,
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// A well-typed message (most generated requests should convert).
fn message() -> impl Strategy<Value = Value> {
    let content = prop_oneof![
        text().prop_map(Value::from),
        proptest::collection::vec(
            prop_oneof![
                text().prop_map(|t| json!({"type": "text", "text": t})),
                Just(
                    json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,QQ=="}})
                ),
                Just(json!({"type": "image_url", "image_url": {"url": "https://e.x/a.png"}})),
            ],
            0..3
        )
        .prop_map(Value::from),
    ];
    let call = (
        "[a-z]{1,3}",
        "[a-z_]{1,5}",
        prop_oneof![Just("{}"), Just("{\"a\":\"\\u00e9\"}"), Just("")],
    )
        .prop_map(|(id, name, args)| {
            json!({"id": id, "type": "function", "function": {"name": name, "arguments": args},
            "extra_content": {"google": {"thought_signature": "S"}}})
        });
    prop_oneof![
        (
            prop_oneof![Just("user"), Just("system"), Just("developer")],
            content.clone()
        )
            .prop_map(|(r, c)| json!({"role": r, "content": c})),
        (content.clone(), proptest::collection::vec(call, 0..3))
            .prop_map(|(c, calls)| json!({"role": "assistant", "content": c, "tool_calls": calls})),
        ("[a-z]{1,3}", content).prop_map(
            |(id, c)| json!({"role": "tool", "tool_call_id": id, "name": "n", "content": c})
        ),
    ]
}

/// A JSON Schema-ish object: the schema converter's input.
fn schema() -> impl Strategy<Value = Value> {
    // Non-object schemas are a 400; objects (of any vocabulary) convert.
    let as_schema = |v: Value| {
        if v.is_object() {
            v
        } else {
            json!({"type": "string", "enum": [v]})
        }
    };
    (json_value(), json_value(), json_value()).prop_map(move |(a, b, defs)| {
        let (a, b, defs) = (as_schema(a), as_schema(b), as_schema(defs));
        json!({"type": "object", "properties": {"a": a, "b": {"anyOf": [b, {"type": "null"}]},
            "c": {"$ref": "#/$defs/A"}}, "required": ["a"], "$defs": {"A": defs}})
    })
}

/// Request-shaped JSON: generated messages, tools and options.
fn request_body() -> impl Strategy<Value = String> {
    let tools = prop_oneof![
        2 => Just(Value::Null),
        4 => proptest::collection::vec(
            ("[a-z_]{1,6}", schema()).prop_map(|(name, parameters)| {
                json!({"type": "function", "function": {"name": name, "description": "d", "parameters": parameters}})
            }),
            1..3
        )
        .prop_map(Value::from),
        1 => json_value(),
    ];
    let tool_choice = prop_oneof![
        Just(Value::Null),
        Just(json!("auto")),
        Just(json!("required")),
        Just(json!({"type": "function", "function": {"name": "f"}})),
        json_value(),
    ];
    let response_format = prop_oneof![
        3 => Just(Value::Null),
        1 => Just(json!({"type": "json_object"})),
        2 => schema().prop_map(|s| json!({"type": "json_schema", "json_schema": {"name": "r", "schema": s}})),
        1 => json_value(),
    ];
    (
        prop_oneof![
            4 => proptest::collection::vec(message(), 1..6),
            1 => proptest::collection::vec(json_value(), 0..4),
        ],
        tools,
        tool_choice,
        response_format,
    )
        .prop_map(|(messages, tools, choice, format)| {
            json!({"model": "m", "messages": messages, "tools": tools, "tool_choice": choice,
                "response_format": format, "reasoning_effort": "low", "stop": "x", "max_tokens": 5})
            .to_string()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_gemini_stream_gives_a_well_formed_openai_stream(
        events in proptest::collection::vec(gemini_event(), 0..12),
        include_usage in any::<bool>(),
    ) {
        gemini_to_chat_holds(&events, include_usage);
    }

    #[test]
    fn any_bytes_as_events_never_break_the_translator(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        gemini_to_chat_holds(&events_from_bytes(&input), true);
    }

    #[test]
    fn any_body_translates_or_fails_cleanly(event in gemini_event(), raw in proptest::collection::vec(any::<u8>(), 0..64)) {
        gemini_body_holds(event.1.as_bytes());
        gemini_body_holds(&raw);
    }

    #[test]
    fn any_request_converts_to_json_or_a_400(body in request_body()) {
        requests_hold(body.as_bytes());
    }

    #[test]
    fn any_bytes_as_a_request_never_panic(input in proptest::collection::vec(any::<u8>(), 0..256)) {
        requests_hold(&input);
    }
}
