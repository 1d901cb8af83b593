//! A whole `generateContent` body → one `chat.completion`.

use ai_proxy_core::translate::TranslateError;
use bytes::BytesMut;
use serde_json::value::RawValue;

use super::{
    Chunk, MAX_CANDIDATES, Tokens, final_reason, finish_reason, reported, write_call_id,
    write_error, write_function, write_signature,
};
use ai_proxy_core::json::raw::{is_string, string_inner};
use ai_proxy_core::json::write::{Out, write_array, write_raw, write_u64};

/// One candidate, gathered across the body (or the chunks of a JSON-array
/// `streamGenerateContent` body).
struct Choice<'a> {
    index: u64,
    /// Escaped text contents, concatenated (no decoding needed).
    content: Vec<u8>,
    has_content: bool,
    reasoning: Vec<u8>,
    /// `tool_calls` entries, written.
    tool_calls: Vec<u8>,
    calls: u32,
    signature: Option<&'a RawValue>,
    finish: Option<&'static str>,
}

impl Choice<'_> {
    fn new(index: u64) -> Self {
        Self {
            index,
            content: Vec::new(),
            has_content: false,
            reasoning: Vec::new(),
            tool_calls: Vec::new(),
            calls: 0,
            signature: None,
            finish: None,
        }
    }
}

/// Writes the `chat.completion` for a whole body; `fallback_model` (a
/// JSON string token) names the model when the body does not.
pub(super) fn write_completion(
    fallback_model: &str,
    body: &[u8],
    out: &mut BytesMut,
) -> Result<(), TranslateError> {
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        // Not JSON at all (a proxy's text error page): forwarded verbatim.
        out.extend_from_slice(body);
        return Ok(());
    }
    let malformed = |e: serde_json::Error| {
        TranslateError::Malformed(format!(
            "upstream response is not a Gemini GenerateContentResponse: {e}"
        ))
    };
    // `streamGenerateContent` without `alt=sse` answers a JSON array.
    let chunks: Vec<Chunk<'_>> = if body.trim_ascii().first() == Some(&b'[') {
        serde_json::from_slice(body).map_err(malformed)?
    } else {
        vec![serde_json::from_slice(body).map_err(malformed)?]
    };
    if let Some(error) = chunks
        .iter()
        .find_map(|c| c.error.filter(|e| e.get() != "null"))
    {
        write_error(out, error);
        return Ok(());
    }
    let mut choices: Vec<Choice<'_>> = Vec::new();
    let mut tokens = Tokens::default();
    let mut blocked = false;
    let mut generated = 0u64;
    let first = chunks.first();
    let response_id = first
        .and_then(|c| c.response_id)
        .filter(|r| is_string(r))
        .map_or("", string_inner);
    for chunk in &chunks {
        if let Some(u) = &chunk.usage_metadata {
            tokens.merge(u);
        }
        let candidates = chunk.candidates.as_deref().unwrap_or_default();
        blocked |=
            candidates.is_empty() && chunk.prompt_feedback.as_ref().is_some_and(|f| f.blocked());
        for (position, candidate) in candidates.iter().enumerate() {
            let index = candidate.index.unwrap_or(position as u64);
            let at = match choices.iter().position(|c| c.index == index) {
                Some(at) => at,
                None if choices.len() < MAX_CANDIDATES => {
                    choices.push(Choice::new(index));
                    choices.len() - 1
                }
                None => continue,
            };
            let Some(choice) = choices.get_mut(at) else {
                continue;
            };
            for part in candidate.parts() {
                if let Some(call) = &part.function_call {
                    if choice.calls > 0 {
                        choice.tool_calls.push(b',');
                    }
                    choice.tool_calls.raw(b"{\"id\":");
                    write_call_id(&mut choice.tool_calls, call.id, response_id, generated);
                    if call.id.is_none_or(|i| !super::non_empty(i)) {
                        generated += 1;
                    }
                    choice.tool_calls.push(b',');
                    write_function(&mut choice.tool_calls, call);
                    if let Some(sig) = part.signature() {
                        choice.tool_calls.push(b',');
                        write_signature(&mut choice.tool_calls, sig);
                    }
                    choice.tool_calls.push(b'}');
                    choice.calls += 1;
                    continue;
                }
                if let Some(sig) = part.signature() {
                    choice.signature = Some(sig);
                }
                if let Some(text) = part.text.filter(|t| is_string(t)) {
                    if part.is_thought() {
                        choice
                            .reasoning
                            .extend_from_slice(string_inner(text).as_bytes());
                    } else {
                        choice.has_content = true;
                        choice
                            .content
                            .extend_from_slice(string_inner(text).as_bytes());
                    }
                }
            }
            if let Some(reason) = reported(candidate.finish_reason) {
                choice.finish = Some(finish_reason(reason));
            }
        }
    }
    if choices.is_empty() {
        // Blocked prompts (and empty answers) still give the client a choice.
        let mut choice = Choice::new(0);
        choice.finish = Some(if blocked { "content_filter" } else { "stop" });
        choices.push(choice);
    }
    choices.sort_by_key(|c| c.index);

    out.raw(b"{\"id\":");
    match first.and_then(|c| c.response_id).filter(|r| is_string(r)) {
        Some(id) => write_raw(out, id),
        None => out.raw(b"\"\""),
    }
    out.raw(b",\"object\":\"chat.completion\",\"created\":0,\"model\":");
    match first
        .and_then(|c| c.model_version)
        .filter(|m| is_string(m) && m.get() != "\"\"")
    {
        Some(m) => write_raw(out, m),
        None => out.raw(fallback_model.as_bytes()),
    }
    out.raw(b",\"choices\":");
    write_array(out, &choices, write_choice);
    out.raw(b",\"usage\":");
    tokens.write(out);
    out.raw(b"}");
    Ok(())
}

fn write_choice(out: &mut BytesMut, choice: &Choice<'_>) {
    out.raw(b"{\"index\":");
    write_u64(out, choice.index);
    out.raw(b",\"message\":{\"role\":\"assistant\",\"content\":");
    if choice.has_content {
        out.raw(b"\"");
        out.raw(&choice.content);
        out.raw(b"\"");
    } else {
        out.raw(b"null");
    }
    if !choice.reasoning.is_empty() {
        out.raw(b",\"reasoning_content\":\"");
        out.raw(&choice.reasoning);
        out.raw(b"\"");
    }
    if choice.calls > 0 {
        out.raw(b",\"tool_calls\":[");
        out.raw(&choice.tool_calls);
        out.raw(b"]");
    }
    if let Some(sig) = choice.signature {
        out.raw(b",");
        write_signature(out, sig);
    }
    out.raw(b"},\"logprobs\":null,\"finish_reason\":\"");
    out.raw(final_reason(choice.finish, choice.calls > 0).as_bytes());
    out.raw(b"\"}");
}
