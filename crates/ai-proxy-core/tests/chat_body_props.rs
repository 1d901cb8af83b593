//! Property tests: the one-pass read of `openai-chat` bodies observes
//! exactly what the serde parse (`Observer::on_body_reference`) observes —
//! on bodies as providers send them (choices with text, tool calls and
//! finish reasons, usage with its details, Groq's `x_groq`), and on the odd
//! ones it must hand to that parse (repeated or escaped keys, `\u` escapes,
//! lone surrogates, content parts, counts that are floats, negative or past
//! `u64`, errors, arrays for objects, trailing bytes).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use ai_proxy_core::Protocol;
use ai_proxy_core::exchange::{Observation, Observer};
use proptest::prelude::*;

fn observe(body: &[u8], text: bool, reference: bool) -> Observation {
    let mut observer = Observer::new(Protocol::OpenAiChat, text);
    if reference {
        observer.on_body_reference(body);
    } else {
        observer.on_body(body);
    }
    observer.into_observation()
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(r#""Hello there""#.to_owned()),
        2 => Just(r#""""#.to_owned()),
        2 => Just(r#""line\nnext \"quoted\" back\\slash\ttab""#.to_owned()),
        2 => Just(r#""é✓日本語🚀""#.to_owned()),
        1 => Just(r#""caf\u00e9""#.to_owned()),
        1 => Just(r#""lone \ud800""#.to_owned()),
        1 => Just(r#""pair \ud83d\ude80""#.to_owned()),
        1 => Just("null".to_owned()),
        1 => Just("42".to_owned()),
        1 => Just("[]".to_owned()),
        1 => Just(r#"[{"type":"text","text":"part"}]"#.to_owned()),
        1 => Just("{}".to_owned()),
    ]
}

fn count() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (0u64..100_000).prop_map(|n| n.to_string()),
        1 => Just("null".to_owned()),
        1 => Just("-3".to_owned()),
        1 => Just("2.5".to_owned()),
        1 => Just("1e3".to_owned()),
        1 => Just("18446744073709551615".to_owned()),
        1 => Just("18446744073709551616".to_owned()),
        1 => Just("-9223372036854775809".to_owned()),
        1 => Just(r#""7""#.to_owned()),
        1 => Just("true".to_owned()),
    ]
}

/// Members, some repeated, in any order, as one object's text.
fn object(members: Vec<(String, String)>) -> String {
    let body: Vec<String> = members
        .into_iter()
        .map(|(k, v)| format!("\"{k}\":{v}"))
        .collect();
    format!("{{{}}}", body.join(","))
}

fn usage() -> impl Strategy<Value = String> {
    let member = prop_oneof![
        3 => count().prop_map(|c| ("prompt_tokens".to_owned(), c)),
        3 => count().prop_map(|c| ("completion_tokens".to_owned(), c)),
        2 => count().prop_map(|c| ("total_tokens".to_owned(), c)),
        1 => (count(), count()).prop_map(|(a, b)| ("prompt_tokens_details".to_owned(),
            format!(r#"{{"cached_tokens":{a},"audio_tokens":0,"cache_creation_input_tokens":{b}}}"#))),
        1 => Just(("prompt_tokens_details".to_owned(), "null".to_owned())),
        1 => count().prop_map(|c| ("completion_tokens_details".to_owned(), format!(r#"{{"reasoning_tokens":{c}}}"#))),
        1 => count().prop_map(|c| ("prompt_cache_hit_tokens".to_owned(), c)),
        1 => Just(("queue_time".to_owned(), "0.01".to_owned())),
    ];
    prop_oneof![
        8 => proptest::collection::vec(member, 0..7).prop_map(object),
        1 => Just("null".to_owned()),
        1 => Just("[1,2]".to_owned()),
    ]
}

fn message() -> impl Strategy<Value = String> {
    let member = prop_oneof![
        4 => string().prop_map(|s| ("content".to_owned(), s)),
        1 => Just(("role".to_owned(), r#""assistant""#.to_owned())),
        1 => string().prop_map(|s| ("reasoning_content".to_owned(), s)),
        1 => string().prop_map(|s| ("reasoning".to_owned(), s)),
        1 => Just(("tool_calls".to_owned(), r#"[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]"#.to_owned())),
        1 => Just(("tool_calls".to_owned(), "[]".to_owned())),
        1 => Just(("tool_calls".to_owned(), "null".to_owned())),
        1 => Just(("tool_calls".to_owned(), "{}".to_owned())),
        1 => Just(("refusal".to_owned(), "null".to_owned())),
    ];
    prop_oneof![
        8 => proptest::collection::vec(member, 0..5).prop_map(object),
        1 => Just("null".to_owned()),
        1 => Just(r#""text""#.to_owned()),
    ]
}

fn choice() -> impl Strategy<Value = String> {
    let member = prop_oneof![
        4 => message().prop_map(|m| ("message".to_owned(), m)),
        1 => message().prop_map(|m| ("delta".to_owned(), m)),
        1 => string().prop_map(|s| ("text".to_owned(), s)),
        2 => prop_oneof![Just(r#""stop""#), Just("null"), Just(r#""tool_calls""#), Just("1")]
            .prop_map(|f| ("finish_reason".to_owned(), f.to_owned())),
        1 => Just(("index".to_owned(), "0".to_owned())),
        1 => Just(("logprobs".to_owned(), r#"{"content":[{"token":"a","logprob":-0.1}]}"#.to_owned())),
    ];
    prop_oneof![
        10 => proptest::collection::vec(member, 0..5).prop_map(object),
        1 => Just("null".to_owned()),
        1 => Just("[]".to_owned()),
    ]
}

fn chat_body() -> impl Strategy<Value = String> {
    let member = prop_oneof![
        3 => string().prop_map(|s| ("model".to_owned(), s)),
        4 => proptest::collection::vec(choice(), 0..3)
            .prop_map(|c| ("choices".to_owned(), format!("[{}]", c.join(",")))),
        1 => Just(("choices".to_owned(), "null".to_owned())),
        4 => usage().prop_map(|u| ("usage".to_owned(), u)),
        1 => usage().prop_map(|u| ("x_groq".to_owned(), format!(r#"{{"id":"req_1","usage":{u}}}"#))),
        1 => Just(("x_groq".to_owned(), "null".to_owned())),
        1 => prop_oneof![Just("null"), Just(r#"{"message":"boom","type":"server_error"}"#), Just(r#""bad""#), Just("false")]
            .prop_map(|e| ("error".to_owned(), e.to_owned())),
        2 => Just(("id".to_owned(), r#""chatcmpl-1""#.to_owned())),
        1 => Just(("object".to_owned(), r#""chat.completion""#.to_owned())),
        1 => Just(("mod\\u0065l".to_owned(), r#""escaped-key""#.to_owned())),
        1 => Just(("deep".to_owned(), format!("{}{}", "[".repeat(200), "]".repeat(200)))),
    ];
    let tail = prop_oneof![
        10 => Just(String::new()),
        1 => Just("\n ".to_owned()),
        1 => Just(" x".to_owned()),
        1 => Just("}".to_owned()),
    ];
    (proptest::collection::vec(member, 0..8), tail)
        .prop_map(|(members, tail)| format!("{}{tail}", object(members)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_one_pass_read_observes_what_the_serde_parse_observes(body in chat_body(), text in any::<bool>()) {
        prop_assert_eq!(observe(body.as_bytes(), text, false), observe(body.as_bytes(), text, true), "{}", body);
    }

    #[test]
    fn the_one_pass_read_agrees_on_cut_and_bitflipped_bodies(body in chat_body(), cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut bytes = body.into_bytes();
        if !bytes.is_empty() {
            let at = flip.index(bytes.len());
            bytes[at] ^= 1 << bit;
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        for text in [false, true] {
            prop_assert_eq!(observe(&bytes, text, false), observe(&bytes, text, true));
        }
    }
}

#[test]
fn a_plain_completion_is_read_in_one_pass_with_its_usage() {
    let body = br#"{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hi \"there\"\n"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":null},"prompt_cache_hit_tokens":3}}"#;
    let seen = observe(body, true, false);
    assert_eq!(seen, observe(body, true, true));
    assert_eq!(seen.model(), Some("gpt-4o"));
    assert_eq!(seen.text(), Some("Hi \"there\"\n"));
    assert!(seen.done() && seen.content_seen());
    let usage = seen.usage().unwrap();
    assert_eq!((usage.total_tokens, usage.cache_read_input_tokens), (7, 3));
}

/// `body` with whitespace from `spaces` (cycled) after each `{`, `[`, `:`
/// and `,` outside strings: the layouts providers send (`json.dumps`'s
/// `", "` / `": "`, indented pretty printing, tabs).
fn spaced(body: &str, spaces: &[&str]) -> String {
    let mut out = String::with_capacity(body.len() * 2);
    let (mut in_string, mut escaped, mut n) = (false, false, 0);
    for c in body.chars() {
        out.push(c);
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' | ':' | ',' if !spaces.is_empty() => {
                out.push_str(spaces[n % spaces.len()]);
                n += 1;
            }
            _ => {}
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn the_one_pass_read_agrees_on_spaced_bodies(
        body in chat_body(),
        spaces in proptest::collection::vec(
            proptest::sample::select(&["", " ", "  ", "\n  ", "\t", " \r\n"][..]),
            0..6,
        ),
        text in any::<bool>(),
    ) {
        let body = spaced(&body, &spaces);
        prop_assert_eq!(observe(body.as_bytes(), text, false), observe(body.as_bytes(), text, true), "{}", body);
    }
}

#[test]
fn a_pretty_printed_completion_is_read_in_one_pass() {
    let body = "{\n  \"id\": \"chatcmpl-1\",\n  \"model\": \"gpt-4o\",\n  \"choices\": [\n    {\n      \"index\": 0,\n      \"message\": {\"role\": \"assistant\", \"content\": \"Hi\"},\n      \"finish_reason\": \"stop\"\n    }\n  ],\n  \"usage\": {\"prompt_tokens\": 5, \"completion_tokens\": 2, \"total_tokens\": 7}\n}\n";
    let seen = observe(body.as_bytes(), true, false);
    assert_eq!(seen, observe(body.as_bytes(), true, true));
    assert_eq!(
        (seen.model(), seen.text(), seen.done()),
        (Some("gpt-4o"), Some("Hi"), true)
    );
    assert_eq!(seen.usage().map(|u| u.total_tokens), Some(7));
}
