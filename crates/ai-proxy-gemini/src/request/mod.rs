//! OpenAI chat request → Gemini `generateContent` request.
//!
//! Mapping (Google's documented REST API; OpenAI fields Gemini has no
//! field for are dropped, because Gemini rejects names it does not know):
//!
//! | OpenAI | Gemini |
//! |---|---|
//! | `model` | the URL (`models/{model}:generateContent`), not the body |
//! | `system` / `developer` messages | `systemInstruction.parts[]` (one text part per text, in order) |
//! | `user` content string / parts | `{role: user, parts}`: `text`, `image_url` (data URL → `inlineData`, other URL → `fileData`), `input_audio` → `inlineData`, `file.file_data` → `inlineData`, `file.file_id` → `fileData` |
//! | `assistant` content + `tool_calls` | `{role: model, parts}`: `text`, `functionCall {id, name, args}` |
//! | `tool_calls[].extra_content.google.thought_signature` | `thoughtSignature` on that `functionCall` part |
//! | assistant `extra_content.google.thought_signature` | `thoughtSignature` on the message's last text part |
//! | `tool` messages (consecutive ones merged) | one `{role: user}` content of `functionResponse {id, name, response: {content}}` parts (`name` from the matching tool call) |
//! | `tools[].function` | `tools: [{functionDeclarations: [{name, description, parameters}]}]`, `parameters` reduced to Gemini's schema subset (see `schema`) |
//! | `tool_choice` `auto` / `none` / `required` / function | `toolConfig.functionCallingConfig.mode` `AUTO` / `NONE` / `ANY` / `ANY` + `allowedFunctionNames` |
//! | `response_format` `json_object` / `json_schema` | `generationConfig.responseMimeType` `application/json` (+ `responseSchema`) |
//! | `max_completion_tokens`, else `max_tokens` | `generationConfig.maxOutputTokens` |
//! | `temperature`, `top_p`, `top_k`, `n`, `seed`, `stop`, `presence_penalty`, `frequency_penalty`, `logprobs`, `top_logprobs` | `generationConfig.temperature`, `topP`, `topK`, `candidateCount`, `seed`, `stopSequences`, `presencePenalty`, `frequencyPenalty`, `responseLogprobs`, `logprobs` |
//! | `reasoning_effort` | `generationConfig.thinkingConfig` (see `generation`) |
//! | `extra_body.google.{thinking_config, cached_content, safety_settings}` | `generationConfig.thinkingConfig`, `cachedContent`, `safetySettings` (Google's OpenAI-compatible extension) |
//! | `stream`, `stream_options.include_usage` | the URL method; whether the translated stream ends with a usage chunk |

mod contents;
mod generation;
mod schema;

use std::borrow::Cow;

use ai_proxy_core::adapter::ConvertError;

use ai_proxy_core::json::chat::{self, ChatError, Messages};
use ai_proxy_core::json::scan::{Raw, Scanner, SyntaxError, fields};
use ai_proxy_core::json::write::ObjectWriter;

pub(crate) use schema::write_parameters;

pub(crate) fn invalid(what: impl std::fmt::Display) -> ConvertError {
    ConvertError::new(format!("invalid OpenAI chat request for Gemini: {what}"))
}

pub(crate) fn malformed(e: SyntaxError) -> ConvertError {
    invalid(ChatError::Malformed(e))
}

/// The members of one message the mapping reads.
const MESSAGE_KEYS: [&str; 6] = [
    "role",
    "content",
    "tool_calls",
    "tool_call_id",
    "name",
    "extra_content",
];

/// The request members the mapping reads, each the raw JSON of its value.
#[derive(Default)]
pub(crate) struct Fields<'a> {
    pub max_completion_tokens: Option<Raw<'a>>,
    pub max_tokens: Option<Raw<'a>>,
    pub temperature: Option<Raw<'a>>,
    pub top_p: Option<Raw<'a>>,
    pub top_k: Option<Raw<'a>>,
    pub stop: Option<Raw<'a>>,
    pub n: Option<Raw<'a>>,
    pub seed: Option<Raw<'a>>,
    pub presence_penalty: Option<Raw<'a>>,
    pub frequency_penalty: Option<Raw<'a>>,
    pub logprobs: Option<Raw<'a>>,
    pub top_logprobs: Option<Raw<'a>>,
    pub tools: Option<Raw<'a>>,
    pub tool_choice: Option<Raw<'a>>,
    pub response_format: Option<Raw<'a>>,
    pub reasoning_effort: Option<Raw<'a>>,
    pub stream_options: Option<Raw<'a>>,
    pub extra_body: Option<Raw<'a>>,
}

