//! OpenAI chat request → Anthropic Messages request.
//!
//! Mapping (Anthropic's documented Messages API; unknown OpenAI fields are
//! dropped because Anthropic rejects fields it does not know):
//!
//! | OpenAI | Anthropic |
//! |---|---|
//! | `model` | `model` |
//! | `max_completion_tokens`, else `max_tokens` | `max_tokens` (required: default [`DEFAULT_MAX_TOKENS`](crate::DEFAULT_MAX_TOKENS)) |
//! | `system` / `developer` messages | `system` (a string for one text, else text blocks; hoisted in order) |
//! | `user` content string / parts | `content` string / blocks: `text`, `image_url` (data URL → `base64` source, else `url` source), `file.file_data` data URL → `document` |
//! | `assistant` content + `tool_calls` | `text` block + `tool_use` blocks (`input` = parsed `arguments`) |
//! | `tool` messages (consecutive ones merged) | one `user` message of `tool_result` blocks |
//! | `tools[].function` | `tools[]` `{name, description, input_schema}` |
//! | `tool_choice` `auto`/`required`/`none`/function | `{type: auto/any/none/tool}`; `parallel_tool_calls: false` → `disable_parallel_tool_use` |
//! | `stop` (string or array) | `stop_sequences` |
//! | `temperature`, `top_p`, `top_k`, `stream` | same |
//! | `user` | `metadata.user_id` |
//! | `cache_control` on a content part | kept on the block |

use std::borrow::Cow;

use ai_proxy_core::adapter::ConvertError;

use crate::json::{write_str, write_u64};
use crate::scan::{Raw, ScanError, Scanner, elements, fields};

fn invalid(what: impl std::fmt::Display) -> ConvertError {
    ConvertError::new(format!(
        "invalid OpenAI chat request for Anthropic Messages: {what}"
    ))
}

fn malformed(e: ScanError) -> ConvertError {
    invalid(format_args!(
        "malformed JSON at byte {}; send a JSON object",
        e.offset
    ))
}

/// One OpenAI message, as raw members.
struct Message<'a> {
    role: Cow<'a, str>,
    content: Option<Raw<'a>>,
    tool_calls: Option<Raw<'a>>,
    tool_call_id: Option<Raw<'a>>,
}

/// `messages` as read in the single pass over the body.
enum Messages<'a> {
    Absent,
    /// Not an array (or `null`).
    Other(Raw<'a>),
    /// The elements; `Err(i)` marks element `i` that is not an object.
    Array(Vec<[Option<Raw<'a>>; 4]>, Option<usize>),
}

/// The request members the mapping reads.
struct Request<'a> {
    model: Option<Raw<'a>>,
    messages: Messages<'a>,
    max_completion_tokens: Option<Raw<'a>>,
    max_tokens: Option<Raw<'a>>,
    stop: Option<Raw<'a>>,
    temperature: Option<Raw<'a>>,
    top_p: Option<Raw<'a>>,
    top_k: Option<Raw<'a>>,
    stream: Option<Raw<'a>>,
    user: Option<Raw<'a>>,
    tools: Option<Raw<'a>>,
    tool_choice: Option<Raw<'a>>,
    parallel_tool_calls: Option<Raw<'a>>,
}

const MESSAGE_KEYS: [&str; 4] = ["role", "content", "tool_calls", "tool_call_id"];

/// One pass over the body: top-level members, and each message's members
/// read in place (its content is skipped once, never re-scanned).
fn parse_request(body: &[u8]) -> Result<Request<'_>, ScanError> {
    let mut req = Request {
        model: None,
        messages: Messages::Absent,
        max_completion_tokens: None,
        max_tokens: None,
        stop: None,
        temperature: None,
        top_p: None,
        top_k: None,
        stream: None,
        user: None,
        tools: None,
        tool_choice: None,
        parallel_tool_calls: None,
    };
    let mut s = Scanner::new(body);
    s.object(|key, s| {
        let decoded;
        let name: &[u8] = if key.inner().contains(&b'\\') {
            // An escaped key cannot be compared raw: decode it (rare).
            decoded = key.str().unwrap_or_default();
            decoded.as_bytes()
        } else {
            key.inner()
        };
        if name == b"messages" {
            req.messages = if s.peek() == Some(b'[') {
                let mut list = Vec::new();
                let mut not_object = None;
                s.array(|s| {
                    if s.peek() == Some(b'{') {
                        list.push(s.fields(MESSAGE_KEYS)?);
                    } else {
                        not_object.get_or_insert(list.len());
                        s.value()?;
                        list.push([None; 4]);
                    }
                    Ok(())
                })?;
                Messages::Array(list, not_object)
            } else {
                Messages::Other(s.value()?)
            };
            return Ok(());
        }
        let value = s.value()?;
        let slot = match name {
            b"model" => &mut req.model,
            b"max_completion_tokens" => &mut req.max_completion_tokens,
            b"max_tokens" => &mut req.max_tokens,
            b"stop" => &mut req.stop,
            b"temperature" => &mut req.temperature,
            b"top_p" => &mut req.top_p,
            b"top_k" => &mut req.top_k,
            b"stream" => &mut req.stream,
            b"user" => &mut req.user,
            b"tools" => &mut req.tools,
            b"tool_choice" => &mut req.tool_choice,
            b"parallel_tool_calls" => &mut req.parallel_tool_calls,
            _ => return Ok(()),
        };
        *slot = Some(value);
        Ok(())
    })?;
    s.end()?;
    Ok(req)
}

