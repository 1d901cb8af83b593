//! OpenAI chat requests read in place, for converters from OpenAI chat to
//! another wire (Anthropic Messages, Gemini): the members of `messages`,
//! text parts, tool calls, `tool_choice` and data URLs, as the scanner's
//! raw values. Nothing that is copied through gets decoded. The other
//! direction, what converters from another wire write to an OpenAI chat
//! client (`usage`, the chunk stream), is [`write_usage`] and
//! `ChunkWriter`.
//!
//! Errors say what is wrong with the OpenAI request; each converter puts
//! its own prefix on them (`invalid OpenAI chat request for Gemini: …`).
//!
//! ```
//! use ai_proxy_core::json::chat::{for_each_text, tool_choice, ToolChoice};
//! use ai_proxy_core::json::Raw;
//!
//! let content = Raw(br#"[{"type":"text","text":"a"},{"type":"image_url"},{"type":"text","text":"b"}]"#);
//! let mut texts = Vec::new();
//! for_each_text(Some(content), 0, |t| texts.push(t.str().unwrap().into_owned())).unwrap();
//! assert_eq!(texts, ["a", "b"]);
//! assert!(matches!(tool_choice(Some(Raw(br#""required""#))), Ok(Some(ToolChoice::Required))));
//! ```

use std::borrow::Cow;
use std::fmt;

use super::scan::{elements, fields};
use super::write::{ObjectWriter, write_str};
use super::{Raw, Scanner, SyntaxError};

mod response;

pub use response::{
    ChunkWriter, ToolCallIndex, write_completion_end, write_completion_head, write_joined,
    write_tool_call, write_tool_calls, write_usage,
};

/// What is wrong with an OpenAI chat request a converter reads.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChatError {
    /// The body is not JSON where it was read.
    Malformed(SyntaxError),
    /// A member has the wrong shape; the message names it.
    Invalid(String),
}

impl fmt::Display for ChatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChatError::Malformed(e) => {
                write!(f, "malformed JSON at byte {}; send a JSON object", e.offset)
            }
            ChatError::Invalid(what) => f.write_str(what),
        }
    }
}

impl From<SyntaxError> for ChatError {
    fn from(e: SyntaxError) -> Self {
        ChatError::Malformed(e)
    }
}

fn invalid(what: impl Into<String>) -> ChatError {
    ChatError::Invalid(what.into())
}

/// `messages` as read in the single pass over a body: per element, the
/// members named by the converter.
#[derive(Debug)]
pub enum Messages<'a, const N: usize> {
    /// No `messages` member.
    Absent,
    /// Not an array (or `null`).
    Other(Raw<'a>),
    /// Each element's members; `Some(i)`: element `i` is not an object.
    Array(Vec<[Option<Raw<'a>>; N]>, Option<usize>),
}

impl<'a, const N: usize> Messages<'a, N> {
    /// Reads the `messages` value at the cursor, keeping each element's
    /// members named in `keys` (content is skipped once, re-read only to
    /// convert).
    pub fn read(s: &mut Scanner<'a>, keys: [&str; N]) -> Result<Self, SyntaxError> {
        if s.peek() != Some(b'[') {
            return Ok(Messages::Other(s.value()?));
        }
        let mut list = Vec::new();
        let mut not_object = None;
        s.array(|s| {
            if s.peek() == Some(b'{') {
                list.push(s.fields(keys)?);
            } else {
                not_object.get_or_insert(list.len());
                s.value()?;
                list.push([None; N]);
            }
            Ok::<(), SyntaxError>(())
        })?;
        Ok(Messages::Array(list, not_object))
    }

    /// The elements' members; absent or `null` `messages` are empty.
    pub fn into_list(self) -> Result<Vec<[Option<Raw<'a>>; N]>, ChatError> {
        match self {
            Messages::Absent => Ok(Vec::new()),
            Messages::Other(raw) if raw.is_null() => Ok(Vec::new()),
            Messages::Other(_) => Err(invalid("messages must be an array")),
            Messages::Array(_, Some(i)) => Err(invalid(format!("messages[{i}] must be an object"))),
            Messages::Array(list, None) => Ok(list),
        }
    }
}

/// Message `i`'s `role`: known roles without decoding, others decoded.
pub fn role<'a>(raw: Option<Raw<'a>>, i: usize) -> Result<Cow<'a, str>, ChatError> {
    let not_a_string = || invalid(format!("messages[{i}].role must be a string"));
    let role = raw.filter(|r| r.is_string()).ok_or_else(not_a_string)?;
    Ok(match role.inner() {
        b"user" => Cow::Borrowed("user"),
        b"assistant" => Cow::Borrowed("assistant"),
        b"tool" => Cow::Borrowed("tool"),
        b"system" => Cow::Borrowed("system"),
        b"developer" => Cow::Borrowed("developer"),
        _ => role.str().ok_or_else(not_a_string)?,
    })
}

