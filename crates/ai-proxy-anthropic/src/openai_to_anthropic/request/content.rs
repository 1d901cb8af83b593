//! Content → Anthropic blocks: texts, and user parts (text, images and
//! files; data URLs become `base64` sources).

use ai_proxy_core::adapter::ConvertError;
use ai_proxy_core::json::Raw;
use ai_proxy_core::json::chat::{DataUrl, data_url};
use ai_proxy_core::json::write::write_str;

use super::invalid;
use super::message::{Content, Part};

/// Calls `f` with each non-empty text of a string-or-text-parts content
/// (other part types are ignored here).
pub(super) fn for_each_text<'a>(
    content: Content<'a>,
    parts: &[Part<'a>],
    i: usize,
    mut f: impl FnMut(Raw<'a>),
) -> Result<(), ConvertError> {
    match content {
        Content::Absent => {}
        Content::Raw(text) if text.is_string() => {
            if !text.is_empty_string() {
                f(text);
            }
        }
        Content::Raw(_) => return Err(not_content(i)),
        Content::Parts => {
            for part in parts.iter().filter(|p| p.object) {
                if part.kind.is_some_and(|k| k.str_is("text"))
                    && let Some(t) = part.text.and_then(Raw::non_empty_string)
                {
                    f(t);
                }
            }
        }
    }
    Ok(())
}

fn not_content(i: usize) -> ConvertError {
    invalid(format_args!(
        "messages[{i}].content must be a string or an array of content parts"
    ))
}

/// `{"type":"text","text":…}`.
pub(super) fn write_text_block(out: &mut Vec<u8>, text: Raw<'_>) {
    out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
    out.extend_from_slice(text.bytes());
    out.push(b'}');
}

/// A user message's content: a string as is, parts as blocks.
pub(super) fn write_user_content(
    out: &mut Vec<u8>,
    content: Content<'_>,
    parts: &[Part<'_>],
    i: usize,
) -> Result<(), ConvertError> {
    match content {
        Content::Absent => Err(invalid(format_args!("messages[{i}] (user) has no content"))),
        Content::Raw(text) if text.is_string() => {
            out.extend_from_slice(text.bytes());
            Ok(())
        }
        Content::Raw(_) => Err(not_content(i)),
        Content::Parts => {
            out.push(b'[');
            for (j, part) in parts.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                write_part(out, part, i, j)?;
            }
            out.push(b']');
            Ok(())
        }
    }
}

fn write_part(out: &mut Vec<u8>, part: &Part<'_>, i: usize, j: usize) -> Result<(), ConvertError> {
    let at = || format!("messages[{i}].content[{j}]");
    if !part.object {
        return Err(invalid(format_args!("{} must be an object", at())));
    }
    let kind = part.kind.and_then(Raw::str).unwrap_or_default();
    match kind.as_ref() {
        "text" => {
            let text = part
                .text
                .filter(|t| t.is_string())
                .ok_or_else(|| invalid(format_args!("{}: text part without text", at())))?;
            out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
            out.extend_from_slice(text.bytes());
        }
        "image_url" => {
            let url = part.url.filter(|u| u.is_string()).ok_or_else(|| {
                invalid(format_args!(
                    "{}: image_url part without image_url.url",
                    at()
                ))
            })?;
            out.extend_from_slice(b"{\"type\":\"image\",\"source\":");
            match data_url(url) {
                Some(url) => write_base64_source(out, &url),
                None => {
                    out.extend_from_slice(b"{\"type\":\"url\",\"url\":");
                    out.extend_from_slice(url.bytes());
                    out.push(b'}');
                }
            }
        }
        "file" => {
            let url = part.file_data.and_then(data_url).ok_or_else(|| {
                invalid(format_args!(
                    "{}: file parts need file.file_data as a base64 data URL (file_id \
                     cannot be sent to Anthropic)",
                    at()
                ))
            })?;
            out.extend_from_slice(b"{\"type\":\"document\",\"source\":");
            write_base64_source(out, &url);
        }
        other => {
            return Err(invalid(format_args!(
                "{}: content part type `{other}` has no Anthropic equivalent (use text, \
                 image_url or file)",
                at()
            )));
        }
    }
    if let Some(cc) = part.cache_control.filter(|c| c.is_object()) {
        out.extend_from_slice(b",\"cache_control\":");
        out.extend_from_slice(cc.bytes());
    }
    out.push(b'}');
    Ok(())
}

fn write_base64_source(out: &mut Vec<u8>, url: &DataUrl<'_>) {
    out.extend_from_slice(b"{\"type\":\"base64\",\"media_type\":");
    write_str(out, &url.media_type);
    out.extend_from_slice(b",\"data\":");
    url.data.write(out);
    out.push(b'}');
}
