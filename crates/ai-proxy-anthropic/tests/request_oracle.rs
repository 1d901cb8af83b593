//! Both request converters against their serde_json references
//! (`common::reference`), byte for byte, on generated requests shaped like
//! real ones: every block, part and member the mappings read, in valid and
//! odd forms, written compactly, pretty-printed, or with escaped keys.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Text with what JSON escapes, non-ASCII and the odd control character.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[a-z \"\\\\/\n\téü✓🚀]{0,24}",
        1 => Just(String::new()),
        1 => "[a-z]{0,4}[\u{1}\u{8}\u{c}\u{1f}][a-z]{0,4}",
        1 => Just("x-anthropic-billing-header: cc_version=1.0; cch=ab12; cc_entrypoint=cli".to_owned()),
        1 => Just("x-anthropic-billing-header: cch=zz;".to_owned()),
    ]
    .boxed()
}

fn odd() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!(5)),
        Just(json!(true)),
        Just(json!([])),
        Just(json!({})),
        Just(json!("")),
    ]
    .boxed()
}

/// A value of the expected kind most of the time, an odd one otherwise.
fn mostly<S: Strategy<Value = Value>>(good: S) -> impl Strategy<Value = Value> {
    prop_oneof![20 => good, 1 => odd()]
}

fn tool_name() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => Just(json!("get_weather")),
        1 => Just(json!("search-docs_2")),
        1 => Just(json!("mcp.server/tool name")),
        1 => Just(json!("a_very_long_tool_name_that_goes_on_and_on_well_past_the_sixty_four_byte_limit_of_openai")),
    ]
    .boxed()
}

/// A small JSON object (tool input, schema): nested, with escapes.
fn object() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        text().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    let value = leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            proptest::collection::btree_map("[a-z \"é]{1,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    proptest::collection::btree_map("[a-z_\"]{1,6}", value, 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
        .boxed()
}

fn fields(pairs: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
            .collect::<Map<_, _>>(),
    )
}

// ---- Anthropic Messages requests ----

fn source() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(json!({"type": "base64", "media_type": "image/jpeg", "data": "QUJD"})),
        Just(json!({"type": "base64", "data": "JVBERi0x"})),
        Just(json!({"type": "base64", "media_type": "image/png", "data": ""})),
        Just(json!({"type": "url", "url": "https://example.com/a.png"})),
        Just(json!({"type": "url", "url": ""})),
        Just(json!({"type": "file", "file_id": "f"})),
        odd(),
    ]
    .boxed()
}

fn part_block() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => (mostly(text().prop_map(Value::from)), proptest::option::of(Just(json!({"type": "ephemeral"}))))
            .prop_map(|(t, cc)| fields(vec![("type", Some(json!("text"))), ("text", Some(t)), ("cache_control", cc)])),
        1 => source().prop_map(|s| json!({"type": "image", "source": s})),
        1 => source().prop_map(|s| json!({"type": "document", "source": s})),
    ]
    .boxed()
}

fn anthropic_block() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => part_block(),
        2 => (mostly(Just(json!("toolu_01"))), mostly(tool_name()), proptest::option::of(mostly(object())))
            .prop_map(|(id, name, input)| fields(vec![("type", Some(json!("tool_use"))), ("id", Some(id)), ("name", Some(name)), ("input", input)])),
        2 => (mostly(Just(json!("toolu_01"))), proptest::option::of(prop_oneof![
                2 => text().prop_map(Value::from),
                2 => proptest::collection::vec(part_block(), 0..3).prop_map(Value::from),
                1 => odd(),
            ]))
            .prop_map(|(id, content)| fields(vec![("type", Some(json!("tool_result"))), ("tool_use_id", Some(id)), ("content", content)])),
        1 => text().prop_map(|t| json!({"type": "thinking", "thinking": t, "signature": "s"})),
        1 => odd(),
        1 => Just(json!({"text": "no type"})),
    ]
    .boxed()
}

fn anthropic_message() -> BoxedStrategy<Value> {
    (
        mostly(prop_oneof![Just(json!("user")), Just(json!("assistant"))]),
        prop_oneof![
            30 => prop_oneof![
                2 => text().prop_map(Value::from),
                5 => proptest::collection::vec(anthropic_block(), 0..5).prop_map(Value::from),
            ]
            .prop_map(Some),
            1 => proptest::option::of(odd()),
        ],
    )
        .prop_map(|(role, content)| fields(vec![("role", Some(role)), ("content", content)]))
        .boxed()
}

