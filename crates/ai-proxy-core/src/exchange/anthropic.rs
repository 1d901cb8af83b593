//! `anthropic-messages`: Anthropic's native Messages API streams
//! (`message_start` … `message_stop`) and message bodies.

use serde::Deserialize;

use super::json::{Count, ErrorInfo, Str, parse};
use super::observation::{Finders, Observation};
use super::scan::Cursor;
use crate::usage::Usage;

#[derive(Deserialize, Default)]
#[serde(default)]
struct AnthropicUsage {
    input_tokens: Count,
    output_tokens: Count,
    cache_read_input_tokens: Count,
    cache_creation_input_tokens: Count,
}

impl AnthropicUsage {
    fn to_usage(&self) -> Usage {
        // APISIX: total is always input + output.
        Usage::new(self.input_tokens.0, self.output_tokens.0).with_cache(
            self.cache_read_input_tokens.0,
            self.cache_creation_input_tokens.0,
        )
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Message<'a> {
    #[serde(rename = "type", borrow)]
    kind: Str<'a>,
    #[serde(borrow)]
    model: Str<'a>,
    usage: Option<AnthropicUsage>,
    #[serde(borrow)]
    content: Option<Vec<Block<'a>>>,
    #[serde(borrow)]
    stop_reason: Str<'a>,
    error: ErrorInfo,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Block<'a> {
    #[serde(rename = "type", borrow)]
    kind: Str<'a>,
    #[serde(borrow)]
    text: Str<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: Str<'a>,
    #[serde(borrow)]
    message: Option<Message<'a>>,
    usage: Option<AnthropicUsage>,
    #[serde(borrow)]
    delta: Option<Block<'a>>,
    #[serde(borrow)]
    content_block: Option<Block<'a>>,
    error: ErrorInfo,
}

fn wanted(obs: &Observation, kind: &str) -> bool {
    match kind {
        "message_start" | "message_delta" | "error" => true,
        "content_block_start" => !obs.has_tool_calls || !obs.content_seen,
        "content_block_delta" => !obs.content_seen,
        _ => false,
    }
}

/// For a plain event skimmed without text: whether [`event`] would do
/// more with it than count it. Only the event's name decides: a named event
/// [`wanted`] passes over is never parsed. (A name that is not UTF-8 is
/// none of Anthropic's, as the decoder's lossy text of it would not be.)
pub(crate) fn skim_needed(obs: &Observation, kind: &[u8]) -> bool {
    match std::str::from_utf8(kind) {
        // Unnamed (or `message`) events are parsed for their `type`;
        // `message_stop` ends the stream.
        Ok("" | "message" | "message_stop") => true,
        Ok(kind) => wanted(obs, kind),
        Err(_) => false,
    }
}

pub(crate) fn event(obs: &mut Observation, _f: &Finders, kind: &str, data: &[u8], full: bool) {
    let named = kind != "message";
    if named && kind == "message_stop" {
        obs.done = true;
        return;
    }
    if named && !wanted(obs, kind) {
        // Only text can still be missing, and only a text delta carries it.
        if !full || kind != "content_block_delta" {
            return;
        }
        if let Some(text) = &mut obs.text
            && scan_text_delta(data, text).is_some()
        {
            return;
        }
    }
    let Some(event) = parse::<Event<'_>>(data.trim_ascii()) else {
        obs.malformed();
        return;
    };
    let kind = if named {
        kind
    } else {
        event.kind.as_deref().unwrap_or_default()
    };
    match kind {
        "message_start" => {
            if let Some(message) = &event.message {
                obs.set_model(message.model.as_deref());
                if let Some(usage) = &message.usage {
                    obs.add_usage(usage.to_usage());
                }
            }
        }
        "message_delta" => {
            if let Some(usage) = &event.usage {
                obs.add_usage(usage.to_usage());
            }
        }
        "content_block_start" => {
            if let Some(block) = &event.content_block
                && block.kind.as_deref() == Some("tool_use")
            {
                obs.content_seen = true;
                obs.has_tool_calls = true;
            }
        }
        "content_block_delta" => {
            if let Some(delta) = &event.delta {
                obs.content_seen = true;
                if delta.kind.as_deref() == Some("text_delta")
                    && let Some(text) = delta.text.as_deref()
                {
                    obs.push_text(text);
                }
            }
        }
        "message_stop" => obs.done = true,
        // APISIX ends the stream on `error`; it is not the end marker.
        "error" => obs.error(event.error.message.as_deref()),
        _ => {}
    }
}

pub(crate) fn body(obs: &mut Observation, body: &[u8]) {
    let Some(message) = parse::<Message<'_>>(body.trim_ascii()) else {
        obs.malformed();
        return;
    };
    if message.kind.as_deref() == Some("error") || message.error.present {
        obs.error(message.error.message.as_deref());
    }
    obs.set_model(message.model.as_deref());
    if let Some(usage) = &message.usage {
        obs.add_usage(usage.to_usage());
    }
    obs.done = message.stop_reason.as_deref().is_some();
    let mut texts: Vec<&str> = Vec::new();
    for block in message.content.iter().flatten() {
        match block.kind.as_deref() {
            Some("text") => texts.extend(block.text.as_deref()),
            Some("tool_use") => obs.has_tool_calls = true,
            _ => {}
        }
    }
    obs.content_seen = obs.has_tool_calls || texts.iter().any(|t| !t.is_empty());
    obs.push_text(&texts.join(" "));
}

/// Appends a `content_block_delta`'s `text_delta` text as the full parse
/// would; `None` (nothing appended) when the event needs the full parse.
fn scan_text_delta(data: &[u8], out: &mut String) -> Option<()> {
    let (mut is_text, mut text) = (false, None);
    let mut cursor = Cursor::new(data);
    cursor.object(|cur, key| match key {
        b"delta" => cur.object(|cur, field| match field {
            b"type" if cur.is_string() => {
                is_text = cur.string()?.raw == b"text_delta";
                Some(())
            }
            b"text" if cur.is_string() => {
                text = Some(cur.string()?.text()?);
                Some(())
            }
            b"type" | b"text" => None,
            _ => cur.skip(),
        }),
        _ => cur.skip(),
    })?;
    if !cursor.at_end() {
        return None;
    }
    if is_text {
        out.push_str(&text?);
    }
    Some(())
}
