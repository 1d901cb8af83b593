//! `provider: bedrock` through `ai-proxy serve`: an OpenAI client, the
//! gateway, and a fake Bedrock upstream replaying a recorded ConverseStream
//! event stream; the request on the wire is checked against an independent
//! SigV4 implementation, the client gets OpenAI SSE, the access log the
//! usage.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::harness::{Gateway, Script, Seen, Upstream, post, post_with};

const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";
const NOVA_TEXT: &str = "The capital of France is Paris. Paris is not only the capital city but also the most populous city in France, and it is a major center for culture, commerce, fashion, and international diplomacy. Known for its historical landmarks, such as the Eiffel Tower, the Louvre Museum, and Notre-Dame Cathedral, Paris is often referred to as \"The City of Light\" or \"The City of Love.\"";

fn recording(name: &str) -> Option<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("shared/fixtures/wire"))
        .find(|d| d.is_dir());
    match dir {
        Some(dir) => Some(std::fs::read(dir.join(name)).unwrap()),
        None => {
            eprintln!("skipping: ../shared/fixtures/wire not found");
            None
        }
    }
}

fn nova_stream() -> Option<Vec<u8>> {
    recording("sse/bedrock-converse-stream-nova-micro.eventstream")
}

fn bedrock_route(uri: &str, up: &Upstream) -> String {
    format!(
        "version: \"1\"\nroutes:\n  - id: bedrock\n    uri: {uri}\n    plugins:\n      ai-proxy:\n        provider: bedrock\n        auth:\n          aws: {{access_key_id: AKIDGATEWAYTEST, secret_access_key: gw-secret-key, session_token: gw-session}}\n        provider_conf: {{region: us-east-1}}\n        options: {{model: \"amazon.nova-micro-v1:0\"}}\n        override: {{endpoint: \"http://{}\"}}\n",
        up.addr
    )
}

/// Replays `wire` in 700-byte chunks (messages split across chunks).
fn replay(wire: Vec<u8>) -> Script {
    Script::Binary {
        content_type: EVENT_STREAM,
        chunks: wire.chunks(700).map(<[u8]>::to_vec).collect(),
        gap: Duration::from_millis(2),
    }
}