fn anthropic_tool() -> BoxedStrategy<Value> {
    prop_oneof![
        6 => (tool_name(), proptest::option::of(text().prop_map(Value::from)), proptest::option::of(object()))
            .prop_map(|(name, d, schema)| fields(vec![("name", Some(name)), ("description", d), ("input_schema", schema)])),
        1 => Just(json!({"type": "web_search_20250305", "name": "web_search"})),
        1 => Just(json!({"name": ""})),
        1 => odd(),
    ]
    .boxed()
}

fn anthropic_request() -> BoxedStrategy<Value> {
    let head = (
        proptest::option::of(mostly(Just(json!("claude-sonnet-4-5")))),
        proptest::option::of(mostly(prop_oneof![Just(json!(true)), Just(json!(false))])),
        proptest::option::of(mostly(prop_oneof![Just(json!(1024)), Just(json!(0))])),
        proptest::option::of(mostly(Just(json!(0.5)))),
        proptest::option::of(mostly(Just(json!(["END"])))),
        proptest::option::of(prop_oneof![
            2 => text().prop_map(Value::from),
            3 => proptest::collection::vec(part_block(), 0..3).prop_map(Value::from),
            1 => odd(),
        ]),
    );
    let choice = (
        mostly(prop_oneof![
            Just(json!("auto")),
            Just(json!("any")),
            Just(json!("none")),
            Just(json!("tool"))
        ]),
        tool_name(),
        any::<bool>(),
    )
        .prop_map(|(t, n, p)| json!({"type": t, "name": n, "disable_parallel_tool_use": p}));
    let thinking = (
        mostly(prop_oneof![
            Just(json!("enabled")),
            Just(json!("adaptive")),
            Just(json!("disabled"))
        ]),
        mostly(prop_oneof![
            Just(json!(500)),
            Just(json!(1500)),
            Just(json!(3000)),
            Just(json!(9000))
        ]),
    )
        .prop_map(|(t, b)| json!({"type": t, "budget_tokens": b}));
    let config =
        (mostly(Just(json!("high"))), proptest::option::of(object())).prop_map(|(e, schema)| {
            let format = schema.map(
                |s| json!({"type": "json_schema", "schema": {"type": "object", "properties": s}}),
            );
            fields(vec![("effort", Some(e)), ("format", format)])
        });
    let format = Just(
        json!({"type": "json_schema", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}),
    );
    let metadata = mostly(Just(json!("user-1"))).prop_map(|u| json!({"user_id": u}));
    let tail = (
        prop_oneof![12 => proptest::collection::vec(anthropic_message(), 1..7).prop_map(|m| Some(Value::from(m))), 1 => proptest::option::of(odd())],
        proptest::option::of(mostly(
            proptest::collection::vec(anthropic_tool(), 0..3).prop_map(Value::from),
        )),
        proptest::option::of(mostly(choice)),
        proptest::option::of(mostly(thinking)),
        proptest::option::of(mostly(config)),
        proptest::option::of(mostly(format)),
        proptest::option::of(mostly(metadata)),
    );
    (head, tail)
        .prop_map(
            |(
                (model, stream, max, temp, stop, system),
                (messages, tools, choice, thinking, config, format, metadata),
            )| {
                fields(vec![
                    ("model", model),
                    ("stream", stream),
                    ("max_tokens", max),
                    ("temperature", temp.clone()),
                    ("top_p", temp),
                    ("stop_sequences", stop),
                    ("system", system),
                    ("messages", messages),
                    ("tools", tools),
                    ("tool_choice", choice),
                    ("thinking", thinking),
                    ("output_config", config),
                    ("output_format", format),
                    ("metadata", metadata),
                    ("service_tier", Some(json!("auto"))),
                    ("unknown", Some(json!({"kept": false}))),
                ])
            },
        )
        .boxed()
}

// ---- OpenAI chat requests ----

fn data_url() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(json!("data:image/png;base64,iVBORw0K")),
        Just(json!("data:application/pdf;base64,JVBE\\/")),
        Just(json!("https://example.com/cat.png")),
        Just(json!("data:image/png,notbase64")),
    ]
    .boxed()
}

