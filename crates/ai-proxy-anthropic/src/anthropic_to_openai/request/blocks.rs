//! Content blocks read in place: each block's members are taken as raw
//! values while the scanner passes them (a tool result's content array
//! included), then sorted into text and media parts, tool calls and tool
//! results that point into the client's bytes.

use std::ops::Range;

use ai_proxy_core::json::write::{write_array, write_as_string};
use ai_proxy_core::json::{Raw, Scanner, SyntaxError};

use crate::tool_names::is_valid_tool_name_bytes;

/// A member that is present and not `null` (serde's `Option` reading).
pub(super) fn present(raw: Raw<'_>) -> Option<Raw<'_>> {
    (!raw.is_null()).then_some(raw)
}

/// The members of a block the mapping reads.
#[derive(Default)]
pub(super) struct Block<'a> {
    kind: Option<Raw<'a>>,
    text: Option<Raw<'a>>,
    id: Option<Raw<'a>>,
    name: Option<Raw<'a>>,
    input: Option<Raw<'a>>,
    tool_use_id: Option<Raw<'a>>,
    /// `source` when it is an object: type, media_type, data, url.
    source: Option<[Option<Raw<'a>>; 4]>,
    content: Content<'a>,
}

/// A tool result's `content`.
#[derive(Clone, Copy, Default)]
pub(super) enum Content<'a> {
    #[default]
    Absent,
    /// A string, copied as is.
    Text(Raw<'a>),
    /// An array: its parts are `nested[from..to]`.
    Parts { from: usize, to: usize },
    /// Anything else (sent as `""`).
    Other,
}

/// A text, image or document part.
#[derive(Clone, Copy)]
pub(super) enum Part<'a> {
    Text(Raw<'a>),
    /// `data:<media_type>;base64,<data>` (contents of two strings).
    Data {
        media_type: Option<Raw<'a>>,
        default_type: &'static str,
        data: Raw<'a>,
    },
    /// An image URL, copied.
    Url(Raw<'a>),
}

/// A `tool_use` block.
pub(super) struct Call<'a> {
    pub(super) id: Raw<'a>,
    pub(super) name: Raw<'a>,
    /// Whether the name is a valid OpenAI name as written (then it has no
    /// character JSON escapes).
    pub(super) valid_name: bool,
    /// Its `input` as OpenAI `arguments` (a JSON string), in
    /// [`Sorted::args`]; none is sent as `"{}"`.
    pub(super) arguments: Option<Range<usize>>,
}

/// A `tool_result` block.
pub(super) struct ToolResult<'a> {
    pub(super) tool_use_id: Raw<'a>,
    pub(super) content: Content<'a>,
}

/// One message's blocks, sorted: text and media parts, calls, results,
/// and the parts of the results' content arrays. Reused from message to
/// message.
#[derive(Default)]
pub(super) struct Sorted<'a> {
    pub(super) parts: Vec<Part<'a>>,
    pub(super) calls: Vec<Call<'a>>,
    pub(super) results: Vec<ToolResult<'a>>,
    pub(super) nested: Vec<Part<'a>>,
    /// The calls' arguments, written as their inputs are read.
    pub(super) args: Vec<u8>,
}

impl Sorted<'_> {
    pub(super) fn clear(&mut self) {
        self.parts.clear();
        self.calls.clear();
        self.results.clear();
        self.nested.clear();
        self.args.clear();
    }
}

/// What a block is, by its `type`.
pub(super) enum Kind {
    Text,
    Image,
    Document,
    ToolUse,
    ToolResult,
    Other,
}

impl<'a> Block<'a> {
    /// Reads the block at the cursor into `block` (`false` for a
    /// non-object, skipped as APISIX skips it). A `content` array is read
    /// when `nested` is given: its parts go there. One `Block` is reused
    /// for a message's blocks: it is large, and moving it per block showed
    /// in profiles.
    pub(super) fn read(
        s: &mut Scanner<'a>,
        nested: Option<&mut Vec<Part<'a>>>,
        block: &mut Self,
    ) -> Result<bool, SyntaxError> {
        *block = Block::default();
        let mut nested = nested;
        let is_object = s.object_or_skip(|key, s| {
            let slot = match &*key.name() {
                b"type" => &mut block.kind,
                b"text" => &mut block.text,
                b"id" => &mut block.id,
                b"name" => &mut block.name,
                b"input" => &mut block.input,
                b"tool_use_id" => &mut block.tool_use_id,
                b"source" => {
                    block.source = s.fields_of_object(["type", "media_type", "data", "url"])?;
                    return Ok(());
                }
                b"content" => {
                    if let Some(parts) = nested.as_deref_mut() {
                        block.content = read_content(s, parts)?;
                        return Ok(());
                    }
                    return s.skip();
                }
                _ => return s.skip(),
            };
            *slot = present(s.value()?);
            Ok::<(), SyntaxError>(())
        })?;
        Ok(is_object)
    }

    /// The block's kind; `None` for a block without a string `type`.
    pub(super) fn kind(&self) -> Option<Kind> {
        let kind = self.kind.filter(|k| k.is_string())?;
        let of = |name: &[u8]| match name {
            b"text" => Kind::Text,
            b"image" => Kind::Image,
            b"document" => Kind::Document,
            b"tool_use" => Kind::ToolUse,
            b"tool_result" => Kind::ToolResult,
            _ => Kind::Other,
        };
        // A known type has no escapes: only an unknown one can need
        // decoding.
        match of(kind.inner()) {
            Kind::Other if kind.inner().contains(&b'\\') => Some(of(kind.str()?.as_bytes())),
            known => Some(known),
        }
    }

