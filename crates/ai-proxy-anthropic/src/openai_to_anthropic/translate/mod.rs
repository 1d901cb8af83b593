//! Anthropic Messages responses → OpenAI chat completions: the
//! non-streaming `message` and the streaming state machine (Anthropic
//! events in, `chat.completion.chunk` SSE out, ending with a usage chunk
//! and `data: [DONE]`).
//!
//! Usage rule (documented for gateways reading the OpenAI side):
//! `prompt_tokens = input_tokens + cache_read_input_tokens +
//! cache_creation_input_tokens` (Anthropic counts cached input apart,
//! OpenAI counts it inside the prompt), `completion_tokens =
//! output_tokens`, `total_tokens` their sum, and
//! `prompt_tokens_details = {cached_tokens: cache_read_input_tokens,
//! cache_creation_input_tokens}`.
//!
//! Anthropic messages carry no timestamp and this library reads no clock,
//! so `created` is `0`.

mod mapping;

use ai_proxy_core::json::Raw;
use ai_proxy_core::json::chat::{
    ChunkWriter, ToolCallIndex, write_completion_end, write_completion_head, write_joined,
    write_tool_call, write_tool_calls,
};
use ai_proxy_core::json::write::{Out, write_as_string};
use ai_proxy_core::translate::{ResponseTranslator, TranslateError};
use ai_proxy_core::wire::anthropic::{Block, Event, Message};
use bytes::BytesMut;
use http::StatusCode;

use self::mapping::{Tokens, finish_reason, write_error};

/// Most `tool_use` blocks one streamed response may open; later ones are
/// skipped and counted.
pub const MAX_STREAM_TOOL_USES: usize = 1024;

/// Turns Anthropic Messages responses (a `message` body or its event
/// stream) into OpenAI chat completions for an OpenAI client.
///
/// Streaming calling contract: [`translate_event`](ResponseTranslator::translate_event)
/// once per decoded upstream SSE event, then [`finish`](ResponseTranslator::finish)
/// once. Output: a first chunk with `delta.role`, content / `reasoning_content`
/// / `tool_calls` chunks, exactly one chunk with a `finish_reason`, a final
/// usage chunk (`choices: []`) and `data: [DONE]` — or a `data: {"error":…}`
/// chunk last when the upstream reported an error. Thinking blocks become
/// `reasoning_content` deltas (DeepSeek's convention); server-tool blocks
/// (`server_tool_use`, web search results) are not OpenAI tool calls and
/// are left out.
///
/// ```
/// use ai_proxy_anthropic::MessagesToChat;
/// use ai_proxy_core::translate::ResponseTranslator;
/// use bytes::BytesMut;
///
/// let mut t = MessagesToChat::new();
/// let mut out = BytesMut::new();
/// for (event, data) in [
///     ("message_start", r#"{"type":"message_start","message":{"id":"msg_1","model":"claude","usage":{"input_tokens":5,"output_tokens":1}}}"#),
///     ("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#),
///     ("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}"#),
///     ("message_stop", r#"{"type":"message_stop"}"#),
/// ] {
///     t.translate_event(event, data, &mut out).unwrap();
/// }
/// t.finish(&mut out).unwrap();
/// assert!(std::str::from_utf8(&out).unwrap().ends_with("data: [DONE]\n\n"));
/// ```
#[derive(Debug, Default)]
pub struct MessagesToChat {
    /// The OpenAI side; `id` and `model` are `message_start`'s.
    chunks: ChunkWriter,
    tokens: Tokens,
    /// Anthropic block index → OpenAI `tool_calls[].index`.
    tool_uses: ToolCallIndex,
    skipped: u64,
}

impl MessagesToChat {
    /// A translator for one response.
    pub fn new() -> Self {
        Self::default()
    }

    /// Upstream events skipped because they were not valid JSON events,
    /// carried content after the stop reason, or opened more than
    /// [`MAX_STREAM_TOOL_USES`] tool calls.
    pub fn skipped_events(&self) -> u64 {
        self.skipped
    }