/// Calls `f` with each non-empty text of message `i`'s string-or-parts
/// content (other part types are skipped here).
pub fn for_each_text<'a>(
    content: Option<Raw<'a>>,
    i: usize,
    mut f: impl FnMut(Raw<'a>),
) -> Result<(), ChatError> {
    let Some(content) = content else {
        return Ok(());
    };
    if content.is_string() {
        if !content.is_empty_string() {
            f(content);
        }
        return Ok(());
    }
    if !content.is_array() {
        return Err(invalid(format!(
            "messages[{i}].content must be a string or an array of content parts"
        )));
    }
    for part in elements(content)? {
        if !part.is_object() {
            continue;
        }
        let [kind, text] = fields(part, ["type", "text"])?;
        if kind.is_some_and(|k| k.str_is("text"))
            && let Some(t) = text.filter(|t| t.is_string() && !t.is_empty_string())
        {
            f(t);
        }
    }
    Ok(())
}

/// One `tool_calls[]` entry, read in one pass (`function` in place).
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct ToolCall<'a> {
    /// The entry is an object.
    pub is_object: bool,
    /// `id`.
    pub id: Option<Raw<'a>>,
    /// `function` is an object.
    pub has_function: bool,
    /// `function.name`.
    pub name: Option<Raw<'a>>,
    /// `function.arguments` (a string holding JSON).
    pub arguments: Option<Raw<'a>>,
    /// `extra_content` (Google's extension: `google.thought_signature`).
    pub extra_content: Option<Raw<'a>>,
}

impl<'a> ToolCall<'a> {
    /// Reads the `tool_calls[]` entry at the cursor (`function` in place).
    pub fn read(s: &mut Scanner<'a>) -> Result<Self, SyntaxError> {
        let mut call = ToolCall::default();
        let is_object = s.object_or_skip(|key, s| {
            match &*key.name() {
                b"function" if s.peek() == Some(b'{') => {
                    let [name, arguments] = s.fields(["name", "arguments"])?;
                    call.has_function = true;
                    call.name = name;
                    call.arguments = arguments;
                }
                b"id" => call.id = Some(s.value()?),
                b"extra_content" => call.extra_content = Some(s.value()?),
                _ => s.skip()?,
            }
            Ok::<(), SyntaxError>(())
        })?;
        call.is_object = is_object;
        Ok(call)
    }

    /// The `id` and `function.name` of `messages[i].tool_calls[j]`, which
    /// every converter needs as strings; the error names what is missing.
    pub fn id_and_name(&self, i: usize, j: usize) -> Result<(Raw<'a>, Raw<'a>), ChatError> {
        let at = || format!("messages[{i}].tool_calls[{j}]");
        if !self.is_object {
            return Err(invalid(format!("{} must be an object", at())));
        }
        let id = self
            .id
            .filter(|v| v.is_string())
            .ok_or_else(|| invalid(format!("{}: missing id", at())))?;
        if !self.has_function {
            return Err(invalid(format!("{}: missing function", at())));
        }
        let name = self
            .name
            .filter(|v| v.is_string())
            .ok_or_else(|| invalid(format!("{}: missing function.name", at())))?;
        Ok((id, name))
    }
}

/// The entries of a `tool_calls` array.
pub fn tool_calls(raw: Raw<'_>) -> Result<Vec<ToolCall<'_>>, SyntaxError> {
    let mut calls = Vec::with_capacity(2);
    let mut s = Scanner::new(raw.bytes());
    s.array(|s| {
        calls.push(ToolCall::read(s)?);
        Ok::<(), SyntaxError>(())
    })?;
    s.end()?;
    Ok(calls)
}

/// A `tools[]` entry of type `function`, its members raw.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct FunctionTool<'a> {
    /// `function.name`, a string.
    pub name: Raw<'a>,
    /// `function.description`, when a string.
    pub description: Option<Raw<'a>>,
    /// `function.parameters` (a JSON Schema), when present and not `null`.
    pub parameters: Option<Raw<'a>>,
    /// `cache_control` (Anthropic's prompt caching), when an object.
    pub cache_control: Option<Raw<'a>>,
}

