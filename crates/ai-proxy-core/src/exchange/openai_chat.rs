//! `openai-chat` (and OpenAI-wire providers: Azure, DeepSeek, OpenRouter,
//! Groq, Mistral…): `chat.completion.chunk` streams ending in `[DONE]`, and
//! `chat.completion` bodies.

use serde::Deserialize;

use super::json::{
    Content, Count, ErrorInfo, NonEmpty, Str, has_non_null, looks_like_object, parse,
};
use super::observe::{Finders, Observation};
use super::scan::Cursor;
use crate::usage::Usage;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ChatUsage {
    prompt_tokens: Count,
    completion_tokens: Count,
    total_tokens: Count,
    prompt_tokens_details: Option<PromptDetails>,
    completion_tokens_details: Option<CompletionDetails>,
    /// DeepSeek's cache hits.
    prompt_cache_hit_tokens: Option<Count>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PromptDetails {
    cached_tokens: Option<Count>,
    cache_creation_input_tokens: Count,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CompletionDetails {
    reasoning_tokens: Count,
}

impl ChatUsage {
    pub(crate) fn to_usage(&self) -> Usage {
        let details = self.prompt_tokens_details.as_ref();
        let cache_read = details
            .and_then(|d| d.cached_tokens)
            .or(self.prompt_cache_hit_tokens)
            .unwrap_or_default();
        Usage::new(self.prompt_tokens.0, self.completion_tokens.0)
            .with_total(self.total_tokens.0)
            .with_cache(
                cache_read.0,
                details.map_or(0, |d| d.cache_creation_input_tokens.0),
            )
            .with_reasoning(
                self.completion_tokens_details
                    .as_ref()
                    .map_or(0, |d| d.reasoning_tokens.0),
            )
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Chunk<'a> {
    #[serde(borrow)]
    model: Str<'a>,
    #[serde(borrow)]
    choices: Option<Vec<Choice<'a>>>,
    usage: Option<ChatUsage>,
    /// Groq reports stream usage under `x_groq.usage`.
    x_groq: Option<XGroq>,
    error: ErrorInfo,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct XGroq {
    usage: Option<ChatUsage>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Choice<'a> {
    #[serde(borrow)]
    delta: Option<Message<'a>>,
    #[serde(borrow)]
    message: Option<Message<'a>>,
    /// Legacy `completions` streams and bodies.
    #[serde(borrow)]
    text: Str<'a>,
    #[serde(borrow)]
    finish_reason: Str<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Message<'a> {
    #[serde(borrow)]
    content: Content<'a>,
    #[serde(borrow)]
    reasoning_content: Str<'a>,
    #[serde(borrow)]
    reasoning: Str<'a>,
    tool_calls: NonEmpty,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorEvent {
    error: ErrorInfo,
    message: Option<String>,
}

/// Records an `event: error` (or an `error` chunk) payload.
pub(crate) fn error_event(obs: &mut Observation, data: &[u8]) {
    match parse::<ErrorEvent>(data.trim_ascii()) {
        Some(event) => obs.error(event.error.message.as_deref().or(event.message.as_deref())),
        None => obs.error(None),
    }
}

/// Whether an event may carry something still missing.
fn wanted(obs: &Observation, f: &Finders, data: &[u8]) -> bool {
    if !obs.content_seen || (obs.model.is_none() && f.model.find(data).is_some()) {
        return true;
    }
    has_non_null(&f.usage, data)
        || has_non_null(&f.error, data)
        || (!obs.has_tool_calls && has_non_null(&f.tool_calls, data))
}

pub(crate) fn event(obs: &mut Observation, f: &Finders, kind: &str, data: &[u8], full: bool) {
    // APISIX reads only `message` events; an `error` event is counted.
    if kind != "message" {
        if kind == "error" {
            error_event(obs, data);
        }
        return;
    }
    let data = data.trim_ascii();
    if data.is_empty() {
        return;
    }
    if data == b"[DONE]" {
        obs.done = true;
        return;
    }
    if !looks_like_object(data) {
        obs.malformed();
        return;
    }
    if full {
        // Text wanted: walk the chunk once; parse it fully only when it may
        // carry more than text.
        if scan_chunk(obs, data).is_some() {
            return;
        }
    } else if !wanted(obs, f, data) {
        return;
    }
    let Some(chunk) = parse::<Chunk<'_>>(data) else {
        obs.malformed();
        return;
    };
    obs.set_model(chunk.model.as_deref());
    if chunk.error.present {
        obs.error(chunk.error.message.as_deref());
    }
    for choice in chunk.choices.iter().flatten() {
        if let Some(delta) = choice.delta.as_ref().or(choice.message.as_ref()) {
            if let Some(text) = delta.content.0.as_deref()
                && !text.is_empty()
            {
                obs.content_seen = true;
                obs.push_text(text);
            }
            let reasoning = delta
                .reasoning_content
                .as_deref()
                .or(delta.reasoning.as_deref());
            if reasoning.is_some_and(|r| !r.is_empty()) {
                obs.content_seen = true;
            }
            if delta.tool_calls.0 {
                obs.content_seen = true;
                obs.has_tool_calls = true;
            }
        }
        if let Some(text) = choice.text.as_deref()
            && !text.is_empty()
        {
            obs.content_seen = true;
            obs.push_text(text);
        }
    }
    if let Some(usage) = chunk.usage.or(chunk.x_groq.and_then(|x| x.usage)) {
        obs.add_usage(usage.to_usage());
    }
}

pub(crate) fn body(obs: &mut Observation, body: &[u8]) {
    let Some(chunk) = parse::<Chunk<'_>>(body.trim_ascii()) else {
        obs.malformed();
        return;
    };
    obs.set_model(chunk.model.as_deref());
    if chunk.error.present {
        obs.error(chunk.error.message.as_deref());
    }
    let mut texts: Vec<&str> = Vec::new();
    for choice in chunk.choices.iter().flatten() {
        if let Some(message) = choice.message.as_ref().or(choice.delta.as_ref()) {
            if let Some(text) = message.content.0.as_deref() {
                texts.push(text);
            }
            if message.tool_calls.0 {
                obs.has_tool_calls = true;
            }
        }
        if let Some(text) = choice.text.as_deref() {
            texts.push(text);
        }
        if choice.finish_reason.as_deref().is_some() {
            obs.done = true;
        }
    }
    obs.content_seen = obs.has_tool_calls || texts.iter().any(|t| !t.is_empty());
    // APISIX joins the choices' contents with a space.
    obs.push_text(&texts.join(" "));
    if let Some(usage) = chunk.usage.or(chunk.x_groq.and_then(|x| x.usage)) {
        obs.add_usage(usage.to_usage());
    }
}

/// Reads a chunk's text (`choices[].delta.content`) as the full parse
/// would, when text is all the chunk can add; `None` (nothing recorded)
/// when it needs the full parse (first content, a model still unknown,
/// usage, an error, the first tool call, content parts, a `message` or
/// legacy `text` choice).
fn scan_chunk(obs: &mut Observation, data: &[u8]) -> Option<()> {
    if !obs.content_seen {
        return None;
    }
    let (model_known, tools_known) = (obs.model.is_some(), obs.has_tool_calls);
    let text = obs.text.as_mut()?;
    let mark = text.len();
    let mut cursor = Cursor::new(data);
    let scanned = cursor.object(|cur, key| match key {
        b"usage" | b"error" | b"x_groq" if !cur.is_null() => None,
        b"model" if !model_known => None,
        b"choices" if !cur.is_null() => cur.array(|cur| scan_choice(cur, text, tools_known)),
        _ => cur.skip(),
    });
    if scanned.is_none() || !cursor.at_end() {
        // Undo what was appended; the full parse will append it again.
        text.truncate(mark);
        return None;
    }
    Some(())
}

fn scan_choice(cur: &mut Cursor<'_>, text: &mut String, tools_known: bool) -> Option<()> {
    cur.object(|cur, key| match key {
        b"delta" if !cur.is_null() => cur.object(|cur, field| match field {
            b"content" if cur.is_string() => {
                text.push_str(&cur.string()?.text()?);
                Some(())
            }
            // Content parts or an odd type: the full parse decides.
            b"content" if !cur.is_null() => None,
            b"tool_calls" if !tools_known && !cur.is_null() => None,
            _ => cur.skip(),
        }),
        b"message" | b"text" if !cur.is_null() => None,
        _ => cur.skip(),
    })
}
