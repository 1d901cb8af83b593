//! The exchange state machine: passthrough, timing, limits (spec §5.6),
//! the error path, the translator hand-off, variables and attributes.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::time::{Duration, Instant};

use ai_proxy_core::context::RequestContext;
use ai_proxy_core::exchange::{Exchange, ExchangeError};
use ai_proxy_core::metrics::{APISIX_VARS, AttributeValue};
use ai_proxy_core::translate::{ResponseTranslator, TranslateError};
use ai_proxy_core::{Protocol, RequestType};
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, StatusCode, header};

const CHAT_STREAM: &[u8] = b"data: {\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":null}\n\n\
data: {\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n\
data: {\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":1,\"total_tokens\":5}}\n\n\
data: [DONE]\n\n";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn headers(content_type: &'static str, length: Option<u64>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(length) = length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    headers
}

fn ctx(start: Instant) -> RequestContext {
    RequestContext::new(Protocol::OpenAiChat, Protocol::OpenAiChat, start)
}

/// A real (if simple) translator: re-frames each upstream event as
/// `event: up` and wraps bodies; optionally rejects everything.
#[derive(Debug, Default)]
struct Reframe {
    reject: bool,
    silent: bool,
    finished: bool,
}

impl ResponseTranslator for Reframe {
    fn translate_body(
        &mut self,
        status: StatusCode,
        body: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        if self.reject {
            return Err(TranslateError::Malformed("no choices in response".into()));
        }
        out.extend_from_slice(format!("{{\"status\":{},\"body\":", status.as_u16()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"}");
        Ok(())
    }

    fn translate_event(
        &mut self,
        event: &str,
        data: &str,
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        if self.reject {
            return Err(TranslateError::Malformed("bad event".into()));
        }
        if !self.silent {
            out.extend_from_slice(format!("event: up-{event}\ndata: {data}\n\n").as_bytes());
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut BytesMut) -> Result<(), TranslateError> {
        self.finished = true;
        if !self.silent {
            out.extend_from_slice(b"event: end\ndata: {}\n\n");
        }
        Ok(())
    }
}

#[test]
fn passthrough_stream_forwards_the_same_bytes_zero_copy() {
    let start = Instant::now();
    let mut exchange = Exchange::new(ctx(start), None);
    let head = exchange
        .on_head(StatusCode::OK, &headers("text/event-stream", None), start)
        .unwrap();
    assert!(head.streaming && !head.rewritten && head.content_type.is_none());
    let stream = Bytes::from_static(CHAT_STREAM);
    for at in (0..stream.len()).step_by(13) {
        let chunk = stream.slice(at..(at + 13).min(stream.len()));
        let out = exchange.on_body(chunk.clone(), start + ms(5)).unwrap();
        assert_eq!(out.as_ptr(), chunk.as_ptr(), "same buffer, not a copy");
        assert_eq!(out.len(), chunk.len());
    }
    assert!(exchange.on_eof(start + ms(30)).unwrap().is_empty());
    let m = exchange.finish(start + ms(31));
    assert_eq!(m.bytes_received, CHAT_STREAM.len() as u64);
    assert_eq!(m.bytes_sent, CHAT_STREAM.len() as u64);
    assert!(m.done && m.completed);
}

#[test]
fn stream_time_to_first_token_is_the_first_chunk() {
    let start = Instant::now();
    let mut exchange = Exchange::new(ctx(start), None);
    let _ = exchange
        .on_head(
            StatusCode::OK,
            &headers("text/event-stream", None),
            start + ms(10),
        )
        .unwrap();
    let (first, rest) = CHAT_STREAM.split_at(90);
    let _ = exchange
        .on_body(Bytes::from_static(first), start + ms(120))
        .unwrap();
    let _ = exchange
        .on_body(Bytes::from_static(rest), start + ms(250))
        .unwrap();
    let _ = exchange.on_eof(start + ms(400)).unwrap();
    let m = exchange.finish(start + ms(410));
    assert_eq!(m.var("llm_time_to_first_token").unwrap(), "120");
    // The first event with content ("Hi") came in the second chunk.
    assert_eq!(m.time_to_first_content, Some(ms(250)));
    assert_eq!(m.var("apisix_upstream_response_time").unwrap(), "400");
    assert_eq!(m.duration, ms(410));
}

#[test]
fn body_time_to_first_token_is_the_whole_body() {
    let start = Instant::now();
    let mut exchange = Exchange::new(ctx(start), None);
    let _ = exchange
        .on_head(StatusCode::OK, &headers("application/json", None), start)
        .unwrap();
    let body = br#"{"model":"gpt-4o","choices":[{"message":{"content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#;
    let (a, b) = body.split_at(20);
    assert_eq!(
        exchange
            .on_body(Bytes::from_static(a), start + ms(50))
            .unwrap(),
        a
    );
    assert_eq!(
        exchange
            .on_body(Bytes::from_static(b), start + ms(70))
            .unwrap(),
        b
    );
    assert!(exchange.on_eof(start + ms(75)).unwrap().is_empty());
    let m = exchange.finish(start + ms(80));
    assert_eq!(m.var("llm_time_to_first_token").unwrap(), "75");
    assert_eq!(m.var("apisix_upstream_response_time").unwrap(), "75");
    assert_eq!(m.var("llm_total_tokens").unwrap(), "4");
    assert!(!m.stream);
}

#[test]
fn variables_default_like_the_nginx_template() {
    let start = Instant::now();
    let exchange = Exchange::new(ctx(start), None);
    let m = exchange.finish(start);
    let vars = m.vars();
    let names: Vec<&str> = vars.iter().map(|(name, _)| *name).collect();
    let expected: Vec<&str> = APISIX_VARS.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, expected);
    for (name, value) in &vars {
        let default = match *name {
            "request_type" => "ai_chat", // the context says ai_chat
            other => APISIX_VARS.iter().find(|(n, _)| *n == other).unwrap().1,
        };
        assert_eq!(value, default, "{name}");
    }
    assert_eq!(m.var("no_such_var"), None);
}

#[test]
fn variables_report_request_and_response_facts() {
    let start = Instant::now();
    let mut c = ctx(start);
    c.request_type = RequestType::AiStream;
    c.request_llm_model = Some("gpt-4o-mini".into());
    c.llm_model = Some("gpt-4o-mini".into());
    c.tool_count = 2;
    c.end_user_id = Some("user-7".into());
    c.logging.payloads = true;
    let mut exchange = Exchange::new(c, None);
    let _ = exchange
        .on_head(StatusCode::OK, &headers("text/event-stream", None), start)
        .unwrap();
    let _ = exchange
        .on_body(Bytes::from_static(CHAT_STREAM), start + ms(7))
        .unwrap();
    let _ = exchange.on_eof(start + ms(9)).unwrap();
    let m = exchange.finish(start + ms(9));
    let get = |name| m.var(name).unwrap();
    assert_eq!(get("request_type"), "ai_stream");
    assert_eq!(get("request_llm_model"), "gpt-4o-mini");
    assert_eq!(get("llm_model"), "gpt-4o", "the response names the model");
    assert_eq!(get("llm_prompt_tokens"), "4");
    assert_eq!(get("llm_completion_tokens"), "1");
    assert_eq!(get("llm_stream"), "true");
    assert_eq!(get("llm_tool_count"), "2");
    assert_eq!(get("llm_end_user_id"), "user-7");
    assert_eq!(get("llm_response_text"), "Hi");
    let attrs = m.otel_attributes();
    let attr = |key: &str| {
        attrs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        attr("gen_ai.operation.name"),
        Some(AttributeValue::String("chat".into()))
    );
    assert_eq!(
        attr("gen_ai.provider.name"),
        Some(AttributeValue::String("openai".into()))
    );
    assert_eq!(
        attr("gen_ai.request.model"),
        Some(AttributeValue::String("gpt-4o-mini".into()))
    );
    assert_eq!(
        attr("gen_ai.response.model"),
        Some(AttributeValue::String("gpt-4o".into()))
    );
    assert_eq!(
        attr("gen_ai.usage.input_tokens"),
        Some(AttributeValue::Int(4))
    );
    assert_eq!(
        attr("gen_ai.usage.output_tokens"),
        Some(AttributeValue::Int(1))
    );
    assert_eq!(
        attr("http.response.status_code"),
        Some(AttributeValue::Int(200))
    );
}

#[test]
fn request_model_is_used_when_the_response_names_none() {
    let start = Instant::now();
    let mut c = ctx(start);
    c.llm_model = Some("configured-model".into());
    let mut exchange = Exchange::new(c, None);
    let _ = exchange
        .on_head(StatusCode::OK, &headers("application/json", None), start)
        .unwrap();
    let _ = exchange
        .on_body(Bytes::from_static(b"not json"), start)
        .unwrap();
    let _ = exchange.on_eof(start).unwrap();
    let m = exchange.finish(start);
    assert_eq!(m.var("llm_model").unwrap(), "configured-model");
    assert_eq!(m.var("llm_prompt_tokens").unwrap(), "0");
    assert_eq!(m.malformed_events, 1);
}

#[test]
fn content_length_over_max_response_bytes_is_502_at_head() {
    let start = Instant::now();
    let mut c = ctx(start);
    c.limits.max_response_bytes = Some(1024);
    let mut exchange = Exchange::new(c, None);
    let err = exchange
        .on_head(
            StatusCode::OK,
            &headers("application/json", Some(100_000)),
            start,
        )
        .unwrap_err();
    assert_eq!(
        err,
        ExchangeError::ResponseTooLarge {
            limit: 1024,
            truncated: false
        }
    );
    assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(err.client_body(), "max_response_bytes exceeded");
    // Sticky.
    assert_eq!(
        exchange
            .on_body(Bytes::from_static(b"x"), start)
            .unwrap_err(),
        err
    );
    let m = exchange.finish(start);
    assert_eq!(m.error, Some(err));
}

#[test]
fn chunked_body_over_max_response_bytes_is_held_then_502() {
    let start = Instant::now();
    let mut c = ctx(start);
    c.limits.max_response_bytes = Some(10);
    let mut exchange = Exchange::new(c, None);
    let _ = exchange
        .on_head(StatusCode::OK, &headers("application/json", None), start)
        .unwrap();
    // Without Content-Length the body is held back, so a 502 is still possible.
    assert!(
        exchange
            .on_body(Bytes::from_static(b"{\"a\":"), start)
            .unwrap()
            .is_empty()
    );
    let err = exchange
        .on_body(Bytes::from_static(b"\"123456\"}"), start)
        .unwrap_err();
    assert!(!err.truncated());
    assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
}

#[test]
fn held_body_within_limit_is_released_at_eof() {
    let start = Instant::now();
    let mut c = ctx(start);
    c.limits.max_response_bytes = Some(1000);
    let mut exchange = Exchange::new(c, None);
    let _ = exchange
        .on_head(StatusCode::OK, &headers("application/json", None), start)
        .unwrap();
    assert!(
        exchange
            .on_body(Bytes::from_static(b"{\"a\":"), start)
            .unwrap()
            .is_empty()
    );
    assert!(
        exchange
            .on_body(Bytes::from_static(b"1}"), start)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        exchange.on_eof(start).unwrap(),
        Bytes::from_static(b"{\"a\":1}")
    );
}

#[test]
fn stream_over_max_response_bytes_after_output_is_truncated() {
    let start = Instant::now();
    let mut c = ctx(start);
    c.limits.max_response_bytes = Some(100);
    let mut exchange = Exchange::new(c, None);
    let _ = exchange
        .on_head(StatusCode::OK, &headers("text/event-stream", None), start)
        .unwrap();
    let out = exchange
        .on_body(Bytes::from_static(&CHAT_STREAM[..80]), start)
        .unwrap();
    assert_eq!(out.len(), 80);
    let err = exchange
        .on_body(Bytes::from_static(&CHAT_STREAM[80..]), start)
        .unwrap_err();
    assert_eq!(
        err,
        ExchangeError::ResponseTooLarge {
            limit: 100,
            truncated: true
        }
    );
    let m = exchange.finish(start);
    assert_eq!(m.bytes_sent, 80);
    assert!(!m.completed);
}

#[test]
fn stream_over_max_response_bytes_before_output_is_502() {
    let start = Instant::now();
    let mut c = ctx(start);
    c.limits.max_response_bytes = Some(10);
    let mut exchange = Exchange::new(c, None);
    let _ = exchange
        .on_head(StatusCode::OK, &headers("text/event-stream", None), start)
        .unwrap();
    let err = exchange
        .on_body(Bytes::from_static(CHAT_STREAM), start)
        .unwrap_err();
    assert!(!err.truncated());
    assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
}

#[test]
fn stream_past_max_duration_is_cut_with_504_semantics() {
    let start = Instant::now();
    let mut c = ctx(start);
    c.limits.max_stream_duration_ms = Some(500);
    let mut exchange = Exchange::new(c, None);
    let _ = exchange
        .on_head(StatusCode::OK, &headers("text/event-stream", None), start)
        .unwrap();
    assert_eq!(exchange.poll_timeout(), Some(start + ms(500)));
    assert!(exchange.on_timeout(start + ms(499)).is_ok());
    let _ = exchange
        .on_body(Bytes::from_static(&CHAT_STREAM[..50]), start + ms(100))
        .unwrap();
    let err = exchange
        .on_body(Bytes::from_static(&CHAT_STREAM[50..]), start + ms(501))
        .unwrap_err();
    assert_eq!(
        err,
        ExchangeError::StreamDurationExceeded {
            limit_ms: 500,
            truncated: true
        }
    );
    assert_eq!(err.client_body(), "max_stream_duration_ms exceeded");
    assert_eq!(exchange.poll_timeout(), None);
    let m = exchange.finish(start + ms(600));
    assert_eq!(m.var("apisix_upstream_response_time").unwrap(), "501");
}

#[test]
fn stream_duration_timer_fires_before_any_output_as_504() {
    let start = Instant::now();
    let mut c = ctx(start);
    c.limits.max_stream_duration_ms = Some(500);
    let mut exchange = Exchange::new(c, None);
    let _ = exchange
        .on_head(StatusCode::OK, &headers("text/event-stream", None), start)
        .unwrap();
    let err = exchange.on_timeout(start + ms(501)).unwrap_err();
    assert!(!err.truncated());
    assert_eq!(err.status(), StatusCode::GATEWAY_TIMEOUT);
}

#[test]
fn upstream_429_and_5xx_pass_through_untranslated() {
    for status in [
        StatusCode::TOO_MANY_REQUESTS,
        StatusCode::INTERNAL_SERVER_ERROR,
    ] {
        let start = Instant::now();
        let mut exchange = Exchange::new(ctx(start), Some(Box::new(Reframe::default())));
        let head = exchange
            .on_head(status, &headers("application/json", None), start)
            .unwrap();
        assert!(!head.rewritten && head.content_type.is_none());
        let body = Bytes::from_static(br#"{"error":{"message":"upstream boom"}}"#);
        assert_eq!(exchange.on_body(body.clone(), start + ms(3)).unwrap(), body);
        assert!(exchange.on_eof(start + ms(4)).unwrap().is_empty());
        let m = exchange.finish(start + ms(4));
        assert_eq!(m.upstream_status, Some(status));
        assert_eq!(m.var("llm_time_to_first_token").unwrap(), "4");
        assert_eq!(m.error_events, 1);
        assert_eq!(m.upstream_error.as_deref(), Some("upstream boom"));
    }
}

#[test]
fn client_errors_go_through_the_normal_path() {
    let start = Instant::now();
    let mut exchange = Exchange::new(ctx(start), None);
    let head = exchange
        .on_head(
            StatusCode::UNAUTHORIZED,
            &headers("text/plain", None),
            start,
        )
        .unwrap();
    assert_eq!(head.status, StatusCode::UNAUTHORIZED);
    let body = Bytes::from_static(b"Unauthorized");
    assert_eq!(exchange.on_body(body.clone(), start).unwrap(), body);
}

#[test]
fn translated_stream_sends_only_translator_output() {
    let start = Instant::now();
    let mut exchange = Exchange::new(ctx(start), Some(Box::new(Reframe::default())));
    let head = exchange
        .on_head(StatusCode::OK, &headers("text/event-stream", None), start)
        .unwrap();
    assert!(head.rewritten);
    assert_eq!(head.content_type.unwrap(), "text/event-stream");
    let mut sent = Vec::new();
    for piece in CHAT_STREAM.chunks(7) {
        sent.extend_from_slice(
            &exchange
                .on_body(Bytes::copy_from_slice(piece), start)
                .unwrap(),
        );
    }
    sent.extend_from_slice(&exchange.on_eof(start).unwrap());
    let sent = String::from_utf8(sent).unwrap();
    assert_eq!(sent.matches("event: up-message\n").count(), 4);
    assert!(sent.ends_with("event: end\ndata: {}\n\n"));
    // Nothing raw from upstream: every data line is the translator's.
    assert_eq!(
        sent.matches("data: ").count(),
        sent.matches("event: ").count()
    );
    // Usage is read from the upstream (target protocol) events.
    let m = exchange.finish(start);
    assert_eq!(m.var("llm_total_tokens").unwrap(), "5");
}

#[test]
fn translated_stream_without_output_is_502() {
    let start = Instant::now();
    let translator = Reframe {
        silent: true,
        ..Reframe::default()
    };
    let mut exchange = Exchange::new(ctx(start), Some(Box::new(translator)));
    let _ = exchange
        .on_head(StatusCode::OK, &headers("text/event-stream", None), start)
        .unwrap();
    assert!(
        exchange
            .on_body(Bytes::from_static(CHAT_STREAM), start)
            .unwrap()
            .is_empty()
    );
    let err = exchange.on_eof(start).unwrap_err();
    assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
    assert!(
        err.to_string()
            .starts_with("streaming response completed without producing any output")
    );
}

#[test]
fn translated_body_is_held_and_rewritten() {
    let start = Instant::now();
    let mut exchange = Exchange::new(ctx(start), Some(Box::new(Reframe::default())));
    let head = exchange
        .on_head(StatusCode::OK, &headers("application/json", None), start)
        .unwrap();
    assert_eq!(head.content_type.unwrap(), "application/json");
    let body = br#"{"model":"m","choices":[],"usage":{"prompt_tokens":2,"completion_tokens":3}}"#;
    assert!(
        exchange
            .on_body(Bytes::from_static(&body[..9]), start)
            .unwrap()
            .is_empty()
    );
    assert!(
        exchange
            .on_body(Bytes::from_static(&body[9..]), start)
            .unwrap()
            .is_empty()
    );
    let out = exchange.on_eof(start).unwrap();
    assert_eq!(
        out,
        [&b"{\"status\":200,\"body\":"[..], body, b"}"].concat()
    );
    let m = exchange.finish(start);
    assert_eq!(m.var("llm_total_tokens").unwrap(), "5");
}

#[test]
fn translator_rejection_is_500_with_its_message() {
    let start = Instant::now();
    let translator = Reframe {
        reject: true,
        ..Reframe::default()
    };
    let mut exchange = Exchange::new(ctx(start), Some(Box::new(translator)));
    let _ = exchange
        .on_head(StatusCode::OK, &headers("application/json", None), start)
        .unwrap();
    let _ = exchange.on_body(Bytes::from_static(b"{}"), start).unwrap();
    let err = exchange.on_eof(start).unwrap_err();
    assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(err.client_body(), "no choices in response");
}

#[test]
fn oversized_event_stops_observation_but_not_the_bytes() {
    let start = Instant::now();
    let mut exchange = Exchange::new(ctx(start), None)
        .with_decoder(ai_proxy_core::sse::SseDecoder::with_max_event_bytes(64));
    let _ = exchange
        .on_head(StatusCode::OK, &headers("text/event-stream", None), start)
        .unwrap();
    let big = Bytes::from(format!("data: {}\n\n", "x".repeat(200)));
    assert_eq!(exchange.on_body(big.clone(), start).unwrap(), big);
    assert!(exchange.observe_error().is_some());
    let tail = Bytes::from_static(b"data: [DONE]\n\n");
    assert_eq!(exchange.on_body(tail.clone(), start).unwrap(), tail);
    assert!(exchange.on_eof(start).is_ok());
    assert!(matches!(
        exchange.finish(start).usage_gap,
        Some(ai_proxy_core::exchange::UsageGap::StreamUnobserved(_))
    ));
}

#[test]
fn calls_out_of_order_are_misuse_errors() {
    let start = Instant::now();
    let mut exchange = Exchange::new(ctx(start), None);
    assert!(matches!(
        exchange.on_body(Bytes::from_static(b"x"), start),
        Err(ExchangeError::Misuse(_))
    ));
    let _ = exchange
        .on_head(StatusCode::OK, &headers("application/json", None), start)
        .unwrap();
    assert!(matches!(
        exchange.on_head(StatusCode::OK, &HeaderMap::new(), start),
        Err(ExchangeError::Misuse(_))
    ));
}

#[test]
fn streaming_is_decided_by_the_response_content_type() {
    let start = Instant::now();
    for (content_type, streaming) in [
        ("Text/Event-Stream; charset=utf-8", true),
        ("application/json", false),
        ("text/plain", false),
    ] {
        let mut exchange = Exchange::new(ctx(start), None);
        let head = exchange
            .on_head(StatusCode::OK, &headers(content_type, None), start)
            .unwrap();
        assert_eq!(head.streaming, streaming, "{content_type}");
    }
}

#[test]
fn write_var_writes_what_var_returns_and_refuses_unknown_names() {
    let start = Instant::now();
    let mut exchange = Exchange::new(ctx(start), None);
    let _ = exchange
        .on_head(
            StatusCode::OK,
            &headers("text/event-stream", None),
            start + ms(10),
        )
        .unwrap();
    let _ = exchange
        .on_body(Bytes::from_static(CHAT_STREAM), start + ms(20))
        .unwrap();
    let _ = exchange.on_eof(start + ms(30)).unwrap();
    let m = exchange.finish(start + ms(30));
    let names = ai_proxy_core::metrics::APISIX_VARS
        .iter()
        .map(|(name, _)| *name)
        .chain(["llm_response_text"]);
    for name in names {
        let mut out = String::from("prefix:");
        assert!(m.write_var(name, &mut out).unwrap(), "{name}");
        assert_eq!(out, format!("prefix:{}", m.var(name).unwrap()), "{name}");
    }
    let mut out = String::new();
    assert!(!m.write_var("no_such_var", &mut out).unwrap());
    assert!(out.is_empty());
    assert_eq!(m.var("no_such_var"), None);
}

/// A chat stream of `n` content events of `piece` each, with usage at the end.
fn long_chat_stream(piece: &str, n: usize) -> Bytes {
    let mut out = String::new();
    for _ in 0..n {
        out.push_str(&format!(
            "data: {{\"model\":\"m\",\"choices\":[{{\"delta\":{{\"content\":\"{piece}\"}}}}],\"usage\":null}}\n\n"
        ));
    }
    out.push_str("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":7,\"total_tokens\":10}}\n\ndata: [DONE]\n\n");
    Bytes::from(out)
}

#[test]
fn logged_text_keeps_a_prefix_up_to_the_limit_and_says_so() {
    let start = Instant::now();
    let mut ctx = ctx(start);
    ctx.logging.payloads = true;
    let mut exchange = Exchange::new(ctx, None).with_text_limit(10);
    let _ = exchange
        .on_head(StatusCode::OK, &headers("text/event-stream", None), start)
        .unwrap();
    // Multi-byte text: the cut falls on a char boundary.
    let _ = exchange
        .on_body(long_chat_stream("é✓", 100), start + ms(5))
        .unwrap();
    let _ = exchange.on_eof(start + ms(6)).unwrap();
    let metrics = exchange.finish(start + ms(6));
    assert_eq!(metrics.response_text.as_deref(), Some("é✓é✓"));
    assert!(metrics.response_text_truncated);
    // Usage is still read past the cut.
    assert_eq!(metrics.var("llm_total_tokens").as_deref(), Some("10"));
}

#[test]
fn logged_text_is_capped_at_64_kib_by_default() {
    let start = Instant::now();
    let mut ctx = ctx(start);
    ctx.logging.payloads = true;
    let mut exchange = Exchange::new(ctx, None);
    let _ = exchange
        .on_head(StatusCode::OK, &headers("text/event-stream", None), start)
        .unwrap();
    let piece = "x".repeat(1000);
    for _ in 0..10 {
        let _ = exchange
            .on_body(long_chat_stream(&piece, 20), start + ms(5))
            .unwrap();
    }
    let metrics = exchange.finish(start + ms(6));
    let text = metrics.response_text.unwrap();
    assert_eq!(text.len(), ai_proxy_core::exchange::DEFAULT_TEXT_LIMIT);
    assert!(metrics.response_text_truncated);
}

#[test]
fn short_text_is_kept_whole_and_not_marked() {
    let start = Instant::now();
    let mut ctx = ctx(start);
    ctx.logging.payloads = true;
    let mut exchange = Exchange::new(ctx, None);
    let _ = exchange
        .on_head(StatusCode::OK, &headers("text/event-stream", None), start)
        .unwrap();
    let _ = exchange
        .on_body(Bytes::from_static(CHAT_STREAM), start + ms(5))
        .unwrap();
    let metrics = exchange.finish(start + ms(6));
    assert_eq!(metrics.response_text.as_deref(), Some("Hi"));
    assert!(!metrics.response_text_truncated);
}

/// A chat body of about `size` bytes whose usage sits at the end (after
/// the generated text), as OpenAI writes it.
fn big_chat_body(size: usize, usage: bool) -> Bytes {
    let text = "x".repeat(size);
    let usage = if usage {
        r#","usage":{"prompt_tokens":11,"completion_tokens":22,"total_tokens":33}"#
    } else {
        ""
    };
    Bytes::from(format!(
        r#"{{"id":"c","object":"chat.completion","model":"gpt-4o","choices":[{{"index":0,"message":{{"role":"assistant","content":"{text}"}},"finish_reason":"stop"}}]{usage},"system_fingerprint":"fp"}}"#
    ))
}

fn observe_body(body: Bytes, chunk: usize) -> ai_proxy_core::Metrics {
    let start = Instant::now();
    let mut ex = Exchange::new(ctx(start), None);
    let _ = ex
        .on_head(StatusCode::OK, &headers("application/json", None), start)
        .unwrap();
    let mut at = 0;
    while at < body.len() {
        let end = (at + chunk).min(body.len());
        assert_eq!(
            ex.on_body(body.slice(at..end), start).unwrap().len(),
            end - at
        );
        at = end;
    }
    let _ = ex.on_eof(start).unwrap();
    ex.finish(start)
}

#[test]
fn usage_at_the_end_of_a_body_over_the_observation_cap_is_still_read() {
    let body = big_chat_body(
        ai_proxy_core::exchange::DEFAULT_MAX_BUFFERED_BODY + 1000,
        true,
    );
    let m = observe_body(body, 1 << 20);
    assert_eq!(m.usage.map(|u| u.total_tokens), Some(33));
    assert_eq!(m.llm_model.as_deref(), Some("gpt-4o"));
    assert_eq!(m.usage_gap, None);
}

#[test]
fn a_body_over_the_cap_without_usage_in_its_tail_reports_the_gap() {
    let body = big_chat_body(
        ai_proxy_core::exchange::DEFAULT_MAX_BUFFERED_BODY + 1000,
        false,
    );
    let len = body.len() as u64;
    let m = observe_body(body, 1 << 20);
    assert_eq!(m.usage, None);
    assert_eq!(
        m.usage_gap,
        Some(ai_proxy_core::exchange::UsageGap::BodyOverCap {
            bytes: len,
            cap: ai_proxy_core::exchange::DEFAULT_MAX_BUFFERED_BODY,
            window: ai_proxy_core::exchange::BODY_WINDOW,
        })
    );
    assert!(
        m.usage_gap
            .unwrap()
            .to_string()
            .contains("token counts are unknown")
    );
}

#[test]
fn taken_text_leaves_collection_on_and_nothing_kept() {
    let start = Instant::now();
    let mut c = ctx(start);
    c.logging.payloads = true;
    let mut ex = Exchange::new(c, None);
    let _ = ex
        .on_head(StatusCode::OK, &headers("text/event-stream", None), start)
        .unwrap();
    let mut taken = String::new();
    for piece in ["Hel", "lo"] {
        let event =
            format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{piece}\"}}}}]}}\n\n");
        let _ = ex.on_body(Bytes::from(event), start).unwrap();
        taken.push_str(&ex.take_text().unwrap());
    }
    let _ = ex.on_eof(start).unwrap();
    let m = ex.finish(start);
    assert_eq!(taken, "Hello");
    assert_eq!(m.response_text.as_deref(), Some(""));
    assert!(!m.response_text_truncated);
}

/// A stream of five completion tokens: the first at 100 ms, the end at 500 ms.
const FIVE_TOKEN_STREAM: &[u8] =
    b"data: {\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n";
const FIVE_TOKEN_END: &[u8] = b"data: {\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":5,\"total_tokens\":8}}\n\ndata: [DONE]\n\n";

fn five_token_stream(content_type: &'static str) -> ai_proxy_core::Metrics {
    let start = Instant::now();
    let mut exchange = Exchange::new(ctx(start), None);
    let _ = exchange
        .on_head(StatusCode::OK, &headers(content_type, None), start)
        .unwrap();
    let _ = exchange
        .on_body(Bytes::from_static(FIVE_TOKEN_STREAM), start + ms(100))
        .unwrap();
    let _ = exchange
        .on_body(Bytes::from_static(FIVE_TOKEN_END), start + ms(500))
        .unwrap();
    let _ = exchange.on_eof(start + ms(500)).unwrap();
    exchange.finish(start + ms(500))
}

#[test]
fn time_per_output_token_divides_the_time_after_the_first_token_by_the_tokens_after_it() {
    let m = five_token_stream("text/event-stream");
    assert_eq!(m.time_to_first_token, Some(ms(100)));
    assert_eq!(m.upstream_response_time, Some(ms(500)));
    assert_eq!(
        m.time_per_output_token(),
        Some(ms(100)),
        "400 ms / 4 tokens"
    );
}

#[test]
fn time_per_output_token_is_none_without_a_stream_or_with_one_token() {
    let m = five_token_stream("application/json");
    assert!(!m.stream);
    assert_eq!(m.time_per_output_token(), None);
    let start = Instant::now();
    let mut exchange = Exchange::new(ctx(start), None);
    let _ = exchange
        .on_head(StatusCode::OK, &headers("text/event-stream", None), start)
        .unwrap();
    let _ = exchange
        .on_body(Bytes::from_static(CHAT_STREAM), start + ms(7))
        .unwrap();
    let _ = exchange.on_eof(start + ms(9)).unwrap();
    let m = exchange.finish(start + ms(9));
    assert_eq!(m.time_per_output_token(), None, "one completion token");
}

#[test]
fn operation_and_provider_names_follow_the_client_protocol_and_the_conventions() {
    let m = five_token_stream("text/event-stream");
    assert_eq!(m.operation_name(), Some("chat"));
    assert_eq!(m.provider_name(), "openai");
    let start = Instant::now();
    let names = |client| {
        let c = RequestContext::new(client, Protocol::OpenAiChat, start);
        Exchange::new(c, None).finish(start).operation_name()
    };
    assert_eq!(names(Protocol::OpenAiResponses), Some("responses"));
    assert_eq!(names(Protocol::OpenAiEmbeddings), Some("embeddings"));
    assert_eq!(names(Protocol::Gemini), Some("generate_content"));
    assert_eq!(names(Protocol::BedrockConverse), Some("chat"));
    assert_eq!(names(Protocol::Passthrough), None);
}
