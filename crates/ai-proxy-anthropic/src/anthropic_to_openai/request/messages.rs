//! `messages` → OpenAI messages, one message at a time as the scanner
//! reaches it: tool uses become `tool_calls`, tool results become `tool`
//! messages, text and media become content.

use std::ops::Range;

use ai_proxy_core::adapter::ConvertError;
use ai_proxy_core::json::write::write_str;
use ai_proxy_core::json::{Raw, Scanner, SyntaxError};

use super::Fail;
use super::blocks::{
    Block, Call, Content, Kind, Part, Sorted, has_media, has_text, present, write_parts, write_text,
};
use super::compact::{self, Body, Single};
use crate::tool_names::is_valid_tool_name;

/// The converted messages, written as the scanner reads them.
#[derive(Default)]
pub(super) struct Messages<'a> {
    /// The messages written, comma-separated, after [`gap`](Self::gap)
    /// bytes left free for the body's head.
    pub(super) out: Vec<u8>,
    pub(super) gap: usize,
    /// Messages read (APISIX's 1-based index of the last one).
    pub(super) read: usize,
    /// Tool-use names the tools may rename (not valid OpenAI names): where
    /// each was written and the client's name.
    pub(super) renamable: Vec<(Range<usize>, String)>,
    /// One message's blocks; reused.
    sorted: Sorted<'a>,
}

/// An assistant message's head when its content is one string.
const ASSISTANT_TEXT: &[u8] = b"{\"role\":\"assistant\",\"content\":\"";

/// The tool-call arguments scratch reserved up front.
const ARGS_RESERVE: usize = 1024;

enum MessageContent<'a> {
    Absent,
    Text(Raw<'a>),
    Blocks,
    Other,
}

fn invalid_message(index: usize) -> Fail {
    Fail::Convert(ConvertError::new(format!(
        "invalid message at index {index}"
    )))
}

fn invalid_content(index: usize) -> Fail {
    Fail::Convert(ConvertError::new(format!(
        "invalid message content at index {index}"
    )))
}

impl<'a> Messages<'a> {
    /// Starts (again, for a repeated `messages` member: the last one
    /// counts), leaving `gap` bytes free in front.
    pub(super) fn reset(&mut self, gap: usize) {
        self.out.clear();
        self.out.resize(gap, 0);
        self.gap = gap;
        self.read = 0;
        self.renamable.clear();
        // Room for a turn's tool-call arguments from the start: grown a
        // few bytes at a time, the scratch cost four reallocations per
        // request (5 % of converting a 1.6 KB body).
        self.sorted.args.reserve(ARGS_RESERVE);
    }

    /// Reads and writes the message at the cursor: in the compact layout
    /// when it is in it, else with the general reader.
    pub(super) fn message(&mut self, s: &mut Scanner<'a>) -> Result<(), Fail> {
        self.read += 1;
        let at = s.offset();
        if let Some((m, end)) = compact::single(s.text(), at) {
            s.seek(end);
            let out = item(&mut self.out, self.gap);
            match m {
                Single::Text {
                    assistant: true,
                    text,
                } => {
                    // What `write_plain_assistant` writes for it.
                    out.extend_from_slice(ASSISTANT_TEXT);
                    out.extend_from_slice(text.inner());
                    out.extend_from_slice(b"\"}");
                }
                // A user's text part: the OpenAI message is the client's.
                Single::Text { .. } => {
                    out.extend_from_slice(s.text().get(at..end).unwrap_or_default());
                }
                Single::Result { id, content } => {
                    write_tool_message(out, id, Content::Text(content), &[]);
                }
            }
            return Ok(());
        }
        if let Some(m) = compact::message(s.text(), at, &mut self.sorted) {
            s.seek(m.end);
            match m.body {
                Body::Text(text) => self.write_text_message(m.role, text),
                // Text parts of a role other than the assistant's: the
                // OpenAI message is the client's, byte for byte.
                Body::Blocks if m.plain && !m.assistant => {
                    item(&mut self.out, self.gap)
                        .extend_from_slice(s.text().get(at..m.end).unwrap_or_default());
                }
                // The assistant's text parts: one string, as
                // `write_blocks` writes it without its general checks.
                Body::Blocks if m.plain => self.write_plain_assistant(m.role),
                Body::Blocks => self.write_blocks(m.role, m.assistant),
            }
            return Ok(());
        }
        self.general(s)
    }

