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
///     &converted.body[..],
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
mod tests;
