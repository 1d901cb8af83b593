//! Writing the OpenAI chat side of a response converter's output: the
//! `usage` object, a `chat.completion` and the `chat.completion.chunk`
//! SSE stream.

use crate::json::write::{Out, write_u64};

/// The OpenAI `usage` object for counts kept as Anthropic and Bedrock
/// keep them (input tokens without the cached ones): prompt tokens are
/// input + cache read + cache write, the cache counts under
/// `prompt_tokens_details`. One writer for every converter that answers
/// OpenAI clients from those upstreams.
pub fn write_usage<O: Out + ?Sized>(
    out: &mut O,
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
) {
    let prompt = input.saturating_add(cache_read).saturating_add(cache_write);
    out.raw(b"{\"prompt_tokens\":");
    write_u64(out, prompt);
    out.raw(b",\"completion_tokens\":");
    write_u64(out, output);
    out.raw(b",\"total_tokens\":");
    write_u64(out, prompt.saturating_add(output));
    out.raw(b",\"prompt_tokens_details\":{\"cached_tokens\":");
    write_u64(out, cache_read);
    out.raw(b",\"cache_creation_input_tokens\":");
    write_u64(out, cache_write);
    out.raw(b"}}");
}

/// A one-choice `chat.completion` up to its message's `content` value:
/// `{"id":…,"object":"chat.completion","created":0,"model":…,"choices":
/// [{"index":0,"message":{"role":"assistant","content":`. `id` and `model`
/// are JSON string tokens (`""` when absent); `created` is `0` (no clock
/// is read). The rest: [`write_joined`] (content, reasoning),
/// [`write_tool_calls`], [`write_completion_end`].
#[doc(hidden)]
pub fn write_completion_head<O: Out + ?Sized>(
    out: &mut O,
    id: Option<&[u8]>,
    model: Option<&[u8]>,
) {
    out.raw(b"{\"id\":");
    out.raw(id.unwrap_or(b"\"\""));
    out.raw(b",\"object\":\"chat.completion\",\"created\":0,\"model\":");
    out.raw(model.unwrap_or(b"\"\""));
    out.raw(b",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
}

/// `key` and one JSON string of `parts` (escaped string contents,
/// concatenated without decoding) when there is a part; `none` otherwise.
#[doc(hidden)]
pub fn write_joined<'p, O: Out + ?Sized>(
    out: &mut O,
    key: &[u8],
    parts: impl Iterator<Item = &'p [u8]>,
    none: &[u8],
) {
    let mut parts = parts.peekable();
    if parts.peek().is_none() {
        out.raw(none);
        return;
    }
    out.raw(key);
    out.raw(b"\"");
    for part in parts {
        out.raw(part);
    }
    out.raw(b"\"");
}

/// `,"tool_calls":[…]` with each call `write` writes (see
/// [`write_tool_call`]), when there is a call.
#[doc(hidden)]
pub fn write_tool_calls<O: Out + ?Sized, T>(
    out: &mut O,
    calls: impl Iterator<Item = T>,
    mut write: impl FnMut(&mut O, T),
) {
    let mut calls = calls.peekable();
    if calls.peek().is_none() {
        return;
    }
    out.raw(b",\"tool_calls\":[");
    for (i, call) in calls.enumerate() {
        if i > 0 {
            out.raw(b",");
        }
        write(out, call);
    }
    out.raw(b"]");
}

/// The end of a [`write_completion_head`] completion: `finish_reason`
/// `reason` and the `usage` object `usage` writes.
#[doc(hidden)]
pub fn write_completion_end<O: Out + ?Sized>(
    out: &mut O,
    reason: &str,
    usage: impl FnOnce(&mut O),
) {
    out.raw(b"},\"logprobs\":null,\"finish_reason\":\"");
    out.raw(reason.as_bytes());
    out.raw(b"\"}],\"usage\":");
    usage(out);
    out.raw(b"}");
}

