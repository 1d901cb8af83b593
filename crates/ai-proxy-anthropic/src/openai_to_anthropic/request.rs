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
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::json::{
    is_array, is_empty_string, is_number, is_object, is_string, str_value, string_inner, write_raw,
    write_str, write_u64,
};

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    #[serde(borrow, default)]
    messages: Option<Vec<Message<'a>>>,
    #[serde(borrow)]
    max_completion_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    max_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    stop: Option<&'a RawValue>,
    #[serde(borrow)]
    temperature: Option<&'a RawValue>,
    #[serde(borrow)]
    top_p: Option<&'a RawValue>,
    #[serde(borrow)]
    top_k: Option<&'a RawValue>,
    #[serde(borrow)]
    stream: Option<&'a RawValue>,
    #[serde(borrow)]
    user: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tools: Option<Vec<Tool<'a>>>,
    #[serde(borrow)]
    tool_choice: Option<&'a RawValue>,
    parallel_tool_calls: Option<bool>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    role: Cow<'a, str>,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<ToolCall<'a>>>,
    #[serde(borrow)]
    tool_call_id: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Part<'a> {
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    text: Option<&'a RawValue>,
    #[serde(borrow)]
    image_url: Option<ImageUrl<'a>>,
    #[serde(borrow)]
    file: Option<File<'a>>,
    #[serde(borrow)]
    cache_control: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ImageUrl<'a> {
    #[serde(borrow)]
    url: &'a RawValue,
}

#[derive(Deserialize)]
struct File<'a> {
    #[serde(borrow)]
    file_data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow, rename = "function")]
    function: Option<Function<'a>>,
}

#[derive(Deserialize)]
struct Function<'a> {
    #[serde(borrow)]
    name: Option<&'a RawValue>,
    #[serde(borrow)]
    arguments: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Tool<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "function")]
    function: Option<ToolFunction<'a>>,
    #[serde(borrow)]
    cache_control: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ToolFunction<'a> {
    #[serde(borrow)]
    name: &'a RawValue,
    #[serde(borrow)]
    description: Option<&'a RawValue>,
    #[serde(borrow)]
    parameters: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct NamedToolChoice<'a> {
    #[serde(borrow, rename = "function")]
    function: Option<NamedFunction<'a>>,
}

#[derive(Deserialize)]
struct NamedFunction<'a> {
    #[serde(borrow)]
    name: &'a RawValue,
}

fn invalid(what: impl std::fmt::Display) -> ConvertError {
    ConvertError::new(format!(
        "invalid OpenAI chat request for Anthropic Messages: {what}"
    ))
}

