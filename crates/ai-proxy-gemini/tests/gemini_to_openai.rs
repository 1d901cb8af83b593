//! Golden tests of the response mapping, Gemini → OpenAI chat: whole
//! bodies and streams, one behaviour per test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use ai_proxy_core::translate::{ResponseTranslator, TranslateError};
use ai_proxy_gemini::{GeminiToChat, MAX_CANDIDATES};
use bytes::BytesMut;
use common::{check_openai, run, split_sse};
use http::StatusCode;
use serde_json::{Value, json};

fn body(native: Value) -> Value {
    let mut out = BytesMut::new();
    GeminiToChat::new(false, Some("gemini-2.5-flash"))
        .translate_body(
            StatusCode::OK,
            &serde_json::to_vec(&native).unwrap(),
            &mut out,
        )
        .unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn events(chunks: &[Value]) -> Vec<(String, String)> {
    chunks
        .iter()
        .map(|c| ("message".to_owned(), c.to_string()))
        .collect()
}

fn stream(chunks: &[Value], include_usage: bool) -> String {
    let (out, r) = run(
        &mut GeminiToChat::new(include_usage, Some("gemini-2.5-flash")),
        &events(chunks),
    );
    r.unwrap();
    out
}

fn candidate(parts: Value) -> Value {
    json!({"content": {"role": "model", "parts": parts}})
}

#[test]
fn a_body_becomes_a_chat_completion_with_reasoning_tools_signatures_and_usage() {
    let out = body(json!({
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "Let me think.", "thought": true},
            {"text": "It is "},
            {"text": "sunny.", "thoughtSignature": "TXT"},
            {"functionCall": {"name": "get_weather", "args": {"city": "Zürich", "n": 1}}, "thoughtSignature": "FN"},
        ]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": 7,
            "cachedContentTokenCount": 4, "totalTokenCount": 22},
        "modelVersion": "gemini-2.5-pro", "responseId": "resp1",
    }));
    assert_eq!(
        out,
        json!({
            "id": "resp1", "object": "chat.completion", "created": 0, "model": "gemini-2.5-pro",
            "choices": [{"index": 0, "message": {
                "role": "assistant", "content": "It is sunny.", "reasoning_content": "Let me think.",
                "tool_calls": [{"id": "call_resp1_0", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\":\"Zürich\",\"n\":1}"},
                    "extra_content": {"google": {"thought_signature": "FN"}}}],
                "extra_content": {"google": {"thought_signature": "TXT"}},
            }, "logprobs": null, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 12, "total_tokens": 22,
                "prompt_tokens_details": {"cached_tokens": 4},
                "completion_tokens_details": {"reasoning_tokens": 7}},
        })
    );
}

#[test]
fn function_call_ids_from_gemini_are_kept() {
    let out = body(json!({"candidates": [candidate(json!([
        {"functionCall": {"id": "fc-7", "name": "f", "args": {}}}]))]}));
    assert_eq!(out["choices"][0]["message"]["tool_calls"][0]["id"], "fc-7");
}

#[test]
fn finish_reasons_map_to_openai_ones() {
    for (reason, want) in [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "stop"),
        ("OTHER", "stop"),
    ] {
        let out = body(
            json!({"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": reason}]}),
        );
        assert_eq!(out["choices"][0]["finish_reason"], want, "{reason}");
    }
}

#[test]
fn a_blocked_prompt_is_one_content_filtered_choice() {
    let out = body(json!({"promptFeedback": {"blockReason": "SAFETY"},
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}}));
    assert_eq!(
        out["choices"],
        json!([{"index": 0, "message": {"role": "assistant", "content": null},
            "logprobs": null, "finish_reason": "content_filter"}])
    );
    assert_eq!(out["usage"]["prompt_tokens"], 8);
}

#[test]
fn several_candidates_are_several_choices() {
    let out = body(json!({"candidates": [
        {"content": {"parts": [{"text": "b"}]}, "index": 1, "finishReason": "MAX_TOKENS"},
        {"content": {"parts": [{"text": "a"}]}, "index": 0, "finishReason": "STOP"},
    ]}));
    assert_eq!(out["choices"][0]["message"]["content"], "a");
    assert_eq!(out["choices"][1]["message"]["content"], "b");
    assert_eq!(out["choices"][1]["finish_reason"], "length");
}

#[test]
fn a_missing_model_version_names_the_requested_model() {
    let out = body(json!({"candidates": [candidate(json!([{"text": "x"}]))]}));
    assert_eq!(out["model"], "gemini-2.5-flash");
    assert_eq!(out["id"], "");
}

#[test]
fn an_error_body_becomes_an_openai_error() {
    let out = body(
        json!({"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT"}}),
    );
    assert_eq!(
        out,
        json!({"error": {"message": "API key not valid.", "type": "INVALID_ARGUMENT", "param": null, "code": 400}})
    );
}

