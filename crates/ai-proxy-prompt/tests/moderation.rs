//! `ai-aws-content-moderation`, request side: APISIX's cases
//! (t/plugin/ai-aws-content-moderation.t and -2.t at apache/apisix
//! f519a0f0; the numbers are APISIX's) against a fake Comprehend answering
//! as APISIX's mock does.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ai_proxy_core::Protocol;
use ai_proxy_prompt::moderation::*;
use common::{FakeComprehend, ready};
use serde_json::{Value, json};

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

fn moderation(extra: Value) -> AwsContentModeration {
    let mut config = json!({"comprehend": {
        "access_key_id": "access", "secret_access_key": "ea+secret", "region": "us-east-1",
        "endpoint": "http://localhost:2668"}});
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    AwsContentModeration::from_value(&config).unwrap()
}

fn chat(messages: Value) -> Vec<u8> {
    json!({ "messages": messages }).to_string().into_bytes()
}

fn user(text: &str) -> Vec<u8> {
    chat(json!([{"role": "user", "content": text}]))
}

fn run(
    m: &AwsContentModeration,
    fake: &FakeComprehend,
    body: &[u8],
) -> Result<Verdict, ModerationError> {
    let request = ModerationRequest::new(Protocol::OpenAiChat, body, now());
    ready(m.moderate(&request, fake))
}

/// The refusal's status and the text of its chat completion.
fn denied(verdict: Result<Verdict, ModerationError>) -> (u16, String) {
    let Verdict::Deny(d) = verdict.unwrap() else {
        panic!("not denied")
    };
    let body: Value = serde_json::from_slice(&d.body).unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(d.content_type, "application/json");
    (
        d.status.as_u16(),
        body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

fn allowed(verdict: Result<Verdict, ModerationError>) {
    assert_eq!(verdict.unwrap(), Verdict::Allow { scored: true });
}

/// The texts Comprehend was asked to score, per call.
fn scored(fake: &FakeComprehend) -> Vec<Vec<String>> {
    fake.calls().into_iter().map(|c| c.segments).collect()
}

// TEST 1-3.
#[test]
fn toxic_requests_are_refused_and_good_ones_pass() {
    let m = moderation(json!({"deny_code": 400}));
    let fake = FakeComprehend::default();
    assert_eq!(
        denied(run(&m, &fake, &user("toxic"))),
        (400, "request body exceeds toxicity threshold".to_owned())
    );
    allowed(run(&m, &fake, &user("good_request")));
}

// TEST 4-7.
#[test]
fn a_category_threshold_refuses_first() {
    let m = moderation(json!({"moderation_categories": {"PROFANITY": 0.5}, "deny_code": 400}));
    let fake = FakeComprehend::default();
    for text in ["profane", "very_profane"] {
        assert_eq!(
            denied(run(&m, &fake, &user(text))).1,
            "request body exceeds PROFANITY threshold"
        );
    }
    allowed(run(&m, &fake, &user("good_request")));
}

// TEST 8-12.
#[test]
fn category_and_toxicity_thresholds_both_apply() {
    let m = moderation(json!({"moderation_categories": {"PROFANITY": 0.7}, "deny_code": 400}));
    let fake = FakeComprehend::default();
    assert_eq!(
        denied(run(&m, &fake, &user("profane"))).1,
        "request body exceeds toxicity threshold"
    );
    allowed(run(&m, &fake, &user("profane_but_not_toxic")));
    assert_eq!(
        denied(run(&m, &fake, &user("very_profane"))).1,
        "request body exceeds PROFANITY threshold"
    );
    allowed(run(&m, &fake, &user("good_request")));
}

// The default deny_code is 200 and deny_message replaces the reason
// (TEST 21-22's settings, request side).
#[test]
fn the_default_refusal_is_a_200_completion_with_the_configured_message() {
    let m = moderation(json!({"deny_message": "the request was withheld"}));
    let request = ModerationRequest::new(
        Protocol::OpenAiChat,
        br#"{"model":"gpt-4o","messages":[{"role":"user","content":"toxic"}]}"#,
        now(),
    )
    .with_model(Some("gpt-4o"))
    .with_id("req-1");
    let Verdict::Deny(d) = ready(m.moderate(&request, &FakeComprehend::default())).unwrap() else {
        panic!()
    };
    assert_eq!(d.status, 200);
    assert_eq!(d.reason, "request body exceeds toxicity threshold");
    assert_eq!(
        d.body,
        r#"{"id":"req-1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"the request was withheld"},"finish_reason":"stop"}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}"#
    );
}

// TEST 33-35: content over 1 KB is cut into segments Comprehend accepts.
#[test]
fn long_content_is_cut_into_segments_of_one_call() {
    let m = moderation(json!({"deny_code": 400}));
    let fake = FakeComprehend::default();
    let toxic = format!("{} kill", "a".repeat(2395));
    assert_eq!(
        denied(run(&m, &fake, &user(&toxic))).1,
        "request body exceeds toxicity threshold"
    );
    let clean = "a".repeat(2400);
    allowed(run(&m, &fake, &user(&clean)));
    let calls = scored(&fake);
    assert_eq!(calls.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3]);
    assert_eq!(
        calls[0].iter().map(String::len).collect::<Vec<_>>(),
        [1000, 1000, 400]
    );
}

// TEST 36-39: segments past the tenth go in a second call; keepalive is
// the caller's hint.
#[test]
fn past_ten_segments_a_second_call_is_made() {
    for keepalive in [true, false] {
        let m = moderation(json!({"request_check_length_limit": 100, "keepalive": keepalive}));
        let fake = FakeComprehend::default();
        allowed(run(&m, &fake, &user(&"a".repeat(1100))));
        let calls = fake.calls();
        assert_eq!(
            calls.iter().map(|c| c.segments.len()).collect::<Vec<_>>(),
            [10, 1]
        );
        assert!(calls.iter().all(|c| c.keepalive == keepalive));
    }
}

// The first call that finds toxicity ends the moderation.
#[test]
fn no_call_is_made_after_a_refusal() {
    let m = moderation(json!({"request_check_length_limit": 100}));
    let fake = FakeComprehend::default();
    let text = format!("kill{}", "a".repeat(1500));
    assert!(matches!(
        run(&m, &fake, &user(&text)).unwrap(),
        Verdict::Deny(_)
    ));
    assert_eq!(fake.calls().len(), 1);
}

// TEST 46-47.
#[test]
fn multibyte_content_is_cut_on_character_boundaries() {
    let m = moderation(json!({}));
    let fake = FakeComprehend::default();
    allowed(run(&m, &fake, &user(&"日".repeat(400))));
    let calls = scored(&fake);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].iter().map(String::len).collect::<Vec<_>>(),
        [999, 201]
    );
}