fn messages(parsed: Messages<'_>) -> Result<Vec<Message<'_>>, ConvertError> {
    let (list, not_object) = match parsed {
        Messages::Absent => return Ok(Vec::new()),
        Messages::Other(raw) if raw.is_null() => return Ok(Vec::new()),
        Messages::Other(_) => return Err(invalid("messages must be an array")),
        Messages::Array(list, not_object) => (list, not_object),
    };
    if let Some(i) = not_object {
        return Err(invalid(format_args!("messages[{i}] must be an object")));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, [role, content, tool_calls, tool_call_id]) in list.into_iter().enumerate() {
        let role = role
            .filter(|r| r.is_string())
            .ok_or_else(|| invalid(format_args!("messages[{i}].role must be a string")))?;
        // Known roles compare raw (no decode); anything else is decoded
        // for the comparison or the error message.
        let role = match role.inner() {
            b"user" => Cow::Borrowed("user"),
            b"assistant" => Cow::Borrowed("assistant"),
            b"tool" => Cow::Borrowed("tool"),
            b"system" => Cow::Borrowed("system"),
            b"developer" => Cow::Borrowed("developer"),
            _ => role
                .str()
                .ok_or_else(|| invalid(format_args!("messages[{i}].role must be a string")))?,
        };
        out.push(Message {
            role,
            content: content.filter(|c| !c.is_null()),
            tool_calls: tool_calls.filter(|c| !c.is_null()),
            tool_call_id,
        });
    }
    Ok(out)
}

/// A comma-separated member writer for the output object.
struct Obj<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl Obj<'_> {
    fn key(&mut self, name: &[u8]) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name);
        self.out.extend_from_slice(b"\":");
        self.out
    }
}

