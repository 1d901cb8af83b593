//! AWS Comprehend `DetectToxicContent`, sans-IO: text cut into the
//! segments and calls the service accepts, and its answers read as
//! `ai-aws-content-moderation.lua` reads them.
//!
//! The API takes at most 10 text segments per call, each at most 1 KB,
//! 10 KB for the list (larger input is rejected with
//! `TextSizeLimitExceededException`); APISIX keeps a margin under the list
//! cap (10 000 bytes) and so does this.

use ai_proxy_core::config::ToxicCategory;
use ai_proxy_core::json::write::write_str;
use serde::Deserialize;

/// The SigV4 service name.
pub const COMPREHEND_SERVICE: &str = "comprehend";
/// `X-Amz-Target` of the call.
pub const DETECT_TOXIC_CONTENT_TARGET: &str = "Comprehend_20171127.DetectToxicContent";
/// `Content-Type` of the call (AWS JSON 1.1).
pub(crate) const AMZ_JSON: &str = "application/x-amz-json-1.1";
/// Segments per call.
pub const MAX_SEGMENTS_PER_CALL: usize = 10;
/// Text bytes per call (APISIX's margin under the 10 KB list cap).
pub const MAX_CALL_BYTES: usize = 10_000;
/// The largest answer a client should read (the answer to a full call is
/// a few KB).
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// Longest service text quoted in an error.
const MAX_QUOTED: usize = 200;

/// `text` cut into segments of at most `limit` bytes, each ending on a
/// character boundary (APISIX's `segment_end`: a multi-byte character is
/// never torn). `limit` below 4 is taken as 4, the widest UTF-8 character.
#[derive(Clone, Debug)]
pub struct Segments<'t> {
    text: &'t str,
    at: usize,
    limit: usize,
}

impl<'t> Segments<'t> {
    /// The segments of `text`.
    pub fn new(text: &'t str, limit: usize) -> Self {
        Self {
            text,
            at: 0,
            limit: limit.max(4),
        }
    }
}

impl<'t> Iterator for Segments<'t> {
    type Item = &'t str;

    fn next(&mut self) -> Option<&'t str> {
        if self.at >= self.text.len() {
            return None;
        }
        let mut end = (self.at + self.limit).min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let segment = self.text.get(self.at..end)?;
        self.at = end;
        Some(segment)
    }
}

/// The calls for `text`: segments of at most `limit` bytes, grouped at
/// most [`MAX_SEGMENTS_PER_CALL`] and [`MAX_CALL_BYTES`] to a call (APISIX's
/// `next_batch`).
pub fn batches(text: &str, limit: usize) -> impl Iterator<Item = Vec<&str>> {
    let mut segments = Segments::new(text, limit).peekable();
    std::iter::from_fn(move || {
        let mut batch = Vec::with_capacity(MAX_SEGMENTS_PER_CALL);
        let mut bytes = 0;
        while batch.len() < MAX_SEGMENTS_PER_CALL {
            let Some(next) = segments.peek() else { break };
            if !batch.is_empty() && bytes + next.len() > MAX_CALL_BYTES {
                break;
            }
            bytes += next.len();
            batch.push(*next);
            segments.next();
        }
        (!batch.is_empty()).then_some(batch)
    })
}

/// The JSON body of one call.
pub(crate) fn call_body(segments: &[&str]) -> Vec<u8> {
    let size: usize = segments.iter().map(|s| s.len() + 12).sum();
    let mut out = Vec::with_capacity(48 + size);
    out.extend_from_slice(br#"{"LanguageCode":"en","TextSegments":["#);
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(br#"{"Text":"#);
        write_str(&mut out, segment);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    out
}

/// One `DetectToxicContent` answer.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Toxicity {
    /// `ResultList`: one result per segment, in order.
    #[serde(rename = "ResultList", default)]
    pub results: Vec<ToxicityResult>,
}

/// One segment's scores.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ToxicityResult {
    /// `Labels`: `(Name, Score)` per category.
    #[serde(rename = "Labels", default)]
    pub labels: Vec<Label>,
    /// `Toxicity`: the overall score.
    #[serde(rename = "Toxicity")]
    pub toxicity: f64,
}

/// One category's score.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Label {
    /// `Name` (`PROFANITY`, `GRAPHIC`, …).
    #[serde(rename = "Name", default)]
    pub name: String,
    /// `Score` (0..=1).
    #[serde(rename = "Score", default)]
    pub score: f64,
}

/// An AWS JSON error answer.
#[derive(Deserialize)]
struct AwsError {
    #[serde(rename = "__type", default)]
    kind: String,
    #[serde(rename = "Message", alias = "message", default)]
    message: String,
}

impl Toxicity {
    /// Reads an answer: a 2xx status with a non-empty `ResultList` (else the
    /// reason, quoting the service's error type and message).
    pub fn parse(status: u16, body: &[u8]) -> Result<Self, String> {
        if !(200..300).contains(&status) {
            let what = serde_json::from_slice::<AwsError>(body)
                .map(|e| {
                    let kind = e.kind.rsplit('#').next().unwrap_or_default().to_owned();
                    quoted(&format!("{kind}: {}", e.message))
                })
                .unwrap_or_default();
            return Err(format!("Comprehend answered {status} {what}")
                .trim_end()
                .to_owned());
        }
        match serde_json::from_slice::<Toxicity>(body) {
            Ok(t) if !t.results.is_empty() => Ok(t),
            Ok(_) => Err("Comprehend answered no results".to_owned()),
            Err(e) => Err(format!(
                "Comprehend's answer is not a DetectToxicContent result: {e}"
            )),
        }
    }

    /// What the scores exceed, as APISIX checks them: per result in order,
    /// first each label with a configured threshold (the label's name),
    /// then the toxicity against `threshold` (`toxicity`). Scores equal to
    /// a threshold pass.
    pub fn exceeded(&self, categories: &[(ToxicCategory, f64)], threshold: f64) -> Option<&str> {
        for result in &self.results {
            for label in &result.labels {
                let limit = categories
                    .iter()
                    .find(|(c, _)| c.as_str() == label.name)
                    .map(|(_, t)| *t);
                if limit.is_some_and(|t| label.score > t) {
                    return Some(&label.name);
                }
            }
            if result.toxicity > threshold {
                return Some("toxicity");
            }
        }
        None
    }
}

/// `text` cut to [`MAX_QUOTED`] bytes on a character boundary.
fn quoted(text: &str) -> String {
    let mut end = text.len().min(MAX_QUOTED);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default().to_owned()
}
