//! The fuzz drivers under proptest: structured bodies (chat, Anthropic,
//! Responses, Converse shapes with escapes and non-ASCII text) and raw
//! bytes.

use proptest::prelude::*;
use serde_json::{Value, json};

/// Short texts with the characters JSON escapes, non-ASCII, and the words
/// the guard's patterns look for.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("bad"),
            Just("xy"),
            Just("XY"),
            Just("123"),
            Just("日本"),
            Just("é ✓"),
            Just("\""),
            Just("\\"),
            Just("\n"),
            Just("\u{1}"),
            Just(" "),
            Just("word"),
        ],
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

fn role() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("user")),
        Just(json!("assistant")),
        Just(json!("system")),
        Just(json!("developer")),
        Just(json!("tool")),
        Just(json!(7)),
    ]
}

fn content() -> impl Strategy<Value = Value> {
    prop_oneof![
        text().prop_map(Value::String),
        prop::collection::vec(
            prop_oneof![
                text().prop_map(|t| json!({"type": "text", "text": t})),
                text().prop_map(|t| json!({"type": "image_url", "image_url": {"url": t}})),
                text().prop_map(|t| json!({"text": t})),
            ],
            0..3
        )
        .prop_map(Value::Array),
        Just(Value::Null),
    ]
}

fn message() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => (role(), content()).prop_map(|(role, content)| json!({"role": role, "content": content})),
        1 => role().prop_map(|role| json!({"role": role, "tool_calls": []})),
        1 => Just(json!("not a message")),
    ]
}

/// A body of any of the protocols' shapes, with other members around.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let messages = prop::collection::vec(message(), 0..6);
    let system = prop_oneof![
        Just(None),
        text().prop_map(|t| Some(json!(t))),
        text().prop_map(|t| Some(json!([{"type": "text", "text": t}]))),
        text().prop_map(|t| Some(json!([{"text": t}]))),
        Just(Some(json!(5))),
    ];
    let input = prop_oneof![
        Just(None),
        text().prop_map(|t| Some(json!(t))),
        prop::collection::vec(message(), 0..3).prop_map(|m| Some(Value::Array(m))),
    ];
    (messages, system, input, any::<bool>(), text()).prop_map(
        |(messages, system, input, with_messages, extra)| {
            let mut body = serde_json::Map::new();
            body.insert("model".into(), json!("m"));
            body.insert("x-extra".into(), json!({"k": extra, "n": 1.50}));
            if with_messages {
                body.insert("messages".into(), Value::Array(messages));
            }
            if let Some(s) = system {
                body.insert("system".into(), s);
            }
            if let Some(i) = input {
                body.insert("input".into(), i);
            }
            Value::Object(body).to_string().into_bytes()
        },
    )
}

fn with_selector(body: Vec<u8>, selector: u8) -> Vec<u8> {
    let mut data = vec![selector];
    data.extend(body);
    data
}

