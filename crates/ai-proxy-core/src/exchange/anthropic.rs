//! `anthropic-messages`: Anthropic's native Messages API streams
//! (`message_start` … `message_stop`) and message bodies.

use super::observation::{Finders, FullParse, Observation};
use crate::json::lenient::{ErrorInfo, parse};
use crate::json::{Raw, Scanner};
use crate::wire::anthropic::{Event, Message};

/// The `error` member's message, when there is an error.
fn error_info(error: Option<Raw<'_>>) -> ErrorInfo {
    error
        .and_then(|e| parse::<ErrorInfo>(e.bytes()))
        .unwrap_or_default()
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
    let own_kind = event.kind.and_then(Raw::str);
    let kind = if named {
        kind
    } else {
        own_kind.as_deref().unwrap_or_default()
    };
    match kind {
        "message_start" => {
            if let Some(message) = &event.message {
                obs.set_model(message.model.and_then(Raw::str).as_deref());
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
                && block.kind.is_some_and(|k| k.str_is("tool_use"))
            {
                obs.content_seen = true;
                obs.has_tool_calls = true;
            }
        }
        "content_block_delta" => {
            if let Some(delta) = &event.delta {
                obs.content_seen = true;
                if delta.kind.is_some_and(|k| k.str_is("text_delta"))
                    && let Some(text) = delta.text.and_then(Raw::str)
                {
                    obs.push_text(&text);
                }
            }
        }
        "message_stop" => obs.done = true,
        // APISIX ends the stream on `error`; it is not the end marker.
        "error" => obs.error(error_info(event.error).message.as_deref()),
        _ => {}
    }
}

pub(crate) fn body(obs: &mut Observation, body: &[u8]) {
    let Some(message) = parse::<Message<'_>>(body.trim_ascii()) else {
        obs.malformed();
        return;
    };
    let error = error_info(message.error);
    if message.kind.is_some_and(|k| k.str_is("error")) || error.present {
        obs.error(error.message.as_deref());
    }
    obs.set_model(message.model.and_then(Raw::str).as_deref());
    if let Some(usage) = &message.usage {
        obs.add_usage(usage.to_usage());
    }
    obs.done = message.stop_reason.is_some_and(Raw::is_string);
    let mut texts = Vec::new();
    for block in message.content.iter().flatten() {
        match block.kind.and_then(Raw::str).as_deref() {
            Some("text") => texts.extend(block.text.and_then(Raw::str)),
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
    let mut s = Scanner::new(data);
    s.object(|key, s| match &*key.name() {
        b"delta" => s.object(|key, s| match (&*key.name(), s.peek()) {
            (b"type", Some(b'"')) => {
                is_text = s.value()?.inner() == b"text_delta";
                Ok(())
            }
            (b"text", Some(b'"')) => {
                text = Some(s.value()?.str().ok_or(FullParse)?);
                Ok(())
            }
            (b"type" | b"text", _) => Err(FullParse),
            _ => Ok(s.skip()?),
        }),
        _ => Ok(s.skip()?),
    })
    .ok()?;
    s.end().ok()?;
    if is_text {
        out.push_str(&text?);
    }
    Some(())
}
