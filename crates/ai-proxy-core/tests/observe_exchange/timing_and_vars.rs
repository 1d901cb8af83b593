use super::*;

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
fn vars_by_index_are_the_vars_by_name_unformatted() {
    use ai_proxy_core::metrics::{APISIX_VARS, VarValue, var_index};
    let start = Instant::now();
    let mut exchange = Exchange::new(ctx(start), None);
    let _ = exchange
        .on_head(StatusCode::OK, &headers("application/json", None), start)
        .unwrap();
    let body = br#"{"model":"gpt-4o","choices":[{"message":{"content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#;
    let _ = exchange
        .on_body(Bytes::from_static(body), start + ms(20))
        .unwrap();
    let _ = exchange.on_eof(start + ms(20)).unwrap();
    let m = exchange.finish(start + ms(21));
    for (i, (name, _)) in APISIX_VARS.iter().enumerate() {
        assert_eq!(var_index(name), Some(i));
        let written = match m.var_at(i).unwrap() {
            VarValue::Text(text) => text.to_owned(),
            VarValue::Number(n) => n.to_string(),
            VarValue::Flag(flag) => flag.to_string(),
            _ => unreachable!(),
        };
        assert_eq!(m.var(name).unwrap(), written, "{name}");
    }
    let total = var_index("llm_total_tokens").unwrap();
    assert_eq!(m.var_at(total), Some(VarValue::Number(4)));
    assert_eq!(m.var_at(APISIX_VARS.len()), None);
    assert_eq!(var_index("remote_addr"), None);
}
