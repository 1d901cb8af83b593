//! OpenAI chat responses → Anthropic Messages responses: the non-streaming
//! body and the streaming state machine (`chat.completion.chunk` events in,
//! `message_start` … `message_stop` events out).

use std::borrow::Cow;

use ai_proxy_core::translate::{ResponseTranslator, TranslateError};
use bytes::BytesMut;
use http::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::json::{
    Count, First, Out, is_object, is_string, non_empty_string, str_value, write_raw, write_str,
    write_u64,
};
use crate::tool_names::ToolNameMap;

/// Most tool calls one streamed response may open; later ones are skipped
/// and counted (bounded memory on hostile streams).
pub const MAX_STREAM_TOOL_CALLS: usize = 1024;

#[derive(Deserialize)]
struct Response<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    #[serde(borrow)]
    choices: Option<First<ResponseChoice<'a>>>,
    usage: Option<Usage>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ResponseChoice<'a> {
    #[serde(borrow)]
    message: Option<ResponseMessage<'a>>,
    #[serde(borrow)]
    finish_reason: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ResponseMessage<'a> {
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    #[serde(borrow)]
    reasoning_content: Option<&'a RawValue>,
    #[serde(borrow)]
    reasoning: Option<&'a RawValue>,
    #[serde(borrow)]
    tool_calls: Option<Vec<ToolCall<'a>>>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    index: Option<Count>,
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

#[derive(Clone, Copy, Default, Deserialize)]
struct Usage {
    prompt_tokens: Option<Count>,
    completion_tokens: Option<Count>,
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Clone, Copy, Default, Deserialize)]
struct PromptDetails {
    cached_tokens: Option<Count>,
    cache_creation_input_tokens: Option<Count>,
}

#[derive(Deserialize)]
struct ErrorObject<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    code: Option<&'a RawValue>,
    #[serde(borrow)]
    message: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    #[serde(borrow)]
    choices: Option<First<ChunkChoice<'a>>>,
    usage: Option<Usage>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ChunkChoice<'a> {
    #[serde(borrow)]
    delta: Option<Delta<'a>>,
    #[serde(borrow)]
    finish_reason: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    #[serde(borrow)]
    reasoning_content: Option<&'a RawValue>,
    #[serde(borrow)]
    reasoning: Option<&'a RawValue>,
    #[serde(borrow)]
    tool_calls: Option<Vec<ToolCall<'a>>>,
}

/// `finish_reason` → `stop_reason`.
fn stop_reason(finish_reason: &str) -> &'static str {
    match finish_reason {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        // stop, content_filter and anything else.
        _ => "end_turn",
    }
}

/// A normalised finish reason: `None` for absent, non-string, blank or
/// `"null"` (some providers send the string).
fn finish_reason<'a>(raw: Option<&'a RawValue>) -> Option<Cow<'a, str>> {
    let s = raw.and_then(str_value)?;
    let trimmed = s.trim();
    if trimmed.is_empty() || trimmed == "null" {
        return None;
    }
    Some(match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
        Cow::Owned(o) => Cow::Owned(o.trim().to_owned()),
    })
}

/// `reasoning_content`, else `reasoning` (Lua's `a or b`: a present empty
/// string wins and means "none").
fn reasoning<'a>(
    reasoning_content: Option<&'a RawValue>,
    reasoning: Option<&'a RawValue>,
) -> Option<&'a RawValue> {
    non_empty_string(reasoning_content.or(reasoning))
}

/// Anthropic usage from OpenAI usage: cached prompt tokens are reported
/// apart (`input_tokens` = prompt − cached).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct AnthropicUsage {
    input: u64,
    output: u64,
    cache_read: Option<u64>,
    cache_creation: Option<u64>,
}

impl AnthropicUsage {
    /// The non-streaming rule: `cache_read_input_tokens` whenever
    /// `prompt_tokens_details` is present.
    fn from_response(u: &Usage) -> Self {
        let prompt = u.prompt_tokens.map_or(0, |c| c.0);
        let output = u.completion_tokens.map_or(0, |c| c.0);
        match &u.prompt_tokens_details {
            Some(d) => {
                let cached = d.cached_tokens.map_or(0, |c| c.0);
                Self {
                    input: prompt.saturating_sub(cached),
                    output,
                    cache_read: Some(cached),
                    cache_creation: d.cache_creation_input_tokens.map(|c| c.0),
                }
            }
            None => Self {
                input: prompt,
                output,
                cache_read: None,
                cache_creation: None,
            },
        }
    }

