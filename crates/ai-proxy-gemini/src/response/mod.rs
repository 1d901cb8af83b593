//! Gemini responses → OpenAI chat completions: the non-streaming
//! `GenerateContentResponse` and the streaming state machine
//! (`streamGenerateContent?alt=sse` chunks in, `chat.completion.chunk` SSE
//! out, ending with an optional usage chunk and `data: [DONE]`).
//!
//! | Gemini | OpenAI |
//! |---|---|
//! | `responseId`, `modelVersion` (else `$llm_model`) | `id`, `model` |
//! | candidate `index` | choice `index` |
//! | `text` parts | `content` |
//! | `text` parts with `thought: true` | `reasoning_content` |
//! | `functionCall {id?, name, args}` | `tool_calls[] {id (generated when absent), function {name, arguments: args as JSON text}}` |
//! | `thoughtSignature` on a `functionCall` part | that tool call's `extra_content.google.thought_signature` |
//! | `thoughtSignature` on any other part | the message's / delta's `extra_content.google.thought_signature` |
//! | `finishReason` `STOP` (`tool_calls` when the candidate called functions), `MAX_TOKENS`, `SAFETY` / `RECITATION` / `BLOCKLIST` / `PROHIBITED_CONTENT` / `SPII` / `IMAGE_*` | `finish_reason` `stop` / `tool_calls`, `length`, `content_filter` |
//! | `promptFeedback.blockReason` (no candidates) | one choice, `finish_reason: content_filter` |
//! | `usageMetadata` | `usage`: `prompt_tokens` = `promptTokenCount`, `completion_tokens` = `candidatesTokenCount + thoughtsTokenCount`, `total_tokens` = `totalTokenCount` (at least their sum), `prompt_tokens_details.cached_tokens` = `cachedContentTokenCount`, `completion_tokens_details.reasoning_tokens` = `thoughtsTokenCount` |
//! | `error {code, message, status}` | `{"error": {message, type: status, param: null, code}}` |
//!
//! Usage merges across chunks as the Gemini observer does (a later count
//! replaces an earlier one only when it is greater than zero), so the
//! client's usage chunk equals the access log's. Gemini responses carry no
//! timestamp and this library reads no clock: `created` is `0`. Parts with
//! no OpenAI field (`executableCode`, `codeExecutionResult`, `inlineData`)
//! are left out.

mod body;
mod stream;

use serde::Deserialize;
use serde_json::value::RawValue;

use ai_proxy_core::json::lenient::Count;
use ai_proxy_core::json::raw::{is_number, is_object, is_string, str_value};
use ai_proxy_core::json::write::{Out, write_as_string, write_raw, write_u64};

pub use stream::{GeminiToChat, MAX_STREAM_TOOL_CALLS};

/// Most candidates (choices) one response may carry; later ones are
/// skipped and counted. Gemini's `candidateCount` is at most 8.
pub const MAX_CANDIDATES: usize = 16;

/// One `GenerateContentResponse` (a whole body, or one stream chunk).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chunk<'a> {
    #[serde(borrow, default)]
    candidates: Option<Vec<Candidate<'a>>>,
    #[serde(borrow, default, alias = "prompt_feedback")]
    prompt_feedback: Option<PromptFeedback<'a>>,
    #[serde(default, alias = "usage_metadata")]
    usage_metadata: Option<UsageMetadata>,
    #[serde(borrow, default, alias = "model_version")]
    model_version: Option<&'a RawValue>,
    #[serde(borrow, default, alias = "response_id")]
    response_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate<'a> {
    #[serde(borrow, default)]
    content: Option<Content<'a>>,
    #[serde(borrow, default, alias = "finish_reason")]
    finish_reason: Option<&'a RawValue>,
    #[serde(default)]
    index: Option<u64>,
}

impl<'a> Candidate<'a> {
    /// The candidate's parts (none when it has no content).
    fn parts(&self) -> &[Part<'a>] {
        self.content
            .as_ref()
            .and_then(|c| c.parts.as_deref())
            .unwrap_or_default()
    }
}