    /// A `text`, `image` or `document` block as a part; `None` for other
    /// kinds, or a block without what its kind needs.
    pub(super) fn part(&self, kind: &Kind) -> Option<Part<'a>> {
        match kind {
            Kind::Text => self.text.filter(|t| t.is_string()).map(Part::Text),
            Kind::Image | Kind::Document => self.media(matches!(kind, Kind::Image)),
            _ => None,
        }
    }

    fn media(&self, image: bool) -> Option<Part<'a>> {
        let [kind, media_type, data, url] = self.source?;
        let kind = kind.filter(|k| k.is_string())?;
        if kind.str_is("base64") {
            return Some(Part::Data {
                media_type: media_type.filter(|m| m.is_string()),
                default_type: if image {
                    "image/png"
                } else {
                    "application/pdf"
                },
                data: data?.non_empty_string()?,
            });
        }
        if image && kind.str_is("url") {
            return url?.non_empty_string().map(Part::Url);
        }
        None
    }

    /// A `tool_use` block's call (see [`Call::new`]), its input written
    /// onto `args`.
    pub(super) fn call(&self, args: &mut Vec<u8>) -> Option<Call<'a>> {
        let mut call = Call::new(self.id, self.name)?;
        if let Some(input) = self.input {
            let from = args.len();
            write_as_string(args, input.bytes());
            call.arguments = Some(from..args.len());
        }
        Some(call)
    }

    /// A `tool_result` block's result (see [`ToolResult::new`]).
    pub(super) fn result(&self) -> Option<ToolResult<'a>> {
        ToolResult::new(self.tool_use_id, self.content)
    }
}

impl<'a> Call<'a> {
    /// The call of a `tool_use` block with these members: one with a
    /// string id and a decodable string name (its arguments not set).
    pub(super) fn new(id: Option<Raw<'a>>, name: Option<Raw<'a>>) -> Option<Self> {
        let id = id.filter(|i| i.is_string())?;
        let name = name.filter(|n| n.is_string())?;
        // A valid OpenAI name has no escapes; otherwise, the body being
        // UTF-8, only a name with escapes may not decode.
        let valid_name = is_valid_tool_name_bytes(name.inner());
        if !valid_name && name.inner().contains(&b'\\') && name.str().is_none() {
            return None;
        }
        Some(Call {
            id,
            name,
            valid_name,
            arguments: None,
        })
    }
}

impl<'a> ToolResult<'a> {
    /// The result of a `tool_result` block with a string `tool_use_id`.
    pub(super) fn new(tool_use_id: Option<Raw<'a>>, content: Content<'a>) -> Option<Self> {
        Some(ToolResult {
            tool_use_id: tool_use_id.filter(|i| i.is_string())?,
            content,
        })
    }
}

/// A tool result's `content` at the cursor; an array's text, image and
/// document parts are appended to `parts`.
pub(super) fn read_content<'a>(
    s: &mut Scanner<'a>,
    parts: &mut Vec<Part<'a>>,
) -> Result<Content<'a>, SyntaxError> {
    if s.peek() != Some(b'[') {
        let raw = s.value()?;
        return Ok(if raw.is_null() {
            Content::Absent
        } else if raw.is_string() {
            Content::Text(raw)
        } else {
            Content::Other
        });
    }
    let from = parts.len();
    let mut block = Block::default();
    s.array(|s| {
        if Block::read(s, None, &mut block)?
            && let Some(kind) = block.kind()
        {
            parts.extend(block.part(&kind));
        }
        Ok::<(), SyntaxError>(())
    })?;
    Ok(Content::Parts {
        from,
        to: parts.len(),
    })
}

/// Writes a part as an OpenAI content part.
fn write_part(out: &mut Vec<u8>, part: &Part<'_>) {
    match part {
        Part::Text(t) => {
            out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
            out.extend_from_slice(t.bytes());
            out.push(b'}');
        }
        Part::Url(url) => {
            out.extend_from_slice(b"{\"type\":\"image_url\",\"image_url\":{\"url\":");
            out.extend_from_slice(url.bytes());
            out.extend_from_slice(b"}}");
        }
        Part::Data {
            media_type,
            default_type,
            data,
        } => {
            out.extend_from_slice(b"{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:");
            match media_type {
                Some(m) => out.extend_from_slice(m.inner()),
                None => out.extend_from_slice(default_type.as_bytes()),
            }
            out.extend_from_slice(b";base64,");
            out.extend_from_slice(data.inner());
            out.extend_from_slice(b"\"}}");
        }
    }
}

/// Parts as an OpenAI content-parts array.
pub(super) fn write_parts(out: &mut Vec<u8>, parts: &[Part<'_>]) {
    write_array(out, parts, write_part);
}

/// The text parts as one string: escaped contents concatenate as they are.
pub(super) fn write_text(out: &mut Vec<u8>, parts: &[Part<'_>]) {
    out.push(b'"');
    for part in parts {
        if let Part::Text(t) = part {
            out.extend_from_slice(t.inner());
        }
    }
    out.push(b'"');
}

/// Whether a text part is not empty.
pub(super) fn has_text(parts: &[Part<'_>]) -> bool {
    parts
        .iter()
        .any(|p| matches!(p, Part::Text(t) if !t.is_empty_string()))
}

/// Whether a part is an image or a document.
pub(super) fn has_media(parts: &[Part<'_>]) -> bool {
    parts.iter().any(|p| !matches!(p, Part::Text(_)))
}
