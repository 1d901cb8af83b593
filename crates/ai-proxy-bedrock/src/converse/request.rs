//! OpenAI chat request → Bedrock Converse request.
//!
//! | OpenAI | Converse |
//! |---|---|
//! | `model`, `stream` | the URL path (`/model/{id}/converse[-stream]`), not the body |
//! | `system` / `developer` messages | `system` text blocks, in order |
//! | `user` content string / parts | `content` blocks: `text`; `image_url` base64 data URL → `image {format, source.bytes}`; `file.file_data` data URL → `document {format, name, source.bytes}` |
//! | `assistant` content + `tool_calls` | `text` blocks + `toolUse {toolUseId, name, input}` (`input` = the parsed `arguments` object) |
//! | `tool` messages | `toolResult {toolUseId, content: [text…]}` blocks of a `user` message |
//! | consecutive messages of one role | merged into one message (Converse requires alternating roles) |
//! | `cache_control` on a content part | a `cachePoint` block after it |
//! | `max_completion_tokens`, else `max_tokens` | `inferenceConfig.maxTokens` |
//! | `temperature`, `top_p`, `stop` | `inferenceConfig.temperature`, `.topP`, `.stopSequences` |
//! | `tools[].function` | `toolConfig.tools[].toolSpec {name, description, inputSchema.json}` |
//! | `tool_choice` `auto` / `required` / function | `toolConfig.toolChoice` `auto` / `any` / `tool {name}`; `none` has no Converse form: tools stay offered, no choice is sent |
//!
//! Other OpenAI fields are dropped: Converse rejects members it does not
//! know. Empty text is left out (Converse refuses blank blocks).

use ai_proxy_core::adapter::ConvertError;
use serde_json::value::RawValue;

use super::media::{write_document, write_image};
use super::tools::write_tool_config;
use super::wire::{Message, MessageList, Part, Request, invalid};

use crate::json::{
    is_array, is_empty_string, is_null, is_number, is_object, is_string, str_is, str_value,
    write_raw,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    User,
    Assistant,
}

/// The `messages` array being written: consecutive blocks of one role
/// share a message.
struct Messages<'o> {
    out: &'o mut Vec<u8>,
    open: Option<Role>,
    count: usize,
    /// One message's blocks before it is known whether there are any.
    scratch: Vec<u8>,
}

impl Messages<'_> {
    /// Starts a block of `role` (opening a message when the role changes)
    /// and returns the buffer to write the block to.
    fn block(&mut self, role: Role) -> &mut Vec<u8> {
        if self.open == Some(role) {
            self.out.push(b',');
        } else {
            if self.open.is_some() {
                self.out.extend_from_slice(b"]}");
            }
            if self.count > 0 {
                self.out.push(b',');
            }
            self.count += 1;
            self.out.extend_from_slice(match role {
                Role::User => b"{\"role\":\"user\",\"content\":[",
                Role::Assistant => b"{\"role\":\"assistant\",\"content\":[",
            });
            self.open = Some(role);
        }
        self.out
    }

    fn close(self) {
        if self.open.is_some() {
            self.out.extend_from_slice(b"]}");
        }
    }
}

/// Converts the body of an OpenAI chat request.
pub(crate) fn convert(body: &[u8]) -> Result<Vec<u8>, ConvertError> {
    let mut req: Request<'_> =
        serde_json::from_slice(body).map_err(|e| invalid(format_args!("{e}")))?;
    let messages = match std::mem::take(&mut req.messages) {
        MessageList::List(list) => list,
        MessageList::NotArray => return Err(invalid("messages must be an array")),
        MessageList::Absent => Vec::new(),
    };
    if messages.is_empty() {
        return Err(ConvertError::new("missing messages"));
    }

    let mut out = Vec::with_capacity(body.len() + body.len() / 8 + 128);
    out.extend_from_slice(b"{\"messages\":[");
    let mut system = Vec::new();
    let mut list = Messages {
        out: &mut out,
        open: None,
        count: 0,
        scratch: Vec::new(),
    };
    for (i, m) in messages.iter().enumerate() {
        let role = m
            .role
            .and_then(str_value)
            .ok_or_else(|| invalid(format_args!("messages[{i}].role must be a string")))?;
        match role.as_ref() {
            "system" | "developer" => write_text_blocks(&mut system, m.content, i)?,
            "user" => write_user(&mut list, m.content, i)?,
            "assistant" => write_assistant(&mut list, m, i)?,
            "tool" => write_tool_result(&mut list, m, i)?,
            other => {
                return Err(invalid(format_args!(
                    "messages[{i}]: role `{other}` is not supported (use system, developer, \
                     user, assistant or tool)"
                )));
            }
        }
    }
    let wrote_messages = list.count > 0;
    list.close();
    if !wrote_messages {
        return Err(ConvertError::new("missing messages"));
    }
    out.push(b']');
    if !system.is_empty() {
        out.extend_from_slice(b",\"system\":[");
        out.extend_from_slice(&system);
        out.push(b']');
    }
    write_inference_config(&mut out, &req);
    write_tool_config(&mut out, req.tools, req.tool_choice)?;
    out.push(b'}');
    Ok(out)
}