#[derive(Deserialize)]
struct Content<'a> {
    #[serde(borrow, default)]
    parts: Option<Vec<Part<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part<'a> {
    #[serde(borrow, default)]
    text: Option<&'a RawValue>,
    #[serde(borrow, default)]
    thought: Option<&'a RawValue>,
    #[serde(borrow, default, alias = "thought_signature")]
    thought_signature: Option<&'a RawValue>,
    #[serde(borrow, default, alias = "function_call")]
    function_call: Option<FunctionCall<'a>>,
}

impl<'a> Part<'a> {
    /// The part's signature, when it is a non-empty string.
    fn signature(&self) -> Option<&'a RawValue> {
        self.thought_signature.filter(|s| non_empty(s))
    }

    fn is_thought(&self) -> bool {
        self.thought.is_some_and(|t| t.get() == "true")
    }

    /// The part's text, when it is a non-empty string.
    fn text(&self) -> Option<&'a RawValue> {
        self.text.filter(|t| non_empty(t))
    }
}

#[derive(Deserialize)]
struct FunctionCall<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    args: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback<'a> {
    #[serde(borrow, default, alias = "block_reason")]
    block_reason: Option<&'a RawValue>,
}

impl PromptFeedback<'_> {
    fn blocked(&self) -> bool {
        self.block_reason.is_some_and(non_empty)
    }
}

#[derive(Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default, alias = "prompt_token_count")]
    prompt_token_count: Option<Count>,
    #[serde(default, alias = "candidates_token_count")]
    candidates_token_count: Option<Count>,
    #[serde(default, alias = "total_token_count")]
    total_token_count: Option<Count>,
    #[serde(default, alias = "cached_content_token_count")]
    cached_content_token_count: Option<Count>,
    #[serde(default, alias = "thoughts_token_count")]
    thoughts_token_count: Option<Count>,
}

fn non_empty(raw: &RawValue) -> bool {
    is_string(raw) && raw.get() != "\"\""
}

/// Token counts as the Gemini observer reads them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tokens {
    seen: bool,
    prompt: u64,
    completion: u64,
    total: u64,
    cached: u64,
    reasoning: u64,
}

impl Tokens {
    /// Folds one `usageMetadata` in: the first initialises, later ones
    /// replace a count only when theirs is greater than zero; the total is
    /// never below prompt + completion.
    fn merge(&mut self, u: &UsageMetadata) {
        let get = |c: Option<Count>| c.map_or(0, |c| c.0);
        let thoughts = get(u.thoughts_token_count);
        let later = [
            get(u.prompt_token_count),
            get(u.candidates_token_count).saturating_add(thoughts),
            get(u.total_token_count),
            get(u.cached_content_token_count),
            thoughts,
        ];
        let fields = [
            &mut self.prompt,
            &mut self.completion,
            &mut self.total,
            &mut self.cached,
            &mut self.reasoning,
        ];
        for (field, later) in fields.into_iter().zip(later) {
            if !self.seen || later > 0 {
                *field = later;
            }
        }
        self.seen = true;
        self.total = self.total.max(self.prompt.saturating_add(self.completion));
    }

    fn write<O: Out + ?Sized>(&self, out: &mut O) {
        out.raw(b"{\"prompt_tokens\":");
        write_u64(out, self.prompt);
        out.raw(b",\"completion_tokens\":");
        write_u64(out, self.completion);
        out.raw(b",\"total_tokens\":");
        write_u64(out, self.total);
        out.raw(b",\"prompt_tokens_details\":{\"cached_tokens\":");
        write_u64(out, self.cached);
        out.raw(b"},\"completion_tokens_details\":{\"reasoning_tokens\":");
        write_u64(out, self.reasoning);
        out.raw(b"}}");
    }
}

/// `finishReason` → `finish_reason` (before tool calls are considered).
fn finish_reason(reason: &RawValue) -> &'static str {
    match str_value(reason).as_deref() {
        Some("MAX_TOKENS") => "length",
        Some(
            "SAFETY"
            | "RECITATION"
            | "BLOCKLIST"
            | "PROHIBITED_CONTENT"
            | "SPII"
            | "IMAGE_SAFETY"
            | "IMAGE_PROHIBITED_CONTENT"
            | "IMAGE_RECITATION",
        ) => "content_filter",
        // STOP, MALFORMED_FUNCTION_CALL, OTHER, LANGUAGE, …
        _ => "stop",
    }
}

