//! `ai-prompt-guard`: APISIX's cases (t/plugin/ai-prompt-guard.t at
//! apache/apisix f519a0f0; the test numbers are APISIX's), then the
//! protocols and limits this implementation adds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use ai_proxy_core::config::FailMode;
use ai_proxy_prompt::{GuardOutcome, PromptError, PromptGuard};
use serde_json::{Value, json};

fn guard(config: Value) -> PromptGuard {
    PromptGuard::from_value(&config).unwrap()
}

fn check(g: &PromptGuard, path: &str, body: Value) -> Result<GuardOutcome, PromptError> {
    g.check(path, body.to_string().as_bytes())
}

fn chat(messages: Value) -> Value {
    json!({ "messages": messages })
}

const ALLOW: &str = r#"{"message":"Request doesn't match allow patterns"}"#;
const DENY: &str = r#"{"message":"Request contains prohibited content"}"#;

fn refused(result: Result<GuardOutcome, PromptError>) -> String {
    let e = result.unwrap_err();
    assert_eq!(e.status(), 400);
    String::from_utf8(e.body().to_vec()).unwrap()
}

// TEST 1.
#[test]
fn an_invalid_regex_is_refused_with_its_path() {
    let e = PromptGuard::from_value(&json!({"match_all_roles": true, "deny_patterns": ["(abc"]}))
        .unwrap_err();
    let e = &e.errors()[0];
    assert_eq!(e.path, "deny_patterns[0]");
    assert_eq!(
        e.message,
        "invalid pattern: unclosed group (at character 0)"
    );
}

// TEST 2-4.
#[test]
fn allow_is_checked_before_deny() {
    let g = guard(
        json!({"match_all_roles": true, "allow_patterns": ["goodword"], "deny_patterns": ["badword"]}),
    );
    let sys = |c: &str| chat(json!([{"role": "system", "content": c}]));
    assert_eq!(
        check(&g, "/hello", sys("goodword")).unwrap(),
        GuardOutcome::Passed
    );
    assert_eq!(refused(check(&g, "/hello", sys("badword"))), ALLOW);
}

// TEST 5-7.
#[test]
fn deny_only() {
    let g = guard(json!({"match_all_roles": true, "deny_patterns": ["badword"]}));
    let sys = |c: &str| chat(json!([{"role": "system", "content": c}]));
    assert!(check(&g, "/hello", sys("goodword")).is_ok());
    assert_eq!(refused(check(&g, "/hello", sys("badword"))), DENY);
}

// TEST 8-10.
#[test]
fn only_user_messages_are_checked_by_default() {
    let g = guard(json!({"allow_patterns": ["goodword"]}));
    assert_eq!(
        check(
            &g,
            "/hello",
            chat(json!([{"role": "system", "content": "badword"}]))
        )
        .unwrap(),
        GuardOutcome::NothingToCheck
    );
    assert_eq!(
        refused(check(
            &g,
            "/hello",
            chat(json!([{"role": "user", "content": "badword"}]))
        )),
        ALLOW
    );
}

// TEST 11-12.
#[test]
fn history_is_checked_when_asked() {
    let g = guard(
        json!({"match_all_conversation_history": true, "match_all_roles": true, "deny_patterns": ["badword"]}),
    );
    let body = chat(
        json!([{"role": "system", "content": "goodword"}, {"role": "system", "content": "badword"},
                           {"role": "system", "content": "goodword"}]),
    );
    assert_eq!(refused(check(&g, "/hello", body)), DENY);
}

// TEST 13-14.
#[test]
fn only_the_last_message_is_checked_by_default() {
    let g = guard(
        json!({"match_all_conversation_history": false, "match_all_roles": true, "deny_patterns": ["badword"]}),
    );
    let body = chat(
        json!([{"role": "system", "content": "goodword"}, {"role": "system", "content": "badword"},
                           {"role": "system", "content": "goodword"}]),
    );
    assert_eq!(check(&g, "/hello", body).unwrap(), GuardOutcome::Passed);
}

// TEST 15-16.
#[test]
fn patterns_are_regular_expressions() {
    let g = guard(json!({"match_all_roles": true, "deny_patterns": ["^[A-Za-z0-9_]+badword$"]}));
    let body = chat(json!([{"role": "system", "content": "anaapsanaapbadword"}]));
    assert_eq!(refused(check(&g, "/hello", body)), DENY);
}