fn openai_part() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => (mostly(text().prop_map(Value::from)), proptest::option::of(Just(json!({"type": "ephemeral"}))))
            .prop_map(|(t, cc)| fields(vec![("type", Some(json!("text"))), ("text", Some(t)), ("cache_control", cc)])),
        2 => data_url().prop_map(|u| json!({"type": "image_url", "image_url": {"url": u, "detail": "auto"}})),
        1 => data_url().prop_map(|u| json!({"type": "image_url", "image_url": u})),
        1 => data_url().prop_map(|u| json!({"type": "file", "file": {"file_data": u}})),
        1 => prop_oneof![
            Just(json!({"type": "file", "file": {"file_id": "file-1"}})),
            Just(json!({"type": "input_audio", "input_audio": {}})),
            odd(),
        ],
    ]
    .boxed()
}

fn arguments() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => object().prop_map(|o| Value::from(o.to_string())),
        1 => object().prop_map(|o| Value::from(format!(" {} \n", serde_json::to_string_pretty(&o).unwrap()))),
        1 => Just(json!("")),
        1 => prop_oneof![Just(json!("not json")), Just(json!("[1]")), odd()],
    ]
    .boxed()
}

fn tool_call() -> BoxedStrategy<Value> {
    prop_oneof![
        6 => (mostly(Just(json!("call_1"))), mostly(tool_name()), proptest::option::of(arguments()))
            .prop_map(|(id, name, args)| json!({"id": id, "type": "function", "function": fields(vec![("name", Some(name)), ("arguments", args)])})),
        1 => prop_oneof![Just(json!({"id": "call_2", "type": "function"})), odd()],
    ]
    .boxed()
}

fn openai_content() -> BoxedStrategy<Value> {
    prop_oneof![
        8 => text().prop_map(Value::from),
        6 => proptest::collection::vec(openai_part(), 0..4).prop_map(Value::from),
        1 => odd(),
    ]
    .boxed()
}

fn openai_message() -> BoxedStrategy<Value> {
    prop_oneof![
        2 => (prop_oneof![Just("system"), Just("developer")], openai_content())
            .prop_map(|(r, c)| json!({"role": r, "content": c})),
        4 => openai_content().prop_map(|c| json!({"role": "user", "content": c})),
        4 => (proptest::option::of(openai_content()), proptest::option::of(mostly(proptest::collection::vec(tool_call(), 0..3).prop_map(Value::from))))
            .prop_map(|(c, calls)| fields(vec![("role", Some(json!("assistant"))), ("content", c), ("tool_calls", calls)])),
        3 => (mostly(Just(json!("call_1"))), proptest::option::of(openai_content()))
            .prop_map(|(id, c)| fields(vec![("role", Some(json!("tool"))), ("tool_call_id", Some(id)), ("content", c)])),
        1 => prop_oneof![
            odd().prop_map(|r| json!({"role": r, "content": "x"})),
            Just(json!({"role": "function", "content": "x"})),
            odd(),
        ],
    ]
    .boxed()
}

fn openai_tool() -> BoxedStrategy<Value> {
    prop_oneof![
        6 => (tool_name(), proptest::option::of(text().prop_map(Value::from)), proptest::option::of(mostly(object())), proptest::option::of(Just(json!({"type": "ephemeral"}))))
            .prop_map(|(n, d, p, cc)| fields(vec![("type", Some(json!("function"))), ("function", Some(fields(vec![("name", Some(n)), ("description", d), ("parameters", p)]))), ("cache_control", cc)])),
        1 => prop_oneof![
            Just(json!({"type": "web_search"})),
            Just(json!({"type": "function", "function": {"description": "no name"}})),
            odd(),
        ],
    ]
    .boxed()
}

