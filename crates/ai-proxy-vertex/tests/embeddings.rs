//! Embeddings through Vertex end to end (routing, request conversion,
//! response translation), checked against fixtures and against an oracle
//! written on `serde_json::Value` with proptest.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use ai_proxy_core::adapter::{ConvertContext, Delivery};
use ai_proxy_core::translate::{ResponseTranslator, TranslateError};
use ai_proxy_core::{Protocol, Provider, Registry, RequestType};
use ai_proxy_vertex::embeddings::embeddings_to_instances;
use ai_proxy_vertex::{EmbeddingsToPredict, PredictTranslator, VertexAi};
use bytes::BytesMut;
use http::StatusCode;
use proptest::prelude::*;
use serde_json::{Value, json};

const PREDICT: &str = include_str!("fixtures/predict-text-embedding-004.json");
const PREDICT_EXPECTED: &str = include_str!("fixtures/predict-text-embedding-004.expected.json");
const PREDICT_ERROR: &str = include_str!("fixtures/predict-error-400.json");

fn registry() -> Registry {
    Registry::new()
        .with_adapter(Arc::new(VertexAi))
        .with_converter(Arc::new(EmbeddingsToPredict))
}

#[test]
fn embeddings_clients_reach_vertex_through_the_converter() {
    let registry = registry();
    let vertex = registry.adapter(Provider::VertexAi).unwrap();
    let delivery = registry
        .delivery(vertex.as_ref(), Protocol::OpenAiEmbeddings)
        .unwrap();
    let Delivery::Converted(converter) = &delivery else {
        panic!("{delivery:?}")
    };
    assert_eq!(converter.client_protocol(), Protocol::OpenAiEmbeddings);
    assert_eq!(delivery.target_protocol(), Protocol::VertexPredict);
}

#[test]
fn chat_clients_reach_vertex_natively() {
    let registry = registry();
    let vertex = registry.adapter(Provider::VertexAi).unwrap();
    let delivery = registry
        .delivery(vertex.as_ref(), Protocol::OpenAiChat)
        .unwrap();
    assert!(matches!(delivery, Delivery::Native(Protocol::OpenAiChat)));
}

#[test]
fn responses_clients_are_not_routed_to_vertex() {
    let registry = registry();
    let vertex = registry.adapter(Provider::VertexAi).unwrap();
    assert!(
        registry
            .delivery(vertex.as_ref(), Protocol::OpenAiResponses)
            .is_none()
    );
    let supported: Vec<&str> = vertex.capabilities().iter().map(|p| p.as_str()).collect();
    assert_eq!(supported.join(", "), "openai-chat, vertex-predict");
}

#[test]
fn a_documented_predict_response_becomes_the_openai_list() {
    let ctx = ConvertContext::new(
        Provider::VertexAi,
        Some("text-embedding-004"),
        Some("text-embedding-004"),
        RequestType::AiChat,
    );
    let registry = registry();
    let vertex = registry.adapter(Provider::VertexAi).unwrap();
    let Some(Delivery::Converted(converter)) =
        registry.delivery(vertex.as_ref(), Protocol::OpenAiEmbeddings)
    else {
        panic!("no converter")
    };
    let mut converted = converter
        .convert_request(
            br#"{"model":"text-embedding-004","input":["What is life?","42"]}"#,
            &ctx,
        )
        .unwrap();
    assert_eq!(
        &converted.body[..],
        br#"{"instances":[{"content":"What is life?"},{"content":"42"}]}"#
    );
    let mut out = BytesMut::new();
    converted
        .translator
        .translate_body(StatusCode::OK, PREDICT.as_bytes(), &mut out)
        .unwrap();
    assert_eq!(std::str::from_utf8(&out).unwrap(), PREDICT_EXPECTED);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["data"][1]["embedding"][2], json!(1.2e-5));
}

#[test]
fn a_vertex_error_reaches_the_client_unchanged() {
    let mut out = BytesMut::new();
    PredictTranslator::new(Some("m".into()))
        .translate_body(StatusCode::BAD_REQUEST, PREDICT_ERROR.as_bytes(), &mut out)
        .unwrap();
    assert_eq!(&out[..], PREDICT_ERROR.as_bytes());
}

