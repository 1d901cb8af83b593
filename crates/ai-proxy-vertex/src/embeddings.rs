//! OpenAI embeddings ⇄ Vertex AI `:predict`, as APISIX's converter
//! `openai-embeddings-to-vertex-predict` does.
//!
//! Request: only `input` is read; the upstream body is
//! `{"instances":[{"content": <text>}, …]}` (everything else the client sent,
//! `model` included, is dropped: the model is in the `:predict` URL).
//!
//! | `input` | `instances` |
//! |---|---|
//! | `"text"` | one `{"content":"text"}` |
//! | `["a", "b"]` | one per string |
//! | `[[1, 2], ["x", "y"]]` (token arrays / string arrays) | one per inner array, its items joined by `" "` |
//! | anything else inside the array | 400 `unsupported input type at index <i>` (1-based, as APISIX's Lua) |
//! | absent or `false` | 400 ``` `input` is required for embeddings ``` |
//! | any other non-array, non-string value | 400 ``` `input` must be string or array ``` |
//!
//! Texts are copied as the client wrote them (escapes and all), never
//! decoded and re-encoded. Where APISIX's Lua differs on odd input we answer
//! 400 instead: an object `input` (APISIX sends zero instances), or an inner
//! array holding anything but strings and numbers (a Lua error, 500).
//!
//! Response: [`PredictTranslator`] turns
//! `{"predictions":[{"embeddings":{"values":[…],"statistics":{"token_count":n}}}, …]}`
//! into an OpenAI embeddings list; see its docs.

use bytes::{BufMut, BytesMut};
use http::StatusCode;
use serde_json::value::RawValue;

use ai_proxy_core::Protocol;
use ai_proxy_core::adapter::{ConvertContext, ConvertError, ConvertedRequest, Converter};
use ai_proxy_core::translate::{ResponseTranslator, TranslateError};

use crate::json::{self, Kind};

/// The converter `openai-embeddings` → `vertex-predict`.
///
/// ```
/// use ai_proxy_core::adapter::{ConvertContext, Converter};
/// use ai_proxy_core::{Provider, RequestType};
/// use ai_proxy_vertex::EmbeddingsToPredict;
///
/// let ctx = ConvertContext::new(
///     Provider::VertexAi,
///     Some("text-embedding-004"),
///     Some("text-embedding-004"),
///     RequestType::AiChat,
/// );
/// let body = br#"{"model": "text-embedding-004", "input": ["hello", [1, 2, 3]]}"#;
/// let converted = EmbeddingsToPredict.convert_request(body, &ctx).unwrap();
/// assert_eq!(
///     converted.body,
///     br#"{"instances":[{"content":"hello"},{"content":"1 2 3"}]}"#
/// );
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmbeddingsToPredict;

impl Converter for EmbeddingsToPredict {
    fn client_protocol(&self) -> Protocol {
        Protocol::OpenAiEmbeddings
    }

    fn target_protocol(&self) -> Protocol {
        Protocol::VertexPredict
    }

    fn convert_request(
        &self,
        body: &[u8],
        ctx: &ConvertContext<'_>,
    ) -> Result<ConvertedRequest, ConvertError> {
        let body = embeddings_to_instances(body)?;
        let translator = PredictTranslator::new(ctx.request_llm_model.map(str::to_owned));
        Ok(ConvertedRequest::new(body, Box::new(translator)))
    }
}