    /// The streaming rule: `cache_read_input_tokens` only when > 0.
    fn from_chunk(u: &Usage) -> Self {
        let prompt = u.prompt_tokens.map_or(0, |c| c.0);
        let cached = u
            .prompt_tokens_details
            .and_then(|d| d.cached_tokens)
            .map_or(0, |c| c.0);
        Self {
            input: prompt.saturating_sub(cached),
            output: u.completion_tokens.map_or(0, |c| c.0),
            cache_read: (cached > 0).then_some(cached),
            cache_creation: u
                .prompt_tokens_details
                .and_then(|d| d.cache_creation_input_tokens)
                .map(|c| c.0),
        }
    }

    fn write<O: Out + ?Sized>(&self, out: &mut O) {
        out.raw(b"{\"input_tokens\":");
        write_u64(out, self.input);
        out.raw(b",\"output_tokens\":");
        write_u64(out, self.output);
        if let Some(n) = self.cache_read {
            out.raw(b",\"cache_read_input_tokens\":");
            write_u64(out, n);
        }
        if let Some(n) = self.cache_creation {
            out.raw(b",\"cache_creation_input_tokens\":");
            write_u64(out, n);
        }
        out.raw(b"}");
    }
}

/// Writes `{"type":"error","error":{"type":…,"message":…}}` for an OpenAI
/// `error` member (an object or a bare string).
fn write_error<O: Out + ?Sized>(out: &mut O, error: &RawValue) {
    out.raw(b"{\"type\":\"error\",\"error\":{\"type\":");
    let obj = is_object(error)
        .then(|| serde_json::from_str::<ErrorObject<'_>>(error.get()).ok())
        .flatten();
    let kind = obj.as_ref().and_then(|o| {
        o.kind
            .filter(|k| is_string(k))
            .or(o.code.filter(|c| c.get() != "null"))
    });
    match kind {
        Some(k) if is_string(k) => write_raw(out, k),
        // A numeric code: Anthropic's `type` is a string.
        Some(k) => write_str(out, k.get()),
        None => out.raw(b"\"api_error\""),
    }
    out.raw(b",\"message\":");
    let message = if is_string(error) {
        Some(error)
    } else {
        obj.as_ref()
            .and_then(|o| o.message.filter(|m| is_string(m)))
    };
    match message {
        Some(m) => write_raw(out, m),
        None => out.raw(b"\"\""),
    }
    out.raw(b"}}");
}

/// Turns OpenAI chat responses (a body or a chunk stream) into Anthropic
/// Messages responses for an Anthropic client, restoring tool names that
/// were sanitised for the upstream.
///
/// Streaming calling contract: [`translate_event`](ResponseTranslator::translate_event)
/// once per decoded upstream SSE event, then [`finish`](ResponseTranslator::finish)
/// once. The output is a well-formed Anthropic event sequence: one
/// `message_start` first, balanced `content_block_start`/`stop` with
/// increasing indexes, one `message_delta` and exactly one `message_stop`
/// last (or an `error` event last when the upstream reported one).
///
/// ```
/// use ai_proxy_anthropic::{ChatToMessages, ToolNameMap};
/// use ai_proxy_core::translate::ResponseTranslator;
/// use bytes::BytesMut;
///
/// let mut t = ChatToMessages::new(ToolNameMap::new(), None);
/// let mut out = BytesMut::new();
/// t.translate_event("message", r#"{"id":"c1","model":"m","choices":[{"delta":{"content":"Hi"},"finish_reason":"stop"}]}"#, &mut out).unwrap();
/// t.translate_event("message", "[DONE]", &mut out).unwrap();
/// t.finish(&mut out).unwrap();
/// let text = std::str::from_utf8(&out).unwrap();
/// assert!(text.starts_with("event: message_start\n"));
/// assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
/// ```
#[derive(Debug)]
pub struct ChatToMessages {
    names: ToolNameMap,
    /// `$llm_model` as a JSON string token: the non-streaming `model`.
    llm_model: Option<String>,
    stream: StreamState,
}

#[derive(Debug, Default)]
struct StreamState {
    /// Bytes were written to the client.
    produced: bool,
    started: bool,
    next_index: u32,
    open: Option<(u32, BlockKind)>,
    /// OpenAI `tool_calls[].index` → Anthropic block index.
    tool_blocks: Vec<(u64, u32)>,
    /// A `finish_reason` was seen; the stop waits for the usage chunk.
    finished: bool,
    pending: Option<PendingStop>,
    /// `message_stop` (or an `error` event) was written: nothing follows.
    closed: bool,
    /// The most recent usage of any chunk, for a stop that gets none.
    last_usage: Option<AnthropicUsage>,
    skipped: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BlockKind {
    Thinking,
    Text,
    ToolUse,
}

#[derive(Debug)]
struct PendingStop {
    stop_reason: &'static str,
    usage: Option<AnthropicUsage>,
}

impl ChatToMessages {
    /// A translator restoring `names`; `llm_model` (options.model, else the
    /// client's model) names the model in non-streaming responses.
    pub fn new(names: ToolNameMap, llm_model: Option<&str>) -> Self {
        Self {
            names,
            llm_model: llm_model.map(|m| {
                let mut s = Vec::with_capacity(m.len() + 2);
                write_str(&mut s, m);
                String::from_utf8(s).unwrap_or_default()
            }),
            stream: StreamState::default(),
        }
    }

    /// Upstream events skipped because they were not valid chunk JSON or
    /// carried fragments that cannot be placed (tool-call arguments for a
    /// block already closed, tool calls beyond [`MAX_STREAM_TOOL_CALLS`]).
    pub fn skipped_events(&self) -> u64 {
        self.stream.skipped
    }

    fn restored<'n>(&'n self, name: &'n str) -> &'n str {
        self.names.original(name).unwrap_or(name)
    }

    fn write_message(&self, body: &[u8], out: &mut BytesMut) -> Result<(), TranslateError> {
        if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
            // Not JSON at all (a proxy's text error page, `Unauthorized`):
            // forwarded verbatim, as APISIX does before any conversion.
            out.extend_from_slice(body);
            return Ok(());
        }
        let res: Response<'_> = serde_json::from_slice(body).map_err(|e| {
            TranslateError::Malformed(format!(
                "upstream response is not an OpenAI chat completion object: {e}"
            ))
        })?;
        if let Some(error) = res.error.filter(|e| e.get() != "null") {
            write_error(out, error);
            return Ok(());
        }
        let choice = res
            .choices
            .and_then(|c| c.0)
            .ok_or_else(|| TranslateError::Malformed("no choices in response".into()))?;

        out.raw(b"{");
        let mut first = true;
        if let Some(id) = res.id {
            out.raw(b"\"id\":");
            write_raw(out, id);
            first = false;
        }
        if !first {
            out.raw(b",");
        }
        out.raw(b"\"type\":\"message\",\"role\":\"assistant\"");
        match (&self.llm_model, res.model) {
            (Some(m), _) => {
                out.raw(b",\"model\":");
                out.raw(m.as_bytes());
            }
            (None, Some(m)) => {
                out.raw(b",\"model\":");
                write_raw(out, m);
            }
            (None, None) => {}
        }
        out.raw(b",\"content\":[");
        let mut blocks = 0usize;
        let mut sep = |out: &mut BytesMut| {
            if blocks > 0 {
                out.raw(b",");
            }
            blocks += 1;
        };
        if let Some(msg) = &choice.message {
            if let Some(r) = reasoning(msg.reasoning_content, msg.reasoning) {
                sep(out);
                out.raw(b"{\"type\":\"thinking\",\"thinking\":");
                write_raw(out, r);
                out.raw(b",\"signature\":\"\"}");
            }
            if let Some(text) = non_empty_string(msg.content) {
                sep(out);
                out.raw(b"{\"type\":\"text\",\"text\":");
                write_raw(out, text);
                out.raw(b"}");
            }
            for call in msg.tool_calls.iter().flatten() {
                sep(out);
                out.raw(b"{\"type\":\"tool_use\",\"id\":");
                match call.id.filter(|i| is_string(i)) {
                    Some(id) => write_raw(out, id),
                    None => out.raw(b"\"\""),
                }
                out.raw(b",\"name\":");
                let name = call
                    .function
                    .as_ref()
                    .and_then(|f| f.name)
                    .and_then(str_value)
                    .unwrap_or_default();
                write_str(out, self.restored(&name));
                out.raw(b",\"input\":");
                write_arguments(out, call.function.as_ref().and_then(|f| f.arguments));
                out.raw(b"}");
            }
        }
        if blocks == 0 {
            out.raw(b"{\"type\":\"text\",\"text\":\"\"}");
        }
        out.raw(b"],\"stop_reason\":\"");
        let reason = finish_reason(choice.finish_reason);
        out.raw(stop_reason(reason.as_deref().unwrap_or_default()).as_bytes());
        out.raw(b"\",\"stop_sequence\":null,\"usage\":");
        res.usage
            .as_ref()
            .map(AnthropicUsage::from_response)
            .unwrap_or_default()
            .write(out);
        out.raw(b"}");
        Ok(())
    }
}