/// One OpenAI tool call,
/// `{["index":N,]"id":…,"type":"function","function":{"name":…,"arguments":…}}`:
/// `index` for a stream's delta, `id` and `name` JSON string tokens (`""`
/// when absent), `arguments` writes the arguments' JSON string.
#[doc(hidden)]
pub fn write_tool_call<O: Out + ?Sized>(
    out: &mut O,
    index: Option<u32>,
    id: Option<&[u8]>,
    name: Option<&[u8]>,
    arguments: impl FnOnce(&mut O),
) {
    match index {
        Some(index) => {
            out.raw(b"{\"index\":");
            write_u64(out, u64::from(index));
            out.raw(b",\"id\":");
        }
        None => out.raw(b"{\"id\":"),
    }
    out.raw(id.unwrap_or(b"\"\""));
    out.raw(b",\"type\":\"function\",\"function\":{\"name\":");
    out.raw(name.unwrap_or(b"\"\""));
    out.raw(b",\"arguments\":");
    arguments(out);
    out.raw(b"}}");
}

/// The OpenAI `tool_calls[].index` given to each upstream content block
/// that opened a tool call in a stream (Anthropic's `tool_use` blocks,
/// Converse's `toolUse` blocks), in the order they opened.
#[doc(hidden)]
#[derive(Clone, Debug, Default)]
pub struct ToolCallIndex {
    /// Upstream block index → OpenAI index.
    blocks: Vec<(u64, u32)>,
}

impl ToolCallIndex {
    /// Numbers the call block `block` opens; `None` (the block is skipped)
    /// when it has no index or `max` calls are open already.
    #[inline]
    pub fn open(&mut self, block: Option<u64>, max: usize) -> Option<u32> {
        let block = block?;
        if self.blocks.len() >= max {
            return None;
        }
        let index = u32::try_from(self.blocks.len()).unwrap_or(u32::MAX);
        self.blocks.push((block, index));
        Some(index)
    }

    /// The OpenAI index of the call block `block` opened (the latest, if
    /// the upstream reused a block index).
    #[inline]
    pub fn of(&self, block: Option<u64>) -> Option<u32> {
        self.blocks
            .iter()
            .rev()
            .find(|(b, _)| Some(*b) == block)
            .map(|(_, index)| *index)
    }
}