/// The request half of [`EmbeddingsToPredict`]: an OpenAI embeddings body to
/// a Vertex `:predict` body.
///
/// ```
/// use ai_proxy_vertex::embeddings::embeddings_to_instances;
/// assert_eq!(
///     embeddings_to_instances(br#"{"input": "hi"}"#).unwrap(),
///     br#"{"instances":[{"content":"hi"}]}"#
/// );
/// let err = embeddings_to_instances(br#"{"input": ["a", 7]}"#).unwrap_err();
/// assert_eq!(err.message, "unsupported input type at index 2");
/// ```
pub fn embeddings_to_instances(body: &[u8]) -> Result<Vec<u8>, ConvertError> {
    let [input] = json::pick_bytes(body, &["input"])
        .map_err(|e| ConvertError::new(format!("invalid JSON request body: {e}")))?
        .ok_or_else(|| ConvertError::new("request body must be a JSON object"))?;
    let input = input.ok_or_else(input_required)?;

    // `{"instances":[` + `{"content":` + text + `}` per item + `]}`: the
    // input's length bounds the output's, plus the fixed framing.
    let mut out = Vec::with_capacity(input.get().len() + 32);
    out.extend_from_slice(br#"{"instances":["#);
    match json::kind(input) {
        Kind::String => push_instance(&mut out, input)?,
        Kind::Array => {
            let items = json::elements(input).unwrap_or_default();
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match json::kind(item) {
                    Kind::String => push_instance(&mut out, item)?,
                    Kind::Array => push_joined_instance(&mut out, item, i + 1)?,
                    _ => return Err(unsupported_at(i + 1)),
                }
            }
        }
        // Lua: `not input` is true for an absent input and for `false`.
        Kind::Bool(false) => return Err(input_required()),
        Kind::Object | Kind::Number | Kind::Bool(true) | Kind::Null => {
            return Err(ConvertError::new("`input` must be string or array"));
        }
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

fn input_required() -> ConvertError {
    ConvertError::new("`input` is required for embeddings")
}

fn unsupported_at(index: usize) -> ConvertError {
    ConvertError::new(format!("unsupported input type at index {index}"))
}

/// `{"content":<raw JSON string>}`.
fn push_instance(out: &mut Vec<u8>, raw_string: &RawValue) -> Result<(), ConvertError> {
    check_escapes(raw_string)?;
    out.extend_from_slice(br#"{"content":"#);
    out.extend_from_slice(raw_string.get().as_bytes());
    out.push(b'}');
    Ok(())
}

/// Rejects a string whose `\u` escapes do not decode (an unpaired
/// surrogate): serde_json skips such strings when it only scans raw values,
/// but they are not valid JSON text and must not be copied upstream.
fn check_escapes(raw_string: &RawValue) -> Result<(), ConvertError> {
    if !raw_string.get().contains("\\u") {
        return Ok(());
    }
    serde_json::from_str::<std::borrow::Cow<'_, str>>(raw_string.get())
        .map(drop)
        .map_err(|e| ConvertError::new(format!("invalid JSON request body: {e}")))
}

/// `{"content":"<items joined by a space>"}` for an inner array of strings
/// and numbers (Lua's `table.concat(v, " ")`). Each string's escaped body
/// and each number's text are valid inside one JSON string, so the join is
/// done on the raw text.
fn push_joined_instance(
    out: &mut Vec<u8>,
    array: &RawValue,
    index: usize,
) -> Result<(), ConvertError> {
    let parts = json::elements(array).unwrap_or_default();
    out.extend_from_slice(br#"{"content":""#);
    for (j, part) in parts.iter().enumerate() {
        if j > 0 {
            out.push(b' ');
        }
        let text = match json::kind(part) {
            Kind::String => {
                check_escapes(part)?;
                json::string_body(part)
            }
            Kind::Number => Some(part.get()),
            _ => None,
        };
        out.extend_from_slice(text.ok_or_else(|| unsupported_at(index))?.as_bytes());
    }
    out.extend_from_slice(br#""}"#);
    Ok(())
}

/// Turns a Vertex `:predict` response into an OpenAI embeddings list.
///
/// `predictions[i].embeddings.values` (an array of numbers) becomes
/// `data[i].embedding`, copied byte for byte (APISIX re-encodes the floats
/// with 14 significant digits; we keep all of them); `model` is the
/// client's `model` (`$request_llm_model`) or `"unknown"`; and
/// `usage.prompt_tokens` = `usage.total_tokens` = the sum of
/// `predictions[].embeddings.statistics.token_count`.
///
/// Like APISIX, a 2xx body that is not JSON is passed through unchanged.
/// Unlike APISIX, a non-2xx body (Vertex's own error JSON) is passed through
/// unchanged too, so the client sees Google's error instead of a 500
/// `vertex response missing predictions`.
///
/// `:predict` never streams: [`translate_event`](ResponseTranslator::translate_event)
/// is an error and [`finish`](ResponseTranslator::finish) reports an empty
/// stream.
///
/// ```
/// use ai_proxy_core::translate::ResponseTranslator;
/// use ai_proxy_vertex::PredictTranslator;
/// use bytes::BytesMut;
/// use http::StatusCode;
///
/// let upstream = br#"{"predictions":[{"embeddings":{"values":[0.1,-0.2],"statistics":{"token_count":3,"truncated":false}}}]}"#;
/// let mut out = BytesMut::new();
/// PredictTranslator::new(Some("text-embedding-004".into()))
///     .translate_body(StatusCode::OK, upstream, &mut out)
///     .unwrap();
/// assert_eq!(
///     &out[..],
///     br#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]}],"model":"text-embedding-004","usage":{"prompt_tokens":3,"total_tokens":3}}"#
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PredictTranslator {
    request_llm_model: Option<String>,
}

impl PredictTranslator {
    /// A translator answering with `request_llm_model` (the client body's
    /// `model`) as the response's `model`.
    pub fn new(request_llm_model: Option<String>) -> Self {
        Self { request_llm_model }
    }
}

impl ResponseTranslator for PredictTranslator {
    fn translate_body(
        &mut self,
        status: StatusCode,
        body: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        if !status.is_success() {
            out.extend_from_slice(body);
            return Ok(());
        }
        let Ok(picked) = json::pick_bytes(body, &["predictions"]) else {
            // APISIX forwards an undecodable body verbatim.
            out.extend_from_slice(body);
            return Ok(());
        };
        let [predictions] =
            picked.ok_or_else(|| malformed("vertex response is not a JSON object"))?;
        let predictions = predictions
            .and_then(json::elements)
            .ok_or_else(|| malformed("vertex response missing predictions"))?;
        let model = self.request_llm_model.as_deref().unwrap_or("unknown");
        predict_to_embeddings(&predictions, model, out)
    }

    fn translate_event(
        &mut self,
        _event: &str,
        _data: &str,
        _out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        Err(malformed(
            "vertex :predict responses do not stream; the upstream answered with an event \
             stream where a JSON body was expected",
        ))
    }

    fn finish(&mut self, _out: &mut BytesMut) -> Result<(), TranslateError> {
        Err(TranslateError::EmptyStream)
    }
}

fn malformed(message: impl Into<String>) -> TranslateError {
    TranslateError::Malformed(message.into())
}

fn predict_to_embeddings(
    predictions: &[&RawValue],
    model: &str,
    out: &mut BytesMut,
) -> Result<(), TranslateError> {
    // Build aside so that an error leaves `out` untouched.
    let values_len: usize = predictions.iter().map(|p| p.get().len()).sum();
    let mut buf = Vec::with_capacity(values_len + 64 * predictions.len() + model.len() + 96);
    buf.extend_from_slice(br#"{"object":"list","data":["#);
    let mut tokens: u64 = 0;
    for (i, prediction) in predictions.iter().enumerate() {
        let (values, count) = embedding(prediction).ok_or_else(|| invalid_embedding(i + 1))?;
        tokens = tokens.saturating_add(count.ok_or_else(|| invalid_token_count(i + 1))?);
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(br#"{"object":"embedding","index":"#);
        push_u64(&mut buf, i as u64);
        buf.extend_from_slice(br#","embedding":"#);
        buf.extend_from_slice(values.get().as_bytes());
        buf.push(b'}');
    }
    buf.extend_from_slice(br#"],"model":"#);
    serde_json::to_writer(&mut buf, model).map_err(|e| malformed(e.to_string()))?;
    buf.extend_from_slice(br#","usage":{"prompt_tokens":"#);
    push_u64(&mut buf, tokens);
    buf.extend_from_slice(br#","total_tokens":"#);
    push_u64(&mut buf, tokens);
    buf.extend_from_slice(b"}}");
    out.put_slice(&buf);
    Ok(())
}

/// One prediction's `embeddings.values` (an array) and its token count
/// (`Some(0)` when absent, `None` when not a non-negative integer), or
/// `None` when there are no values.
fn embedding(prediction: &RawValue) -> Option<(&RawValue, Option<u64>)> {
    let [embeddings] = json::pick(prediction.get(), &["embeddings"]).ok()??;
    let [values, statistics] = json::pick(embeddings?.get(), &["values", "statistics"]).ok()??;
    let values = values.filter(|v| is_number_array(v))?;
    let count = match statistics {
        None => Some(0),
        Some(statistics) => match json::pick(statistics.get(), &["token_count"]) {
            Ok(Some([None])) => Some(0),
            Ok(Some([Some(count)])) => token_count(count),
            // `statistics` null or not an object: APISIX ignores it.
            _ => Some(0),
        },
    };
    Some((values, count))
}

/// Whether `raw` is an array of numbers (an embedding vector).
fn is_number_array(raw: &RawValue) -> bool {
    json::elements(raw).is_some_and(|items| items.iter().all(|v| json::kind(v) == Kind::Number))
}

/// A token count: a non-negative integer, also when written as `12.0`;
/// `null` counts as absent (APISIX decodes null as nil).
fn token_count(raw: &RawValue) -> Option<u64> {
    match json::kind(raw) {
        Kind::Null => Some(0),
        Kind::Number => {
            let text = raw.get();
            text.parse::<u64>().ok().or_else(|| {
                let f = text.parse::<f64>().ok()?;
                // Exact integers only; u64::MAX as f64 rounds up, hence `<`.
                (f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64).then_some(f as u64)
            })
        }
        _ => None,
    }
}

fn invalid_embedding(index: usize) -> TranslateError {
    malformed(format!("invalid embedding at index {index}"))
}

fn invalid_token_count(index: usize) -> TranslateError {
    malformed(format!(
        "invalid statistics.token_count at index {index}: expected a non-negative integer"
    ))
}

fn push_u64(buf: &mut Vec<u8>, n: u64) {
    // `u64`'s Display never fails when writing to a Vec.
    let _ = std::io::Write::write_fmt(buf, format_args!("{n}"));
}

#[cfg(test)]
mod tests {
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
                    "invalid statistics.token_count at index 1: expected a non-negative integer"
                        .into()
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
        let v: serde_json::Value =
            serde_json::from_str(&translate(None, 200, &body).unwrap()).unwrap();
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
}