/// Converts the body; `default_max_tokens` fills Anthropic's required
/// `max_tokens` when the client sent none.
pub(crate) fn convert(body: &[u8], default_max_tokens: u64) -> Result<Vec<u8>, ConvertError> {
    let req: Request<'_> = serde_json::from_slice(body).map_err(invalid)?;
    let messages = req
        .messages
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ConvertError::new("missing messages"))?;

    let mut out = Vec::with_capacity(body.len() + 128);
    out.push(b'{');
    let mut first = true;
    let mut key = |out: &mut Vec<u8>, name: &[u8]| {
        if !first {
            out.push(b',');
        }
        first = false;
        out.push(b'"');
        out.extend_from_slice(name);
        out.extend_from_slice(b"\":");
    };

    if let Some(model) = req.model.filter(|m| is_string(m)) {
        key(&mut out, b"model");
        write_raw(&mut out, model);
    }
    key(&mut out, b"max_tokens");
    match req
        .max_completion_tokens
        .filter(|m| is_number(m))
        .or(req.max_tokens.filter(|m| is_number(m)))
    {
        Some(n) => write_raw(&mut out, n),
        None => write_u64(&mut out, default_max_tokens),
    }

    // system / developer messages, hoisted in order.
    let mut system_count = 0;
    let mut single_system: Option<&RawValue> = None;
    for m in messages.iter().filter(|m| is_system(&m.role)) {
        for_each_text(m.content, |t| {
            system_count += 1;
            single_system = Some(t);
        })?;
    }
    if system_count == 1 {
        if let Some(text) = single_system {
            key(&mut out, b"system");
            write_raw(&mut out, text);
        }
    } else if system_count > 1 {
        key(&mut out, b"system");
        out.push(b'[');
        let mut n = 0;
        for m in messages.iter().filter(|m| is_system(&m.role)) {
            for_each_text(m.content, |t| {
                if n > 0 {
                    out.push(b',');
                }
                n += 1;
                out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
                write_raw(&mut out, t);
                out.push(b'}');
            })?;
        }
        out.push(b']');
    }

    key(&mut out, b"messages");
    write_messages(&mut out, &messages)?;

    if let Some(stop) = req.stop {
        if is_string(stop) {
            key(&mut out, b"stop_sequences");
            out.push(b'[');
            write_raw(&mut out, stop);
            out.push(b']');
        } else if is_array(stop) {
            key(&mut out, b"stop_sequences");
            write_raw(&mut out, stop);
        }
    }
    for (name, value) in [
        (&b"temperature"[..], req.temperature),
        (b"top_p", req.top_p),
        (b"top_k", req.top_k),
    ] {
        if let Some(v) = value.filter(|v| is_number(v)) {
            key(&mut out, name);
            write_raw(&mut out, v);
        }
    }
    if let Some(stream) = req.stream.filter(|s| matches!(s.get(), "true" | "false")) {
        key(&mut out, b"stream");
        write_raw(&mut out, stream);
    }
    if let Some(user) = req.user.filter(|u| is_string(u) && !is_empty_string(u)) {
        key(&mut out, b"metadata");
        out.extend_from_slice(b"{\"user_id\":");
        write_raw(&mut out, user);
        out.push(b'}');
    }
    let tools = req.tools.unwrap_or_default();
    if !tools.is_empty() {
        key(&mut out, b"tools");
        write_tools(&mut out, &tools)?;
        let choice = tool_choice(req.tool_choice)?;
        let no_parallel = req.parallel_tool_calls == Some(false);
        match (choice, no_parallel) {
            (None, false) => {}
            (Some(ToolChoiceOut::None), _) => {
                key(&mut out, b"tool_choice");
                out.extend_from_slice(b"{\"type\":\"none\"}");
            }
            (choice, no_parallel) => {
                key(&mut out, b"tool_choice");
                out.extend_from_slice(b"{\"type\":");
                match choice {
                    Some(ToolChoiceOut::Any) => out.extend_from_slice(b"\"any\""),
                    Some(ToolChoiceOut::Tool(name)) => {
                        out.extend_from_slice(b"\"tool\",\"name\":");
                        write_raw(&mut out, name);
                    }
                    _ => out.extend_from_slice(b"\"auto\""),
                }
                if no_parallel {
                    out.extend_from_slice(b",\"disable_parallel_tool_use\":true");
                }
                out.push(b'}');
            }
        }
    }
    out.push(b'}');
    Ok(out)
}

fn is_system(role: &str) -> bool {
    role == "system" || role == "developer"
}