/// Converts the body; `default_max_tokens` fills Anthropic's required
/// `max_tokens` when the client sent none.
pub(crate) fn convert(body: &[u8], default_max_tokens: u64) -> Result<Vec<u8>, ConvertError> {
    let mut req = parse_request(body).map_err(malformed)?;
    let messages = messages(std::mem::replace(&mut req.messages, Messages::Absent))?;
    if messages.is_empty() {
        return Err(ConvertError::new("missing messages"));
    }

    // Anthropic's shapes are a little longer (tool results become blocks
    // of a user message): room for that, so the body is never copied twice.
    let mut out = Vec::with_capacity(body.len() + body.len() / 4 + 256);
    out.push(b'{');
    let mut obj = Obj {
        out: &mut out,
        first: true,
    };

    if let Some(model) = req.model.filter(|m| m.is_string()) {
        obj.key(b"model").extend_from_slice(model.bytes());
    }
    match req
        .max_completion_tokens
        .filter(|m| m.is_number())
        .or(req.max_tokens.filter(|m| m.is_number()))
    {
        Some(n) => obj.key(b"max_tokens").extend_from_slice(n.bytes()),
        None => write_u64(obj.key(b"max_tokens"), default_max_tokens),
    }
    write_system(&mut obj, &messages)?;
    write_messages(obj.key(b"messages"), &messages)?;

    if let Some(stop) = req.stop {
        if stop.is_string() {
            let buf = obj.key(b"stop_sequences");
            buf.push(b'[');
            buf.extend_from_slice(stop.bytes());
            buf.push(b']');
        } else if stop.is_array() {
            obj.key(b"stop_sequences").extend_from_slice(stop.bytes());
        }
    }
    for (name, value) in [
        (&b"temperature"[..], req.temperature),
        (b"top_p", req.top_p),
        (b"top_k", req.top_k),
    ] {
        if let Some(v) = value.filter(|v| v.is_number()) {
            obj.key(name).extend_from_slice(v.bytes());
        }
    }
    if let Some(stream) = req
        .stream
        .filter(|s| matches!(s.bytes(), b"true" | b"false"))
    {
        obj.key(b"stream").extend_from_slice(stream.bytes());
    }
    if let Some(user) = req.user.filter(|u| u.is_string() && !u.is_empty_string()) {
        let buf = obj.key(b"metadata");
        buf.extend_from_slice(b"{\"user_id\":");
        buf.extend_from_slice(user.bytes());
        buf.push(b'}');
    }
    let tools = match req.tools.filter(|t| !t.is_null()) {
        Some(t) if t.is_array() => elements(t).map_err(malformed)?,
        Some(_) => return Err(invalid("tools must be an array")),
        None => Vec::new(),
    };
    if !tools.is_empty() {
        write_tools(obj.key(b"tools"), &tools)?;
        let choice = tool_choice(req.tool_choice)?;
        let no_parallel = req
            .parallel_tool_calls
            .is_some_and(|p| p.bytes() == b"false");
        match (choice, no_parallel) {
            (None, false) => {}
            (Some(ToolChoice::None), _) => {
                obj.key(b"tool_choice")
                    .extend_from_slice(b"{\"type\":\"none\"}");
            }
            (choice, no_parallel) => {
                let buf = obj.key(b"tool_choice");
                buf.extend_from_slice(b"{\"type\":");
                match choice {
                    Some(ToolChoice::Any) => buf.extend_from_slice(b"\"any\""),
                    Some(ToolChoice::Tool(name)) => {
                        buf.extend_from_slice(b"\"tool\",\"name\":");
                        buf.extend_from_slice(name.bytes());
                    }
                    _ => buf.extend_from_slice(b"\"auto\""),
                }
                if no_parallel {
                    buf.extend_from_slice(b",\"disable_parallel_tool_use\":true");
                }
                buf.push(b'}');
            }
        }
    }
    out.push(b'}');
    Ok(out)
}

fn is_system(role: &str) -> bool {
    role == "system" || role == "developer"
}

/// `system` / `developer` messages, hoisted in order: one text → a
/// string, several → text blocks.
fn write_system(obj: &mut Obj<'_>, messages: &[Message<'_>]) -> Result<(), ConvertError> {
    let mut texts = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        if is_system(&m.role) {
            for_each_text(m.content, i, |t| texts.push(t))?;
        }
    }
    match texts.as_slice() {
        [] => {}
        [one] => obj.key(b"system").extend_from_slice(one.bytes()),
        many => {
            let buf = obj.key(b"system");
            buf.push(b'[');
            for (n, t) in many.iter().enumerate() {
                if n > 0 {
                    buf.push(b',');
                }
                write_text_block(buf, *t);
            }
            buf.push(b']');
        }
    }
    Ok(())
}