/// The OpenAI `chat.completion.chunk` SSE stream a response converter
/// writes for an OpenAI client: every chunk's envelope, the role chunk,
/// one finish chunk, the usage chunk and `data: [DONE]`, and the state
/// that keeps them in order (nothing after `[DONE]` or an error chunk).
/// The one writer of that wire for the Anthropic, Bedrock and Gemini
/// converters; what goes inside `delta` is theirs.
///
/// ```
/// use ai_proxy_core::json::chat::ChunkWriter;
/// use ai_proxy_core::json::write::Out;
///
/// let mut chunks = ChunkWriter::new("\"c1\"".into(), "\"m\"".into());
/// let mut out = Vec::new();
/// chunks.start(&mut out);
/// chunks.delta(&mut out, |out| out.raw(br#""content":"Hi""#));
/// chunks.close(&mut out, |out| out.raw(b"{}"));
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.contains(r#""choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}"#));
/// assert!(text.contains(r#""finish_reason":"stop"}]}"#));
/// assert!(text.ends_with("\"choices\":[],\"usage\":{}}\n\ndata: [DONE]\n\n"));
/// ```
#[doc(hidden)]
#[derive(Clone, Debug, Default)]
pub struct ChunkWriter {
    /// `id` of every chunk, a JSON string token.
    id: String,
    /// `model` of every chunk, a JSON string token.
    model: String,
    /// The role chunk was written.
    started: bool,
    /// Some chunk was written.
    produced: bool,
    /// The finish chunk was written.
    finish_sent: bool,
    /// `[DONE]` or an error chunk was written: nothing follows.
    closed: bool,
}

impl ChunkWriter {
    /// A stream whose chunks carry `id` and `model` (JSON string tokens,
    /// written as they are).
    pub fn new(id: String, model: String) -> Self {
        ChunkWriter {
            id,
            model,
            ..ChunkWriter::default()
        }
    }

    /// Sets `id` and `model` (JSON string tokens) of the chunks to come.
    pub fn set_envelope(&mut self, id: String, model: String) {
        self.id = id;
        self.model = model;
    }

    /// The chunks' `model`, a JSON string token.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The role chunk was written.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Some chunk (or an error chunk) was written.
    pub fn produced(&self) -> bool {
        self.produced
    }

    /// The finish chunk was written: content can no longer follow.
    pub fn finish_sent(&self) -> bool {
        self.finish_sent
    }

    /// `[DONE]` or an error chunk was written, or the stream was
    /// [`abandon`](Self::abandon)ed: nothing more is written.
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// Marks the stream closed without writing anything (the converter
    /// answers with an error of its own instead).
    pub fn abandon(&mut self) {
        self.closed = true;
    }

    /// The chunk envelope up to `"choices":`.
    fn head<O: Out + ?Sized>(&self, out: &mut O) {
        out.raw(b"data: {\"id\":");
        out.raw(self.id.as_bytes());
        out.raw(b",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":");
        out.raw(self.model.as_bytes());
        out.raw(b",\"choices\":");
    }

    /// One chunk for choice `index`: `delta` is `{` + what `members`
    /// writes + `}`, `finish_reason` is `reason` (`null` while streaming).
    pub fn chunk<O: Out + ?Sized>(
        &mut self,
        out: &mut O,
        index: u32,
        reason: Option<&str>,
        members: impl FnOnce(&mut O),
    ) {
        self.head(out);
        if index == 0 {
            out.raw(b"[{\"index\":0,\"delta\":{");
        } else {
            out.raw(b"[{\"index\":");
            write_u64(out, u64::from(index));
            out.raw(b",\"delta\":{");
        }
        members(out);
        match reason {
            None => out.raw(b"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"),
            Some(reason) => {
                out.raw(b"},\"logprobs\":null,\"finish_reason\":\"");
                out.raw(reason.as_bytes());
                out.raw(b"\"}]}\n\n");
            }
        }
        self.produced = true;
    }

    /// One chunk for choice 0 with `delta` = `{<members>}`, no finish
    /// reason.
    pub fn delta<O: Out + ?Sized>(&mut self, out: &mut O, members: impl FnOnce(&mut O)) {
        self.chunk(out, 0, None, members);
    }

    /// The role chunk (`"role":"assistant","content":""`), once.
    pub fn start<O: Out + ?Sized>(&mut self, out: &mut O) {
        if self.started {
            return;
        }
        self.started = true;
        self.delta(out, |out| {
            out.raw(b"\"role\":\"assistant\",\"content\":\"\"")
        });
    }

    /// Choice 0's chunk with an empty delta and `finish_reason` `reason`,
    /// once.
    pub fn finish<O: Out + ?Sized>(&mut self, out: &mut O, reason: &str) {
        if self.finish_sent {
            return;
        }
        self.finish_sent = true;
        self.chunk(out, 0, Some(reason), |_| {});
    }

    /// Ends a started stream: the finish chunk (`stop`) if none was
    /// written, the usage chunk and `[DONE]`.
    pub fn close<O: Out + ?Sized>(&mut self, out: &mut O, usage: impl FnOnce(&mut O)) {
        if self.closed || !self.started {
            return;
        }
        self.finish(out, "stop");
        self.end(out, Some(usage));
    }

    /// The usage chunk (`choices: []`, the object `usage` writes) when
    /// there is one, then `data: [DONE]`; nothing follows.
    pub fn end<O: Out + ?Sized>(&mut self, out: &mut O, usage: Option<impl FnOnce(&mut O)>) {
        if let Some(usage) = usage {
            self.head(out);
            out.raw(b"[],\"usage\":");
            usage(out);
            out.raw(b"}\n\n");
        }
        out.raw(b"data: [DONE]\n\n");
        self.closed = true;
    }

    /// A `tool_calls` delta opening call `index` (see [`write_tool_call`];
    /// `arguments` empty).
    pub fn tool_call_start<O: Out + ?Sized>(
        &mut self,
        out: &mut O,
        index: u32,
        id: Option<&[u8]>,
        name: Option<&[u8]>,
    ) {
        self.delta(out, |out| {
            out.raw(b"\"tool_calls\":[");
            write_tool_call(out, Some(index), id, name, |out| out.raw(b"\"\""));
            out.raw(b"]");
        });
    }

    /// A `tool_calls` delta adding `arguments` (a JSON string token) to
    /// call `index`.
    pub fn tool_call_arguments<O: Out + ?Sized>(
        &mut self,
        out: &mut O,
        index: u32,
        arguments: &[u8],
    ) {
        self.delta(out, |out| {
            out.raw(b"\"tool_calls\":[{\"index\":");
            write_u64(out, u64::from(index));
            out.raw(b",\"function\":{\"arguments\":");
            out.raw(arguments);
            out.raw(b"}}]");
        });
    }

    /// The last chunk, `data: <error object>`; nothing follows.
    pub fn error<O: Out + ?Sized>(&mut self, out: &mut O, error: impl FnOnce(&mut O)) {
        out.raw(b"data: ");
        error(out);
        out.raw(b"\n\n");
        self.produced = true;
        self.closed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(out: Vec<u8>) -> String {
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn string_parts_join_into_one_string_or_give_way_to_none() {
        let mut out = Vec::new();
        let parts: [&[u8]; 2] = [b"a\\n", b"\\\"b"];
        write_joined(&mut out, b"\"k\":", parts.into_iter(), b"null");
        write_joined(&mut out, b"\"k\":", std::iter::empty(), b"null");
        assert_eq!(text(out), r#""k":"a\n\"b"null"#);
    }

    #[test]
    fn a_completion_without_calls_has_no_tool_calls_member() {
        let mut out = Vec::new();
        write_completion_head(&mut out, None, Some(b"\"m\""));
        write_joined(&mut out, b"", std::iter::empty(), b"null");
        write_tool_calls(&mut out, std::iter::empty::<()>(), |_, ()| {});
        write_completion_end(&mut out, "stop", |out| out.raw(b"{}"));
        assert_eq!(
            text(out),
            r#"{"id":"","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null},"logprobs":null,"finish_reason":"stop"}],"usage":{}}"#
        );
    }

    #[test]
    fn tool_call_blocks_are_numbered_in_order_up_to_the_cap() {
        let mut calls = ToolCallIndex::default();
        assert_eq!(calls.open(Some(4), 2), Some(0));
        assert_eq!(calls.open(None, 2), None);
        assert_eq!(calls.open(Some(9), 2), Some(1));
        assert_eq!(calls.open(Some(10), 2), None);
        assert_eq!((calls.of(Some(9)), calls.of(Some(10))), (Some(1), None));
    }

    #[test]
    fn a_tool_call_without_id_or_name_gets_empty_strings() {
        let mut out = Vec::new();
        write_tool_call(&mut out, None, None, Some(b"\"f\""), |out| {
            out.raw(b"\"{}\"")
        });
        assert_eq!(
            text(out),
            r#"{"id":"","type":"function","function":{"name":"f","arguments":"{}"}}"#
        );
        let mut out = Vec::new();
        write_tool_call(&mut out, Some(2), Some(b"\"c\""), None, |out| {
            out.raw(b"\"\"")
        });
        assert_eq!(
            text(out),
            r#"{"index":2,"id":"c","type":"function","function":{"name":"","arguments":""}}"#
        );
    }

    #[test]
    fn the_finish_chunk_is_written_once() {
        let mut chunks = ChunkWriter::new("\"c\"".into(), "\"m\"".into());
        let mut out = Vec::new();
        chunks.start(&mut out);
        chunks.finish(&mut out, "tool_calls");
        chunks.close(&mut out, |out| out.raw(b"{}"));
        let out = text(out);
        assert_eq!(out.matches("\"finish_reason\":\"").count(), 1);
        assert!(out.contains("\"finish_reason\":\"tool_calls\""));
    }

    #[test]
    fn a_stream_never_started_closes_with_nothing() {
        let mut chunks = ChunkWriter::default();
        let mut out = Vec::new();
        chunks.close(&mut out, |out| out.raw(b"{}"));
        assert!(out.is_empty());
        assert!(!chunks.produced() && !chunks.closed());
    }

    #[test]
    fn an_error_chunk_ends_the_stream() {
        let mut chunks = ChunkWriter::default();
        let mut out = Vec::new();
        chunks.error(&mut out, |out| out.raw(br#"{"error":{}}"#));
        assert_eq!(text(out), "data: {\"error\":{}}\n\n");
        assert!(chunks.produced() && chunks.closed());
    }

    #[test]
    fn chunks_of_other_choices_carry_their_index() {
        let mut chunks = ChunkWriter::new("\"c\"".into(), "\"m\"".into());
        let mut out = Vec::new();
        chunks.chunk(&mut out, 3, Some("stop"), |_| {});
        assert_eq!(
            text(out),
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"m\",\
             \"choices\":[{\"index\":3,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n"
        );
    }

    #[test]
    fn the_usage_chunk_is_left_out_when_there_is_none() {
        let mut chunks = ChunkWriter::default();
        let mut out = Vec::new();
        chunks.end(&mut out, None::<fn(&mut Vec<u8>)>);
        assert_eq!(text(out), "data: [DONE]\n\n");
        assert!(chunks.closed());
    }
}
