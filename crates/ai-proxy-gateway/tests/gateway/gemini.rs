//! An OpenAI client with tools through `ai-proxy serve` to a native Gemini
//! route: the fake upstream replays Google's recorded Gemini 3 tool-call
//! stream with its `thoughtSignature`; the client's next request, built
//! from what it received, must carry the signature back upstream (Gemini 3
//! answers 400 to a tool-call turn without it).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Gateway, Script, Upstream, post};

/// The recording, if `../shared/fixtures/wire` is present.
fn recording() -> Option<String> {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let file = dir
            .join("shared/fixtures/wire/sse/gemini-stream-3-pro-tool-call-thought-signature.sse");
        if file.is_file() {
            return std::fs::read_to_string(file).ok();
        }
        if !dir.pop() {
            eprintln!("skipping: shared/fixtures/wire not found");
            return None;
        }
    }
}

/// The recorded stream, one upstream write per event.
fn events(recorded: &str) -> Vec<String> {
    recorded
        .split_inclusive("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

const ANSWER: &str = r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"The capital is Paris."}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":40,"candidatesTokenCount":6,"totalTokenCount":46},"modelVersion":"gemini-3-pro-preview","responseId":"r2"}"#;

#[test]
fn a_tool_call_thought_signature_round_trips_through_the_gateway() {
    let Some(recorded) = recording() else { return };
    let stream = events(&recorded);
    let up = Upstream::start(move |seen| {
        if seen.path.contains(":streamGenerateContent") {
            Script::Stream {
                events: stream.clone(),
                gap: Duration::from_millis(5),
            }
        } else {
            Script::Reply {
                status: 200,
                content_type: "application/json",
                body: ANSWER.to_owned(),
            }
        }
    });
    let gw = Gateway::start(&format!(
        "version: \"1\"\nroutes:\n  - id: gemini\n    uri: /v1/chat/completions\n    plugins:\n      ai-proxy:\n        provider: gemini\n        auth: {{header: {{x-goog-api-key: AIza-route}}}}\n        override: {{endpoint: \"http://{}/v1beta/models\"}}\n",
        up.addr
    ));
    let tools = json!([{"type": "function", "function": {"name": "get_country", "description": "",
        "parameters": {"type": "object", "properties": {}, "additionalProperties": false}}}]);
    let question = json!({"role": "user", "content": "What is the capital of the user country? Call the tool"});

    // Turn 1: the model calls the tool; the client streams it.
    let first = json!({"model": "gemini-3-pro-preview", "stream": true, "stream_options": {"include_usage": true},
        "messages": [question], "tools": tools});
    let reply = post(gw.addr, "/v1/chat/completions", &first.to_string());
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers["content-type"], "text/event-stream");
    assert!(reply.body.ends_with("data: [DONE]\n\n"), "{}", reply.body);
    let chunks: Vec<Value> = reply
        .body
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let call = chunks
        .iter()
        .find_map(|c| c["choices"][0]["delta"]["tool_calls"][0].as_object())
        .expect("a tool call chunk")
        .clone();
    let signature = call["extra_content"]["google"]["thought_signature"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(signature.starts_with("EpwICpkIAXLI2nxl"), "{signature}");
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(usage["prompt_tokens"], 29);
    assert_eq!(usage["completion_tokens"], 212);
    assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 202);

    let seen = &up.requests()[0];
    assert_eq!(
        seen.path,
        "/v1beta/models/gemini-3-pro-preview:streamGenerateContent?alt=sse"
    );
    assert_eq!(seen.headers["x-goog-api-key"], "AIza-route");
    assert!(!seen.headers.contains_key("authorization"));
    let sent: Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(
        sent["tools"][0]["functionDeclarations"][0],
        json!({"name": "get_country", "description": ""})
    );
    let log = gw.access_log();
    assert_eq!(log["llm_prompt_tokens"], "29");
    assert_eq!(log["llm_completion_tokens"], "212");
    assert_eq!(log["llm_has_tool_calls"], "true");

    // Turn 2: the client sends the assistant turn back as it received it
    // (tool call with its extra_content) plus the tool's result.
    let mut assistant_call = json!({"id": call["id"], "type": "function", "function": {
        "name": call["function"]["name"], "arguments": call["function"]["arguments"]}});
    assistant_call["extra_content"] = call["extra_content"].clone();
    let second = json!({"model": "gemini-3-pro-preview", "tools": tools, "messages": [
        question,
        {"role": "assistant", "content": null, "tool_calls": [assistant_call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "{\"country\":\"France\"}"},
    ]});
    let reply = post(gw.addr, "/v1/chat/completions", &second.to_string());
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "The capital is Paris."
    );

    let seen = &up.requests()[1];
    assert_eq!(
        seen.path,
        "/v1beta/models/gemini-3-pro-preview:generateContent"
    );
    let sent: Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(
        sent["contents"][1],
        json!({"role": "model", "parts": [{
            "functionCall": {"id": call["id"], "name": "get_country", "args": {}},
            "thoughtSignature": signature,
        }]})
    );
    assert_eq!(
        sent["contents"][2],
        json!({"role": "user", "parts": [{"functionResponse": {"id": call["id"], "name": "get_country",
            "response": {"content": "{\"country\":\"France\"}"}}}]})
    );
    assert_eq!(gw.access_log()["llm_total_tokens"], "46");
}
