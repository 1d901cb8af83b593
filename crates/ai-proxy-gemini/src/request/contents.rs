//! `messages` → `contents` (and the system texts for `systemInstruction`).

use ai_proxy_core::adapter::ConvertError;
use ai_proxy_core::json::chat::{self, Payload, data_url};
use ai_proxy_core::json::scan::{Raw, SyntaxError, elements, fields};
use ai_proxy_core::json::write::write_str;

use super::{Message, invalid, malformed};

/// Writes the `contents` array; returns the system / developer texts, in
/// order, for `systemInstruction`.
pub(super) fn write_contents<'a>(
    out: &mut Vec<u8>,
    messages: &[Message<'a>],
) -> Result<Vec<Raw<'a>>, ConvertError> {
    let mut system = Vec::new();
    // Tool call id → function name, for `functionResponse.name`.
    let mut calls: Vec<(Raw<'a>, Raw<'a>)> = Vec::new();
    let mut count = 0usize;
    // Whether the last written content is an open `user` content of
    // `functionResponse` parts (consecutive tool messages share it: Gemini
    // wants every response to one turn's calls in one content).
    let mut open_results = false;
    out.push(b'[');
    for (i, m) in messages.iter().enumerate() {
        match m.role.as_ref() {
            "system" | "developer" => {
                for_each_text(m.content, i, |t| system.push(t))?;
                continue;
            }
            "tool" => {
                if open_results {
                    out.push(b',');
                } else {
                    start_content(out, count, b"user");
                    count += 1;
                    open_results = true;
                }
                write_function_response(out, m, i, &calls)?;
                continue;
            }
            _ => {}
        }
        if open_results {
            out.extend_from_slice(b"]}");
            open_results = false;
        }
        let mark = out.len();
        let parts = match m.role.as_ref() {
            "user" => {
                start_content(out, count, b"user");
                write_user_parts(out, m.content, i)?
            }
            "assistant" => {
                start_content(out, count, b"model");
                write_model_parts(out, m, i, &mut calls)?
            }
            other => {
                return Err(invalid(format_args!(
                    "messages[{i}]: role `{other}` is not supported (use system, developer, \
                     user, assistant or tool)"
                )));
            }
        };
        if parts == 0 {
            // Gemini rejects contents without parts: an empty message is
            // left out.
            out.truncate(mark);
        } else {
            out.extend_from_slice(b"]}");
            count += 1;
        }
    }
    if open_results {
        out.extend_from_slice(b"]}");
    }
    out.push(b']');
    if count == 0 {
        return Err(invalid(
            "messages hold no user, assistant or tool content; Gemini needs at least one",
        ));
    }
    Ok(system)
}

fn start_content(out: &mut Vec<u8>, count: usize, role: &[u8]) {
    if count > 0 {
        out.push(b',');
    }
    out.extend_from_slice(b"{\"role\":\"");
    out.extend_from_slice(role);
    out.extend_from_slice(b"\",\"parts\":[");
}

/// Calls `f` with each non-empty text of message `i`'s content.
fn for_each_text<'a>(
    content: Option<Raw<'a>>,
    i: usize,
    f: impl FnMut(Raw<'a>),
) -> Result<(), ConvertError> {
    chat::for_each_text(content, i, f).map_err(invalid)
}

/// A part separator: a comma before every part but the first.
fn sep(out: &mut Vec<u8>, n: &mut usize) {
    if *n > 0 {
        out.push(b',');
    }
    *n += 1;
}

fn write_text_part(out: &mut Vec<u8>, text: Raw<'_>, signature: Option<Raw<'_>>) {
    out.extend_from_slice(b"{\"text\":");
    out.extend_from_slice(text.bytes());
    if let Some(sig) = signature {
        out.extend_from_slice(b",\"thoughtSignature\":");
        out.extend_from_slice(sig.bytes());
    }
    out.push(b'}');
}

/// Writes a user message's parts; returns how many were written.
fn write_user_parts(
    out: &mut Vec<u8>,
    content: Option<Raw<'_>>,
    i: usize,
) -> Result<usize, ConvertError> {
    let content =
        content.ok_or_else(|| invalid(format_args!("messages[{i}] (user) has no content")))?;
    let mut n = 0;
    if content.is_string() {
        if !content.is_empty_string() {
            sep(out, &mut n);
            write_text_part(out, content, None);
        }
        return Ok(n);
    }
    if !content.is_array() {
        return Err(invalid(format_args!(
            "messages[{i}].content must be a string or an array of content parts"
        )));
    }
    for (j, part) in elements(content)
        .map_err(malformed)?
        .into_iter()
        .enumerate()
    {
        write_user_part(out, &mut n, part, i, j)?;
    }
    Ok(n)
}

