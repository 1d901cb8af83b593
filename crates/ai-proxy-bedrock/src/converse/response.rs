//! Converse response body → OpenAI `chat.completion`, and the pieces the
//! stream translation shares (stop reasons, usage).
//!
//! Usage rule: Converse counts cached input apart (`inputTokens` excludes
//! `cacheReadInputTokens` and `cacheWriteInputTokens`), OpenAI inside the
//! prompt, so `prompt_tokens = inputTokens + cacheRead + cacheWrite`,
//! `completion_tokens = outputTokens`, `total_tokens` their sum, and
//! `prompt_tokens_details = {cached_tokens: cacheRead,
//! cache_creation_input_tokens: cacheWrite}`.
//!
//! Converse responses carry no id, model or timestamp (the request id is
//! the `x-amzn-requestid` response header, forwarded to the client), so
//! `id` is `chatcmpl-bedrock`, `model` the route's model and `created` 0.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::json::{
    Count, Out, is_empty_string, is_string, str_value, string_inner, write_as_string,
    write_completion_end, write_completion_head, write_joined, write_tool_call, write_tool_calls,
    write_usage,
};

/// The `id` of translated completions and chunks.
pub(crate) const COMPLETION_ID: &str = "\"chatcmpl-bedrock\"";

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    output: Option<Output<'a>>,
    #[serde(borrow, rename = "stopReason")]
    stop_reason: Option<&'a RawValue>,
    usage: Option<ConverseUsage>,
}

#[derive(Deserialize)]
struct Output<'a> {
    #[serde(borrow)]
    message: Option<OutputMessage<'a>>,
}

#[derive(Deserialize)]
struct OutputMessage<'a> {
    #[serde(borrow)]
    content: Option<Vec<Block<'a>>>,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(borrow)]
    text: Option<&'a RawValue>,
    #[serde(borrow, rename = "toolUse")]
    tool_use: Option<ToolUse<'a>>,
    #[serde(borrow, rename = "reasoningContent")]
    reasoning: Option<Reasoning<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct ToolUse<'a> {
    #[serde(borrow, rename = "toolUseId")]
    pub id: Option<&'a RawValue>,
    #[serde(borrow)]
    pub name: Option<&'a RawValue>,
    #[serde(borrow)]
    pub input: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Reasoning<'a> {
    #[serde(borrow, rename = "reasoningText")]
    text: Option<ReasoningText<'a>>,
}

#[derive(Deserialize)]
struct ReasoningText<'a> {
    #[serde(borrow)]
    text: Option<&'a RawValue>,
}

/// Converse `usage` (body and `metadata` event).
#[derive(Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConverseUsage {
    input_tokens: Option<Count>,
    output_tokens: Option<Count>,
    cache_read_input_tokens: Option<Count>,
    cache_write_input_tokens: Option<Count>,
}

/// Token counts in Converse's terms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tokens {
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
}

impl Tokens {
    /// Takes the counts a usage object carries.
    pub(crate) fn update(&mut self, u: &ConverseUsage) {
        for (slot, value) in [
            (&mut self.input, u.input_tokens),
            (&mut self.output, u.output_tokens),
            (&mut self.cache_read, u.cache_read_input_tokens),
            (&mut self.cache_write, u.cache_write_input_tokens),
        ] {
            if let Some(c) = value {
                *slot = c.0;
            }
        }
    }

    /// The OpenAI `usage` object.
    pub(crate) fn write<O: Out + ?Sized>(&self, out: &mut O) {
        write_usage(
            out,
            self.input,
            self.output,
            self.cache_read,
            self.cache_write,
        );
    }
}

/// `stopReason` → `finish_reason`.
pub(crate) fn finish_reason(stop_reason: Option<&RawValue>) -> &'static str {
    match stop_reason.and_then(str_value).as_deref() {
        Some("max_tokens" | "model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("guardrail_intervened" | "content_filtered") => "content_filter",
        // end_turn, stop_sequence, absent, and reasons added later.
        _ => "stop",
    }
}

/// A JSON string's escaped contents.
fn inner_bytes(t: &RawValue) -> &[u8] {
    string_inner(t).as_bytes()
}