    /// Reads and writes the message at the cursor, its members in any
    /// order and form.
    fn general(&mut self, s: &mut Scanner<'a>) -> Result<(), Fail> {
        let index = self.read;
        if s.peek() != Some(b'{') {
            s.skip()?;
            return Err(invalid_message(index));
        }
        let mut role = None;
        let mut content = MessageContent::Absent;
        s.object(|key, s| {
            match &*key.name() {
                b"role" => role = present(s.value()?),
                b"content" if s.peek() == Some(b'[') => {
                    self.blocks(s)?;
                    content = MessageContent::Blocks;
                }
                b"content" => {
                    let raw = s.value()?;
                    content = if raw.is_null() {
                        MessageContent::Absent
                    } else if raw.is_string() {
                        MessageContent::Text(raw)
                    } else {
                        MessageContent::Other
                    };
                }
                _ => s.skip()?,
            }
            Ok::<(), SyntaxError>(())
        })?;
        let role = role
            .filter(|r| r.is_string())
            .ok_or_else(|| invalid_message(index))?;
        match content {
            MessageContent::Absent | MessageContent::Other => Err(invalid_content(index)),
            MessageContent::Text(text) => {
                self.write_text_message(role, text);
                Ok(())
            }
            MessageContent::Blocks => {
                self.write_blocks(role, role.str_is("assistant"));
                Ok(())
            }
        }
    }

    /// A message whose content is a string: copied as it is.
    fn write_text_message(&mut self, role: Raw<'a>, text: Raw<'a>) {
        let out = item(&mut self.out, self.gap);
        out.extend_from_slice(b"{\"role\":");
        out.extend_from_slice(role.bytes());
        out.extend_from_slice(b",\"content\":");
        out.extend_from_slice(text.bytes());
        out.push(b'}');
    }

    /// An assistant message of text parts only: their contents as one
    /// string (what [`write_blocks`](Self::write_blocks) writes for it).
    fn write_plain_assistant(&mut self, role: Raw<'a>) {
        let out = item(&mut self.out, self.gap);
        if role.bytes() == b"\"assistant\"" {
            out.extend_from_slice(ASSISTANT_TEXT);
        } else {
            out.extend_from_slice(b"{\"role\":");
            out.extend_from_slice(role.bytes());
            out.extend_from_slice(b",\"content\":\"");
        }
        for part in &self.sorted.parts {
            if let Part::Text(t) = part {
                out.extend_from_slice(t.inner());
            }
        }
        out.extend_from_slice(b"\"}");
    }

    /// Reads a content array into parts, calls and results.
    fn blocks(&mut self, s: &mut Scanner<'a>) -> Result<(), SyntaxError> {
        let sorted = &mut self.sorted;
        sorted.clear();
        let mut block = Block::default();
        s.array(|s| {
            if !Block::read(s, Some(&mut sorted.nested), &mut block)? {
                return Ok(());
            }
            match block.kind() {
                Some(kind @ (Kind::Text | Kind::Image | Kind::Document)) => {
                    sorted.parts.extend(block.part(&kind));
                }
                Some(Kind::ToolUse) => {
                    let call = block.call(&mut sorted.args);
                    sorted.calls.extend(call);
                }
                Some(Kind::ToolResult) => sorted.results.extend(block.result()),
                // thinking / redacted_thinking: OpenAI chat has no input
                // for past reasoning; dropped like any unknown block.
                Some(Kind::Other) | None => {}
            }
            Ok(())
        })
    }