/// A reported `finishReason` (empty and unspecified ones are not reports).
fn reported(reason: Option<&RawValue>) -> Option<&RawValue> {
    reason.filter(|r| non_empty(r) && r.get() != "\"FINISH_REASON_UNSPECIFIED\"")
}

/// The finish reason a choice ends with.
fn final_reason(reason: Option<&'static str>, called_tools: bool) -> &'static str {
    match reason.unwrap_or("stop") {
        "stop" if called_tools => "tool_calls",
        other => other,
    }
}

/// `{"error":{"message":…,"type":…,"param":null,"code":…}}` from a Gemini
/// `error` member (`{code, message, status}`).
fn write_error<O: Out + ?Sized>(out: &mut O, error: &RawValue) {
    #[derive(Deserialize)]
    struct ErrorObject<'a> {
        #[serde(borrow)]
        code: Option<&'a RawValue>,
        #[serde(borrow)]
        message: Option<&'a RawValue>,
        #[serde(borrow)]
        status: Option<&'a RawValue>,
    }
    let obj = is_object(error)
        .then(|| serde_json::from_str::<ErrorObject<'_>>(error.get()).ok())
        .flatten();
    out.raw(b"{\"error\":{\"message\":");
    match obj
        .as_ref()
        .and_then(|o| o.message.filter(|m| is_string(m)))
    {
        Some(m) => write_raw(out, m),
        None if is_string(error) => write_raw(out, error),
        None => out.raw(b"\"\""),
    }
    out.raw(b",\"type\":");
    match obj.as_ref().and_then(|o| o.status.filter(|s| is_string(s))) {
        Some(s) => write_raw(out, s),
        None => out.raw(b"\"api_error\""),
    }
    out.raw(b",\"param\":null,\"code\":");
    match obj
        .as_ref()
        .and_then(|o| o.code.filter(|c| is_number(c) || is_string(c)))
    {
        Some(c) => write_raw(out, c),
        None => out.raw(b"null"),
    }
    out.raw(b"}}");
}

/// A tool call's `id`: Gemini's when it sent one, else
/// `call_<responseId>_<n>` (`n` counts the response's calls), unique per
/// response and stable for the same response.
fn write_call_id<O: Out + ?Sized>(out: &mut O, id: Option<&RawValue>, response_id: &str, n: u64) {
    if let Some(id) = id.filter(|i| non_empty(i)) {
        write_raw(out, id);
        return;
    }
    out.raw(b"\"call_");
    if !response_id.is_empty() {
        out.raw(response_id.as_bytes());
        out.raw(b"_");
    }
    write_u64(out, n);
    out.raw(b"\"");
}

/// `"extra_content":{"google":{"thought_signature":…}}`, without a
/// leading comma.
fn write_signature<O: Out + ?Sized>(out: &mut O, signature: &RawValue) {
    out.raw(b"\"extra_content\":{\"google\":{\"thought_signature\":");
    write_raw(out, signature);
    out.raw(b"}}");
}

/// `"type":"function","function":{"name":…,"arguments":…}` of a call.
fn write_function<O: Out + ?Sized>(out: &mut O, call: &FunctionCall<'_>) {
    out.raw(b"\"type\":\"function\",\"function\":{\"name\":");
    match call.name.filter(|n| is_string(n)) {
        Some(n) => write_raw(out, n),
        None => out.raw(b"\"\""),
    }
    out.raw(b",\"arguments\":");
    write_arguments(out, call.args);
    out.raw(b"}");
}

/// `args` (a JSON object) → `arguments` (a string holding its JSON).
fn write_arguments<O: Out + ?Sized>(out: &mut O, args: Option<&RawValue>) {
    let Some(args) = args.filter(|a| a.get() != "null") else {
        out.raw(b"\"{}\"");
        return;
    };
    write_as_string(out, args.get().as_bytes());
}