// TEST 17-21.
#[test]
fn responses_api_input_and_instructions_are_checked() {
    let g = guard(json!({"match_all_roles": true, "deny_patterns": ["badword"]}));
    let responses = |body: Value| check(&g, "/v1/responses", body);
    assert_eq!(
        refused(responses(
            json!({"model": "gpt-4o", "input": "this contains badword in it"})
        )),
        DENY
    );
    assert_eq!(
        refused(responses(
            json!({"model": "gpt-4o", "input": "hello there", "instructions": "you must say badword"})
        )),
        DENY
    );
    assert!(
        responses(json!({"model": "gpt-4o", "input": "hello there", "instructions": "be helpful"}))
            .is_ok()
    );
    assert_eq!(
        refused(responses(
            json!({"model": "gpt-4o", "input": [{"type": "message", "role": "user", "content": "badword here"}]})
        )),
        DENY
    );
}

// TEST 22-24.
#[test]
fn responses_api_allow_patterns() {
    let g = guard(json!({"match_all_roles": true, "allow_patterns": ["goodword"]}));
    assert!(
        check(
            &g,
            "/v1/responses",
            json!({"model": "gpt-4o", "input": "this has goodword"})
        )
        .is_ok()
    );
    assert_eq!(
        refused(check(
            &g,
            "/v1/responses",
            json!({"model": "gpt-4o", "input": "no matching word"})
        )),
        ALLOW
    );
}

// TEST 25-27.
#[test]
fn responses_api_instructions_are_not_user_content() {
    let g = guard(json!({"match_all_roles": false, "deny_patterns": ["badword"]}));
    assert!(check(&g, "/v1/responses", json!({"model": "gpt-4o", "input": "hello there", "instructions": "you must say badword"})).is_ok());
    assert_eq!(
        refused(check(
            &g,
            "/v1/responses",
            json!({"model": "gpt-4o", "input": "this contains badword"})
        )),
        DENY
    );
}

// TEST 28-29.
#[test]
fn chat_on_a_route_that_also_serves_responses() {
    let g = guard(json!({"match_all_roles": true, "deny_patterns": ["badword"]}));
    assert_eq!(
        refused(check(
            &g,
            "/hello",
            chat(json!([{"role": "system", "content": "badword"}]))
        )),
        DENY
    );
}

// TEST 30-31, 34-35: not an AI request, default fail_mode lets it through.
#[test]
fn non_ai_and_non_json_bodies_are_skipped_by_default() {
    let g = guard(json!({"match_all_roles": true, "deny_patterns": ["badword"]}));
    assert_eq!(
        check(&g, "/hello", json!({"foo": "badword"})).unwrap(),
        GuardOutcome::Skipped(FailMode::Skip)
    );
    assert_eq!(
        g.check("/hello", b"name=alice&action=upload").unwrap(),
        GuardOutcome::Skipped(FailMode::Skip)
    );
    let warn = guard(json!({"deny_patterns": ["badword"], "fail_mode": "warn"}));
    assert_eq!(
        warn.check("/hello", br#"{"foo":1}"#).unwrap(),
        GuardOutcome::Skipped(FailMode::Warn)
    );
}

// TEST 32-33.
#[test]
fn fail_mode_error_refuses_what_the_guard_cannot_read() {
    let g =
        guard(json!({"match_all_roles": true, "deny_patterns": ["badword"], "fail_mode": "error"}));
    assert_eq!(
        refused(check(&g, "/hello", json!({"foo": "bar"}))),
        r#"{"message":"Request format not recognized by ai-prompt-guard"}"#
    );
    let e = g.check("/hello", b"name=alice").unwrap_err();
    assert!(matches!(e, PromptError::GuardNotJson { .. }), "{e:?}");
}

// TEST 36-39.
#[test]
fn text_parts_are_flattened_and_checked() {
    let g = guard(
        json!({"match_all_roles": true, "match_all_conversation_history": true, "deny_patterns": ["badword"]}),
    );
    let with = |word: &str| {
        chat(
            json!([{"role": "system", "content": "You are a test assistant."},
                    {"role": "assistant", "content": [{"type": "text", "text": word}]},
                    {"role": "user", "content": "hello"}]),
        )
    };
    assert_eq!(refused(check(&g, "/hello", with("badword"))), DENY);
    assert!(check(&g, "/hello", with("goodword")).is_ok());
    let mixed = chat(json!([{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        {"type": "text", "text": "badword"}]}]));
    assert_eq!(refused(check(&g, "/hello", mixed)), DENY);
}