/// One pass over the body: top-level members, and each message's members
/// read in place (its content is skipped once, re-read only to convert).
fn parse(body: &[u8]) -> Result<(Fields<'_>, Messages<'_, 6>), SyntaxError> {
    let mut req = Fields::default();
    let mut messages = Messages::Absent;
    let mut s = Scanner::new(body);
    s.object(|key, s| {
        let name = key.name();
        if *name == *b"messages" {
            messages = Messages::read(s, MESSAGE_KEYS)?;
            return Ok(());
        }
        let value = s.value()?;
        let slot = match &*name {
            b"max_completion_tokens" => &mut req.max_completion_tokens,
            b"max_tokens" => &mut req.max_tokens,
            b"temperature" => &mut req.temperature,
            b"top_p" => &mut req.top_p,
            b"top_k" => &mut req.top_k,
            b"stop" => &mut req.stop,
            b"n" => &mut req.n,
            b"seed" => &mut req.seed,
            b"presence_penalty" => &mut req.presence_penalty,
            b"frequency_penalty" => &mut req.frequency_penalty,
            b"logprobs" => &mut req.logprobs,
            b"top_logprobs" => &mut req.top_logprobs,
            b"tools" => &mut req.tools,
            b"tool_choice" => &mut req.tool_choice,
            b"response_format" => &mut req.response_format,
            b"reasoning_effort" => &mut req.reasoning_effort,
            b"stream_options" => &mut req.stream_options,
            b"extra_body" => &mut req.extra_body,
            _ => return Ok(()),
        };
        *slot = Some(value);
        Ok(())
    })?;
    s.end()?;
    Ok((req, messages))
}

/// One OpenAI message, as raw members.
pub(crate) struct Message<'a> {
    pub role: Cow<'a, str>,
    pub content: Option<Raw<'a>>,
    pub tool_calls: Option<Raw<'a>>,
    pub tool_call_id: Option<Raw<'a>>,
    pub name: Option<Raw<'a>>,
    pub extra_content: Option<Raw<'a>>,
}

fn messages(parsed: Messages<'_, 6>) -> Result<Vec<Message<'_>>, ConvertError> {
    let list = parsed.into_list().map_err(invalid)?;
    let mut out = Vec::with_capacity(list.len());
    for (i, [role, content, tool_calls, tool_call_id, name, extra_content]) in
        list.into_iter().enumerate()
    {
        out.push(Message {
            role: chat::role(role, i).map_err(invalid)?,
            content: content.filter(|r| !r.is_null()),
            tool_calls: tool_calls.filter(|r| !r.is_null()),
            tool_call_id,
            name,
            extra_content: extra_content.filter(|r| !r.is_null()),
        });
    }
    Ok(out)
}

/// A converted request: the Gemini body and what the response side needs.
pub(crate) struct Converted {
    pub body: Vec<u8>,
    /// `stream_options.include_usage` was `true`.
    pub include_usage: bool,
}

/// Converts the body. `model` (`$llm_model`) picks the thinking field
/// `reasoning_effort` maps to.
pub(crate) fn convert(body: &[u8], model: Option<&str>) -> Result<Converted, ConvertError> {
    let (req, parsed) = parse(body).map_err(malformed)?;
    let messages = messages(parsed)?;
    if messages.is_empty() {
        return Err(ConvertError::new("missing messages"));
    }
    // Gemini's shapes are a little longer (`parts`, `functionResponse`):
    // room for that, so the body is never copied twice.
    let mut out = Vec::with_capacity(body.len() + body.len() / 4 + 256);
    let mut obj = ObjectWriter::new(&mut out);
    let system = contents::write_contents(obj.member("contents"), &messages)?;
    if !system.is_empty() {
        let buf = obj.member("systemInstruction");
        buf.extend_from_slice(b"{\"parts\":[");
        for (n, text) in system.iter().enumerate() {
            if n > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"{\"text\":");
            buf.extend_from_slice(text.bytes());
            buf.push(b'}');
        }
        buf.extend_from_slice(b"]}");
    }
    generation::write_tools(&mut obj, &req)?;
    let google = generation::google_extension(req.extra_body)?;
    generation::write_generation_config(&mut obj, &req, &google, model)?;
    if let Some(cached) = google.cached_content.filter(|c| c.is_string()) {
        obj.member("cachedContent")
            .extend_from_slice(cached.bytes());
    }
    if let Some(safety) = google.safety_settings.filter(|s| s.is_array()) {
        obj.member("safetySettings")
            .extend_from_slice(safety.bytes());
    }
    obj.finish();
    let include_usage = req
        .stream_options
        .filter(|o| o.is_object())
        .and_then(|o| fields(o, ["include_usage"]).ok())
        .and_then(|[u]| u)
        .is_some_and(|u| u.bytes() == b"true");
    Ok(Converted {
        body: out,
        include_usage,
    })
}