impl<'a> FunctionTool<'a> {
    /// Reads `tools[i]` at the cursor: only function tools convert, and
    /// each needs a name. The entry is read whole even when it is refused.
    pub fn read(s: &mut Scanner<'a>, i: usize) -> Result<Self, ChatError> {
        if s.peek() != Some(b'{') {
            s.skip()?;
            return Err(invalid(format!("tools[{i}] must be an object")));
        }
        let (mut kind, mut function, mut cache_control) = (None, [None; 3], None);
        s.object(|key, s| {
            match &*key.name() {
                b"type" => kind = Some(s.value()?),
                b"function" if s.peek() == Some(b'{') => {
                    function = s.fields(["name", "description", "parameters"])?;
                }
                b"function" => {
                    s.skip()?;
                    function = [None; 3];
                }
                b"cache_control" => cache_control = Some(s.value()?),
                _ => s.skip()?,
            }
            Ok::<(), SyntaxError>(())
        })?;
        if kind.is_some_and(|k| !k.str_is("function")) {
            return Err(invalid(format!(
                "tools[{i}]: only function tools can be converted"
            )));
        }
        let [name, description, parameters] = function;
        Ok(FunctionTool {
            name: name
                .filter(|n| n.is_string())
                .ok_or_else(|| invalid(format!("tools[{i}]: missing function.name")))?,
            description: description.filter(|d| d.is_string()),
            parameters: parameters.filter(|p| !p.is_null()),
            cache_control: cache_control.filter(|c| c.is_object()),
        })
    }
}

/// Reads `tools[i]`, a value already handed out raw (see
/// [`FunctionTool::read`]).
pub fn function_tool(tool: Raw<'_>, i: usize) -> Result<FunctionTool<'_>, ChatError> {
    let mut s = Scanner::new(tool.bytes());
    let read = FunctionTool::read(&mut s, i)?;
    s.end()?;
    Ok(read)
}

/// `tool_choice`.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum ToolChoice<'a> {
    /// `"auto"`.
    Auto,
    /// `"required"`: some tool must be called.
    Required,
    /// `"none"`.
    None,
    /// `{"type": "function", "function": {"name": …}}`: the name's token.
    Function(Raw<'a>),
}

/// Reads `tool_choice` (absent or `null`: `None`).
pub fn tool_choice(raw: Option<Raw<'_>>) -> Result<Option<ToolChoice<'_>>, ChatError> {
    let Some(raw) = raw.filter(|r| !r.is_null()) else {
        return Ok(None);
    };
    if let Some(s) = raw.str() {
        return match s.as_ref() {
            "auto" => Ok(Some(ToolChoice::Auto)),
            "required" => Ok(Some(ToolChoice::Required)),
            "none" => Ok(Some(ToolChoice::None)),
            other => Err(invalid(format!(
                "tool_choice `{other}` is not one of auto, required, none"
            ))),
        };
    }
    let name = raw
        .is_object()
        .then(|| fields(raw, ["function"]).ok())
        .flatten()
        .and_then(|[f]| f)
        .filter(|f| f.is_object())
        .and_then(|f| fields(f, ["name"]).ok())
        .and_then(|[n]| n)
        .filter(|n| n.is_string())
        .ok_or_else(|| invalid("tool_choice object needs function.name"))?;
    Ok(Some(ToolChoice::Function(name)))
}

/// `stop` as the list of stop sequences Anthropic and Gemini take (member
/// `key`): a string becomes a one-element array, an array is copied as it
/// is, anything else writes no member.
pub fn write_stop(obj: &mut ObjectWriter<'_>, key: &'static str, stop: Raw<'_>) {
    if stop.is_string() {
        let out = obj.member(key);
        out.push(b'[');
        out.extend_from_slice(stop.bytes());
        out.push(b']');
    } else if stop.is_array() {
        obj.member(key).extend_from_slice(stop.bytes());
    }
}

/// A base64 data URL (`data:<media type>;base64,<data>`) in a string.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DataUrl<'a> {
    /// The media type.
    pub media_type: Cow<'a, str>,
    /// The base64 data.
    pub data: Payload<'a>,
}

/// The base64 payload of a data URL, as JSON string contents.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Payload<'a> {
    /// Escaped contents copied from the input (megabytes of base64: no
    /// copy until output).
    Raw(&'a [u8]),
    /// Decoded text to escape.
    Decoded(String),
}

impl Payload<'_> {
    /// Appends the payload as a JSON string.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Payload::Raw(bytes) => {
                out.push(b'"');
                out.extend_from_slice(bytes);
                out.push(b'"');
            }
            Payload::Decoded(s) => write_str(out, s),
        }
    }
}