proptest! {
    #[test]
    fn decorated_bodies_match_the_reference(body in body(), selector in any::<u8>()) {
        prop_assert_eq!(super::decorate(&with_selector(body, selector)), Ok(()));
    }

    #[test]
    fn decorated_bodies_with_numbers_beyond_f64_match_the_reference(
        body in body(),
        selector in any::<u8>(),
    ) {
        // `{…}` becomes `{…,"n":52E255252}`: JSON that no `Value` holds.
        let mut body = body;
        body.pop();
        body.extend_from_slice(br#","n":52E255252}"#);
        prop_assert_eq!(super::decorate(&with_selector(body, selector)), Ok(()));
    }

    #[test]
    fn decorating_any_bytes_holds(data in prop::collection::vec(any::<u8>(), 0..256)) {
        prop_assert_eq!(super::decorate(&data), Ok(()));
    }

    #[test]
    fn templates_fill_exactly_what_was_sent(
        x in prop_oneof![text().prop_map(Value::String), any::<i64>().prop_map(|n| json!(n)),
                         Just(json!(null)), Just(json!(true)), Just(json!({"a": [1, "\""]}))],
        z in text(),
        model in prop::option::of(text()),
    ) {
        let mut body = json!({"template_name": "t", "x": x, "y": {"z": z}});
        if let Some(m) = model {
            body["model"] = json!(m);
        }
        prop_assert_eq!(super::template(body.to_string().as_bytes()), Ok(()));
    }

    #[test]
    fn templating_any_bytes_holds(data in prop::collection::vec(any::<u8>(), 0..256)) {
        prop_assert_eq!(super::template(&data), Ok(()));
    }

    #[test]
    fn the_guard_agrees_with_the_reference(body in body(), selector in any::<u8>()) {
        // Selector 0 mod 7 is the chat path, which the reference covers.
        let selector = selector - selector % 7;
        prop_assert_eq!(super::guard(&with_selector(body, selector)), Ok(()));
    }

    #[test]
    fn guarding_any_bytes_holds(data in prop::collection::vec(any::<u8>(), 0..256)) {
        prop_assert_eq!(super::guard(&data), Ok(()));
    }

    #[test]
    fn moderated_text_matches_the_reference(body in body(), selector in any::<u8>()) {
        let selector = selector - selector % 7;
        prop_assert_eq!(super::moderation(&with_selector(body, selector)), Ok(()));
    }

    #[test]
    fn moderating_any_bytes_holds(data in prop::collection::vec(any::<u8>(), 0..512)) {
        prop_assert_eq!(super::moderation(&data), Ok(()));
    }

    #[test]
    fn segments_of_any_text_hold(text in "\\PC{0,600}", limit in 0usize..64) {
        prop_assert_eq!(super::segments(&text, limit), Ok(()));
    }

    #[test]
    fn any_config_is_refused_or_compiled(value in crate::fuzzing::tests::config_value()) {
        prop_assert_eq!(super::config(value.to_string().as_bytes()), Ok(()));
    }
}

/// Configs near the plugins' shapes.
fn config_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        text().prop_map(Value::String),
        Just(json!("(a|b)*c")),
        Just(json!("{{ x }}")),
        Just(json!("system")),
    ];
    let keys = prop_oneof![
        Just("prepend"),
        Just("append"),
        Just("templates"),
        Just("name"),
        Just("template"),
        Just("messages"),
        Just("role"),
        Just("content"),
        Just("deny_patterns"),
        Just("allow_patterns"),
        Just("comprehend"),
        Just("region"),
        Just("access_key_id"),
        Just("secret_access_key"),
        Just("moderation_categories"),
        Just("PROFANITY"),
        Just("fail_mode"),
        Just("ai-prompt-guard"),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..5).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

#[test]
fn the_selector_reaches_every_path() {
    let paths: std::collections::BTreeSet<_> =
        (0..=255u8).map(|s| super::pick(&super::PATHS, s)).collect();
    assert_eq!(paths.len(), super::PATHS.len());
}

/// Found by the fuzzer (`52E255252`): a number beyond `f64` is JSON — the
/// plugins and `prepare` accept it, as serde's `IgnoredAny` does — though
/// no `serde_json::Value` holds it; the reference must not call such a
/// body invalid, and still holds the decoration to what it can check.
#[test]
fn numbers_beyond_f64_are_json_to_the_decorator_reference() {
    let bodies: [&[u8]; 6] = [
        b"52E255252",
        b"[1e999]",
        br#"{"messages":[],"n":1e999}"#,
        br#"{"messages":[{"role":"user","content":"hi"}],"system":"s","n":-1E400}"#,
        br#"{"input":"q","instructions":"i","n":1e999}"#,
        br#"{"messages":7,"system":7,"n":1e999}"#,
    ];
    for selector in 0..=u8::MAX {
        for body in bodies {
            assert_eq!(
                super::decorate(&with_selector(body.to_vec(), selector)),
                Ok(()),
                "selector {selector}, body {}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