    fn write_blocks(&mut self, role: Raw<'a>, assistant: bool) {
        let Self {
            out,
            gap,
            renamable,
            sorted:
                Sorted {
                    parts,
                    calls,
                    results,
                    nested,
                    args,
                },
            ..
        } = self;
        if !results.is_empty() {
            // Tool results become `tool` messages (the turn's tool uses
            // are answered, not repeated); other parts follow them.
            for result in results.iter() {
                write_tool_message(item(out, *gap), result.tool_use_id, result.content, nested);
            }
            if !parts.is_empty() {
                let out = item(out, *gap);
                out.extend_from_slice(b"{\"role\":");
                out.extend_from_slice(role.bytes());
                out.extend_from_slice(b",\"content\":");
                write_parts(out, parts);
                out.push(b'}');
            }
            return;
        }
        let out = item(out, *gap);
        out.extend_from_slice(b"{\"role\":");
        out.extend_from_slice(role.bytes());
        if !calls.is_empty() {
            if has_text(parts) {
                out.extend_from_slice(b",\"content\":");
                write_text(out, parts);
            }
            write_calls(out, calls, args, renamable);
        } else if parts.is_empty() {
            out.extend_from_slice(b",\"content\":\"\"");
        } else if assistant {
            out.extend_from_slice(b",\"content\":");
            write_text(out, parts);
        } else {
            out.extend_from_slice(b",\"content\":");
            write_parts(out, parts);
        }
        out.push(b'}');
    }
}

/// Starts the next message (`gap`: where the first one starts).
fn item(out: &mut Vec<u8>, gap: usize) -> &mut Vec<u8> {
    if out.len() > gap {
        out.push(b',');
    }
    out
}

/// `,"tool_calls":[…]`; names that are not valid OpenAI names are noted in
/// `renamable` (the tools may rename them).
fn write_calls(
    out: &mut Vec<u8>,
    calls: &[Call<'_>],
    args: &[u8],
    renamable: &mut Vec<(Range<usize>, String)>,
) {
    out.extend_from_slice(b",\"tool_calls\":[");
    for (i, call) in calls.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"id\":");
        out.extend_from_slice(call.id.bytes());
        out.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
        let start = out.len();
        if call.valid_name {
            // A valid OpenAI name has no character JSON escapes: the token
            // is the name.
            out.extend_from_slice(call.name.bytes());
        } else {
            // `Block::call` kept only names that decode.
            let name = call.name.str().unwrap_or_default();
            write_str(out, &name);
            if !is_valid_tool_name(&name) {
                renamable.push((start..out.len(), name.into_owned()));
            }
        }
        out.extend_from_slice(b",\"arguments\":");
        match &call.arguments {
            // The input's JSON, minified, as a string.
            Some(range) => out.extend_from_slice(args.get(range.clone()).unwrap_or_default()),
            None => out.extend_from_slice(b"\"{}\""),
        }
        out.extend_from_slice(b"}}");
    }
    out.push(b']');
}

/// A tool result as an OpenAI `tool` message.
fn write_tool_message(out: &mut Vec<u8>, id: Raw<'_>, content: Content<'_>, nested: &[Part<'_>]) {
    out.extend_from_slice(b"{\"role\":\"tool\",\"tool_call_id\":");
    out.extend_from_slice(id.bytes());
    out.extend_from_slice(b",\"content\":");
    write_result_content(out, content, nested);
    out.push(b'}');
}

/// A tool result's content: a string as is; an array's texts concatenated,
/// or its parts when it holds an image or a document; anything else `""`.
fn write_result_content(out: &mut Vec<u8>, content: Content<'_>, nested: &[Part<'_>]) {
    match content {
        Content::Text(text) => out.extend_from_slice(text.bytes()),
        Content::Parts { from, to } => {
            let parts = nested.get(from..to).unwrap_or_default();
            if has_media(parts) {
                write_parts(out, parts);
            } else {
                write_text(out, parts);
            }
        }
        Content::Absent | Content::Other => out.extend_from_slice(b"\"\""),
    }
}
