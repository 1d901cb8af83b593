//! Translation over the real provider recordings in
//! `../shared/fixtures/wire/` (skipped when absent). Expectations are
//! computed from the recorded upstream events independently of the
//! translators, then compared with what the client would receive.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::fs;
use std::path::Path;

use ai_proxy_anthropic::{
    AnthropicToOpenAi, ChatToMessages, MessagesToChat, OpenAiToAnthropic, ToolNameMap,
};
use ai_proxy_core::adapter::{ConvertContext, Converter};
use ai_proxy_core::translate::ResponseTranslator;
use ai_proxy_core::{Provider, RequestType};
use bytes::BytesMut;
use common::{check_anthropic, check_openai, run, split_sse, wire_dir};
use http::StatusCode;
use serde_json::{Value, json};

fn files(dir: &Path, pred: impl Fn(&str) -> bool) -> Vec<(String, String)> {
    let mut out: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| pred(p.file_name().unwrap().to_str().unwrap()))
        .map(|p| {
            (
                p.file_name().unwrap().to_str().unwrap().to_owned(),
                fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn is_openai_chat_stream(name: &str) -> bool {
    name.ends_with(".sse")
        && !name.contains("anthropic")
        && !name.contains("gemini")
        && !name.contains("legacy-completions")
        && !name.starts_with("bedrock")
}

/// What an OpenAI chunk stream says, read with `Value` (the slow, obvious
/// way): text, reasoning, tool args per index, first finish reason, last usage.
fn expected_from_openai(
    events: &[(String, String)],
) -> (String, String, Vec<String>, Option<String>, Option<Value>) {
    let (mut text, mut reasoning, mut tools, mut finish, mut usage) = (
        String::new(),
        String::new(),
        Vec::<String>::new(),
        None,
        None,
    );
    for (kind, data) in events {
        if kind != "message" || data.trim() == "[DONE]" {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        if finish.is_some() {
            // The translator stops reading after the chunk that follows the finish.
            if usage.is_none() && v["usage"].is_object() {
                usage = Some(v["usage"].clone());
            }
            break;
        }
        if v["usage"].is_object() {
            usage = Some(v["usage"].clone());
        }
        let d = &v["choices"][0]["delta"];
        let r = if d.get("reasoning_content").is_some_and(|r| !r.is_null()) {
            &d["reasoning_content"]
        } else {
            &d["reasoning"]
        };
        if let Some(r) = r.as_str() {
            reasoning.push_str(r)
        }
        if let Some(t) = d["content"].as_str() {
            text.push_str(t)
        }
        for call in d["tool_calls"].as_array().into_iter().flatten() {
            let i = call["index"].as_u64().unwrap() as usize;
            if i >= tools.len() {
                tools.resize(i + 1, String::new())
            }
            if let Some(a) = call["function"]["arguments"].as_str() {
                tools[i].push_str(a)
            }
        }
        if let Some(f) = v["choices"][0]["finish_reason"].as_str()
            && !f.trim().is_empty()
            && f != "null"
        {
            finish = Some(f.to_owned());
        }
    }
    (text, reasoning, tools, finish, usage)
}

#[test]
fn openai_chat_recordings_become_well_formed_anthropic_streams() {
    let Some(dir) = wire_dir("sse") else { return };
    let mut seen = 0;
    for (name, body) in files(&dir, is_openai_chat_stream) {
        let events = split_sse(&body);
        let mut t = ChatToMessages::new(ToolNameMap::new(), None);
        let (out, r) = run(&mut t, &events);
        r.unwrap_or_else(|e| panic!("{name}: {e}"));
        let s = check_anthropic(&out);
        let (text, reasoning, tools, finish, usage) = expected_from_openai(&events);
        assert_eq!(s.text, text, "{name}: text");
        assert_eq!(s.thinking, reasoning, "{name}: thinking");
        let args: Vec<String> = s.tools.iter().map(|(_, a)| a.clone()).collect();
        assert_eq!(args, tools, "{name}: tool arguments");
        if s.error.is_none() {
            let want_stop = match finish.as_deref() {
                Some("length") => "max_tokens",
                Some("tool_calls" | "function_call") => "tool_use",
                _ => "end_turn",
            };
            assert_eq!(
                s.stop_reason.as_deref(),
                Some(want_stop),
                "{name}: stop_reason"
            );
            let got = s.usage.unwrap();
            if let Some(u) = usage {
                let cached = u["prompt_tokens_details"]["cached_tokens"]
                    .as_u64()
                    .unwrap_or(0);
                assert_eq!(
                    got["input_tokens"],
                    u["prompt_tokens"].as_u64().unwrap() - cached,
                    "{name}: input"
                );
                assert_eq!(
                    got["output_tokens"], u["completion_tokens"],
                    "{name}: output"
                );
            }
        }
        assert!(!out.contains("[DONE]"));
        seen += 1;
    }
    assert!(seen >= 10, "only {seen} OpenAI chat recordings");
}

#[test]
fn groq_error_event_reaches_the_anthropic_client() {
    let Some(dir) = wire_dir("sse") else { return };
    let body =
        fs::read_to_string(dir.join("groq-chat-stream-error-event-tool-use-failed.sse")).unwrap();
    let (out, r) = run(
        &mut ChatToMessages::new(ToolNameMap::new(), None),
        &split_sse(&body),
    );
    r.unwrap();
    let s = check_anthropic(&out);
    let e = s.error.expect("error event");
    assert_eq!(e["type"], "invalid_request_error");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("Tool call validation failed")
    );
}

#[test]
fn anthropic_recordings_become_well_formed_openai_streams() {
    let Some(dir) = wire_dir("sse") else { return };
    let mut seen = 0;
    for (name, body) in files(&dir, |n| {
        n.ends_with(".sse") && n.contains("anthropic-messages")
    }) {
        let events = split_sse(&body);
        let (out, r) = run(&mut MessagesToChat::new(), &events);
        r.unwrap_or_else(|e| panic!("{name}: {e}"));
        let s = check_openai(&out);

        // Expectations straight from the recording.
        let (mut text, mut thinking, mut stop) = (String::new(), String::new(), None);
        let mut tool_blocks: Vec<(u64, String, String, String)> = Vec::new();
        let mut usage = json!({});
        for (_, data) in &events {
            let Ok(v) = serde_json::from_str::<Value>(data) else {
                continue;
            };
            let mut merge = |u: &Value| {
                for (k, n) in u.as_object().into_iter().flatten() {
                    if n.is_u64() {
                        usage[k] = n.clone()
                    }
                }
            };
            match v["type"].as_str().unwrap_or_default() {
                "message_start" => merge(&v["message"]["usage"]),
                "message_delta" => {
                    merge(&v["usage"]);
                    stop = v["delta"]["stop_reason"].as_str().map(str::to_owned);
                }
                "content_block_start" if v["content_block"]["type"] == "tool_use" => tool_blocks
                    .push((
                        v["index"].as_u64().unwrap(),
                        v["content_block"]["id"].as_str().unwrap().to_owned(),
                        v["content_block"]["name"].as_str().unwrap().to_owned(),
                        String::new(),
                    )),
                "content_block_delta" => {
                    let d = &v["delta"];
                    match d["type"].as_str().unwrap_or_default() {
                        "text_delta" => text.push_str(d["text"].as_str().unwrap()),
                        "thinking_delta" => thinking.push_str(d["thinking"].as_str().unwrap()),
                        "input_json_delta" => {
                            if let Some(t) = tool_blocks.iter_mut().find(|t| v["index"] == t.0) {
                                t.3.push_str(d["partial_json"].as_str().unwrap());
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        assert_eq!(s.content, text, "{name}: text");
        assert_eq!(s.reasoning, thinking, "{name}: reasoning");
        let tools: Vec<_> = tool_blocks
            .into_iter()
            .map(|(_, id, n, a)| (id, n, a))
            .collect();
        assert_eq!(s.tools, tools, "{name}: tool calls");
        let want_finish = match stop.as_deref() {
            Some("max_tokens") => "length",
            Some("tool_use") => "tool_calls",
            _ => "stop",
        };
        assert_eq!(
            s.finish_reason.as_deref(),
            Some(want_finish),
            "{name}: finish"
        );
        let n = |k: &str| usage[k].as_u64().unwrap_or(0);
        let prompt =
            n("input_tokens") + n("cache_read_input_tokens") + n("cache_creation_input_tokens");
        let u = s.usage.unwrap();
        assert_eq!(u["prompt_tokens"], prompt, "{name}: prompt");
        assert_eq!(
            u["completion_tokens"],
            n("output_tokens"),
            "{name}: completion"
        );
        assert_eq!(
            u["prompt_tokens_details"]["cached_tokens"],
            n("cache_read_input_tokens"),
            "{name}"
        );
        seen += 1;
    }
    assert!(seen >= 6, "only {seen} Anthropic recordings");
}

#[test]
fn recordings_translate_the_same_when_fed_twice() {
    let Some(dir) = wire_dir("sse") else { return };
    for (name, body) in files(&dir, |n| n.ends_with(".sse")) {
        let events = split_sse(&body);
        let a = run(&mut MessagesToChat::new(), &events).0;
        let b = run(&mut MessagesToChat::new(), &events).0;
        assert_eq!(a, b, "{name}");
    }
}

#[test]
fn anthropic_message_recordings_become_chat_completions() {
    let Some(dir) = wire_dir("responses") else {
        return;
    };
    let mut seen = 0;
    for (name, body) in files(&dir, |n| {
        n.starts_with("anthropic-message") && !n.contains(".request.")
    }) {
        let src: Value = serde_json::from_str(&body).unwrap();
        let mut out = BytesMut::new();
        MessagesToChat::new()
            .translate_body(StatusCode::OK, body.as_bytes(), &mut out)
            .unwrap();
        let c: Value = serde_json::from_slice(&out).unwrap();
        let text: String = src["content"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "text")
            .map(|b| b["text"].as_str().unwrap())
            .collect();
        assert_eq!(
            c["choices"][0]["message"]["content"],
            text.as_str(),
            "{name}"
        );
        assert_eq!(c["model"], src["model"]);
        let u = &src["usage"];
        let prompt = u["input_tokens"].as_u64().unwrap()
            + u["cache_read_input_tokens"].as_u64().unwrap_or(0)
            + u["cache_creation_input_tokens"].as_u64().unwrap_or(0);
        assert_eq!(c["usage"]["prompt_tokens"], prompt, "{name}");
        assert_eq!(
            c["usage"]["completion_tokens"], u["output_tokens"],
            "{name}"
        );
        seen += 1;
    }
    assert!(seen >= 2);
}

#[test]
fn openai_chat_response_recordings_become_anthropic_messages() {
    let Some(dir) = wire_dir("responses") else {
        return;
    };
    let mut seen = 0;
    let chat = |n: &str| {
        !n.contains(".request.")
            && (n.starts_with("openai-chat")
                || n.starts_with("deepseek")
                || n.starts_with("groq-chat")
                || n.starts_with("mistral-chat")
                || n.starts_with("azure-openai-chat")
                || n.starts_with("openai-error"))
    };
    for (name, body) in files(&dir, chat) {
        let src: Value = serde_json::from_str(&body).unwrap();
        let mut out = BytesMut::new();
        ChatToMessages::new(ToolNameMap::new(), None)
            .translate_body(StatusCode::OK, body.as_bytes(), &mut out)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let m: Value = serde_json::from_slice(&out).unwrap();
        if src.get("error").is_some() {
            assert_eq!(m["type"], "error", "{name}");
            assert_eq!(m["error"]["message"], src["error"]["message"], "{name}");
            continue;
        }
        assert_eq!(m["type"], "message", "{name}");
        let msg = &src["choices"][0]["message"];
        let texts: Vec<&Value> = m["content"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "text")
            .collect();
        match msg["content"].as_str() {
            Some(t) if !t.is_empty() => assert_eq!(texts[0]["text"], t, "{name}"),
            _ => assert!(texts.is_empty() || texts[0]["text"] == ""),
        }
        let calls = msg["tool_calls"].as_array().cloned().unwrap_or_default();
        let uses: Vec<&Value> = m["content"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "tool_use")
            .collect();
        assert_eq!(uses.len(), calls.len(), "{name}");
        for (u, c) in uses.iter().zip(&calls) {
            assert_eq!(u["id"], c["id"]);
            let args: Value =
                serde_json::from_str(c["function"]["arguments"].as_str().unwrap()).unwrap();
            assert_eq!(u["input"], args, "{name}");
        }
        let p = src["usage"]["prompt_tokens"].as_u64().unwrap();
        let cached = src["usage"]["prompt_tokens_details"]["cached_tokens"]
            .as_u64()
            .unwrap_or(0);
        assert_eq!(m["usage"]["input_tokens"], p - cached, "{name}");
        assert_eq!(
            m["usage"]["output_tokens"], src["usage"]["completion_tokens"],
            "{name}"
        );
        seen += 1;
    }
    assert!(seen >= 5, "only {seen}");
}

#[test]
fn recorded_requests_convert_in_both_directions() {
    for sub in ["responses", "sse"] {
        let Some(dir) = wire_dir(sub) else { return };
        for (name, body) in files(&dir, |n| n.ends_with(".request.json")) {
            let ctx = ConvertContext::new(Provider::OpenAi, None, None, RequestType::AiChat);
            let v: Value = serde_json::from_str(&body).unwrap();
            if name.starts_with("anthropic") || name.contains("anthropic-messages") {
                let out = AnthropicToOpenAi
                    .convert_request(body.as_bytes(), &ctx)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                let o: Value = serde_json::from_slice(&out.body).unwrap();
                assert!(
                    o["messages"].as_array().unwrap().len()
                        >= v["messages"].as_array().unwrap().len(),
                    "{name}"
                );
                assert!(o.get("max_tokens").is_none());
            } else if v["messages"].is_array() && !name.contains("bedrock") {
                match OpenAiToAnthropic::new().convert_request(body.as_bytes(), &ctx) {
                    Ok(out) => {
                        let o: Value = serde_json::from_slice(&out.body).unwrap();
                        assert!(o["max_tokens"].is_u64(), "{name}");
                        assert!(o["messages"].is_array(), "{name}");
                    }
                    // Only parts Anthropic cannot take, or the recorded
                    // deliberately invalid request, may fail: a 400 naming the cause.
                    Err(e) => assert!(
                        e.message.contains("has no Anthropic equivalent")
                            || e.message.contains("only function tools")
                            || (name.contains("error") && e.message.contains("has no content")),
                        "{name}: {e}"
                    ),
                }
            }
        }
    }
}
