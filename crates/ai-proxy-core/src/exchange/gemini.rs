//! `gemini`: Google's native `generateContent` bodies and
//! `streamGenerateContent?alt=sse` streams (Gemini API and Vertex AI).

use serde::Deserialize;

use super::observation::{Finders, Observation};
use crate::json::lenient::{Count, ErrorInfo, Str, has_non_null, looks_like_object, parse};
use crate::usage::Usage;

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct UsageMetadata {
    prompt_token_count: Count,
    candidates_token_count: Count,
    total_token_count: Count,
    cached_content_token_count: Count,
    thoughts_token_count: Count,
}

impl UsageMetadata {
    /// Completion counts thinking too, as Google's OpenAI-compatible
    /// endpoint reports it (`completion_tokens` = candidates + thoughts).
    fn to_usage(&self) -> Usage {
        let thoughts = self.thoughts_token_count.0;
        Usage::new(
            self.prompt_token_count.0,
            self.candidates_token_count.0.saturating_add(thoughts),
        )
        .with_total(self.total_token_count.0)
        .with_cache(self.cached_content_token_count.0, 0)
        .with_reasoning(thoughts)
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Chunk<'a> {
    #[serde(borrow)]
    candidates: Option<Vec<Candidate<'a>>>,
    usage_metadata: Option<UsageMetadata>,
    #[serde(borrow)]
    model_version: Str<'a>,
    error: ErrorInfo,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Candidate<'a> {
    #[serde(borrow)]
    content: Option<Content<'a>>,
    #[serde(borrow)]
    finish_reason: Str<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Content<'a> {
    #[serde(borrow)]
    parts: Option<Vec<Part<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Part<'a> {
    #[serde(borrow)]
    text: Str<'a>,
    thought: Option<bool>,
    function_call: Option<serde::de::IgnoredAny>,
}

fn wanted(obs: &Observation, f: &Finders, data: &[u8]) -> bool {
    !obs.content_seen
        || has_non_null(&f.usage_metadata, data)
        || has_non_null(&f.error, data)
        || (!obs.done && has_non_null(&f.finish_reason, data))
        || (obs.model.is_none() && f.model_version.find(data).is_some())
        || (!obs.has_tool_calls && f.function_call.find(data).is_some())
}

/// Applies one chunk; returns each candidate's non-thought text.
fn apply(obs: &mut Observation, chunk: &Chunk<'_>) -> Vec<String> {
    obs.set_model(chunk.model_version.as_deref());
    if chunk.error.present {
        obs.error(chunk.error.message.as_deref());
    }
    let mut texts = Vec::new();
    for candidate in chunk.candidates.iter().flatten() {
        let mut text = String::new();
        for part in candidate
            .content
            .iter()
            .flat_map(|c| c.parts.iter().flatten())
        {
            if part.function_call.is_some() {
                obs.content_seen = true;
                obs.has_tool_calls = true;
            }
            if let Some(piece) = part.text.as_deref() {
                obs.content_seen |= !piece.is_empty();
                if part.thought != Some(true) {
                    text.push_str(piece);
                }
            }
        }
        texts.push(text);
        if candidate
            .finish_reason
            .as_deref()
            .is_some_and(|r| !r.is_empty())
        {
            obs.done = true;
        }
    }
    if let Some(usage) = &chunk.usage_metadata {
        obs.add_usage(usage.to_usage());
    }
    texts
}

pub(crate) fn event(obs: &mut Observation, f: &Finders, kind: &str, data: &[u8], full: bool) {
    if kind != "message" {
        return;
    }
    let data = data.trim_ascii();
    if data.is_empty() {
        return;
    }
    if !looks_like_object(data) {
        obs.malformed();
        return;
    }
    if !full && !wanted(obs, f, data) {
        return;
    }
    let Some(chunk) = parse::<Chunk<'_>>(data) else {
        obs.malformed();
        return;
    };
    for text in apply(obs, &chunk) {
        obs.push_text(&text);
    }
}

pub(crate) fn body(obs: &mut Observation, body: &[u8]) {
    let body = body.trim_ascii();
    // `streamGenerateContent` without `alt=sse` answers a JSON array of chunks.
    if body.first() == Some(&b'[') {
        let Some(chunks) = parse::<Vec<Chunk<'_>>>(body) else {
            obs.malformed();
            return;
        };
        for chunk in &chunks {
            for text in apply(obs, chunk) {
                obs.push_text(&text);
            }
        }
        return;
    }
    let Some(chunk) = parse::<Chunk<'_>>(body) else {
        obs.malformed();
        return;
    };
    let texts = apply(obs, &chunk);
    obs.push_text(&texts.join(" "));
}