// TEST 51-55: default roles (all) and mode (all).
#[test]
fn by_default_every_role_and_turn_is_moderated() {
    let m = moderation(json!({"deny_code": 400}));
    for messages in [
        json!([{"role": "user", "content": "I want to kill you"}, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "What is 1+1?"}]),
        json!([{"role": "system", "content": "I want to kill you"}, {"role": "user", "content": "What is 1+1?"}]),
        json!([{"role": "user", "content": "What is the weather?"}, {"role": "tool", "tool_call_id": "call_1", "content": "I want to kill you"}]),
    ] {
        let fake = FakeComprehend::default();
        assert_eq!(denied(run(&m, &fake, &chat(messages))).0, 400);
    }
    let fake = FakeComprehend::default();
    let history = chat(
        json!([{"role": "user", "content": "What is 1+1?"}, {"role": "assistant", "content": "I want to kill you"}]),
    );
    assert_eq!(denied(run(&m, &fake, &history)).0, 400);
    assert_eq!(scored(&fake), [["What is 1+1? I want to kill you"]]);
}

// TEST 56-58.
#[test]
fn mode_last_reads_the_latest_turn_and_the_system_message() {
    let m = moderation(
        json!({"request_check_mode": "last", "request_check_roles": ["user", "tool", "system"], "deny_code": 400}),
    );
    let fake = FakeComprehend::default();
    let body = chat(
        json!([{"role": "user", "content": "I want to kill you"}, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "What is 1+1?"}]),
    );
    allowed(run(&m, &fake, &body));
    assert_eq!(scored(&fake), [["What is 1+1?"]]);

    let fake = FakeComprehend::default();
    let body = chat(
        json!([{"role": "system", "content": "be helpful"}, {"role": "user", "content": "hi"},
                           {"role": "assistant", "content": "ok"}, {"role": "user", "content": "I want to kill you"}]),
    );
    assert_eq!(denied(run(&m, &fake, &body)).0, 400);
    assert_eq!(scored(&fake), [["be helpful I want to kill you"]]);
}

// TEST 59-61.
#[test]
fn roles_user_leaves_system_and_tool_unmoderated() {
    let m = moderation(json!({"request_check_roles": ["user"], "deny_code": 400}));
    let fake = FakeComprehend::default();
    let body = chat(
        json!([{"role": "system", "content": "I want to kill you"}, {"role": "user", "content": "What is 1+1?"},
                           {"role": "tool", "tool_call_id": "call_1", "content": "I want to kill you too"}]),
    );
    allowed(run(&m, &fake, &body));
    assert_eq!(scored(&fake), [["What is 1+1?"]]);
    let body = chat(
        json!([{"role": "system", "content": "be helpful"}, {"role": "user", "content": "I want to kill you"}]),
    );
    assert_eq!(denied(run(&m, &FakeComprehend::default(), &body)).0, 400);
}

