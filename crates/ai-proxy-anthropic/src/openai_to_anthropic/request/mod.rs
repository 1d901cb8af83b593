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

mod content;
mod message;
mod tools;
mod turns;

use ai_proxy_core::adapter::ConvertError;

use self::message::{Message, for_each_text, invalid, is_system, malformed, write_text_block};
use self::tools::write_tools;
use self::turns::write_messages;
use ai_proxy_core::json::chat::{self, Messages, ToolChoice, tool_choice};
use ai_proxy_core::json::raw::MemberWriter;
use ai_proxy_core::json::raw::write_u64;
use ai_proxy_core::json::scan::{Raw, ScanError, Scanner, elements};

/// The request members the mapping reads.
struct Request<'a> {
    model: Option<Raw<'a>>,
    messages: Messages<'a, 4>,
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
        let name = chat::member_name(key);
        if *name == *b"messages" {
            req.messages = Messages::read(s, MESSAGE_KEYS)?;
            return Ok(());
        }
        let value = s.value()?;
        let slot = match &*name {
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

fn messages(parsed: Messages<'_, 4>) -> Result<Vec<Message<'_>>, ConvertError> {
    let list = parsed.into_list().map_err(invalid)?;
    let mut out = Vec::with_capacity(list.len());
    for (i, [role, content, tool_calls, tool_call_id]) in list.into_iter().enumerate() {
        let role = chat::role(role, i).map_err(invalid)?;
        out.push(Message {
            role,
            content: content.filter(|c| !c.is_null()),
            tool_calls: tool_calls.filter(|c| !c.is_null()),
            tool_call_id,
        });
    }
    Ok(out)
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
    let mut obj = MemberWriter::new(&mut out);

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
        let choice = tool_choice(req.tool_choice).map_err(invalid)?;
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
                    Some(ToolChoice::Required) => buf.extend_from_slice(b"\"any\""),
                    Some(ToolChoice::Function(name)) => {
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

/// `system` / `developer` messages, hoisted in order: one text → a
/// string, several → text blocks.
fn write_system(obj: &mut MemberWriter<'_>, messages: &[Message<'_>]) -> Result<(), ConvertError> {
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