fn write_user_part(
    out: &mut Vec<u8>,
    n: &mut usize,
    part: Raw<'_>,
    i: usize,
    j: usize,
) -> Result<(), ConvertError> {
    let at = || format!("messages[{i}].content[{j}]");
    if !part.is_object() {
        return Err(invalid(format_args!("{} must be an object", at())));
    }
    let [kind, text, image_url, input_audio, file] =
        fields(part, ["type", "text", "image_url", "input_audio", "file"]).map_err(malformed)?;
    let kind = kind.and_then(Raw::str).unwrap_or_default();
    match kind.as_ref() {
        "text" => {
            let text = text
                .filter(|t| t.is_string())
                .ok_or_else(|| invalid(format_args!("{}: text part without text", at())))?;
            if !text.is_empty_string() {
                sep(out, n);
                write_text_part(out, text, None);
            }
        }
        "image_url" => {
            // `image_url` is an object with `url`, or (older clients) the URL.
            let url = match image_url {
                Some(u) if u.is_object() => fields(u, ["url"]).map_err(malformed)?[0],
                other => other,
            }
            .filter(|u| u.is_string())
            .ok_or_else(|| {
                invalid(format_args!(
                    "{}: image_url part without image_url.url",
                    at()
                ))
            })?;
            sep(out, n);
            match data_url(url) {
                Some(url) => write_inline_data(out, &url.media_type, &url.data),
                None => write_file_data(out, url),
            }
        }
        "input_audio" => {
            let [data, format] = input_audio
                .filter(|a| a.is_object())
                .map(|a| fields(a, ["data", "format"]))
                .transpose()
                .map_err(malformed)?
                .unwrap_or_default();
            let (Some(data), Some(format)) = (
                data.filter(|d| d.is_string()),
                format.and_then(Raw::str).filter(|f| !f.is_empty()),
            ) else {
                return Err(invalid(format_args!(
                    "{}: input_audio part needs input_audio.data and input_audio.format",
                    at()
                )));
            };
            sep(out, n);
            let mime = format!("audio/{format}");
            write_inline_data(out, &mime, &Payload::Raw(data.inner()));
        }
        "file" => {
            let [file_data, file_id] = file
                .filter(|f| f.is_object())
                .map(|f| fields(f, ["file_data", "file_id"]))
                .transpose()
                .map_err(malformed)?
                .unwrap_or_default();
            if let Some(url) = file_data.and_then(data_url) {
                sep(out, n);
                write_inline_data(out, &url.media_type, &url.data);
            } else if let Some(id) = file_id.filter(|f| f.is_string() && !f.is_empty_string()) {
                sep(out, n);
                out.extend_from_slice(b"{\"fileData\":{\"fileUri\":");
                out.extend_from_slice(id.bytes());
                out.extend_from_slice(b"}}");
            } else {
                return Err(invalid(format_args!(
                    "{}: file parts need file.file_data as a base64 data URL or file.file_id \
                     as a Gemini file URI",
                    at()
                )));
            }
        }
        other => {
            return Err(invalid(format_args!(
                "{}: content part type `{other}` has no Gemini equivalent (use text, \
                 image_url, input_audio or file)",
                at()
            )));
        }
    }
    Ok(())
}

fn write_inline_data(out: &mut Vec<u8>, media_type: &str, data: &Payload<'_>) {
    out.extend_from_slice(b"{\"inlineData\":{\"mimeType\":");
    write_str(out, media_type);
    out.extend_from_slice(b",\"data\":");
    data.write(out);
    out.extend_from_slice(b"}}");
}

/// A URL part: `fileData` with the media type its extension names (Vertex
/// requires one; the Gemini API infers it when absent).
fn write_file_data(out: &mut Vec<u8>, url: Raw<'_>) {
    out.extend_from_slice(b"{\"fileData\":{");
    if let Some(mime) = url.str().as_deref().and_then(media_type_of) {
        out.extend_from_slice(b"\"mimeType\":\"");
        out.extend_from_slice(mime.as_bytes());
        out.extend_from_slice(b"\",");
    }
    out.extend_from_slice(b"\"fileUri\":");
    out.extend_from_slice(url.bytes());
    out.extend_from_slice(b"}}");
}

/// The media type a URL's file extension names, for the types Gemini reads.
fn media_type_of(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let ext = path.rsplit_once('.')?.1;
    const TYPES: [(&str, &str); 14] = [
        ("png", "image/png"),
        ("jpg", "image/jpeg"),
        ("jpeg", "image/jpeg"),
        ("webp", "image/webp"),
        ("gif", "image/gif"),
        ("heic", "image/heic"),
        ("heif", "image/heif"),
        ("pdf", "application/pdf"),
        ("mp3", "audio/mp3"),
        ("wav", "audio/wav"),
        ("mp4", "video/mp4"),
        ("mov", "video/mov"),
        ("webm", "video/webm"),
        ("txt", "text/plain"),
    ];
    TYPES
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map(|(_, t)| *t)
}