#[test]
fn a_body_that_is_not_json_passes_verbatim() {
    let mut out = BytesMut::new();
    GeminiToChat::new(false, None)
        .translate_body(StatusCode::BAD_GATEWAY, b"upstream connect error", &mut out)
        .unwrap();
    assert_eq!(&out[..], b"upstream connect error");
}

#[test]
fn a_json_body_of_another_shape_is_a_500() {
    let mut out = BytesMut::new();
    let e = GeminiToChat::new(false, None)
        .translate_body(StatusCode::OK, br#"{"candidates":"nope"}"#, &mut out)
        .unwrap_err();
    assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[test]
fn a_json_array_body_is_folded_into_one_completion() {
    let out = body(json!([
        {"candidates": [candidate(json!([{"text": "Hel"}]))], "responseId": "r", "modelVersion": "gemini-2.0-flash"},
        {"candidates": [{"content": {"parts": [{"text": "lo"}]}, "finishReason": "STOP"}],
         "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 2, "totalTokenCount": 4}},
    ]));
    assert_eq!(out["choices"][0]["message"]["content"], "Hello");
    assert_eq!(out["usage"]["total_tokens"], 4);
    assert_eq!(out["model"], "gemini-2.0-flash");
}

#[test]
fn a_stream_starts_with_the_role_and_streams_text_and_thoughts() {
    let out = stream(
        &[
            json!({"candidates": [candidate(json!([{"text": "hmm", "thought": true}]))], "responseId": "r1", "modelVersion": "gemini-2.5-pro"}),
            json!({"candidates": [candidate(json!([{"text": "Hi \"you\"\n"}]))], "responseId": "r1"}),
            json!({"candidates": [{"content": {"parts": [{"text": "!"}]}, "finishReason": "STOP"}]}),
        ],
        false,
    );
    let chunks: Vec<Value> = split_sse(&out)
        .iter()
        .filter(|(_, d)| d != "[DONE]")
        .map(|(_, d)| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "reasoning_content": "hmm"})
    );
    assert_eq!(
        chunks[1]["choices"][0]["delta"],
        json!({"content": "Hi \"you\"\n"})
    );
    assert_eq!(chunks[2]["choices"][0]["delta"], json!({"content": "!"}));
    assert_eq!(
        chunks[3]["choices"][0],
        json!({"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"})
    );
    assert_eq!(chunks[3]["id"], "r1");
    assert_eq!(chunks[3]["model"], "gemini-2.5-pro");
    assert_eq!(chunks.len(), 4, "no usage chunk unless asked for");
    assert!(out.ends_with("data: [DONE]\n\n"));
}

#[test]
fn a_streamed_function_call_arrives_whole_with_its_signature() {
    let out = stream(
        &[json!({"candidates": [{"content": {"parts": [
            {"functionCall": {"name": "get_country", "args": {"a": [1, 2]}}, "thoughtSignature": "SIG"},
            {"functionCall": {"name": "now"}},
        ]}, "finishReason": "STOP"}], "responseId": "R"})],
        true,
    );
    let s = check_openai(&out, true);
    let tools = &s.choices[&0].tools;
    assert_eq!(tools[0].id, "call_R_0");
    assert_eq!(tools[0].arguments, "{\"a\":[1,2]}");
    assert_eq!(tools[0].signature.as_deref(), Some("SIG"));
    assert_eq!(tools[1].id, "call_R_1");
    assert_eq!(tools[1].arguments, "{}");
    assert_eq!(tools[1].signature, None);
    assert_eq!(s.choices[&0].finish_reason.as_deref(), Some("tool_calls"));
    let first: Value = serde_json::from_str(&split_sse(&out)[0].1).unwrap();
    assert_eq!(first["choices"][0]["delta"]["content"], Value::Null);
}

#[test]
fn a_text_signature_travels_in_the_delta_even_on_an_empty_part() {
    let out = stream(
        &[
            json!({"candidates": [candidate(json!([{"text": "OK"}]))]}),
            json!({"candidates": [{"content": {"parts": [{"text": "", "thoughtSignature": "S2"}]}, "finishReason": "STOP"}]}),
        ],
        false,
    );
    let s = check_openai(&out, false);
    assert_eq!(s.choices[&0].content, "OK");
    assert_eq!(s.choices[&0].signatures, vec!["S2".to_owned()]);
}

#[test]
fn content_after_a_repeated_finish_reason_still_streams() {
    // Vertex repeats `finishReason` on every chunk of some streams.
    let out = stream(
        &[
            json!({"candidates": [{"content": {"parts": [{"text": "First "}]}, "finishReason": "STOP"}]}),
            json!({"candidates": [{"content": {"parts": [{"text": "Second"}]}, "finishReason": "STOP"}]}),
        ],
        false,
    );
    let s = check_openai(&out, false);
    assert_eq!(s.choices[&0].content, "First Second");
    assert_eq!(s.choices[&0].finish_reason.as_deref(), Some("stop"));
}

#[test]
fn a_blocked_prompt_stream_is_one_content_filtered_choice() {
    let out = stream(
        &[
            json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {"promptTokenCount": 3}}),
        ],
        true,
    );
    let s = check_openai(&out, true);
    assert_eq!(
        s.choices[&0].finish_reason.as_deref(),
        Some("content_filter")
    );
    assert_eq!(s.usage.unwrap()["prompt_tokens"], 3);
}