// TEST 63-64.
#[test]
fn a_protocol_without_a_conversation_gets_fail_mode() {
    let body = br#"{"prompt":"I want to kill you"}"#;
    let request = ModerationRequest::new(Protocol::Passthrough, body, now());
    let fake = FakeComprehend::default();
    let e = ready(moderation(json!({"fail_mode": "error"})).moderate(&request, &fake)).unwrap_err();
    assert_eq!(e.status(), 500);
    assert_eq!(
        e.body(),
        "protocol passthrough cannot moderate the configured request_check_roles"
    );
    assert_eq!(e.content_type(), "text/plain");
    let skipped = ready(moderation(json!({})).moderate(&request, &fake)).unwrap();
    assert_eq!(
        skipped,
        Verdict::Skipped {
            reason: "ai-aws-content-moderation skipped: protocol passthrough cannot moderate the configured request_check_roles".to_owned(),
            warn: false
        }
    );
    assert!(fake.calls().is_empty());
}

// TEST 65-66.
#[test]
fn assistant_turns_widen_the_last_block() {
    let m = moderation(
        json!({"request_check_mode": "last", "request_check_roles": ["user", "assistant"], "deny_code": 400}),
    );
    let fake = FakeComprehend::default();
    let body = chat(
        json!([{"role": "user", "content": "I want to kill you"}, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "What is 1+1?"}]),
    );
    assert_eq!(denied(run(&m, &fake, &body)).0, 400);
    assert_eq!(scored(&fake), [["I want to kill you ok What is 1+1?"]]);
}

// TEST 67-70.
#[test]
fn developer_messages_follow_system() {
    let m =
        moderation(json!({"request_check_roles": ["user", "tool", "system"], "deny_code": 400}));
    let body = chat(
        json!([{"role": "system", "content": "be helpful"}, {"role": "developer", "content": "I want to kill you"},
                           {"role": "user", "content": "What is 1+1?"}]),
    );
    assert_eq!(denied(run(&m, &FakeComprehend::default(), &body)).0, 400);
    let m = moderation(json!({"request_check_roles": ["user"], "deny_code": 400}));
    let fake = FakeComprehend::default();
    let body = chat(
        json!([{"role": "developer", "content": "I want to kill you"}, {"role": "user", "content": "What is 1+1?"}]),
    );
    allowed(run(&m, &fake, &body));
    assert_eq!(scored(&fake), [["What is 1+1?"]]);
}

// ai-aws-content-moderation2.t TEST 2: Comprehend unreachable → 500, the
// request is not sent unmoderated. The message names the service, not its
// address.
#[test]
fn an_unreachable_service_fails_the_request() {
    let fake = FakeComprehend {
        unreachable: Some("connection refused"),
        ..FakeComprehend::default()
    };
    let e = run(&moderation(json!({})), &fake, &user("toxic")).unwrap_err();
    assert_eq!(e.status(), 500);
    assert_eq!(
        e.body(),
        "failed to send request to Comprehend: connection refused"
    );
}

