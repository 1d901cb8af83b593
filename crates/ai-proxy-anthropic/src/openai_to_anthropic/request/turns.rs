//! `messages` → Anthropic's turns: system messages skipped (hoisted
//! elsewhere), consecutive tool messages merged into one `user` turn.

use ai_proxy_core::adapter::ConvertError;

use super::content::write_user_content;
use super::message::{Message, for_each_text, invalid, is_system, malformed, write_text_block};
use super::tools::{write_tool_result, write_tool_use};
use ai_proxy_core::json::chat::tool_calls;

pub(super) fn write_messages(
    out: &mut Vec<u8>,
    messages: &[Message<'_>],
) -> Result<(), ConvertError> {
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
                    Some(c) if c.is_array() => tool_calls(c).map_err(malformed)?,
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