/// Tool-call `arguments` (a JSON string holding JSON) → `input`: the
/// decoded JSON, or `{}` when it is missing or invalid.
fn write_arguments(out: &mut BytesMut, arguments: Option<&RawValue>) {
    let decoded = arguments.and_then(str_value);
    let valid = decoded
        .as_deref()
        .and_then(|s| serde_json::from_str::<&RawValue>(s).ok());
    match valid {
        Some(v) => crate::json::write_minified(out, v.get()),
        None => out.raw(b"{}"),
    }
}

/// `event: <type>\ndata: ` … `\n\n` around one Anthropic event.
fn open_event(out: &mut BytesMut, kind: &str) {
    out.raw(b"event: ");
    out.raw(kind.as_bytes());
    out.raw(b"\ndata: ");
}

fn close_event(out: &mut BytesMut) {
    out.raw(b"\n\n");
}

impl StreamState {
    fn block_start(&mut self, out: &mut BytesMut, kind: BlockKind) -> u32 {
        self.block_stop(out);
        let index = self.next_index;
        self.next_index = self.next_index.saturating_add(1);
        self.open = Some((index, kind));
        open_event(out, "content_block_start");
        out.raw(b"{\"type\":\"content_block_start\",\"index\":");
        write_u64(out, u64::from(index));
        out.raw(b",\"content_block\":");
        index
    }

