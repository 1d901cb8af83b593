//! One OpenAI message read in place: its role, its content (parts read as
//! the scanner passes them) and its tool calls, all raw values pointing
//! into the client's bytes.

use ai_proxy_core::json::chat::ToolCall;
use ai_proxy_core::json::{Raw, Scanner, SyntaxError};

/// A content part's members.
#[derive(Clone, Copy, Default)]
pub(super) struct Part<'a> {
    pub(super) object: bool,
    pub(super) kind: Option<Raw<'a>>,
    pub(super) text: Option<Raw<'a>>,
    /// `image_url.url`, or `image_url` itself when it is not an object
    /// (older clients send the URL).
    pub(super) url: Option<Raw<'a>>,
    /// `file.file_data` when `file` is an object.
    pub(super) file_data: Option<Raw<'a>>,
    pub(super) cache_control: Option<Raw<'a>>,
}

/// A message's `content`.
#[derive(Clone, Copy)]
pub(super) enum Content<'a> {
    /// Absent or `null`.
    Absent,
    /// A string, or a value of another type (an error where it matters).
    Raw(Raw<'a>),
    /// An array: its parts.
    Parts,
}

/// A message's `tool_calls`.
#[derive(Clone, Copy)]
pub(super) enum ToolCalls {
    /// Absent or `null`.
    Absent,
    /// Not an array.
    Other,
    /// An array: its calls.
    Calls,
}

/// One message, read; `parts` and `calls` are reused from one message to
/// the next.
pub(super) struct Message<'a> {
    pub(super) role: Option<Raw<'a>>,
    pub(super) content: Content<'a>,
    pub(super) tool_calls: ToolCalls,
    pub(super) tool_call_id: Option<Raw<'a>>,
    pub(super) parts: Vec<Part<'a>>,
    pub(super) calls: Vec<ToolCall<'a>>,
}

impl Default for Message<'_> {
    fn default() -> Self {
        Self {
            role: None,
            content: Content::Absent,
            tool_calls: ToolCalls::Absent,
            tool_call_id: None,
            parts: Vec::new(),
            calls: Vec::new(),
        }
    }
}

impl<'a> Message<'a> {
    /// Reads the message object at the cursor.
    pub(super) fn read(&mut self, s: &mut Scanner<'a>) -> Result<(), SyntaxError> {
        self.role = None;
        self.content = Content::Absent;
        self.tool_calls = ToolCalls::Absent;
        self.tool_call_id = None;
        s.object(|key, s| {
            match &*key.name() {
                b"role" => self.role = Some(s.value()?),
                b"tool_call_id" => self.tool_call_id = Some(s.value()?),
                b"content" if s.peek() == Some(b'[') => {
                    self.parts.clear();
                    s.array(|s| {
                        self.parts.push(read_part(s)?);
                        Ok::<(), SyntaxError>(())
                    })?;
                    self.content = Content::Parts;
                }
                b"content" => {
                    let raw = s.value()?;
                    self.content = if raw.is_null() {
                        Content::Absent
                    } else {
                        Content::Raw(raw)
                    };
                }
                b"tool_calls" if s.peek() == Some(b'[') => {
                    self.calls.clear();
                    s.array(|s| {
                        self.calls.push(ToolCall::read(s)?);
                        Ok::<(), SyntaxError>(())
                    })?;
                    self.tool_calls = ToolCalls::Calls;
                }
                b"tool_calls" => {
                    self.tool_calls = if s.value()?.is_null() {
                        ToolCalls::Absent
                    } else {
                        ToolCalls::Other
                    };
                }
                _ => s.skip()?,
            }
            Ok(())
        })
    }

    /// The calls, when `tool_calls` is an array.
    pub(super) fn calls(&self) -> &[ToolCall<'a>] {
        match self.tool_calls {
            ToolCalls::Calls => &self.calls,
            _ => &[],
        }
    }
}

fn read_part<'a>(s: &mut Scanner<'a>) -> Result<Part<'a>, SyntaxError> {
    let mut part = Part::default();
    let object = s.object_or_skip(|key, s| {
        match &*key.name() {
            b"type" => part.kind = Some(s.value()?),
            b"text" => part.text = Some(s.value()?),
            b"cache_control" => part.cache_control = Some(s.value()?),
            b"image_url" if s.peek() == Some(b'{') => part.url = s.fields(["url"])?[0],
            b"image_url" => part.url = Some(s.value()?),
            b"file" if s.peek() == Some(b'{') => part.file_data = s.fields(["file_data"])?[0],
            b"file" => {
                s.skip()?;
                part.file_data = None;
            }
            _ => s.skip()?,
        }
        Ok::<(), SyntaxError>(())
    })?;
    part.object = object;
    Ok(part)
}