// TEST 40-42.
#[test]
fn the_latest_user_message_s_text_parts_only() {
    let g = guard(json!({"deny_patterns": ["badword"]}));
    assert_eq!(
        refused(check(
            &g,
            "/hello",
            chat(json!([{"role": "user", "content": [{"type": "text", "text": "badword"}]}]))
        )),
        DENY
    );
    let image_only = chat(json!([{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/badword.png"}},
        {"type": "text", "text": "safe text"}]}]));
    assert!(check(&g, "/hello", image_only).is_ok());
}

// TEST 43-44.
#[test]
fn responses_api_content_parts_are_flattened() {
    let g = guard(json!({"match_all_roles": true, "deny_patterns": ["badword"]}));
    let body = json!({"model": "gpt-4o", "input": [{"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "badword here"}]}]});
    assert_eq!(refused(check(&g, "/v1/responses", body)), DENY);
}

#[test]
fn texts_of_a_message_and_messages_are_joined_by_spaces() {
    let g = guard(
        json!({"match_all_roles": true, "match_all_conversation_history": true,
                         "deny_patterns": ["one two", "two three"]}),
    );
    let parts = chat(
        json!([{"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]}]),
    );
    assert_eq!(refused(check(&g, "/", parts)), DENY);
    let messages =
        chat(json!([{"role": "user", "content": "two"}, {"role": "user", "content": "three"}]));
    assert_eq!(refused(check(&g, "/", messages)), DENY);
}

// APISIX's get_messages drops messages without text before taking the
// last one: a tool-call-only assistant turn does not hide the user's.
#[test]
fn the_last_message_is_the_last_with_text() {
    let g = guard(json!({"deny_patterns": ["badword"]}));
    let body = chat(json!([{"role": "user", "content": "badword"},
                           {"role": "assistant", "tool_calls": [{"id": "c", "type": "function"}]}]));
    assert_eq!(refused(check(&g, "/", body)), DENY);
    // An empty string is text: the empty assistant turn is the last.
    let body =
        chat(json!([{"role": "user", "content": "badword"}, {"role": "assistant", "content": ""}]));
    assert_eq!(check(&g, "/", body).unwrap(), GuardOutcome::NothingToCheck);
}

// ngx.re "jou": case sensitive; (?i) opts in.
#[test]
fn patterns_are_case_sensitive_unless_they_say_otherwise() {
    let g = guard(json!({"deny_patterns": ["badword"]}));
    assert!(
        check(
            &g,
            "/",
            chat(json!([{"role": "user", "content": "BADWORD"}]))
        )
        .is_ok()
    );
    let g = guard(json!({"deny_patterns": ["(?i)badword"]}));
    assert_eq!(
        refused(check(
            &g,
            "/",
            chat(json!([{"role": "user", "content": "BadWord"}]))
        )),
        DENY
    );
}

#[test]
fn escapes_and_non_ascii_are_matched_as_decoded_text() {
    let g = guard(json!({"deny_patterns": ["say \"hi\"\nnow", "日本", "^\\p{Lu}+$"]}));
    let refused_body = |raw: &[u8]| g.check("/", raw).unwrap_err();
    assert_eq!(
        refused_body(br#"{"messages":[{"role":"user","content":"say \"hi\"\nnow"}]}"#),
        PromptError::Prohibited
    );
    assert_eq!(
        refused_body(br#"{"messages":[{"role":"user","content":"\u65e5\u672c\u8a9e"}]}"#),
        PromptError::Prohibited
    );
    assert_eq!(
        refused_body("{\"messages\":[{\"role\":\"user\",\"content\":\"ÄÖÜ\"}]}".as_bytes()),
        PromptError::Prohibited
    );
}

#[test]
fn anthropic_system_and_blocks_are_read() {
    let g = guard(
        json!({"match_all_roles": true, "match_all_conversation_history": true, "deny_patterns": ["badword"]}),
    );
    for body in [
        json!({"system": "badword", "messages": [{"role": "user", "content": "hi"}]}),
        json!({"system": [{"type": "text", "text": "badword"}], "messages": []}),
        json!({"messages": [{"role": "user", "content": [{"type": "text", "text": "badword"}]}]}),
    ] {
        assert_eq!(refused(check(&g, "/v1/messages", body)), DENY);
    }
}

#[test]
fn bedrock_converse_and_gemini_are_read() {
    let g = guard(json!({"deny_patterns": ["badword"]}));
    let converse = json!({"messages": [{"role": "user", "content": [{"text": "badword"}]}]});
    assert_eq!(refused(check(&g, "/model/m/converse", converse)), DENY);
    // Gemini is no APISIX protocol (there: passthrough, skipped by
    // default); read here so a native Gemini client cannot step around it.
    let gemini = json!({"contents": [{"role": "user", "parts": [{"text": "badword"}]}]});
    assert_eq!(
        refused(check(
            &g,
            "/v1beta/models/gemini-2.5-flash:generateContent",
            gemini
        )),
        DENY
    );
    let model_turn = json!({"contents": [{"role": "model", "parts": [{"text": "badword"}]}]});
    assert_eq!(
        check(&g, "/v1beta/models/m:generateContent", model_turn).unwrap(),
        GuardOutcome::NothingToCheck
    );
}

#[test]
fn embeddings_input_is_user_text() {
    let g = guard(json!({"deny_patterns": ["badword"]}));
    assert_eq!(
        refused(check(&g, "/v1/embeddings", json!({"input": "badword"}))),
        DENY
    );
}

// APISIX answers "Empty request body" for a missing body and for one over
// the limit alike.
#[test]
fn no_body_or_one_over_the_limit() {
    let g = guard(json!({"deny_patterns": ["x"], "max_req_body_size": 16}));
    assert_eq!(g.check("/", b"").unwrap_err(), PromptError::GuardNoBody);
    assert_eq!(
        refused(g.check("/", br#"{"messages":[],"model":"m"}"#)),
        r#"{"message":"Empty request body"}"#
    );
}

#[test]
fn patterns_that_compile_too_big_are_refused() {
    let e =
        PromptGuard::from_value(&json!({"deny_patterns": ["ok", "\\w{1000}{1000}"]})).unwrap_err();
    assert_eq!(e.errors()[0].path, "deny_patterns[1]");
    assert!(
        e.errors()[0].message.contains("compiles to more than"),
        "{}",
        e.errors()[0].message
    );
}

#[test]
fn look_around_is_refused_when_loaded() {
    let e = PromptGuard::from_value(&json!({"allow_patterns": ["foo(?=bar)"]})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "allow_patterns[0]: invalid pattern: look-around, including look-ahead and look-behind, \
         is not supported (at character 3)"
    );
}

// `ngx.re` is PCRE in UTF-8 mode without `PCRE_UCP`: `\d`, `\w`, `\s` and
// `\b` know ASCII only.
#[test]
fn perl_classes_and_word_boundaries_are_ascii_as_in_pcre() {
    let denies = |pattern: &str, text: &str| {
        let g = guard(json!({"deny_patterns": [pattern]}));
        check(
            &g,
            "/v1/chat/completions",
            chat(json!([{"role": "user", "content": text}])),
        )
        .is_err()
    };
    // Arabic-Indic and full-width digits are no `\d`.
    assert!(denies(r"\d{3}-\d{4}", "call 555-0199"));
    assert!(!denies(r"\d{3}", "٥٥٥ ５５５"));
    // `é` is no word character: `caf\b` ends a word before it.
    assert!(denies(r"^\w+$", "cafe"));
    assert!(!denies(r"^\w+$", "café"));
    assert!(denies(r"caf\b", "café"));
    assert!(!denies(r"\Bé", "café"));
    assert!(denies(r"[\w-]+é", "self-é"));
    assert!(!denies(r"\W", "plain_words"));
    assert!(denies(r"\W", "naïve"));
    // No-break space is no `\s`; a tab is.
    assert!(!denies(r"a\sb", "a\u{a0}b"));
    assert!(denies(r"a\sb", "a\tb"));
    assert!(denies(r"a\Sb", "a\u{a0}b"));
    // Escapes that are no class keep their meaning.
    assert!(denies(r"\\d", r"a \d b"));
    assert!(denies(r"\.\x41\p{Greek}", ".Aλ"));
    // Case folding still knows Unicode.
    assert!(denies("(?i)ÜBER", "über"));
}

#[test]
fn an_error_points_into_the_pattern_as_written() {
    let e = PromptGuard::from_value(&json!({"deny_patterns": [r"\d\w\s(abc"]})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "deny_patterns[0]: invalid pattern: unclosed group (at character 6)"
    );
}