    fn block_stop(&mut self, out: &mut BytesMut) {
        if let Some((index, _)) = self.open.take() {
            open_event(out, "content_block_stop");
            out.raw(b"{\"type\":\"content_block_stop\",\"index\":");
            write_u64(out, u64::from(index));
            out.raw(b"}");
            close_event(out);
        }
    }

    fn delta(out: &mut BytesMut, index: u32, kind: &str, field: &str, value: &RawValue) {
        open_event(out, "content_block_delta");
        out.raw(b"{\"type\":\"content_block_delta\",\"index\":");
        write_u64(out, u64::from(index));
        out.raw(b",\"delta\":{\"type\":\"");
        out.raw(kind.as_bytes());
        out.raw(b"\",\"");
        out.raw(field.as_bytes());
        out.raw(b"\":");
        write_raw(out, value);
        out.raw(b"}}");
        close_event(out);
    }

    fn message_start(&mut self, out: &mut BytesMut, chunk: &Chunk<'_>) {
        self.started = true;
        self.produced = true;
        open_event(out, "message_start");
        out.raw(b"{\"type\":\"message_start\",\"message\":{");
        if let Some(id) = chunk.id.filter(|i| is_string(i)) {
            out.raw(b"\"id\":");
            write_raw(out, id);
            out.raw(b",");
        }
        out.raw(b"\"type\":\"message\",\"role\":\"assistant\"");
        if let Some(model) = chunk.model.filter(|m| is_string(m)) {
            out.raw(b",\"model\":");
            write_raw(out, model);
        }
        out.raw(
            b",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\
              \"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}",
        );
        close_event(out);
    }