    fn write_completion(&self, body: &[u8], out: &mut BytesMut) -> Result<(), TranslateError> {
        if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
            // Not JSON at all (a proxy's text error page, `Unauthorized`):
            // forwarded verbatim, as APISIX does before any conversion.
            out.extend_from_slice(body);
            return Ok(());
        }
        let msg: Message<'_> = serde_json::from_slice(body).map_err(|e| {
            TranslateError::Malformed(format!(
                "upstream response is not an Anthropic Messages object: {e}"
            ))
        })?;
        if let Some(error) = msg.error.filter(|e| !e.is_null()) {
            write_error(out, error);
            return Ok(());
        }
        if !msg.kind.is_some_and(|k| k.str_is("message")) {
            return Err(TranslateError::Malformed(
                "upstream response is not an Anthropic message (`type` is not \"message\")".into(),
            ));
        }
        write_completion_head(out, string(msg.id), string(msg.model));
        let blocks = msg.content.as_deref().unwrap_or_default();
        let of_kind = |k: &'static str| {
            blocks
                .iter()
                .filter(move |b| b.kind.is_some_and(|t| t.str_is(k)))
        };
        let texts = of_kind("text").filter_map(|b| b.text.filter(|t| t.is_string()));
        write_joined(out, b"", texts.map(Raw::inner), b"null");
        let thinking = of_kind("thinking").filter_map(|b| b.thinking.filter(|t| t.is_string()));
        write_joined(
            out,
            b",\"reasoning_content\":",
            thinking.map(Raw::inner),
            b"",
        );
        write_tool_calls(out, of_kind("tool_use"), |out, call| {
            write_tool_call(out, None, string(call.id), string(call.name), |out| {
                write_arguments(out, call.input);
            });
        });
        let mut tokens = Tokens::default();
        if let Some(u) = &msg.usage {
            tokens.update(u);
        }
        write_completion_end(out, finish_reason(msg.stop_reason), |out| tokens.write(out));
        Ok(())
    }

    fn start(&mut self, out: &mut BytesMut, message: Option<&Message<'_>>) {
        if self.chunks.started() {
            return;
        }
        let raw_or_empty = |v: Option<Raw<'_>>| {
            v.filter(|v| v.is_string())
                .and_then(|v| std::str::from_utf8(v.bytes()).ok())
                .map_or_else(|| "\"\"".to_owned(), str::to_owned)
        };
        self.chunks.set_envelope(
            raw_or_empty(message.and_then(|m| m.id)),
            raw_or_empty(message.and_then(|m| m.model)),
        );
        if let Some(u) = message.and_then(|m| m.usage.as_ref()) {
            self.tokens.update(u);
        }
        self.chunks.start(out);
    }

    /// Finish (if not sent), usage chunk, `[DONE]`.
    fn close(&mut self, out: &mut BytesMut) {
        self.chunks.close(out, |out| self.tokens.write(out));
    }

    fn event(&mut self, out: &mut BytesMut, data: &str) {
        if self.chunks.closed() {
            return;
        }
        let Ok(event) = serde_json::from_str::<Event<'_>>(data) else {
            self.skipped += 1;
            return;
        };
        let kind = event.kind.and_then(Raw::str);
        if self.chunks.finish_sent()
            && matches!(
                kind.as_deref(),
                Some("content_block_start" | "content_block_delta")
            )
        {
            // Content after the stop reason cannot follow OpenAI's finish
            // chunk; Anthropic never sends it.
            self.skipped += 1;
            return;
        }
        match kind.as_deref() {
            Some("message_start") => self.start(out, event.message.as_ref()),
            Some("content_block_start") => {
                self.start(out, None);
                let Some(block) = &event.content_block else {
                    return;
                };
                match block.kind.and_then(Raw::str).as_deref() {
                    Some("text") => {
                        if let Some(t) = block.text.and_then(Raw::non_empty_string) {
                            self.chunks.delta(out, |out| {
                                out.raw(b"\"content\":");
                                out.raw(t.bytes());
                            });
                        }
                    }
                    Some("thinking") => {
                        if let Some(t) = block.thinking.and_then(Raw::non_empty_string) {
                            self.chunks.delta(out, |out| {
                                out.raw(b"\"reasoning_content\":");
                                out.raw(t.bytes());
                            });
                        }
                    }
                    Some("tool_use") => self.tool_use_start(out, event.index, block),
                    _ => {}
                }
            }
            Some("content_block_delta") => {
                self.start(out, None);
                let Some(delta) = &event.delta else {
                    return;
                };
                match delta.kind.and_then(Raw::str).as_deref() {
                    Some("text_delta") => {
                        if let Some(t) = delta.text.and_then(Raw::non_empty_string) {
                            self.chunks.delta(out, |out| {
                                out.raw(b"\"content\":");
                                out.raw(t.bytes());
                            });
                        }
                    }
                    Some("thinking_delta") => {
                        if let Some(t) = delta.thinking.and_then(Raw::non_empty_string) {
                            self.chunks.delta(out, |out| {
                                out.raw(b"\"reasoning_content\":");
                                out.raw(t.bytes());
                            });
                        }
                    }
                    Some("input_json_delta") => {
                        let tool = self.tool_uses.of(event.index);
                        let args = delta.partial_json.and_then(Raw::non_empty_string);
                        if let (Some(tool), Some(args)) = (tool, args) {
                            self.chunks.tool_call_arguments(out, tool, args.bytes());
                        }
                    }
                    // signature_delta, citations_delta: no OpenAI field.
                    _ => {}
                }
            }
            Some("message_delta") => {
                self.start(out, None);
                if let Some(u) = &event.usage {
                    self.tokens.update(u);
                }
                if let Some(reason) = event.delta.as_ref().and_then(|d| d.stop_reason) {
                    self.chunks.finish(out, finish_reason(Some(reason)));
                }
            }
            Some("message_stop") => self.close(out),
            Some("error") => self.chunks.error(out, |out| match event.error {
                Some(e) => write_error(out, e),
                None => out.raw(b"{\"error\":{\"message\":\"\",\"type\":\"api_error\",\"param\":null,\"code\":null}}"),
            }),
            // ping, content_block_stop and event types added later.
            _ => {}
        }
    }

    fn tool_use_start(&mut self, out: &mut BytesMut, index: Option<u64>, block: &Block<'_>) {
        let Some(tool) = self.tool_uses.open(index, MAX_STREAM_TOOL_USES) else {
            self.skipped += 1;
            return;
        };
        self.chunks
            .tool_call_start(out, tool, string(block.id), string(block.name));
    }
}