#[test]
fn stream_usage_merges_like_the_observer() {
    let out = stream(
        &[
            json!({"candidates": [candidate(json!([{"text": "a", "thought": true}]))],
                "usageMetadata": {"promptTokenCount": 9, "thoughtsTokenCount": 50, "totalTokenCount": 59}}),
            json!({"candidates": [{"content": {"parts": [{"text": "b"}]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 3, "thoughtsTokenCount": 50,
                    "toolUsePromptTokenCount": 40, "totalTokenCount": 102}}),
        ],
        true,
    );
    assert_eq!(
        check_openai(&out, true).usage.unwrap(),
        json!({"prompt_tokens": 9, "completion_tokens": 53, "total_tokens": 102,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 50}})
    );
}

#[test]
fn several_streamed_candidates_are_several_choices() {
    let out = stream(
        &[
            json!({"candidates": [{"content": {"parts": [{"text": "a"}]}, "index": 0},
                {"content": {"parts": [{"text": "b"}]}, "index": 1}]}),
            json!({"candidates": [{"content": {"parts": [{"text": "c"}]}, "index": 1, "finishReason": "MAX_TOKENS"}]}),
        ],
        false,
    );
    let s = check_openai(&out, false);
    assert_eq!(s.choices[&0].content, "a");
    assert_eq!(s.choices[&1].content, "bc");
    assert_eq!(s.choices[&1].finish_reason.as_deref(), Some("length"));
    assert_eq!(s.choices[&0].finish_reason.as_deref(), Some("stop"));
}

#[test]
fn an_error_event_ends_the_stream_with_an_error_chunk() {
    let out = stream(
        &[
            json!({"candidates": [candidate(json!([{"text": "partial"}]))]}),
            json!({"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}),
            json!({"candidates": [candidate(json!([{"text": "ignored"}]))]}),
        ],
        true,
    );
    let s = check_openai(&out, true);
    assert_eq!(s.choices[&0].content, "partial");
    assert_eq!(
        s.error.unwrap(),
        json!({"message": "boom", "type": "INTERNAL", "param": null, "code": 500})
    );
    assert!(!out.contains("[DONE]"));
}

#[test]
fn malformed_events_are_skipped_and_counted() {
    let mut t = GeminiToChat::new(false, None);
    let mut out = BytesMut::new();
    for data in [
        "not json",
        r#"{"candidates":"x"}"#,
        "",
        r#"{"candidates":[{"content":{"parts":[{"text":"ok"}]}}]}"#,
    ] {
        t.translate_event("message", data, &mut out).unwrap();
    }
    t.finish(&mut out).unwrap();
    assert_eq!(t.skipped_events(), 2);
    let s = check_openai(std::str::from_utf8(&out).unwrap(), false);
    assert_eq!(s.choices[&0].content, "ok");
}

#[test]
fn a_stream_without_candidates_is_empty() {
    let (out, r) = run(
        &mut GeminiToChat::new(true, None),
        &events(&[json!({"usageMetadata": {"promptTokenCount": 1}})]),
    );
    assert_eq!(r, Err(TranslateError::EmptyStream));
    assert!(out.is_empty());
}

#[test]
fn candidates_past_the_cap_are_skipped() {
    let many: Vec<Value> = (0..=MAX_CANDIDATES)
        .map(|i| json!({"content": {"parts": [{"text": "x"}]}, "index": i}))
        .collect();
    let mut t = GeminiToChat::new(false, None);
    let (out, r) = run(&mut t, &events(&[json!({"candidates": many})]));
    r.unwrap();
    assert_eq!(check_openai(&out, false).choices.len(), MAX_CANDIDATES);
    assert_eq!(t.skipped_events(), 1);
}

#[test]
fn an_odd_token_count_does_not_drop_the_chunk_it_is_in() {
    let out = stream(
        &[
            json!({"candidates": [{"content": {"parts": [{"text": "kept"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": "12", "candidatesTokenCount": 2, "totalTokenCount": null}}),
        ],
        true,
    );
    let s = check_openai(&out, true);
    assert_eq!(s.choices[&0].content, "kept");
    assert_eq!(s.usage.unwrap()["completion_tokens"], 2);
}