/// `YYYYMMDDTHHMMSSZ` → SystemTime.
fn amz_date(s: &str) -> SystemTime {
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(4..6), n(6..8));
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + (153 * m + 2) / 5 + d - 1;
    let days = u64::try_from(era * 146_097 + doe - 719_468).unwrap();
    let secs = days * 86_400 + (n(9..11) * 3600 + n(11..13) * 60 + n(13..15)) as u64;
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Signs what the upstream received again with aws-sigv4 and compares.
fn assert_signed_on_the_wire(seen: &Seen) {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let unsigned: Vec<(&str, &str)> = seen
        .headers
        .iter()
        .filter(|(n, _)| {
            ![
                "authorization",
                "x-amz-date",
                "x-amz-security-token",
                "user-agent",
            ]
            .contains(&n.as_str())
        })
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let identity = aws_credential_types::Credentials::new(
        "AKIDGATEWAYTEST",
        "gw-secret-key",
        Some("gw-session".to_owned()),
        None,
        "test",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("bedrock")
        .time(amz_date(&seen.headers["x-amz-date"]))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let uri = format!("http://{}{}", seen.headers["host"], seen.path);
    let signable = SignableRequest::new(
        &seen.method,
        uri,
        unsigned.into_iter(),
        SignableBody::Bytes(seen.body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let (expected, _) = instructions.into_parts();
    for header in expected {
        assert_eq!(
            seen.headers[header.name()],
            header.value(),
            "{}",
            header.name()
        );
    }
}

#[test]
fn openai_clients_stream_from_bedrock_converse_with_usage_in_the_log() {
    let Some(wire) = nova_stream() else { return };
    let up = Upstream::start(move |_| replay(wire.clone()));
    let gw = Gateway::start(&bedrock_route("/v1/chat/completions", &up));
    let reply = post_with(
        gw.addr,
        "/v1/chat/completions",
        r#"{"model":"ignored","stream":true,"messages":[{"role":"system","content":"You are a helpful chatbot."},{"role":"user","content":"What is the capital of France?"}]}"#,
        &[("authorization", "Bearer client-key")],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers["content-type"], "text/event-stream");
    let mut text = String::new();
    let mut usage = None;
    for event in reply.body.split("\n\n").filter(|e| !e.is_empty()) {
        let data = event.strip_prefix("data: ").unwrap();
        if data == "[DONE]" {
            continue;
        }
        let chunk: serde_json::Value = serde_json::from_str(data).unwrap();
        for choice in chunk["choices"].as_array().unwrap() {
            text.push_str(choice["delta"]["content"].as_str().unwrap_or(""));
        }
        if chunk.get("usage").is_some() {
            usage = Some(chunk["usage"].clone());
        }
    }
    assert_eq!(text, NOVA_TEXT);
    let usage = usage.unwrap();
    assert_eq!(
        (
            &usage["prompt_tokens"],
            &usage["completion_tokens"],
            &usage["total_tokens"]
        ),
        (
            &serde_json::json!(13),
            &serde_json::json!(82),
            &serde_json::json!(95)
        )
    );
    assert!(reply.body.ends_with("data: [DONE]\n\n"));

    let log = gw.access_log();
    assert_eq!(log["status"], 200);
    assert_eq!(log["request_type"], "ai_stream");
    assert_eq!(log["llm_prompt_tokens"], "13");
    assert_eq!(log["llm_completion_tokens"], "82");
    assert_eq!(log["llm_total_tokens"], "95");
    assert_eq!(log["llm_model"], "amazon.nova-micro-v1:0");

    let seen = &up.requests()[0];
    assert_eq!(seen.path, "/model/amazon.nova-micro-v1%3A0/converse-stream");
    let auth = &seen.headers["authorization"];
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDGATEWAYTEST/"),
        "{auth}"
    );
    assert!(!auth.contains("client-key"));
    let body: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(
        body["system"],
        serde_json::json!([{"text": "You are a helpful chatbot."}])
    );
    assert!(body.get("stream").is_none() && body.get("model").is_none());
    assert_signed_on_the_wire(seen);
}

#[test]
fn converse_clients_get_the_event_stream_byte_for_byte_and_it_is_metered() {
    let Some(wire) = nova_stream() else { return };
    let expected = wire.clone();
    let up = Upstream::start(move |_| replay(wire.clone()));
    let gw = Gateway::start(&bedrock_route("/converse", &up));
    let reply = post(
        gw.addr,
        "/converse",
        r#"{"stream":true,"messages":[{"role":"user","content":[{"text":"What is the capital of France?"}]}],"inferenceConfig":{"temperature":0.0}}"#,
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], EVENT_STREAM);
    assert_eq!(reply.raw, expected);
    let log = gw.access_log();
    assert_eq!(log["llm_total_tokens"], "95");
    assert_eq!(log["llm_prompt_tokens"], "13");
    let seen = &up.requests()[0];
    assert_eq!(seen.path, "/model/amazon.nova-micro-v1%3A0/converse-stream");
    assert_eq!(
        seen.body,
        r#"{"messages":[{"role":"user","content":[{"text":"What is the capital of France?"}]}],"inferenceConfig":{"temperature":0.0}}"#
    );
    assert_signed_on_the_wire(seen);
}

#[test]
fn bedrock_throttling_reaches_openai_clients_as_a_429_error_object() {
    let up = Upstream::start(|_| Script::Reply {
        status: 429,
        content_type: "application/json",
        body: r#"{"message":"Too many requests, please wait before trying again."}"#.to_owned(),
    });
    let gw = Gateway::start(&bedrock_route("/v1/chat/completions", &up));
    let reply = post(
        gw.addr,
        "/v1/chat/completions",
        r#"{"messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(reply.status, 429);
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert_eq!(body["error"]["code"], "ThrottlingException");
    assert_eq!(gw.access_log()["status"], 429);
}