fn openai_request() -> BoxedStrategy<Value> {
    let head = (
        proptest::option::of(mostly(Just(json!("gpt-4o")))),
        prop_oneof![12 => proptest::collection::vec(openai_message(), 1..8).prop_map(|m| Some(Value::from(m))), 1 => proptest::option::of(odd())],
        proptest::option::of(mostly(Just(json!(256)))),
        proptest::option::of(mostly(Just(json!(512)))),
        proptest::option::of(mostly(prop_oneof![
            Just(json!("STOP")),
            Just(json!(["a", "b"]))
        ])),
        proptest::option::of(mostly(Just(json!(0.2)))),
    );
    let tail = (
        proptest::option::of(mostly(prop_oneof![Just(json!(true)), Just(json!(false))])),
        proptest::option::of(mostly(text().prop_map(Value::from))),
        proptest::option::of(mostly(
            proptest::collection::vec(openai_tool(), 0..3).prop_map(Value::from),
        )),
        proptest::option::of(mostly(prop_oneof![
            Just(json!("auto")),
            Just(json!("required")),
            Just(json!("none")),
            Just(json!("maybe")),
            tool_name().prop_map(|n| json!({"type": "function", "function": {"name": n}})),
            Just(json!({"type": "function"})),
        ])),
        proptest::option::of(mostly(any::<bool>().prop_map(Value::from))),
    );
    (head, tail)
        .prop_map(
            |(
                (model, messages, max_c, max, stop, temp),
                (stream, user, tools, choice, parallel),
            )| {
                fields(vec![
                    ("model", model),
                    ("messages", messages),
                    ("max_completion_tokens", max_c),
                    ("max_tokens", max),
                    ("stop", stop),
                    ("temperature", temp.clone()),
                    ("top_p", temp),
                    ("top_k", Some(json!(40))),
                    ("stream", stream),
                    ("user", user),
                    ("tools", tools),
                    ("tool_choice", choice),
                    ("parallel_tool_calls", parallel),
                    ("n", Some(json!(1))),
                ])
            },
        )
        .boxed()
}

/// The request as a client might write it: compact, pretty, or with
/// escaped keys.
fn written(value: Value, style: u8) -> Vec<u8> {
    match style % 3 {
        0 => serde_json::to_vec(&value).unwrap(),
        1 => serde_json::to_vec_pretty(&value).unwrap(),
        _ => serde_json::to_string(&value)
            .unwrap()
            .replace("\"role\":", "\"\\u0072ole\":")
            .replace("\"type\":", "\"typ\\u0065\":")
            .into_bytes(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn anthropic_requests_convert_as_the_reference_does(req in anthropic_request(), style in any::<u8>()) {
        common::requests_hold(&written(req, style));
    }

    #[test]
    fn openai_requests_convert_as_the_reference_does(req in openai_request(), style in any::<u8>()) {
        common::requests_hold(&written(req, style));
    }
}

/// The bodies of the agentic bench convert exactly as the references do.
#[test]
fn many_turn_tool_conversations_convert_as_the_reference_does() {
    for turns in [1, 7, 40] {
        let mut openai = vec![json!({"role": "system", "content": "Be brief.\nUse tools."})];
        let mut anthropic = Vec::new();
        for k in 0..turns {
            let text = format!("turn {k}: \"quoted\" \\ path\tand ✓ {}", "é".repeat(k % 5));
            openai.push(json!({"role": "user", "content": text}));
            anthropic.push(json!({"role": "user", "content": [{"type": "text", "text": text}]}));
            if k % 3 == 2 {
                let args = json!({"city": "São Paulo", "note": text});
                openai.push(json!({"role": "assistant", "content": "Let me check.", "tool_calls": [
                    {"id": format!("call_{k}"), "type": "function", "function": {"name": "get_weather", "arguments": args.to_string()}}]}));
                openai.push(
                    json!({"role": "tool", "tool_call_id": format!("call_{k}"), "content": text}),
                );
                anthropic.push(json!({"role": "assistant", "content": [{"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": format!("toolu_{k}"), "name": "get_weather", "input": args}]}));
                anthropic.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": format!("toolu_{k}"), "content": text}]}));
            }
            openai.push(json!({"role": "assistant", "content": text}));
            anthropic
                .push(json!({"role": "assistant", "content": [{"type": "text", "text": text}]}));
        }
        let tools = json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather.\n", "parameters": {"type": "object"}}}]);
        common::requests_hold(&written(
            json!({"model": "gpt-4o", "messages": openai, "tools": tools, "tool_choice": "auto", "stream": true}),
            0,
        ));
        common::requests_hold(&written(
            json!({"model": "claude", "max_tokens": 10, "system": [{"type": "text", "text": "Be brief."}],
            "messages": anthropic, "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}], "stream": true}),
            0,
        ));
    }
}