/// Calls `f` with each non-empty text of a string-or-text-parts content.
fn for_each_text<'a>(
    content: Option<&'a RawValue>,
    mut f: impl FnMut(&'a RawValue),
) -> Result<(), ConvertError> {
    let Some(content) = content else {
        return Ok(());
    };
    if is_string(content) {
        if !is_empty_string(content) {
            f(content);
        }
        return Ok(());
    }
    if content.get() == "null" {
        return Ok(());
    }
    let parts: Vec<Part<'_>> = serde_json::from_str(content.get()).map_err(invalid)?;
    for part in parts {
        if part.kind == "text"
            && let Some(t) = part.text.filter(|t| is_string(t) && !is_empty_string(t))
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
    for (i, m) in messages.iter().enumerate() {
        let role = m.role.as_ref();
        if is_system(role) {
            continue;
        }
        if role == "tool" {
            if open_tool_results {
                out.push(b',');
            } else {
                if count > 0 {
                    out.push(b',');
                }
                count += 1;
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
                if count > 0 {
                    out.push(b',');
                }
                count += 1;
                out.extend_from_slice(b"{\"role\":\"user\",\"content\":");
                write_user_content(out, m.content, i)?;
                out.push(b'}');
            }
            "assistant" => {
                let calls = m.tool_calls.as_deref().unwrap_or_default();
                let text = m.content.filter(|c| c.get() != "null");
                if calls.is_empty() {
                    match text {
                        Some(c) if is_string(c) => {
                            if is_empty_string(c) {
                                continue;
                            }
                            if count > 0 {
                                out.push(b',');
                            }
                            count += 1;
                            out.extend_from_slice(b"{\"role\":\"assistant\",\"content\":");
                            write_raw(out, c);
                            out.push(b'}');
                            continue;
                        }
                        None => continue,
                        Some(_) => {}
                    }
                }
                if count > 0 {
                    out.push(b',');
                }
                count += 1;
                out.extend_from_slice(b"{\"role\":\"assistant\",\"content\":[");
                let mut n = 0;
                for_each_text(text, |t| {
                    if n > 0 {
                        out.push(b',');
                    }
                    n += 1;
                    out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
                    write_raw(out, t);
                    out.push(b'}');
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
    content: Option<&RawValue>,
    i: usize,
) -> Result<(), ConvertError> {
    let content = content
        .filter(|c| c.get() != "null")
        .ok_or_else(|| invalid(format_args!("messages[{i}] (user) has no content")))?;
    if is_string(content) {
        write_raw(out, content);
        return Ok(());
    }
    if !is_array(content) {
        return Err(invalid(format_args!(
            "messages[{i}].content must be a string or an array of content parts"
        )));
    }
    let parts: Vec<Part<'_>> = serde_json::from_str(content.get()).map_err(invalid)?;
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

fn write_part(out: &mut Vec<u8>, part: &Part<'_>, i: usize, j: usize) -> Result<(), ConvertError> {
    match part.kind.as_ref() {
        "text" => {
            let text = part.text.filter(|t| is_string(t)).ok_or_else(|| {
                invalid(format_args!(
                    "messages[{i}].content[{j}]: text part without text"
                ))
            })?;
            out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
            write_raw(out, text);
        }
        "image_url" => {
            let url = part
                .image_url
                .as_ref()
                .map(|u| u.url)
                .filter(|u| is_string(u))
                .ok_or_else(|| {
                    invalid(format_args!(
                        "messages[{i}].content[{j}]: image_url part without image_url.url"
                    ))
                })?;
            out.extend_from_slice(b"{\"type\":\"image\",\"source\":");
            match data_url(url) {
                Some((media_type, data)) => write_base64_source(out, &media_type, &data),
                None => {
                    out.extend_from_slice(b"{\"type\":\"url\",\"url\":");
                    write_raw(out, url);
                    out.push(b'}');
                }
            }
        }
        "file" => {
            let data = part
                .file
                .as_ref()
                .and_then(|f| f.file_data)
                .and_then(data_url)
                .ok_or_else(|| {
                    invalid(format_args!(
                        "messages[{i}].content[{j}]: file parts need file.file_data as a \
                         base64 data URL (file_id cannot be sent to Anthropic)"
                    ))
                })?;
            out.extend_from_slice(b"{\"type\":\"document\",\"source\":");
            write_base64_source(out, &data.0, &data.1);
        }
        other => {
            return Err(invalid(format_args!(
                "messages[{i}].content[{j}]: content part type `{other}` has no Anthropic \
                 equivalent (use text, image_url or file)"
            )));
        }
    }
    if let Some(cc) = part.cache_control {
        out.extend_from_slice(b",\"cache_control\":");
        write_raw(out, cc);
    }
    out.push(b'}');
    Ok(())
}

/// `data:<media type>;base64,<data>` → (media type, data).
fn data_url(url: &RawValue) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
    let inner = string_inner(url);
    if !inner.starts_with("data:") {
        return None;
    }
    let url = str_value(url)?;
    let split = |s: &str| -> Option<(usize, usize)> {
        let rest = s.strip_prefix("data:")?;
        let comma = rest.find(',')?;
        let meta = rest.get(..comma)?;
        meta.strip_suffix(";base64")?;
        Some((5 + comma - 7, 5 + comma + 1))
    };
    let (mt_end, data_start) = split(&url)?;
    match url {
        Cow::Borrowed(s) => Some((
            Cow::Borrowed(s.get(5..mt_end)?),
            Cow::Borrowed(s.get(data_start..)?),
        )),
        Cow::Owned(s) => Some((
            Cow::Owned(s.get(5..mt_end)?.to_owned()),
            Cow::Owned(s.get(data_start..)?.to_owned()),
        )),
    }
}

fn write_base64_source(out: &mut Vec<u8>, media_type: &str, data: &str) {
    out.extend_from_slice(b"{\"type\":\"base64\",\"media_type\":");
    write_str(out, media_type);
    out.extend_from_slice(b",\"data\":");
    write_str(out, data);
    out.push(b'}');
}

fn write_tool_use(
    out: &mut Vec<u8>,
    call: &ToolCall<'_>,
    i: usize,
    j: usize,
) -> Result<(), ConvertError> {
    let at = || format!("messages[{i}].tool_calls[{j}]");
    let id = call
        .id
        .filter(|v| is_string(v))
        .ok_or_else(|| invalid(format_args!("{}: missing id", at())))?;
    let function = call
        .function
        .as_ref()
        .ok_or_else(|| invalid(format_args!("{}: missing function", at())))?;
    let name = function
        .name
        .filter(|v| is_string(v))
        .ok_or_else(|| invalid(format_args!("{}: missing function.name", at())))?;
    out.extend_from_slice(b"{\"type\":\"tool_use\",\"id\":");
    write_raw(out, id);
    out.extend_from_slice(b",\"name\":");
    write_raw(out, name);
    out.extend_from_slice(b",\"input\":");
    let args = function.arguments.and_then(str_value);
    match args.as_deref().map(str::trim) {
        None | Some("") => out.extend_from_slice(b"{}"),
        Some(text) => {
            let value: &RawValue = serde_json::from_str(text)
                .ok()
                .filter(|v: &&RawValue| is_object(v))
                .ok_or_else(|| {
                    invalid(format_args!(
                        "{}: function.arguments must be a JSON object (Anthropic tool_use \
                         input)",
                        at()
                    ))
                })?;
            write_raw(out, value);
        }
    }
    out.push(b'}');
    Ok(())
}

fn write_tool_result(out: &mut Vec<u8>, m: &Message<'_>, i: usize) -> Result<(), ConvertError> {
    let id = m
        .tool_call_id
        .filter(|v| is_string(v))
        .ok_or_else(|| invalid(format_args!("messages[{i}] (tool) has no tool_call_id")))?;
    out.extend_from_slice(b"{\"type\":\"tool_result\",\"tool_use_id\":");
    write_raw(out, id);
    match m.content.filter(|c| c.get() != "null") {
        Some(c) if is_string(c) => {
            out.extend_from_slice(b",\"content\":");
            write_raw(out, c);
        }
        Some(c) => {
            out.extend_from_slice(b",\"content\":[");
            let mut n = 0;
            for_each_text(Some(c), |t| {
                if n > 0 {
                    out.push(b',');
                }
                n += 1;
                out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
                write_raw(out, t);
                out.push(b'}');
            })?;
            out.push(b']');
        }
        None => {}
    }
    out.push(b'}');
    Ok(())
}

fn write_tools(out: &mut Vec<u8>, tools: &[Tool<'_>]) -> Result<(), ConvertError> {
    out.push(b'[');
    for (i, tool) in tools.iter().enumerate() {
        if tool.kind.as_deref().is_some_and(|k| k != "function") {
            return Err(invalid(format_args!(
                "tools[{i}]: only function tools can be sent to Anthropic"
            )));
        }
        let function = tool
            .function
            .as_ref()
            .filter(|f| is_string(f.name))
            .ok_or_else(|| invalid(format_args!("tools[{i}]: missing function.name")))?;
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        write_raw(out, function.name);
        if let Some(d) = function.description.filter(|d| is_string(d)) {
            out.extend_from_slice(b",\"description\":");
            write_raw(out, d);
        }
        out.extend_from_slice(b",\"input_schema\":");
        match function.parameters.filter(|p| is_object(p)) {
            Some(p) => write_raw(out, p),
            // Anthropic requires a schema; OpenAI allows none (no arguments).
            None => out.extend_from_slice(b"{\"type\":\"object\",\"properties\":{}}"),
        }
        if let Some(cc) = tool.cache_control {
            out.extend_from_slice(b",\"cache_control\":");
            write_raw(out, cc);
        }
        out.push(b'}');
    }
    out.push(b']');
    Ok(())
}

enum ToolChoiceOut<'a> {
    Auto,
    Any,
    None,
    Tool(&'a RawValue),
}

fn tool_choice(raw: Option<&RawValue>) -> Result<Option<ToolChoiceOut<'_>>, ConvertError> {
    let Some(raw) = raw.filter(|r| r.get() != "null") else {
        return Ok(None);
    };
    if let Some(s) = str_value(raw) {
        return match s.as_ref() {
            "auto" => Ok(Some(ToolChoiceOut::Auto)),
            "required" => Ok(Some(ToolChoiceOut::Any)),
            "none" => Ok(Some(ToolChoiceOut::None)),
            other => Err(invalid(format_args!(
                "tool_choice `{other}` is not one of auto, required, none"
            ))),
        };
    }
    let named: NamedToolChoice<'_> = serde_json::from_str(raw.get()).map_err(invalid)?;
    let name = named
        .function
        .map(|f| f.name)
        .filter(|n| is_string(n))
        .ok_or_else(|| invalid("tool_choice object needs function.name"))?;
    Ok(Some(ToolChoiceOut::Tool(name)))
}
