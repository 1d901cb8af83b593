//! [`ConverseToChat`]: Converse responses back to an OpenAI chat client —
//! the JSON body, error bodies, and the ConverseStream event state machine
//! (decoded event-stream messages in, `chat.completion.chunk` SSE out).

use ai_proxy_core::framing::Frame;
use ai_proxy_core::json::chat::{ChunkWriter, ToolCallIndex};
use ai_proxy_core::translate::{ResponseTranslator, TranslateError};
use bytes::BytesMut;
use http::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::response::{
    COMPLETION_ID, ConverseUsage, Tokens, ToolUse, finish_reason, string, write_completion,
};
use crate::exceptions::{exception_status, write_openai_error};
use crate::json::{Out, is_empty_string, is_string, write_raw, write_str};

/// Most tool calls one streamed response may open; later ones are
/// skipped and counted.
pub const MAX_STREAM_TOOL_CALLS: usize = 1024;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    content_block_index: Option<u64>,
    #[serde(borrow)]
    start: Option<Start<'a>>,
    #[serde(borrow)]
    delta: Option<Delta<'a>>,
    #[serde(borrow)]
    stop_reason: Option<&'a RawValue>,
    usage: Option<ConverseUsage>,
}

#[derive(Deserialize)]
struct Start<'a> {
    #[serde(borrow, rename = "toolUse")]
    tool_use: Option<ToolUse<'a>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow)]
    text: Option<&'a RawValue>,
    #[serde(borrow, rename = "reasoningContent")]
    reasoning: Option<TextDelta<'a>>,
    #[serde(borrow, rename = "toolUse")]
    tool_use: Option<InputDelta<'a>>,
}

#[derive(Deserialize)]
struct TextDelta<'a> {
    #[serde(borrow)]
    text: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct InputDelta<'a> {
    #[serde(borrow)]
    input: Option<&'a RawValue>,
}

/// Turns Converse responses into OpenAI chat completions for an OpenAI
/// client.
///
/// Stream output: a first chunk with `delta.role`, then `content`,
/// `reasoning_content` (reasoning blocks, DeepSeek's convention) and
/// `tool_calls` chunks, exactly one chunk with a `finish_reason`
/// (`messageStop`), a usage chunk (`choices: []`, from `metadata`) and
/// `data: [DONE]`. An exception before any output becomes the gateway's
/// answer ([`TranslateError::Upstream`]: its Bedrock status and an OpenAI
/// error body); after output, a last `data: {"error": …}` chunk.
///
/// ```
/// use ai_proxy_bedrock::ConverseToChat;
/// use ai_proxy_core::translate::ResponseTranslator;
/// use bytes::BytesMut;
///
/// let mut t = ConverseToChat::new(Some("amazon.nova-micro-v1:0"));
/// let mut out = BytesMut::new();
/// for (event, data) in [
///     ("messageStart", r#"{"role":"assistant"}"#),
///     ("contentBlockDelta", r#"{"contentBlockIndex":0,"delta":{"text":"Paris"}}"#),
///     ("messageStop", r#"{"stopReason":"end_turn"}"#),
///     ("metadata", r#"{"usage":{"inputTokens":13,"outputTokens":2,"totalTokens":15}}"#),
/// ] {
///     t.translate_event(event, data, &mut out).unwrap();
/// }
/// t.finish(&mut out).unwrap();
/// let text = std::str::from_utf8(&out).unwrap();
/// assert!(text.contains(r#""delta":{"content":"Paris"}"#));
/// assert!(text.ends_with("data: [DONE]\n\n"));
/// ```
#[derive(Debug)]
pub struct ConverseToChat {
    /// The OpenAI side; its `model`, the model named in responses.
    chunks: ChunkWriter,
    tokens: Tokens,
    /// Converse content block index → OpenAI `tool_calls[].index`.
    tool_blocks: ToolCallIndex,
    skipped: u64,
}

impl ConverseToChat {
    /// A translator for one response; `model` is what responses name
    /// (Converse responses name none: the route's `$llm_model`).
    pub fn new(model: Option<&str>) -> Self {
        let mut quoted = Vec::new();
        write_str(&mut quoted, model.unwrap_or(""));
        let model = String::from_utf8(quoted).unwrap_or_else(|_| "\"\"".to_owned());
        Self {
            chunks: ChunkWriter::new(COMPLETION_ID.to_owned(), model),
            tokens: Tokens::default(),
            tool_blocks: ToolCallIndex::default(),
            skipped: 0,
        }
    }

    /// Events skipped: not valid JSON, content after the stop reason, or
    /// tool calls past [`MAX_STREAM_TOOL_CALLS`].
    pub fn skipped_events(&self) -> u64 {
        self.skipped
    }