/// A member's JSON when it is a string.
pub(crate) fn string(v: Option<&RawValue>) -> Option<&[u8]> {
    v.filter(|v| is_string(v)).map(|v| v.get().as_bytes())
}

/// Writes a `tool_calls[]` entry's `function.arguments` from a Converse
/// `input` object.
pub(crate) fn write_arguments<O: Out + ?Sized>(out: &mut O, input: Option<&RawValue>) {
    match input.filter(|i| i.get() != "null") {
        Some(input) => write_as_string(out, input.get().as_bytes()),
        None => out.raw(b"\"{}\""),
    }
}

/// Writes the chat completion for a Converse body; `Err` carries what is
/// wrong with it.
pub(crate) fn write_completion<O: Out + ?Sized>(
    out: &mut O,
    model: &str,
    body: &[u8],
) -> Result<(), String> {
    let body: Body<'_> = serde_json::from_slice(body)
        .map_err(|e| format!("upstream response is not a Bedrock Converse response: {e}"))?;
    let blocks = body
        .output
        .and_then(|o| o.message)
        .and_then(|m| m.content)
        .ok_or("upstream response has no output.message.content (not a Converse response)")?;
    write_completion_head(out, Some(COMPLETION_ID.as_bytes()), Some(model.as_bytes()));
    let texts = blocks
        .iter()
        .filter_map(|b| b.text.filter(|t| is_string(t)));
    write_joined(out, b"", texts.map(inner_bytes), b"null");
    let reasoning = blocks
        .iter()
        .filter_map(|b| b.reasoning.as_ref()?.text.as_ref()?.text)
        .filter(|t| is_string(t) && !is_empty_string(t));
    write_joined(
        out,
        b",\"reasoning_content\":",
        reasoning.map(inner_bytes),
        b"",
    );
    let calls = blocks.iter().filter_map(|b| b.tool_use.as_ref());
    write_tool_calls(out, calls, |out, call| {
        write_tool_call(out, None, string(call.id), string(call.name), |out| {
            write_arguments(out, call.input);
        });
    });
    let mut tokens = Tokens::default();
    if let Some(u) = &body.usage {
        tokens.update(u);
    }
    write_completion_end(out, finish_reason(body.stop_reason), |out| {
        tokens.write(out)
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion(body: &str) -> serde_json::Value {
        let mut out = Vec::new();
        write_completion(&mut out, "\"m\"", body.as_bytes()).unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn tool_use_blocks_become_tool_calls_with_string_arguments() {
        let c = completion(
            r#"{"output":{"message":{"role":"assistant","content":[{"text":"Let me check."},{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"city": "Paris"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":10,"outputTokens":5,"totalTokens":15}}"#,
        );
        let m = &c["choices"][0]["message"];
        assert_eq!(m["content"], "Let me check.");
        assert_eq!(m["tool_calls"][0]["id"], "tooluse_1");
        assert_eq!(
            m["tool_calls"][0]["function"]["arguments"],
            r#"{"city":"Paris"}"#
        );
        assert_eq!(c["choices"][0]["finish_reason"], "tool_calls");
    }

    #[test]
    fn cached_input_counts_inside_the_prompt() {
        let c = completion(
            r#"{"output":{"message":{"content":[{"text":"ok"}]}},"stopReason":"end_turn","usage":{"inputTokens":3,"outputTokens":44,"cacheReadInputTokens":9511,"cacheWriteInputTokens":1956}}"#,
        );
        assert_eq!(c["usage"]["prompt_tokens"], 3 + 9511 + 1956);
        assert_eq!(c["usage"]["total_tokens"], 3 + 9511 + 1956 + 44);
        assert_eq!(c["usage"]["prompt_tokens_details"]["cached_tokens"], 9511);
        assert_eq!(
            c["usage"]["prompt_tokens_details"]["cache_creation_input_tokens"],
            1956
        );
    }

    #[test]
    fn bodies_without_output_are_malformed() {
        let mut out = Vec::new();
        assert!(write_completion(&mut out, "\"m\"", br#"{"usage":{}}"#).is_err());
        assert!(write_completion(&mut out, "\"m\"", b"not json").is_err());
    }
}
