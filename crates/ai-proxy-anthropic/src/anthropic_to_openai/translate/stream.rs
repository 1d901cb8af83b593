//! The streaming state machine: `chat.completion.chunk` events in,
//! `message_start` … `message_stop` events out, bounded state.

use ai_proxy_core::json::Raw;
use ai_proxy_core::json::write::{Out, write_str, write_u64};
use bytes::BytesMut;

use super::mapping::{AnthropicUsage, finish_reason, reasoning, stop_reason, write_error};
use super::shapes::{Chunk, ToolCall};
use crate::tool_names::ToolNameMap;

/// Most tool calls one streamed response may open; later ones are skipped
/// and counted (bounded memory on hostile streams).
pub const MAX_STREAM_TOOL_CALLS: usize = 1024;

#[derive(Debug, Default)]
pub(super) struct StreamState {
    /// Bytes were written to the client.
    pub(super) produced: bool,
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
    pub(super) skipped: u64,
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

    /// The open block of `kind`, or a new one (`content_block`: `empty`)
    /// when another block (or none) is open.
    fn open_block(&mut self, out: &mut BytesMut, kind: BlockKind, empty: &[u8]) -> u32 {
        match self.open {
            Some((index, open)) if open == kind => index,
            _ => {
                let index = self.block_start(out, kind);
                out.raw(empty);
                close_event(out);
                index
            }
        }
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

    fn delta(out: &mut BytesMut, index: u32, kind: &str, field: &str, value: Raw<'_>) {
        open_event(out, "content_block_delta");
        out.raw(b"{\"type\":\"content_block_delta\",\"index\":");
        write_u64(out, u64::from(index));
        out.raw(b",\"delta\":{\"type\":\"");
        out.raw(kind.as_bytes());
        out.raw(b"\",\"");
        out.raw(field.as_bytes());
        out.raw(b"\":");
        out.raw(value.bytes());
        out.raw(b"}}");
        close_event(out);
    }

    fn message_start(&mut self, out: &mut BytesMut, chunk: &Chunk<'_>) {
        self.started = true;
        self.produced = true;
        open_event(out, "message_start");
        out.raw(b"{\"type\":\"message_start\",\"message\":{");
        if let Some(id) = chunk.id.filter(|i| i.is_string()) {
            out.raw(b"\"id\":");
            out.raw(id.bytes());
            out.raw(b",");
        }
        out.raw(b"\"type\":\"message\",\"role\":\"assistant\"");
        if let Some(model) = chunk.model.filter(|m| m.is_string()) {
            out.raw(b",\"model\":");
            out.raw(model.bytes());
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
    pub(super) fn end(&mut self, out: &mut BytesMut) {
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

    pub(super) fn chunk(&mut self, out: &mut BytesMut, data: &str, names: &ToolNameMap) {
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
        if let Some(error) = chunk.error.filter(|e| !e.is_null())
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
                let empty = b"{\"type\":\"thinking\",\"thinking\":\"\"}}";
                let index = self.open_block(out, BlockKind::Thinking, empty);
                Self::delta(out, index, "thinking_delta", "thinking", r);
            }
            if let Some(text) = delta.content.and_then(Raw::non_empty_string) {
                let empty = b"{\"type\":\"text\",\"text\":\"\"}}";
                let index = self.open_block(out, BlockKind::Text, empty);
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
        let Some(tc_index) = call.index else {
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
                let name = call.name();
                let b = self.block_start(out, BlockKind::ToolUse);
                out.raw(b"{\"type\":\"tool_use\",\"id\":");
                match call.id.filter(|i| i.is_string()) {
                    Some(id) => out.raw(id.bytes()),
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
            .and_then(|f| f.arguments.and_then(Raw::non_empty_string));
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

/// `event: <type>\ndata: ` … `\n\n` around one Anthropic event.
fn open_event(out: &mut BytesMut, kind: &str) {
    out.raw(b"event: ");
    out.raw(kind.as_bytes());
    out.raw(b"\ndata: ");
}

fn close_event(out: &mut BytesMut) {
    out.raw(b"\n\n");
}
