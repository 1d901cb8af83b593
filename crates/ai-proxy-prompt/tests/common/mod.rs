//! A fake AWS Comprehend that answers as APISIX's mock in
//! t/plugin/ai-aws-content-moderation.t does, and a poller for futures
//! that never wait.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::future::Future;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use ai_proxy_prompt::moderation::{BoxFuture, ModerationCall, ModerationClient};
use bytes::Bytes;
use http::Response;
use serde_json::{Value, json};

/// APISIX's canned answers, by text.
pub fn fixtures() -> Value {
    serde_json::from_str(include_str!(
        "../fixtures/content-moderation-responses.json"
    ))
    .unwrap()
}

/// One call the fake received.
#[derive(Clone, Debug)]
pub struct Received {
    pub uri: String,
    pub headers: http::HeaderMap,
    pub segments: Vec<String>,
    pub keepalive: bool,
}

/// Answers each segment from the fixtures (text containing `kill` is
/// `toxic`, unknown text `good_request`), refusing what Comprehend
/// refuses: over 10 segments, over 10 240 bytes, a segment over 1 024.
#[derive(Default)]
pub struct FakeComprehend {
    pub received: Mutex<Vec<Received>>,
    /// Answer with this status and body instead.
    pub answer: Option<(u16, &'static str)>,
    /// Fail every call in transit with this reason.
    pub unreachable: Option<&'static str>,
}

impl FakeComprehend {
    pub fn calls(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn respond(&self, call: &ModerationCall) -> Response<Bytes> {
        let body: Value = serde_json::from_slice(call.request.body()).unwrap();
        let segments: Vec<String> = body["TextSegments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Text"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(body["LanguageCode"], "en");
        self.received.lock().unwrap().push(Received {
            uri: call.request.uri().to_string(),
            headers: call.request.headers().clone(),
            segments: segments.clone(),
            keepalive: call.keepalive.is_some(),
        });
        if let Some((status, body)) = self.answer {
            return Response::builder()
                .status(status)
                .body(Bytes::from_static(body.as_bytes()))
                .unwrap();
        }
        let total: usize = segments.iter().map(String::len).sum();
        if segments.len() > 10 || total > 10240 || segments.iter().any(|s| s.len() > 1024) {
            let error = json!({"__type": "TextSizeLimitExceededException", "Message": "Input text size exceeds limit."});
            return Response::builder()
                .status(400)
                .body(Bytes::from(error.to_string()))
                .unwrap();
        }
        let fixtures = fixtures();
        let results: Vec<Value> = segments
            .iter()
            .map(|text| {
                let canned = match fixtures.get(text.as_str()) {
                    Some(c) => c,
                    None if text.contains("kill") => &fixtures["toxic"],
                    None => &fixtures["good_request"],
                };
                canned["ResultList"][0].clone()
            })
            .collect();
        let body = json!({ "ResultList": results }).to_string();
        Response::builder()
            .status(200)
            .header("content-type", "application/x-amz-json-1.1")
            .body(Bytes::from(body))
            .unwrap()
    }
}

impl ModerationClient for FakeComprehend {
    fn send(&self, call: ModerationCall) -> BoxFuture<'_, Result<Response<Bytes>, String>> {
        let answer = match self.unreachable {
            Some(reason) => Err(reason.to_owned()),
            None => Ok(self.respond(&call)),
        };
        Box::pin(std::future::ready(answer))
    }
}

/// Polls a future that is ready without waiting (the fake never waits).
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the future waited"),
    }
}