/// The data URL a string holds, if it is one.
pub fn data_url(url: Raw<'_>) -> Option<DataUrl<'_>> {
    let inner = url.inner();
    if !url.is_string() || !inner.starts_with(b"data:") {
        return None;
    }
    if !inner.contains(&b'\\') {
        let comma = memchr::memchr(b',', inner)?;
        let meta = inner.get(5..comma)?;
        let media_type = std::str::from_utf8(meta.strip_suffix(b";base64")?).ok()?;
        return Some(DataUrl {
            media_type: Cow::Borrowed(media_type),
            data: Payload::Raw(inner.get(comma + 1..)?),
        });
    }
    let decoded = url.str()?;
    let (meta, data) = decoded.strip_prefix("data:")?.split_once(',')?;
    Some(DataUrl {
        media_type: Cow::Owned(meta.strip_suffix(";base64")?.to_owned()),
        data: Payload::Decoded(data.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_read_in_place_and_checked() {
        let mut s = Scanner::new(br#"[{"role":"user","content":"hi","x":1},2]"#);
        let m = Messages::read(&mut s, ["role", "content"]).unwrap();
        assert_eq!(
            m.into_list().unwrap_err(),
            invalid("messages[1] must be an object")
        );
        let mut s = Scanner::new(b"null");
        assert!(
            Messages::read(&mut s, ["role"])
                .unwrap()
                .into_list()
                .unwrap()
                .is_empty()
        );
        let mut s = Scanner::new(b"\"x\"");
        assert_eq!(
            Messages::read(&mut s, ["role"])
                .unwrap()
                .into_list()
                .unwrap_err(),
            invalid("messages must be an array")
        );
    }

    #[test]
    fn roles_are_strings() {
        assert_eq!(role(Some(Raw(br#""user""#)), 0).unwrap(), "user");
        assert_eq!(role(Some(Raw(br#""\u0074ool""#)), 0).unwrap(), "tool");
        assert_eq!(
            role(Some(Raw(b"1")), 3).unwrap_err(),
            invalid("messages[3].role must be a string")
        );
    }

    #[test]
    fn tool_calls_keep_their_members_raw() {
        let calls = tool_calls(Raw(
            br#"[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"},"extra_content":{"google":{}}},3]"#,
        ))
        .unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].id.unwrap().bytes(), br#""c""#);
        assert_eq!(calls[0].arguments.unwrap().bytes(), br#""{}""#);
        assert!(calls[0].extra_content.is_some());
        assert!(!calls[1].is_object);
    }

    #[test]
    fn tool_calls_need_an_id_a_function_and_its_name() {
        let calls = tool_calls(Raw(
            br#"[{"id":"c","function":{"name":"f"}},1,{"function":{}},{"id":"c"},{"id":"c","function":{}}]"#,
        ))
        .unwrap();
        let (id, name) = calls[0].id_and_name(2, 0).unwrap();
        assert_eq!((id.bytes(), name.bytes()), (&br#""c""#[..], &br#""f""#[..]));
        let errors: Vec<_> = (1..5)
            .map(|j| calls[j].id_and_name(2, j).unwrap_err().to_string())
            .collect();
        assert_eq!(
            errors,
            [
                "messages[2].tool_calls[1] must be an object",
                "messages[2].tool_calls[2]: missing id",
                "messages[2].tool_calls[3]: missing function",
                "messages[2].tool_calls[4]: missing function.name",
            ]
        );
    }

    #[test]
    fn function_tools_need_a_name() {
        let t = function_tool(
            Raw(br#"{"type":"function","function":{"name":"f","parameters":null}}"#),
            0,
        )
        .unwrap();
        assert_eq!(t.name.bytes(), br#""f""#);
        assert!(t.parameters.is_none());
        assert_eq!(
            function_tool(Raw(br#"{"type":"web_search"}"#), 2).unwrap_err(),
            invalid("tools[2]: only function tools can be converted")
        );
        assert_eq!(
            function_tool(Raw(br#"{"function":{}}"#), 0).unwrap_err(),
            invalid("tools[0]: missing function.name")
        );
    }

    #[test]
    fn data_urls_borrow_their_payload_unless_escaped() {
        let url = data_url(Raw(br#""data:image/png;base64,QUJD""#)).unwrap();
        assert_eq!(url.media_type, "image/png");
        assert!(matches!(url.data, Payload::Raw(b"QUJD")));
        let url = data_url(Raw(br#""data:image\/png;base64,QUJD""#)).unwrap();
        assert_eq!(url.media_type, "image/png");
        let mut out = Vec::new();
        url.data.write(&mut out);
        assert_eq!(out, br#""QUJD""#);
        assert!(data_url(Raw(br#""https://x/a.png""#)).is_none());
        assert!(data_url(Raw(br#""data:text/plain,hi""#)).is_none());
    }
}
