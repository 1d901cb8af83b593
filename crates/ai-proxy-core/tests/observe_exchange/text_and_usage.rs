use super::*;

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