fn sep(out: &mut Vec<u8>) {
    if !out.is_empty() {
        out.push(b',');
    }
}

/// A string content as one `{"text": …}` block (none when empty);
/// `false` when `content` is not a string (its parts are the caller's).
fn write_string_content(out: &mut Vec<u8>, content: &RawValue) -> bool {
    if !is_string(content) {
        return false;
    }
    if !is_empty_string(content) {
        sep(out);
        write_text(out, content);
    }
    true
}

/// `{"text": …}` for each non-empty text of a string or text parts (other
/// part kinds are refused: system prompts are text).
fn write_text_blocks(
    out: &mut Vec<u8>,
    content: Option<&RawValue>,
    i: usize,
) -> Result<(), ConvertError> {
    let Some(content) = content.filter(|c| !is_null(c)) else {
        return Ok(());
    };
    if write_string_content(out, content) {
        return Ok(());
    }
    for (j, part) in parts(content, i)?.iter().enumerate() {
        if !str_is(part.kind, "text") {
            return Err(invalid(format_args!(
                "messages[{i}].content[{j}]: system messages take text parts only"
            )));
        }
        let text = part_text(part, i, j)?;
        if !is_empty_string(text) {
            sep(out);
            write_text(out, text);
        }
        write_cache_point(out, part.cache_control);
    }
    Ok(())
}

fn write_text(out: &mut Vec<u8>, text: &RawValue) {
    out.extend_from_slice(b"{\"text\":");
    write_raw(out, text);
    out.push(b'}');
}

/// A `cachePoint` block after a part marked with `cache_control`.
fn write_cache_point(out: &mut Vec<u8>, cache_control: Option<&RawValue>) {
    if cache_control.is_some_and(is_object) {
        sep(out);
        out.extend_from_slice(b"{\"cachePoint\":{\"type\":\"default\"}}");
    }
}

fn parts<'a>(content: &'a RawValue, i: usize) -> Result<Vec<Part<'a>>, ConvertError> {
    if !is_array(content) {
        return Err(invalid(format_args!(
            "messages[{i}].content must be a string or an array of content parts"
        )));
    }
    serde_json::from_str(content.get())
        .map_err(|e| invalid(format_args!("messages[{i}].content: {e}")))
}

fn part_text<'a>(part: &Part<'a>, i: usize, j: usize) -> Result<&'a RawValue, ConvertError> {
    part.text.filter(|t| is_string(t)).ok_or_else(|| {
        invalid(format_args!(
            "messages[{i}].content[{j}]: text part without text"
        ))
    })
}

/// Content blocks of one user-side content (a user message or a tool
/// result), appended to `out` separated by commas.
fn write_content_blocks(
    out: &mut Vec<u8>,
    content: &RawValue,
    i: usize,
) -> Result<(), ConvertError> {
    if write_string_content(out, content) {
        return Ok(());
    }
    for (j, part) in parts(content, i)?.iter().enumerate() {
        let kind = part.kind.and_then(str_value).unwrap_or_default();
        match kind.as_ref() {
            "text" => {
                let text = part_text(part, i, j)?;
                if !is_empty_string(text) {
                    sep(out);
                    write_text(out, text);
                }
            }
            "image_url" => {
                sep(out);
                write_image(out, part.image_url, i, j)?;
            }
            "file" => {
                sep(out);
                write_document(out, part.file.as_ref(), i, j)?;
            }
            other => {
                return Err(invalid(format_args!(
                    "messages[{i}].content[{j}]: content part type `{other}` has no Converse \
                     equivalent (use text, image_url or file)"
                )));
            }
        }
        write_cache_point(out, part.cache_control);
    }
    Ok(())
}