/// `extra_content.google.thought_signature`, when it is a string.
pub(crate) fn thought_signature(extra: Option<Raw<'_>>) -> Result<Option<Raw<'_>>, SyntaxError> {
    let Some(extra) = extra.filter(|e| e.is_object()) else {
        return Ok(None);
    };
    let [google] = fields(extra, ["google"])?;
    let Some(google) = google.filter(|g| g.is_object()) else {
        return Ok(None);
    };
    let [sig] = fields(google, ["thought_signature"])?;
    Ok(sig.filter(|s| s.is_string() && !s.is_empty_string()))
}

/// Writes an assistant message's parts (texts, then function calls);
/// returns how many were written and records each call's id and name.
fn write_model_parts<'a>(
    out: &mut Vec<u8>,
    m: &Message<'a>,
    i: usize,
    calls: &mut Vec<(Raw<'a>, Raw<'a>)>,
) -> Result<usize, ConvertError> {
    let tool_calls = match m.tool_calls {
        Some(c) if c.is_array() => chat::tool_calls(c).map_err(malformed)?,
        Some(_) => {
            return Err(invalid(format_args!(
                "messages[{i}].tool_calls must be an array"
            )));
        }
        None => Vec::new(),
    };
    let mut texts = Vec::new();
    for_each_text(m.content, i, |t| texts.push(t))?;
    let mut signature = thought_signature(m.extra_content).map_err(malformed)?;
    let mut n = 0;
    let last = texts.len().saturating_sub(1);
    for (k, text) in texts.iter().enumerate() {
        sep(out, &mut n);
        // A signature Gemini gave a text part goes back on the text.
        write_text_part(out, *text, if k == last { signature.take() } else { None });
    }
    for (j, call) in tool_calls.iter().enumerate() {
        let (id, name) = call.id_and_name(i, j).map_err(invalid)?;
        let own = thought_signature(call.extra_content).map_err(malformed)?;
        sep(out, &mut n);
        out.extend_from_slice(b"{\"functionCall\":{\"id\":");
        out.extend_from_slice(id.bytes());
        out.extend_from_slice(b",\"name\":");
        out.extend_from_slice(name.bytes());
        out.extend_from_slice(b",\"args\":");
        write_args(out, call.arguments)
            .map_err(|what| invalid(format_args!("messages[{i}].tool_calls[{j}]: {what}")))?;
        out.push(b'}');
        // A message-level signature with no text to carry it goes on the
        // first call that has none of its own.
        if let Some(sig) = own.or_else(|| signature.take()) {
            out.extend_from_slice(b",\"thoughtSignature\":");
            out.extend_from_slice(sig.bytes());
        }
        out.push(b'}');
        calls.push((id, name));
    }
    Ok(n)
}

/// `function.arguments` (a string holding a JSON object) → `args`.
fn write_args(out: &mut Vec<u8>, arguments: Option<Raw<'_>>) -> Result<(), &'static str> {
    let Some(text) = arguments.filter(|a| a.is_string()).map(Raw::unescaped) else {
        out.extend_from_slice(b"{}");
        return Ok(());
    };
    let text = text.as_deref().map(<[u8]>::trim_ascii).unwrap_or_default();
    if text.is_empty() {
        out.extend_from_slice(b"{}");
        return Ok(());
    }
    let is_object = text.first() == Some(&b'{')
        && serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok();
    if !is_object {
        return Err("function.arguments must be a JSON object (Gemini functionCall.args)");
    }
    out.extend_from_slice(text);
    Ok(())
}

/// A `tool` message → a `functionResponse` part. Gemini needs the function
/// name, which OpenAI tool messages carry only through `tool_call_id`.
fn write_function_response(
    out: &mut Vec<u8>,
    m: &Message<'_>,
    i: usize,
    calls: &[(Raw<'_>, Raw<'_>)],
) -> Result<(), ConvertError> {
    let id = m
        .tool_call_id
        .filter(|v| v.is_string())
        .ok_or_else(|| invalid(format_args!("messages[{i}] (tool) has no tool_call_id")))?;
    let same_id = |call: &Raw<'_>| {
        call.bytes() == id.bytes()
            || ((call.inner().contains(&b'\\') || id.inner().contains(&b'\\'))
                && call.str().is_some_and(|c| id.str().is_some_and(|d| c == d)))
    };
    let name = calls
        .iter()
        .rev()
        .find(|(call, _)| same_id(call))
        .map(|(_, name)| *name)
        .or(m.name.filter(|n| n.is_string() && !n.is_empty_string()))
        .ok_or_else(|| {
            invalid(format_args!(
                "messages[{i}] (tool): tool_call_id {} matches no earlier assistant tool call; \
                 Gemini needs the function's name (send the assistant message with its \
                 tool_calls, or set `name` on the tool message)",
                String::from_utf8_lossy(id.bytes())
            ))
        })?;
    out.extend_from_slice(b"{\"functionResponse\":{\"id\":");
    out.extend_from_slice(id.bytes());
    out.extend_from_slice(b",\"name\":");
    out.extend_from_slice(name.bytes());
    out.extend_from_slice(b",\"response\":{\"content\":");
    match m.content {
        Some(c) if c.is_string() => out.extend_from_slice(c.bytes()),
        Some(c) => {
            // Text parts concatenate as their escaped contents: no decoding.
            out.push(b'"');
            for_each_text(Some(c), i, |t| out.extend_from_slice(t.inner()))?;
            out.push(b'"');
        }
        None => out.extend_from_slice(b"\"\""),
    }
    out.extend_from_slice(b"}}}");
    Ok(())
}