/// APISIX's conversion, on a decoded value: the expected `content`s or the
/// expected error message.
fn oracle_request(input: Option<&Value>) -> Result<Vec<String>, String> {
    match input {
        None | Some(Value::Bool(false)) => Err("`input` is required for embeddings".into()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                Value::Array(parts) => parts
                    .iter()
                    .map(|p| match p {
                        Value::String(s) => Ok(s.clone()),
                        Value::Number(n) => Ok(n.to_string()),
                        _ => Err(format!("unsupported input type at index {}", i + 1)),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(|parts| parts.join(" ")),
                _ => Err(format!("unsupported input type at index {}", i + 1)),
            })
            .collect(),
        Some(_) => Err("`input` must be string or array".into()),
    }
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[a-z \\\\\"/\u{e9}\u{1F600}\n\t]{0,12}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Inputs shaped like real embeddings requests most of the time.
fn embeddings_input() -> impl Strategy<Value = Option<Value>> {
    let text = prop_oneof![any::<String>(), "[a-z \\\\\"\u{e9}\n]{0,12}"];
    let tokens =
        prop::collection::vec(any::<u32>().prop_map(Value::from), 0..6).prop_map(Value::Array);
    let item = prop_oneof![
        4 => text.clone().prop_map(Value::String),
        2 => tokens,
        1 => json_value(),
    ];
    prop_oneof![
        3 => text.prop_map(|s| Some(Value::String(s))),
        4 => prop::collection::vec(item, 0..6).prop_map(|v| Some(Value::Array(v))),
        1 => json_value().prop_map(Some),
        1 => Just(None),
    ]
}

fn contents(converted: &[u8]) -> Vec<String> {
    let v: Value = serde_json::from_slice(converted).unwrap();
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 1, "only `instances`: {v}");
    v["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i.as_object().unwrap().len(), 1);
            i["content"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn predictions() -> impl Strategy<Value = Vec<(Vec<f64>, Option<u32>)>> {
    let values = prop::collection::vec(any::<f64>().prop_filter("finite", |f| f.is_finite()), 0..8);
    prop::collection::vec((values, proptest::option::of(any::<u32>())), 0..6)
}

proptest! {
    #[test]
    fn conversion_matches_the_oracle(
        input in embeddings_input(),
        model in proptest::option::of("[a-z0-9-]{1,12}"),
        pretty in any::<bool>(),
    ) {
        let mut body = serde_json::Map::new();
        if let Some(model) = &model {
            body.insert("model".into(), Value::String(model.clone()));
        }
        if let Some(input) = &input {
            body.insert("input".into(), input.clone());
        }
        body.insert("encoding_format".into(), json!("float"));
        let body = Value::Object(body);
        let text = if pretty { serde_json::to_string_pretty(&body) } else { serde_json::to_string(&body) }.unwrap();
        let got = embeddings_to_instances(text.as_bytes());
        match oracle_request(input.as_ref()) {
            Ok(expected) => prop_assert_eq!(contents(&got.unwrap()), expected),
            Err(message) => prop_assert_eq!(got.unwrap_err().message, message),
        }
    }

    #[test]
    fn conversion_never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(out) = embeddings_to_instances(&body) {
            contents(&out);
        }
    }

    #[test]
    fn conversion_never_panics_on_json(value in json_value()) {
        let body = json!({"input": value}).to_string();
        if let Ok(out) = embeddings_to_instances(body.as_bytes()) {
            contents(&out);
        }
    }

    #[test]
    fn translation_matches_the_oracle(preds in predictions(), model in proptest::option::of("[a-zA-Z0-9\"\\\\-]{0,12}")) {
        let upstream = json!({
            "predictions": preds.iter().map(|(values, count)| {
                let mut embeddings = json!({"values": values});
                if let Some(count) = count {
                    embeddings["statistics"] = json!({"truncated": false, "token_count": count});
                }
                json!({"embeddings": embeddings})
            }).collect::<Vec<_>>(),
            "metadata": {"billableCharacterCount": 1},
        });
        let mut out = BytesMut::new();
        PredictTranslator::new(model.clone())
            .translate_body(StatusCode::OK, upstream.to_string().as_bytes(), &mut out)
            .unwrap();
        let tokens: u64 = preds.iter().map(|(_, c)| u64::from(c.unwrap_or(0))).sum();
        // Values as read back from the upstream text (serde_json's float
        // parsing is not exactly round-trip; the translator copies bytes).
        let upstream: Value = serde_json::from_str(&upstream.to_string()).unwrap();
        let expected = json!({
            "object": "list",
            "data": (0..preds.len()).map(|i| json!({
                "object": "embedding", "index": i,
                "embedding": upstream["predictions"][i]["embeddings"]["values"],
            })).collect::<Vec<_>>(),
            "model": model.as_deref().unwrap_or("unknown"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        });
        let got: Value = serde_json::from_slice(&out).unwrap();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn translation_never_panics(body in prop::collection::vec(any::<u8>(), 0..256), status in 100u16..600) {
        let status = StatusCode::from_u16(status).unwrap();
        let mut out = BytesMut::new();
        match PredictTranslator::default().translate_body(status, &body, &mut out) {
            Ok(()) if out[..] == body[..] => {}
            Ok(()) => { serde_json::from_slice::<Value>(&out).unwrap(); }
            Err(TranslateError::Malformed(_)) => prop_assert!(out.is_empty()),
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
    }

    #[test]
    fn translation_never_panics_on_json(value in json_value()) {
        let body = json!({"predictions": [value.clone(), {"embeddings": value}]}).to_string();
        let mut out = BytesMut::new();
        if PredictTranslator::default().translate_body(StatusCode::OK, body.as_bytes(), &mut out).is_ok() {
            serde_json::from_slice::<Value>(&out).unwrap();
        }
    }
}