fn write_text_block(out: &mut Vec<u8>, text: Raw<'_>) {
    out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
    out.extend_from_slice(text.bytes());
    out.push(b'}');
}

/// Calls `f` with each non-empty text of a string-or-text-parts content
/// (other part types are ignored here).
fn for_each_text<'a>(
    content: Option<Raw<'a>>,
    i: usize,
    mut f: impl FnMut(Raw<'a>),
) -> Result<(), ConvertError> {
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
        return Err(invalid(format_args!(
            "messages[{i}].content must be a string or an array of content parts"
        )));
    }
    for part in elements(content).map_err(malformed)? {
        if !part.is_object() {
            continue;
        }
        let [kind, text] = fields(part, ["type", "text"]).map_err(malformed)?;
        if kind.is_some_and(|k| k.str_is("text"))
            && let Some(t) = text.filter(|t| t.is_string() && !t.is_empty_string())
        {
            f(t);
        }
    }
    Ok(())
}

fn write_messages(out: &mut Vec<u8>, messages: &[Message<'_>]) -> Result<(), ConvertError> {
    out.push(b'[');
    let mut count = 0usize;
    // Whether the last written message is an open `user` message of
    // `tool_result` blocks (consecutive tool messages share it).
    let mut open_tool_results = false;
    let mut sep = |out: &mut Vec<u8>| {
        if count > 0 {
            out.push(b',');
        }
        count += 1;
    };
    for (i, m) in messages.iter().enumerate() {
        let role = m.role.as_ref();
        if is_system(role) {
            continue;
        }
        if role == "tool" {
            if open_tool_results {
                out.push(b',');
            } else {
                sep(out);
                out.extend_from_slice(b"{\"role\":\"user\",\"content\":[");
                open_tool_results = true;
            }
            write_tool_result(out, m, i)?;
            continue;
        }
        if open_tool_results {
            out.extend_from_slice(b"]}");
            open_tool_results = false;
        }
        match role {
            "user" => {
                sep(out);
                out.extend_from_slice(b"{\"role\":\"user\",\"content\":");
                write_user_content(out, m.content, i)?;
                out.push(b'}');
            }
            "assistant" => {
                let calls = match m.tool_calls {
                    Some(c) if c.is_array() => parse_tool_calls(c).map_err(malformed)?,
                    Some(_) => {
                        return Err(invalid(format_args!(
                            "messages[{i}].tool_calls must be an array"
                        )));
                    }
                    None => Vec::new(),
                };
                if calls.is_empty() {
                    match m.content {
                        None => continue,
                        Some(c) if c.is_empty_string() => continue,
                        Some(c) if c.is_string() => {
                            sep(out);
                            out.extend_from_slice(b"{\"role\":\"assistant\",\"content\":");
                            out.extend_from_slice(c.bytes());
                            out.push(b'}');
                            continue;
                        }
                        Some(_) => {}
                    }
                }
                sep(out);
                out.extend_from_slice(b"{\"role\":\"assistant\",\"content\":[");
                let mut n = 0;
                for_each_text(m.content, i, |t| {
                    if n > 0 {
                        out.push(b',');
                    }
                    n += 1;
                    write_text_block(out, t);
                })?;
                for (j, call) in calls.iter().enumerate() {
                    if n > 0 {
                        out.push(b',');
                    }
                    n += 1;
                    write_tool_use(out, call, i, j)?;
                }
                out.extend_from_slice(b"]}");
            }
            other => {
                return Err(invalid(format_args!(
                    "messages[{i}]: role `{other}` is not supported (use system, developer, \
                     user, assistant or tool)"
                )));
            }
        }
    }
    if open_tool_results {
        out.extend_from_slice(b"]}");
    }
    out.push(b']');
    Ok(())
}

fn write_user_content(
    out: &mut Vec<u8>,
    content: Option<Raw<'_>>,
    i: usize,
) -> Result<(), ConvertError> {
    let content =
        content.ok_or_else(|| invalid(format_args!("messages[{i}] (user) has no content")))?;
    if content.is_string() {
        out.extend_from_slice(content.bytes());
        return Ok(());
    }
    if !content.is_array() {
        return Err(invalid(format_args!(
            "messages[{i}].content must be a string or an array of content parts"
        )));
    }
    out.push(b'[');
    for (j, part) in elements(content)
        .map_err(malformed)?
        .into_iter()
        .enumerate()
    {
        if j > 0 {
            out.push(b',');
        }
        write_part(out, part, i, j)?;
    }
    out.push(b']');
    Ok(())
}

fn write_part(out: &mut Vec<u8>, part: Raw<'_>, i: usize, j: usize) -> Result<(), ConvertError> {
    if !part.is_object() {
        return Err(invalid(format_args!(
            "messages[{i}].content[{j}] must be an object"
        )));
    }
    let [kind, text, image_url, file, cache_control] =
        fields(part, ["type", "text", "image_url", "file", "cache_control"]).map_err(malformed)?;
    let kind = kind.and_then(Raw::str).unwrap_or_default();
    match kind.as_ref() {
        "text" => {
            let text = text.filter(|t| t.is_string()).ok_or_else(|| {
                invalid(format_args!(
                    "messages[{i}].content[{j}]: text part without text"
                ))
            })?;
            out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
            out.extend_from_slice(text.bytes());
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
                    "messages[{i}].content[{j}]: image_url part without image_url.url"
                ))
            })?;
            out.extend_from_slice(b"{\"type\":\"image\",\"source\":");
            match data_url(url) {
                Some((media_type, data)) => write_base64_source(out, &media_type, data),
                None => {
                    out.extend_from_slice(b"{\"type\":\"url\",\"url\":");
                    out.extend_from_slice(url.bytes());
                    out.push(b'}');
                }
            }
        }
        "file" => {
            let data = file
                .filter(|f| f.is_object())
                .and_then(|f| fields(f, ["file_data"]).ok())
                .and_then(|[d]| d)
                .and_then(data_url)
                .ok_or_else(|| {
                    invalid(format_args!(
                        "messages[{i}].content[{j}]: file parts need file.file_data as a \
                         base64 data URL (file_id cannot be sent to Anthropic)"
                    ))
                })?;
            out.extend_from_slice(b"{\"type\":\"document\",\"source\":");
            write_base64_source(out, &data.0, data.1);
        }
        other => {
            return Err(invalid(format_args!(
                "messages[{i}].content[{j}]: content part type `{other}` has no Anthropic \
                 equivalent (use text, image_url or file)"
            )));
        }
    }
    if let Some(cc) = cache_control.filter(|c| c.is_object()) {
        out.extend_from_slice(b",\"cache_control\":");
        out.extend_from_slice(cc.bytes());
    }
    out.push(b'}');
    Ok(())
}