fn write_user(
    list: &mut Messages<'_>,
    content: Option<&RawValue>,
    i: usize,
) -> Result<(), ConvertError> {
    let content = content
        .filter(|c| !is_null(c))
        .ok_or_else(|| invalid(format_args!("messages[{i}] (user) has no content")))?;
    if is_string(content) {
        if !is_empty_string(content) {
            write_text(list.block(Role::User), content);
        }
        return Ok(());
    }
    let mut blocks = std::mem::take(&mut list.scratch);
    blocks.clear();
    write_content_blocks(&mut blocks, content, i)?;
    if !blocks.is_empty() {
        list.block(Role::User).extend_from_slice(&blocks);
    }
    list.scratch = blocks;
    Ok(())
}

fn write_assistant(list: &mut Messages<'_>, m: &Message<'_>, i: usize) -> Result<(), ConvertError> {
    let mut blocks = std::mem::take(&mut list.scratch);
    blocks.clear();
    write_text_blocks(&mut blocks, m.content, i)?;
    for (j, call) in m.tool_calls.iter().flatten().enumerate() {
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
        sep(&mut blocks);
        blocks.extend_from_slice(b"{\"toolUse\":{\"toolUseId\":");
        write_raw(&mut blocks, id);
        blocks.extend_from_slice(b",\"name\":");
        write_raw(&mut blocks, name);
        blocks.extend_from_slice(b",\"input\":");
        let arguments = function
            .arguments
            .filter(|a| is_string(a))
            .and_then(str_value);
        let text = arguments.as_deref().map(str::trim).unwrap_or_default();
        if text.is_empty() {
            blocks.extend_from_slice(b"{}");
        } else if text.starts_with('{')
            && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
        {
            blocks.extend_from_slice(text.as_bytes());
        } else {
            return Err(invalid(format_args!(
                "{}: function.arguments must be a JSON object (Converse toolUse input)",
                at()
            )));
        }
        blocks.extend_from_slice(b"}}");
    }
    if !blocks.is_empty() {
        list.block(Role::Assistant).extend_from_slice(&blocks);
    }
    list.scratch = blocks;
    Ok(())
}

fn write_tool_result(
    list: &mut Messages<'_>,
    m: &Message<'_>,
    i: usize,
) -> Result<(), ConvertError> {
    let id = m
        .tool_call_id
        .filter(|v| is_string(v))
        .ok_or_else(|| invalid(format_args!("messages[{i}] (tool) has no tool_call_id")))?;
    let mut content = std::mem::take(&mut list.scratch);
    content.clear();
    if let Some(c) = m.content.filter(|c| !is_null(c)) {
        write_content_blocks(&mut content, c, i)?;
    }
    let out = list.block(Role::User);
    out.extend_from_slice(b"{\"toolResult\":{\"toolUseId\":");
    write_raw(out, id);
    out.extend_from_slice(b",\"content\":[");
    if content.is_empty() {
        // A blank result still needs one block; an empty JSON object is
        // "no output" without inventing text.
        out.extend_from_slice(b"{\"json\":{}}");
    } else {
        out.extend_from_slice(&content);
    }
    out.extend_from_slice(b"]}}");
    list.scratch = content;
    Ok(())
}

fn write_inference_config(out: &mut Vec<u8>, req: &Request<'_>) {
    let mut config = Vec::new();
    let max = req
        .max_completion_tokens
        .filter(|m| is_number(m))
        .or(req.max_tokens.filter(|m| is_number(m)));
    for (name, value) in [
        (&b"maxTokens"[..], max),
        (b"temperature", req.temperature.filter(|v| is_number(v))),
        (b"topP", req.top_p.filter(|v| is_number(v))),
    ] {
        if let Some(v) = value {
            sep(&mut config);
            config.push(b'"');
            config.extend_from_slice(name);
            config.extend_from_slice(b"\":");
            write_raw(&mut config, v);
        }
    }
    match req.stop {
        Some(s) if is_string(s) => {
            sep(&mut config);
            config.extend_from_slice(b"\"stopSequences\":[");
            write_raw(&mut config, s);
            config.push(b']');
        }
        Some(s) if is_array(s) => {
            sep(&mut config);
            config.extend_from_slice(b"\"stopSequences\":");
            write_raw(&mut config, s);
        }
        _ => {}
    }
    if !config.is_empty() {
        out.extend_from_slice(b",\"inferenceConfig\":{");
        out.extend_from_slice(&config);
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(body: &str) -> String {
        String::from_utf8(convert(body.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn minimal_request() {
        assert_eq!(
            conv(r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#),
            r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#
        );
    }
}