    /// `message_delta` + `message_stop`.
    fn stop(&mut self, out: &mut BytesMut, stop_reason: &str, usage: AnthropicUsage) {
        self.block_stop(out);
        open_event(out, "message_delta");
        out.raw(b"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"");
        out.raw(stop_reason.as_bytes());
        out.raw(b"\",\"stop_sequence\":null},\"usage\":");
        usage.write(out);
        out.raw(b"}");
        close_event(out);
        open_event(out, "message_stop");
        out.raw(b"{\"type\":\"message_stop\"}");
        close_event(out);
        self.closed = true;
        self.produced = true;
    }

    fn flush_pending(&mut self, out: &mut BytesMut, chunk_usage: Option<AnthropicUsage>) {
        if let Some(p) = self.pending.take() {
            let usage = p
                .usage
                .or(chunk_usage)
                .or(self.last_usage)
                .unwrap_or_default();
            self.stop(out, p.stop_reason, usage);
        }
    }

    /// `[DONE]` or end of stream.
    fn end(&mut self, out: &mut BytesMut) {
        if self.closed {
            return;
        }
        if self.pending.is_some() {
            self.flush_pending(out, None);
        } else if self.started {
            let usage = self.last_usage.unwrap_or_default();
            self.stop(out, "end_turn", usage);
        }
    }

    fn chunk(&mut self, out: &mut BytesMut, data: &str, names: &ToolNameMap) {
        let trimmed = data.trim();
        if trimmed.is_empty() {
            return;
        }
        if trimmed == "[DONE]" {
            self.end(out);
            return;
        }
        if self.closed {
            return;
        }
        let Ok(chunk) = serde_json::from_str::<Chunk<'_>>(data) else {
            self.skipped += 1;
            return;
        };
        let usage = chunk.usage.as_ref().map(AnthropicUsage::from_chunk);
        if usage.is_some() {
            self.last_usage = usage;
        }
        if self.finished {
            self.flush_pending(out, usage);
            return;
        }
        let choice = chunk.choices.as_ref().and_then(|c| c.0.as_ref());
        if let Some(error) = chunk.error.filter(|e| e.get() != "null")
            && choice.is_none()
        {
            // A mid-stream upstream error: tell the client the way
            // Anthropic does, and end the stream there.
            self.block_stop(out);
            open_event(out, "error");
            write_error(out, error);
            close_event(out);
            self.closed = true;
            self.produced = true;
            return;
        }
        if !self.started {
            self.message_start(out, &chunk);
        }
        let Some(choice) = choice else {
            return;
        };
        if let Some(delta) = &choice.delta {
            if let Some(r) = reasoning(delta.reasoning_content, delta.reasoning) {
                let index = match self.open {
                    Some((i, BlockKind::Thinking)) => i,
                    _ => {
                        let i = self.block_start(out, BlockKind::Thinking);
                        out.raw(b"{\"type\":\"thinking\",\"thinking\":\"\"}}");
                        close_event(out);
                        i
                    }
                };
                Self::delta(out, index, "thinking_delta", "thinking", r);
            }
            if let Some(text) = non_empty_string(delta.content) {
                let index = match self.open {
                    Some((i, BlockKind::Text)) => i,
                    _ => {
                        let i = self.block_start(out, BlockKind::Text);
                        out.raw(b"{\"type\":\"text\",\"text\":\"\"}}");
                        close_event(out);
                        i
                    }
                };
                Self::delta(out, index, "text_delta", "text", text);
            }
            for call in delta.tool_calls.iter().flatten() {
                self.tool_call(out, call, names);
            }
        }
        if let Some(reason) = finish_reason(choice.finish_reason) {
            self.block_stop(out);
            self.pending = Some(PendingStop {
                stop_reason: stop_reason(&reason),
                usage,
            });
            self.finished = true;
        }
    }

    fn tool_call(&mut self, out: &mut BytesMut, call: &ToolCall<'_>, names: &ToolNameMap) {
        let Some(tc_index) = call.index.map(|c| c.0) else {
            return;
        };
        let known = self
            .tool_blocks
            .iter()
            .rev()
            .find(|(i, _)| *i == tc_index)
            .map(|(_, b)| *b);
        let block = match known {
            Some(b) => b,
            None => {
                if self.tool_blocks.len() >= MAX_STREAM_TOOL_CALLS {
                    self.skipped += 1;
                    return;
                }
                let name = call
                    .function
                    .as_ref()
                    .and_then(|f| f.name)
                    .and_then(str_value)
                    .unwrap_or_default();
                let b = self.block_start(out, BlockKind::ToolUse);
                out.raw(b"{\"type\":\"tool_use\",\"id\":");
                match call.id.filter(|i| is_string(i)) {
                    Some(id) => write_raw(out, id),
                    None => out.raw(b"\"\""),
                }
                out.raw(b",\"name\":");
                write_str(out, names.original(&name).unwrap_or(&name));
                out.raw(b",\"input\":{}}}");
                close_event(out);
                self.tool_blocks.push((tc_index, b));
                b
            }
        };
        let args = call
            .function
            .as_ref()
            .and_then(|f| non_empty_string(f.arguments));
        if let Some(args) = args {
            if self.open == Some((block, BlockKind::ToolUse)) {
                Self::delta(out, block, "input_json_delta", "partial_json", args);
            } else {
                // Arguments for a call whose block another block already
                // closed: Anthropic cannot reopen blocks.
                self.skipped += 1;
            }
        }
    }
}

impl ResponseTranslator for ChatToMessages {
    fn translate_body(
        &mut self,
        status: StatusCode,
        body: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        // The status is kept by the exchange; error bodies have their own
        // shape, recognised by the `error` member.
        let _ = status;
        self.write_message(body, out)
    }

    fn translate_event(
        &mut self,
        event: &str,
        data: &str,
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        // OpenAI chat streams carry unnamed events (APISIX reads only
        // those); some providers (Groq) send a named `error` event, which
        // becomes an Anthropic `error` event instead of being lost.
        if event != "message" && event != "error" {
            return Ok(());
        }
        self.stream.chunk(out, data, &self.names);
        Ok(())
    }

    fn finish(&mut self, out: &mut BytesMut) -> Result<(), TranslateError> {
        self.stream.end(out);
        if self.stream.produced {
            Ok(())
        } else {
            Err(TranslateError::EmptyStream)
        }
    }
}