/// The base64 payload of a data URL, as JSON string contents.
enum Payload<'a> {
    /// Escaped contents copied from the input (no escapes inside).
    Raw(&'a [u8]),
    /// Decoded text to escape.
    Decoded(String),
}

/// `data:<media type>;base64,<data>` → (media type, data).
fn data_url(url: Raw<'_>) -> Option<(Cow<'_, str>, Payload<'_>)> {
    let inner = url.inner();
    if !inner.starts_with(b"data:") {
        return None;
    }
    if !inner.contains(&b'\\') {
        // The common case (megabytes of base64): no copy until output.
        let comma = memchr::memchr(b',', inner)?;
        let meta = inner.get(5..comma)?;
        let media_type = meta.strip_suffix(b";base64")?;
        let media_type = std::str::from_utf8(media_type).ok()?;
        return Some((
            Cow::Borrowed(media_type),
            Payload::Raw(inner.get(comma + 1..)?),
        ));
    }
    let decoded = url.str()?;
    let rest = decoded.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let media_type = meta.strip_suffix(";base64")?;
    Some((
        Cow::Owned(media_type.to_owned()),
        Payload::Decoded(data.to_owned()),
    ))
}

fn write_base64_source(out: &mut Vec<u8>, media_type: &str, data: Payload<'_>) {
    out.extend_from_slice(b"{\"type\":\"base64\",\"media_type\":");
    write_str(out, media_type);
    out.extend_from_slice(b",\"data\":");
    match data {
        Payload::Raw(bytes) => {
            out.push(b'"');
            out.extend_from_slice(bytes);
            out.push(b'"');
        }
        Payload::Decoded(s) => write_str(out, &s),
    }
    out.push(b'}');
}