/// A member's bytes when it is a JSON string.
fn string(v: Option<Raw<'_>>) -> Option<&[u8]> {
    v.filter(|v| v.is_string()).map(|v| v.bytes())
}

/// `input` (a JSON object) → `arguments` (a string holding its JSON).
fn write_arguments(out: &mut BytesMut, input: Option<Raw<'_>>) {
    let Some(input) = input.filter(|i| !i.is_null()) else {
        out.raw(b"\"{}\"");
        return;
    };
    write_as_string(out, input.bytes());
}

impl ResponseTranslator for MessagesToChat {
    fn translate_body(
        &mut self,
        status: StatusCode,
        body: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        // The status is kept by the exchange; error bodies are recognised
        // by their `error` member.
        let _ = status;
        self.write_completion(body, out)
    }

    fn translate_event(
        &mut self,
        event: &str,
        data: &str,
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        // Anthropic names every event and repeats the name in `type`; the
        // JSON is authoritative, the SSE name is not needed.
        let _ = event;
        self.event(out, data);
        Ok(())
    }

    fn finish(&mut self, out: &mut BytesMut) -> Result<(), TranslateError> {
        // A stream cut before `message_stop` still ends in a well-formed
        // OpenAI stream (as APISIX does for the other direction).
        self.close(out);
        if self.chunks.produced() {
            Ok(())
        } else {
            Err(TranslateError::EmptyStream)
        }
    }
}
