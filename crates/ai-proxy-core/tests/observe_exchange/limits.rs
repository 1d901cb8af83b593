use super::*;

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