    /// Finish (if not sent), usage chunk, `[DONE]`.
    fn close(&mut self, out: &mut BytesMut) {
        self.chunks.close(out, |out| self.tokens.write(out));
    }

    fn exception(
        &mut self,
        kind: &str,
        payload: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        if self.chunks.closed() {
            return Ok(());
        }
        let status = exception_status(kind);
        let mut body = Vec::new();
        write_openai_error(&mut body, status, Some(kind), payload);
        if !self.chunks.produced() {
            self.chunks.abandon();
            return Err(TranslateError::Upstream {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        self.chunks.error(out, |out| out.raw(&body));
        Ok(())
    }

    fn text_chunk(&mut self, out: &mut BytesMut, field: &[u8], text: Option<&RawValue>) {
        if let Some(t) = text.filter(|t| is_string(t) && !is_empty_string(t)) {
            self.chunks.delta(out, |out| {
                out.raw(b"\"");
                out.raw(field);
                out.raw(b"\":");
                write_raw(out, t);
            });
        }
    }

    fn event(&mut self, kind: &str, data: &[u8], out: &mut BytesMut) {
        if self.chunks.closed() {
            return;
        }
        let Ok(event) = serde_json::from_slice::<Event<'_>>(data) else {
            self.skipped += 1;
            return;
        };
        if self.chunks.finish_sent() && matches!(kind, "contentBlockStart" | "contentBlockDelta") {
            // Content after the stop reason cannot follow OpenAI's finish
            // chunk; Bedrock never sends it.
            self.skipped += 1;
            return;
        }
        let block = event.content_block_index;
        match kind {
            "messageStart" => self.chunks.start(out),
            "contentBlockStart" => {
                self.chunks.start(out);
                if let Some(tool) = event.start.as_ref().and_then(|s| s.tool_use.as_ref()) {
                    self.tool_start(out, block, tool);
                }
            }
            "contentBlockDelta" => {
                self.chunks.start(out);
                let Some(delta) = &event.delta else {
                    return;
                };
                self.text_chunk(out, b"content", delta.text);
                self.text_chunk(
                    out,
                    b"reasoning_content",
                    delta.reasoning.as_ref().and_then(|r| r.text),
                );
                let args = delta
                    .tool_use
                    .as_ref()
                    .and_then(|t| t.input)
                    .filter(|p| is_string(p) && !is_empty_string(p));
                let tool = self.tool_blocks.of(block);
                if let (Some(tool), Some(args)) = (tool, args) {
                    self.chunks
                        .tool_call_arguments(out, tool, args.get().as_bytes());
                }
            }
            "messageStop" => {
                self.chunks.start(out);
                self.chunks.finish(out, finish_reason(event.stop_reason));
            }
            "metadata" => {
                if let Some(u) = &event.usage {
                    self.tokens.update(u);
                }
                self.close(out);
            }
            // contentBlockStop and event types added later.
            _ => {}
        }
    }

    fn tool_start(&mut self, out: &mut BytesMut, block: Option<u64>, tool: &ToolUse<'_>) {
        let Some(index) = self.tool_blocks.open(block, MAX_STREAM_TOOL_CALLS) else {
            self.skipped += 1;
            return;
        };
        self.chunks
            .tool_call_start(out, index, string(tool.id), string(tool.name));
    }
}

impl ResponseTranslator for ConverseToChat {
    /// Bedrock's 429 and 5xx bodies become OpenAI error JSON too.
    fn translates_error_responses(&self) -> bool {
        true
    }

    fn translate_body(
        &mut self,
        status: StatusCode,
        body: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        if status.is_client_error() || status.is_server_error() {
            write_openai_error(out, status, None, body);
            return Ok(());
        }
        write_completion(out, self.chunks.model(), body).map_err(TranslateError::Malformed)
    }

    fn translate_event(
        &mut self,
        event: &str,
        data: &str,
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        // Stream exception types all end in `Exception`.
        if event.ends_with("Exception") {
            return self.exception(event, data.as_bytes(), out);
        }
        self.event(event, data.as_bytes(), out);
        Ok(())
    }

    fn translate_frame(
        &mut self,
        frame: &Frame<'_>,
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        if frame.is_error() {
            return self.exception(frame.event_type(), frame.payload(), out);
        }
        self.event(frame.event_type(), frame.payload(), out);
        Ok(())
    }

    fn finish(&mut self, out: &mut BytesMut) -> Result<(), TranslateError> {
        // A stream cut before `metadata` still ends in a well-formed
        // OpenAI stream.
        self.close(out);
        if self.chunks.produced() {
            Ok(())
        } else {
            Err(TranslateError::EmptyStream)
        }
    }
}
