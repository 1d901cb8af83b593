use super::*;
use ai_proxy_core::{Provider, RequestType};

fn convert(body: &str) -> Result<String, String> {
    embeddings_to_instances(body.as_bytes())
        .map(|b| String::from_utf8(b).unwrap())
        .map_err(|e| e.message)
}

fn translate(model: Option<&str>, status: u16, body: &str) -> Result<String, TranslateError> {
    let mut out = BytesMut::new();
    PredictTranslator::new(model.map(str::to_owned)).translate_body(
        StatusCode::from_u16(status).unwrap(),
        body.as_bytes(),
        &mut out,
    )?;
    Ok(String::from_utf8(out.to_vec()).unwrap())
}

#[test]
fn converter_speaks_embeddings_to_vertex_predict() {
    assert_eq!(
        EmbeddingsToPredict.client_protocol(),
        Protocol::OpenAiEmbeddings
    );
    assert_eq!(
        EmbeddingsToPredict.target_protocol(),
        Protocol::VertexPredict
    );
}

#[test]
fn string_input_is_one_instance() {
    // APISIX vertex-ai.t T3/T12: `{"input":".."}` → `{"instances":[{"content":".."}]}`.
    assert_eq!(
        convert(r#"{"input":".."}"#).unwrap(),
        r#"{"instances":[{"content":".."}]}"#
    );
}

#[test]
fn string_array_input_is_one_instance_per_string() {
    assert_eq!(
        convert(r#"{"input": ["a", "b c", ""]}"#).unwrap(),
        r#"{"instances":[{"content":"a"},{"content":"b c"},{"content":""}]}"#
    );
}

#[test]
fn nested_arrays_are_joined_by_a_space() {
    assert_eq!(
        convert(r#"{"input": [[1, 2, 3], ["x", "y"], [], ["a\"b", 4.5e1]]}"#).unwrap(),
        r#"{"instances":[{"content":"1 2 3"},{"content":"x y"},{"content":""},{"content":"a\"b 4.5e1"}]}"#
    );
}

#[test]
fn empty_array_input_is_no_instances() {
    assert_eq!(convert(r#"{"input": []}"#).unwrap(), r#"{"instances":[]}"#);
}

#[test]
fn escapes_in_texts_are_kept_verbatim() {
    let body = r#"{"input": "caf\u00e9 \/ \n \"q\" 😀"}"#;
    let out = convert(body).unwrap();
    assert_eq!(
        out,
        r#"{"instances":[{"content":"caf\u00e9 \/ \n \"q\" 😀"}]}"#
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["instances"][0]["content"], "café / \n \"q\" 😀");
}

#[test]
fn only_input_is_read_everything_else_is_dropped() {
    assert_eq!(
        convert(r#"{"model": "m", "dimensions": 8, "input": "x", "user": "u"}"#).unwrap(),
        r#"{"instances":[{"content":"x"}]}"#
    );
}

#[test]
fn non_string_non_array_items_are_rejected_with_their_1_based_index() {
    for (body, index) in [
        (r#"{"input": [7]}"#, 1),
        (r#"{"input": ["a", null]}"#, 2),
        (r#"{"input": ["a", "b", true]}"#, 3),
        (r#"{"input": ["a", {"text": "b"}]}"#, 2),
    ] {
        assert_eq!(
            convert(body).unwrap_err(),
            format!("unsupported input type at index {index}"),
            "{body}"
        );
    }
}

#[test]
fn nested_items_other_than_strings_and_numbers_are_rejected() {
    for body in [
        r#"{"input": ["a", [1, [2]]]}"#,
        r#"{"input": ["a", [null]]}"#,
        r#"{"input": ["a", ["x", {}]]}"#,
        r#"{"input": ["a", [false]]}"#,
    ] {
        assert_eq!(
            convert(body).unwrap_err(),
            "unsupported input type at index 2",
            "{body}"
        );
    }
}

#[test]
fn unpaired_surrogate_escapes_are_rejected_not_copied() {
    for body in [
        r#"{"input": "a\ud800b"}"#,
        r#"{"input": ["ok", "\udc00"]}"#,
        r#"{"input": [["x", "\ud83d"]]}"#,
    ] {
        let err = convert(body).unwrap_err();
        assert!(
            err.starts_with("invalid JSON request body: "),
            "{body}: {err}"
        );
    }
    assert_eq!(
        convert(r#"{"input": "\ud83d\ude00"}"#).unwrap(),
        r#"{"instances":[{"content":"\ud83d\ude00"}]}"#
    );
}

#[test]
fn missing_or_false_input_is_required() {
    for body in [r#"{"model": "m"}"#, r#"{"input": false}"#] {
        assert_eq!(
            convert(body).unwrap_err(),
            "`input` is required for embeddings"
        );
    }
}

#[test]
fn other_input_types_must_be_string_or_array() {
    for body in [
        r#"{"input": 1}"#,
        r#"{"input": true}"#,
        r#"{"input": null}"#,
        r#"{"input": {"a": "b"}}"#,
    ] {
        assert_eq!(
            convert(body).unwrap_err(),
            "`input` must be string or array",
            "{body}"
        );
    }
}

#[test]
fn bodies_that_are_not_json_objects_are_rejected() {
    assert_eq!(
        convert("[1]").unwrap_err(),
        "request body must be a JSON object"
    );
    assert!(
        convert("{")
            .unwrap_err()
            .starts_with("invalid JSON request body: ")
    );
    assert!(
        convert("{\"input\":\"a\"} x")
            .unwrap_err()
            .starts_with("invalid JSON")
    );
}

#[test]
fn conversion_errors_are_400() {
    let err = embeddings_to_instances(b"{}").unwrap_err();
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn the_converter_hands_the_client_model_to_its_translator() {
    let ctx = ConvertContext::new(
        Provider::VertexAi,
        Some("configured"),
        Some("from-client"),
        RequestType::AiChat,
    );
    let mut converted = EmbeddingsToPredict
        .convert_request(br#"{"input":"x","model":"from-client"}"#, &ctx)
        .unwrap();
    let mut out = BytesMut::new();
    converted
        .translator
        .translate_body(StatusCode::OK, br#"{"predictions":[]}"#, &mut out)
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["model"], "from-client");
}

#[test]
fn predictions_become_an_openai_embeddings_list() {
    let upstream = r#"{
      "predictions": [
        {"embeddings": {"statistics": {"truncated": false, "token_count": 6}, "values": [0.0125, -0.5, 1e-7]}},
        {"embeddings": {"statistics": {"truncated": false, "token_count": 2.0}, "values": [1, 2]}}
      ],
      "metadata": {"billableCharacterCount": 11}
    }"#;
    assert_eq!(
        translate(Some("text-embedding-004"), 200, upstream).unwrap(),
        r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0125, -0.5, 1e-7]},{"object":"embedding","index":1,"embedding":[1, 2]}],"model":"text-embedding-004","usage":{"prompt_tokens":8,"total_tokens":8}}"#
    );
}

#[test]
fn model_is_unknown_without_a_client_model() {
    let out = translate(None, 200, r#"{"predictions":[]}"#).unwrap();
    assert_eq!(
        out,
        r#"{"object":"list","data":[],"model":"unknown","usage":{"prompt_tokens":0,"total_tokens":0}}"#
    );
}

#[test]
fn model_names_are_json_escaped() {
    let out = translate(Some("a\"b\\c"), 200, r#"{"predictions":[]}"#).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["model"], "a\"b\\c");
}

#[test]
fn missing_statistics_or_token_count_count_zero() {
    let upstream = r#"{"predictions":[{"embeddings":{"values":[1]}},{"embeddings":{"values":[2],"statistics":{}}},{"embeddings":{"values":[3],"statistics":{"token_count":null}}},{"embeddings":{"values":[4],"statistics":{"token_count":5}}}]}"#;
    let v: serde_json::Value =
        serde_json::from_str(&translate(None, 200, upstream).unwrap()).unwrap();
    assert_eq!(v["usage"]["prompt_tokens"], 5);
    assert_eq!(v["usage"]["total_tokens"], 5);
    assert_eq!(v["data"].as_array().unwrap().len(), 4);
}

#[test]
fn no_predictions_is_malformed() {
    for body in [
        r#"{}"#,
        r#"{"predictions":null}"#,
        r#"{"predictions":{}}"#,
        r#"{"predictions":"x"}"#,
    ] {
        assert_eq!(
            translate(None, 200, body).unwrap_err(),
            TranslateError::Malformed("vertex response missing predictions".into()),
            "{body}"
        );
    }
    let err = translate(None, 200, "{}").unwrap_err();
    assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[test]
fn a_prediction_without_values_is_an_invalid_embedding() {
    for body in [
        r#"{"predictions":[{"embeddings":{"values":[1]}},{}]}"#,
        r#"{"predictions":[{"embeddings":{"values":[1]}},{"embeddings":null}]}"#,
        r#"{"predictions":[{"embeddings":{"values":[1]}},{"embeddings":{"values":{"a":1}}}]}"#,
        r#"{"predictions":[{"embeddings":{"values":[1]}},{"embeddings":{"values":[1,"2"]}}]}"#,
        r#"{"predictions":[{"embeddings":{"values":[1]}},{"embeddings":{"values":[null]}}]}"#,
        r#"{"predictions":[{"embeddings":{"values":[1]}},null]}"#,
        r#"{"predictions":[{"embeddings":{"values":[1]}},"x"]}"#,
    ] {
        assert_eq!(
            translate(None, 200, body).unwrap_err(),
            TranslateError::Malformed("invalid embedding at index 2".into()),
            "{body}"
        );
    }
}

#[test]
fn a_token_count_that_is_not_a_non_negative_integer_is_malformed() {
    for count in ["-1", "1.5", "\"3\"", "[]", "1e30"] {
        let body = format!(
            r#"{{"predictions":[{{"embeddings":{{"values":[1],"statistics":{{"token_count":{count}}}}}}}]}}"#
        );
        assert_eq!(
            translate(None, 200, &body).unwrap_err(),
            TranslateError::Malformed(
                "invalid statistics.token_count at index 1: expected a non-negative integer".into()
            ),
            "{count}"
        );
    }
}

#[test]
fn token_counts_saturate_instead_of_overflowing() {
    let max = u64::MAX;
    let body = format!(
        r#"{{"predictions":[{{"embeddings":{{"values":[1],"statistics":{{"token_count":{max}}}}}}},{{"embeddings":{{"values":[1],"statistics":{{"token_count":1}}}}}}]}}"#
    );
    let v: serde_json::Value = serde_json::from_str(&translate(None, 200, &body).unwrap()).unwrap();
    assert_eq!(v["usage"]["total_tokens"], u64::MAX);
}

#[test]
fn a_json_body_that_is_not_an_object_is_malformed() {
    for body in ["[]", "null", "\"x\"", "1"] {
        assert_eq!(
            translate(None, 200, body).unwrap_err(),
            TranslateError::Malformed("vertex response is not a JSON object".into()),
            "{body}"
        );
    }
}

#[test]
fn a_body_that_is_not_json_passes_through() {
    assert_eq!(
        translate(None, 200, "upstream said no").unwrap(),
        "upstream said no"
    );
}

#[test]
fn error_statuses_pass_the_vertex_error_through() {
    let body = r#"{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}"#;
    for status in [400, 401, 403, 404, 429, 500, 503] {
        assert_eq!(translate(Some("m"), status, body).unwrap(), body);
    }
}

#[test]
fn an_error_leaves_the_output_untouched() {
    let mut out = BytesMut::from(&b"kept"[..]);
    let body = br#"{"predictions":[{"embeddings":{"values":[1]}},{}]}"#;
    assert!(
        PredictTranslator::default()
            .translate_body(StatusCode::OK, body, &mut out)
            .is_err()
    );
    assert_eq!(&out[..], b"kept");
}

#[test]
fn streaming_is_not_supported() {
    let mut t = PredictTranslator::default();
    let mut out = BytesMut::new();
    let err = t.translate_event("message", "{}", &mut out).unwrap_err();
    assert!(err.to_string().contains("do not stream"), "{err}");
    assert_eq!(t.finish(&mut out).unwrap_err(), TranslateError::EmptyStream);
    assert!(out.is_empty());
    assert_eq!(t.content_type(false), "application/json");
}
