use super::*;

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
