//! Content blocks → OpenAI content parts: text, images and documents.

use std::borrow::Cow;

use serde_json::value::RawValue;

use super::shapes::{Block, Source, object};
use ai_proxy_core::json::raw::{is_string, non_empty_string, str_value, string_inner, write_raw};

/// A converted content part.
pub(super) enum Part<'a> {
    Text(&'a RawValue),
    Media(Media<'a>),
}

/// An image or document as an OpenAI `image_url`.
pub(super) enum Media<'a> {
    /// `data:<media_type>;base64,<data>`.
    Data {
        media_type: Option<&'a RawValue>,
        default_type: &'static str,
        data: &'a RawValue,
    },
    /// A URL source, copied.
    Url(&'a RawValue),
}

pub(super) fn media<'a>(block: &Block<'a>, kind: &str) -> Option<Media<'a>> {
    let source: Source<'_> = object(block.source)?;
    let source_kind = source.kind.and_then(str_value);
    match (kind, source_kind.as_deref()) {
        ("image" | "document", Some("base64")) => {
            let data = non_empty_string(source.data)?;
            Some(Media::Data {
                media_type: source.media_type.filter(|m| is_string(m)),
                default_type: if kind == "image" {
                    "image/png"
                } else {
                    "application/pdf"
                },
                data,
            })
        }
        ("image", Some("url")) => non_empty_string(source.url).map(Media::Url),
        _ => None,
    }
}

/// A `text`, `image` or `document` block as a content part; `None` for
/// other kinds, or a block without what its kind needs.
pub(super) fn part<'a>(block: &Block<'a>, kind: &str) -> Option<Part<'a>> {
    match kind {
        "text" => block.text.filter(|t| is_string(t)).map(Part::Text),
        "image" | "document" => media(block, kind).map(Part::Media),
        _ => None,
    }
}

/// A block and its `type`; `None` for a non-object or untyped block
/// (skipped, as in APISIX, which logs them).
pub(super) fn typed_block(raw: &RawValue) -> Option<(Block<'_>, Cow<'_, str>)> {
    let block = object::<Block<'_>>(Some(raw))?;
    let kind = block.kind.and_then(str_value)?;
    Some((block, kind))
}

fn write_part(out: &mut Vec<u8>, part: &Part<'_>) {
    match part {
        Part::Text(t) => {
            out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
            write_raw(out, t);
            out.push(b'}');
        }
        Part::Media(m) => {
            out.extend_from_slice(b"{\"type\":\"image_url\",\"image_url\":{\"url\":");
            match m {
                Media::Url(u) => write_raw(out, u),
                Media::Data {
                    media_type,
                    default_type,
                    data,
                } => {
                    out.extend_from_slice(b"\"data:");
                    match media_type {
                        Some(mt) => out.extend_from_slice(string_inner(mt).as_bytes()),
                        None => out.extend_from_slice(default_type.as_bytes()),
                    }
                    out.extend_from_slice(b";base64,");
                    out.extend_from_slice(string_inner(data).as_bytes());
                    out.push(b'"');
                }
            }
            out.extend_from_slice(b"}}");
        }
    }
}

pub(super) fn write_parts(out: &mut Vec<u8>, parts: &[Part<'_>]) {
    out.push(b'[');
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_part(out, part);
    }
    out.push(b']');
}

/// The text parts concatenated, as one JSON string (escaped contents
/// concatenate without decoding).
pub(super) fn write_joined_text(out: &mut Vec<u8>, parts: &[Part<'_>]) {
    out.push(b'"');
    for part in parts {
        if let Part::Text(t) = part {
            out.extend_from_slice(string_inner(t).as_bytes());
        }
    }
    out.push(b'"');
}

pub(super) fn has_text(parts: &[Part<'_>]) -> bool {
    parts
        .iter()
        .any(|p| matches!(p, Part::Text(t) if !ai_proxy_core::json::raw::is_empty_string(t)))
}