/// One `tool_calls[]` entry, read in one pass (`function` in place).
#[derive(Default)]
struct ToolCall<'a> {
    is_object: bool,
    id: Option<Raw<'a>>,
    has_function: bool,
    name: Option<Raw<'a>>,
    arguments: Option<Raw<'a>>,
}

fn parse_tool_calls(raw: Raw<'_>) -> Result<Vec<ToolCall<'_>>, ScanError> {
    let mut calls = Vec::with_capacity(2);
    let mut s = Scanner::new(raw.bytes());
    s.array(|s| {
        let mut call = ToolCall::default();
        if s.peek() == Some(b'{') {
            call.is_object = true;
            s.object(|key, s| {
                if key.str_is("function") && s.peek() == Some(b'{') {
                    let [name, arguments] = s.fields(["name", "arguments"])?;
                    call.has_function = true;
                    call.name = name;
                    call.arguments = arguments;
                } else {
                    let value = s.value()?;
                    if key.str_is("id") {
                        call.id = Some(value);
                    }
                }
                Ok(())
            })?;
        } else {
            s.value()?;
        }
        calls.push(call);
        Ok(())
    })?;
    s.end()?;
    Ok(calls)
}

fn write_tool_use(
    out: &mut Vec<u8>,
    call: &ToolCall<'_>,
    i: usize,
    j: usize,
) -> Result<(), ConvertError> {
    let at = || format!("messages[{i}].tool_calls[{j}]");
    if !call.is_object {
        return Err(invalid(format_args!("{} must be an object", at())));
    }
    let id = call
        .id
        .filter(|v| v.is_string())
        .ok_or_else(|| invalid(format_args!("{}: missing id", at())))?;
    if !call.has_function {
        return Err(invalid(format_args!("{}: missing function", at())));
    }
    let name = call
        .name
        .filter(|v| v.is_string())
        .ok_or_else(|| invalid(format_args!("{}: missing function.name", at())))?;
    let arguments = call.arguments;
    out.extend_from_slice(b"{\"type\":\"tool_use\",\"id\":");
    out.extend_from_slice(id.bytes());
    out.extend_from_slice(b",\"name\":");
    out.extend_from_slice(name.bytes());
    out.extend_from_slice(b",\"input\":");
    match arguments.filter(|a| a.is_string()).map(decode_arguments) {
        None => out.extend_from_slice(b"{}"),
        Some(text) => {
            let text = text.as_deref().map(<[u8]>::trim_ascii).unwrap_or_default();
            if text.is_empty() {
                out.extend_from_slice(b"{}");
            } else if text.first() == Some(&b'{')
                && serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok()
            {
                out.extend_from_slice(text);
            } else {
                return Err(invalid(format_args!(
                    "{}: function.arguments must be a JSON object (Anthropic tool_use input)",
                    at()
                )));
            }
        }
    }
    out.push(b'}');
    Ok(())
}

/// The JSON text inside an `arguments` string. Tool arguments are JSON
/// in a string, so nearly every byte pair is `\"`: the common escapes
/// are undone here without a serde round trip; `\u` falls back to serde.
fn decode_arguments(raw: Raw<'_>) -> Option<Cow<'_, [u8]>> {
    let inner = raw.inner();
    if !inner.contains(&b'\\') {
        return Some(Cow::Borrowed(inner));
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter();
    // Short strings with an escape every few bytes: a byte loop, no SIMD
    // call per escape.
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        out.push(match bytes.next()? {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'b' => 0x08,
            b'f' => 0x0c,
            _ => {
                return raw.str().map(|s| Cow::Owned(s.into_owned().into_bytes()));
            }
        });
    }
    Some(Cow::Owned(out))
}

fn write_tool_result(out: &mut Vec<u8>, m: &Message<'_>, i: usize) -> Result<(), ConvertError> {
    let id = m
        .tool_call_id
        .filter(|v| v.is_string())
        .ok_or_else(|| invalid(format_args!("messages[{i}] (tool) has no tool_call_id")))?;
    out.extend_from_slice(b"{\"type\":\"tool_result\",\"tool_use_id\":");
    out.extend_from_slice(id.bytes());
    match m.content {
        Some(c) if c.is_string() => {
            out.extend_from_slice(b",\"content\":");
            out.extend_from_slice(c.bytes());
        }
        Some(c) => {
            out.extend_from_slice(b",\"content\":[");
            let mut n = 0;
            for_each_text(Some(c), i, |t| {
                if n > 0 {
                    out.push(b',');
                }
                n += 1;
                write_text_block(out, t);
            })?;
            out.push(b']');
        }
        None => {}
    }
    out.push(b'}');
    Ok(())
}

fn write_tools(out: &mut Vec<u8>, tools: &[Raw<'_>]) -> Result<(), ConvertError> {
    out.push(b'[');
    for (i, tool) in tools.iter().enumerate() {
        if !tool.is_object() {
            return Err(invalid(format_args!("tools[{i}] must be an object")));
        }
        let [kind, function, cache_control] =
            fields(*tool, ["type", "function", "cache_control"]).map_err(malformed)?;
        if kind.is_some_and(|k| !k.str_is("function")) {
            return Err(invalid(format_args!(
                "tools[{i}]: only function tools can be sent to Anthropic"
            )));
        }
        let [name, description, parameters] = function
            .filter(|f| f.is_object())
            .map(|f| fields(f, ["name", "description", "parameters"]))
            .transpose()
            .map_err(malformed)?
            .unwrap_or_default();
        let name = name
            .filter(|n| n.is_string())
            .ok_or_else(|| invalid(format_args!("tools[{i}]: missing function.name")))?;
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        out.extend_from_slice(name.bytes());
        if let Some(d) = description.filter(|d| d.is_string()) {
            out.extend_from_slice(b",\"description\":");
            out.extend_from_slice(d.bytes());
        }
        out.extend_from_slice(b",\"input_schema\":");
        match parameters.filter(|p| p.is_object()) {
            Some(p) => out.extend_from_slice(p.bytes()),
            // Anthropic requires a schema; OpenAI allows none (no arguments).
            None => out.extend_from_slice(b"{\"type\":\"object\",\"properties\":{}}"),
        }
        if let Some(cc) = cache_control.filter(|c| c.is_object()) {
            out.extend_from_slice(b",\"cache_control\":");
            out.extend_from_slice(cc.bytes());
        }
        out.push(b'}');
    }
    out.push(b']');
    Ok(())
}

enum ToolChoice<'a> {
    Auto,
    Any,
    None,
    Tool(Raw<'a>),
}

fn tool_choice(raw: Option<Raw<'_>>) -> Result<Option<ToolChoice<'_>>, ConvertError> {
    let Some(raw) = raw.filter(|r| !r.is_null()) else {
        return Ok(None);
    };
    if let Some(s) = raw.str() {
        return match s.as_ref() {
            "auto" => Ok(Some(ToolChoice::Auto)),
            "required" => Ok(Some(ToolChoice::Any)),
            "none" => Ok(Some(ToolChoice::None)),
            other => Err(invalid(format_args!(
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
    Ok(Some(ToolChoice::Tool(name)))
}