#[test]
fn an_error_answer_fails_the_request_with_its_type() {
    let fake = FakeComprehend {
        answer: Some((
            400,
            r#"{"__type":"com.amazonaws.comprehend#TextSizeLimitExceededException","Message":"Input text size exceeds limit."}"#,
        )),
        ..FakeComprehend::default()
    };
    let e = run(&moderation(json!({})), &fake, &user("x")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "failed to get moderation results from response: Comprehend answered 400 TextSizeLimitExceededException: Input text size exceeds limit."
    );
    let fake = FakeComprehend {
        answer: Some((200, r#"{"ResultList":[]}"#)),
        ..FakeComprehend::default()
    };
    let e = run(&moderation(json!({})), &fake, &user("x")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "failed to get moderation results from response: Comprehend answered no results"
    );
}

#[test]
fn nothing_to_moderate_calls_nothing() {
    let fake = FakeComprehend::default();
    let m = moderation(json!({"request_check_roles": ["user"]}));
    let verdict = run(
        &m,
        &fake,
        &chat(json!([{"role": "assistant", "content": "toxic"}])),
    )
    .unwrap();
    assert_eq!(verdict, Verdict::Allow { scored: false });
    assert_eq!(
        run(
            &moderation(json!({"check_request": false})),
            &fake,
            &user("toxic")
        )
        .unwrap(),
        Verdict::Allow { scored: false }
    );
    assert!(fake.calls().is_empty());
}

#[test]
fn calls_are_signed_for_comprehend_at_the_endpoint_root() {
    let fake = FakeComprehend::default();
    allowed(run(&moderation(json!({})), &fake, &user("good_request")));
    let call = &fake.calls()[0];
    assert_eq!(call.uri, "http://localhost:2668/");
    assert_eq!(
        call.headers["x-amz-target"],
        "Comprehend_20171127.DetectToxicContent"
    );
    assert_eq!(call.headers["content-type"], "application/x-amz-json-1.1");
    assert_eq!(call.headers["x-amz-date"], "20260101T000000Z");
    let auth = call.headers["authorization"].to_str().unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=access/20260101/us-east-1/comprehend/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="),
        "{auth}"
    );
    // The default endpoint is the region's.
    let m = AwsContentModeration::from_value(&json!({"comprehend": {
        "access_key_id": "a", "secret_access_key": "s", "region": "eu-west-1"}}))
    .unwrap();
    assert_eq!(m.uri(), "https://comprehend.eu-west-1.amazonaws.com/");
    // An endpoint's path is not used, as in APISIX.
    let m = AwsContentModeration::from_value(&json!({"comprehend": {
        "access_key_id": "a", "secret_access_key": "s", "region": "eu-west-1", "endpoint": "https://vpce.example:8443/x/y"}})).unwrap();
    assert_eq!(m.uri(), "https://vpce.example:8443/");
}

#[test]
fn texts_with_escapes_reach_comprehend_decoded() {
    let fake = FakeComprehend::default();
    let body = r#"{"messages":[{"role":"user","content":"say \"hi\"\n\u00e9 ✓"}]}"#.as_bytes();
    allowed(run(&moderation(json!({})), &fake, body));
    assert_eq!(scored(&fake), [["say \"hi\"\né ✓"]]);
}

#[test]
fn the_refusal_speaks_the_client_protocol() {
    let m = moderation(json!({"deny_code": 400}));
    let fake = FakeComprehend::default();
    let refuse = |protocol, stream, body: &[u8]| {
        let request = ModerationRequest::new(protocol, body, now())
            .with_stream(stream)
            .with_model(Some("m"));
        let Verdict::Deny(d) = ready(m.moderate(&request, &fake)).unwrap() else {
            panic!()
        };
        (d.content_type, String::from_utf8(d.body.to_vec()).unwrap())
    };
    let chat_body = user("toxic");
    let (ct, body) = refuse(Protocol::OpenAiChat, true, &chat_body);
    assert_eq!(ct, "text/event-stream");
    assert_eq!(
        body,
        r#"data: {"id":"moderation-denied","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"request body exceeds toxicity threshold"},"finish_reason":"stop"}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}

data: [DONE]"#
    );
    let anthropic =
        br#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"toxic"}]}"#;
    let (ct, body) = refuse(Protocol::AnthropicMessages, false, anthropic);
    assert_eq!(ct, "application/json");
    assert_eq!(
        body,
        r#"{"id":"moderation-denied","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"request body exceeds toxicity threshold"}],"stop_reason":"end_turn","usage":{"input_tokens":0,"output_tokens":0}}"#
    );
    let (ct, body) = refuse(Protocol::AnthropicMessages, true, anthropic);
    assert_eq!(ct, "text/event-stream");
    let events: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(
        events,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let (_, body) = refuse(Protocol::OpenAiResponses, false, br#"{"input":"toxic"}"#);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["output"][0]["content"][0]["text"],
        "request body exceeds toxicity threshold"
    );
    let (_, body) = refuse(Protocol::OpenAiEmbeddings, false, br#"{"input":"toxic"}"#);
    assert_eq!(
        body,
        r#"{"error":{"message":"request body exceeds toxicity threshold","type":"content_policy_violation"}}"#
    );
    let (_, body) = refuse(
        Protocol::BedrockConverse,
        false,
        br#"{"messages":[{"role":"user","content":[{"text":"toxic"}]}]}"#,
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["stopReason"], "end_turn");
    assert_eq!(
        v["output"]["message"]["content"][0]["text"],
        "request body exceeds toxicity threshold"
    );
}

#[test]
fn an_unreadable_body_is_a_400() {
    let request = ModerationRequest::new(Protocol::OpenAiChat, b"{", now());
    let e =
        ready(moderation(json!({})).moderate(&request, &FakeComprehend::default())).unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(
        e.to_string()
            .starts_with("could not parse JSON request body"),
        "{e}"
    );
}
