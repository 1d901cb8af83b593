//! `ai-aws-content-moderation` on a gateway route, against a Comprehend
//! served on 127.0.0.1 that speaks `DetectToxicContent`'s JSON protocol
//! and checks every request's SigV4 signature as AWS does (the headers
//! named in `SignedHeaders`, re-signed with the shared secret by the AWS
//! SDK's own signer, `aws-sigv4`): a bad signature is Comprehend's 400
//! `InvalidSignatureException`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde_json::{Value, json};

use crate::harness::{Gateway, Script, Seen, Upstream, openai_json, post};
use crate::route;

const KEY_ID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const REGION: &str = "us-east-1";

/// What the fake Comprehend saw of one call.
#[derive(Clone, Debug)]
struct Call {
    /// The signature verified.
    signed: bool,
    /// `TextSegments[].Text`.
    segments: Vec<String>,
}

/// A `DetectToxicContent` endpoint on 127.0.0.1.
struct Comprehend {
    server: Upstream,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Comprehend {
    fn start() -> Self {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&calls);
        let server = Upstream::start(move |seen| {
            let (call, answer) = detect_toxic_content(seen);
            log.lock().unwrap().push(call);
            answer
        });
        Self { server, calls }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

/// Comprehend's answer to one request: 400 for a bad signature or target,
/// else a score per segment (`idiot`: toxic; `damn`: profane).
fn detect_toxic_content(seen: &Seen) -> (Call, Script) {
    let error = |kind: &str, message: &str| Script::Reply {
        status: 400,
        content_type: "application/x-amz-json-1.1",
        body: json!({"__type": kind, "message": message}).to_string(),
    };
    let body: Value = serde_json::from_str(&seen.body).unwrap_or(Value::Null);
    let segments: Vec<String> = body["TextSegments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["Text"].as_str().map(str::to_owned))
        .collect();
    let signed = signature_verifies(seen);
    let call = Call {
        signed,
        segments: segments.clone(),
    };
    if !signed {
        return (
            call,
            error(
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.",
            ),
        );
    }
    if seen.method != "POST"
        || seen.path != "/"
        || seen.headers.get("x-amz-target").map(String::as_str)
            != Some("Comprehend_20171127.DetectToxicContent")
        || seen.headers.get("content-type").map(String::as_str)
            != Some("application/x-amz-json-1.1")
        || body["LanguageCode"] != "en"
    {
        return (
            call,
            error("UnknownOperationException", "unexpected request"),
        );
    }
    let results: Vec<Value> = segments
        .iter()
        .map(|text| {
            let toxic = if text.contains("idiot") { 0.92 } else { 0.02 };
            let profane = if text.contains("damn") { 0.81 } else { 0.01 };
            json!({"Labels": [
                {"Name": "PROFANITY", "Score": profane},
                {"Name": "HATE_SPEECH", "Score": 0.01},
                {"Name": "INSULT", "Score": toxic},
                {"Name": "GRAPHIC", "Score": 0.0},
                {"Name": "HARASSMENT_OR_ABUSE", "Score": 0.01},
                {"Name": "SEXUAL", "Score": 0.0},
                {"Name": "VIOLENCE_OR_THREAT", "Score": 0.0}],
                "Toxicity": toxic})
        })
        .collect();
    let answer = Script::Reply {
        status: 200,
        content_type: "application/x-amz-json-1.1",
        body: json!({ "ResultList": results }).to_string(),
    };
    (call, answer)
}

/// Re-signs the request AWS's way — the headers it lists in
/// `SignedHeaders`, at its `x-amz-date`, with the shared secret — and
/// compares the whole `Authorization` header.
fn signature_verifies(seen: &Seen) -> bool {
    let Some(authorization) = seen.headers.get("authorization") else {
        return false;
    };
    let Some(signed_headers) = authorization
        .split(", ")
        .find_map(|part| part.strip_prefix("SignedHeaders="))
    else {
        return false;
    };
    let Some(time) = seen.headers.get("x-amz-date").and_then(|d| amz_date(d)) else {
        return false;
    };
    let identity = aws_credential_types::Credentials::new(
        KEY_ID,
        SECRET,
        seen.headers.get("x-amz-security-token").cloned(),
        None,
        "comprehend-fake",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("comprehend")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers: Vec<(&str, &str)> = signed_headers
        .split(';')
        .filter(|h| !["x-amz-date", "x-amz-security-token"].contains(h))
        .filter_map(|h| seen.headers.get(h).map(|v| (h, v.as_str())))
        .collect();
    let uri = format!("http://{}{}", seen.headers["host"], seen.path);
    let Ok(signable) = SignableRequest::new(
        &seen.method,
        uri,
        headers.into_iter(),
        SignableBody::Bytes(seen.body.as_bytes()),
    ) else {
        return false;
    };
    let Ok(output) = sign(signable, &params) else {
        return false;
    };
    let (instructions, _) = output.into_parts();
    let (expected, _) = instructions.into_parts();
    expected
        .iter()
        .any(|h| h.name() == "authorization" && h.value() == authorization)
}

/// `20261130T002600Z` as a time.
fn amz_date(text: &str) -> Option<SystemTime> {
    let n = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (hh, mm, ss) = (n(9..11)?, n(11..13)?, n(13..15)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

fn upstream() -> Upstream {
    Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o", 5, 7),
    })
}

/// A route with `ai-aws-content-moderation` (`extra` members added to its
/// config) in front of `ai-proxy` to `up`.
fn moderated_route(up: &Upstream, comprehend: &Comprehend, secret: &str, extra: &str) -> String {
    route(
        "/v1/chat/completions",
        &format!(
            "ai-aws-content-moderation: {{\"comprehend\": {{\"access_key_id\": \"{KEY_ID}\", \"secret_access_key\": \"{secret}\", \"region\": \"{REGION}\", \"endpoint\": \"http://{}\"}}{extra}}}\n      ai-proxy: {{provider: openai, auth: {{header: {{Authorization: \"Bearer sk-route\"}}}}, override: {{endpoint: \"http://{}\"}}}}",
            comprehend.server.addr, up.addr
        ),
    )
}

#[test]
fn a_benign_prompt_is_scored_by_a_signed_call_and_reaches_the_upstream() {
    let (up, comprehend) = (upstream(), Comprehend::start());
    let gw = Gateway::start(&moderated_route(&up, &comprehend, SECRET, ""));
    let reply = post(
        gw.addr,
        "/v1/chat/completions",
        r#"{"model":"gpt-4o","messages":[{"role":"system","content":"Be kind."},{"role":"user","content":"What is a monad?"}]}"#,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let calls = comprehend.calls();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].signed);
    // APISIX's text: system first, then the turns, joined by spaces.
    assert_eq!(calls[0].segments, ["Be kind. What is a monad?"]);
    assert_eq!(up.requests().len(), 1);
}

#[test]
fn a_toxic_prompt_is_refused_with_apisixs_status_and_message_and_never_reaches_the_upstream() {
    let (up, comprehend) = (upstream(), Comprehend::start());
    let gw = Gateway::start(&moderated_route(&up, &comprehend, SECRET, ""));
    let reply = post(
        gw.addr,
        "/v1/chat/completions",
        r#"{"model":"gpt-4o","messages":[{"role":"user","content":"you idiot"}]}"#,
    );
    // APISIX's deny_code default: 200, the refusal as a completion.
    assert_eq!(reply.status, 200);
    let answer: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["model"], "gpt-4o");
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "request body exceeds toxicity threshold"
    );
    assert!(comprehend.calls()[0].signed);
    assert!(up.requests().is_empty());
}

#[test]
fn a_category_over_its_threshold_refuses_with_deny_code_and_deny_message() {
    let (up, comprehend) = (upstream(), Comprehend::start());
    let gw = Gateway::start(&moderated_route(
        &up,
        &comprehend,
        SECRET,
        r#", "moderation_categories": {"PROFANITY": 0.5}, "moderation_threshold": 0.9, "deny_code": 400, "deny_message": "Please rephrase.""#,
    ));
    let reply = post(
        gw.addr,
        "/v1/chat/completions",
        r#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"damn this"}]}"#,
    );
    assert_eq!(reply.status, 400);
    assert_eq!(reply.headers["content-type"], "text/event-stream");
    assert!(
        reply
            .body
            .contains(r#""delta":{"content":"Please rephrase."}"#),
        "{}",
        reply.body
    );
    assert!(up.requests().is_empty());
    // Under every threshold: sent upstream.
    let reply = post(
        gw.addr,
        "/v1/chat/completions",
        r#"{"model":"gpt-4o","messages":[{"role":"user","content":"fine words"}]}"#,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(up.requests().len(), 1);
}

#[test]
fn a_request_comprehend_cannot_authenticate_fails_closed_with_500() {
    let (up, comprehend) = (upstream(), Comprehend::start());
    let gw = Gateway::start(&moderated_route(&up, &comprehend, "not-the-secret", ""));
    let reply = post(
        gw.addr,
        "/v1/chat/completions",
        r#"{"model":"gpt-4o","messages":[{"role":"user","content":"What is a monad?"}]}"#,
    );
    assert_eq!(reply.status, 500);
    assert!(
        reply.body.contains("InvalidSignatureException"),
        "{}",
        reply.body
    );
    assert!(!reply.body.contains("not-the-secret"));
    assert!(!comprehend.calls()[0].signed);
    assert!(up.requests().is_empty());
}

#[test]
fn an_unreachable_comprehend_fails_closed_with_500() {
    let up = upstream();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let gw = Gateway::start(&route(
        "/v1/chat/completions",
        &format!(
            "ai-aws-content-moderation: {{\"comprehend\": {{\"access_key_id\": \"{KEY_ID}\", \"secret_access_key\": \"{SECRET}\", \"region\": \"{REGION}\", \"endpoint\": \"http://{addr}\"}}}}\n      ai-proxy: {{provider: openai, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}",
            up.addr
        ),
    ));
    let reply = post(
        gw.addr,
        "/v1/chat/completions",
        r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(reply.status, 500);
    assert!(
        reply
            .body
            .starts_with("failed to send request to Comprehend"),
        "{}",
        reply.body
    );
    assert!(
        !reply.body.contains(&addr.port().to_string()),
        "{}",
        reply.body
    );
    assert!(up.requests().is_empty());
}
