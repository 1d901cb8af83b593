//! [`GeminiToChat`]: the translator, and its streaming state machine.

use ai_proxy_core::translate::{ResponseTranslator, TranslateError};
use bytes::BytesMut;
use http::StatusCode;

use super::{
    Candidate, Chunk, MAX_CANDIDATES, Part, Tokens, final_reason, finish_reason, reported,
    write_call_id, write_error, write_function, write_signature,
};
use ai_proxy_core::json::chat::ChunkWriter;
use ai_proxy_core::json::raw::{is_string, string_inner};
use ai_proxy_core::json::write::{Out, write_raw, write_str, write_u64};

/// Most function calls one streamed candidate may make; later ones are
/// skipped and counted.
pub const MAX_STREAM_TOOL_CALLS: u32 = 1024;

/// One choice's progress through the stream.
#[derive(Clone, Copy, Debug)]
struct Choice {
    index: u32,
    /// The role was sent.
    started: bool,
    tool_calls: u32,
    /// The latest `finishReason`, mapped; sent at the end of the stream
    /// (Vertex repeats `finishReason` on every chunk of some streams, so
    /// content may follow the first one).
    finish: Option<&'static str>,
}

/// Turns Gemini responses (a `generateContent` body or a
/// `streamGenerateContent?alt=sse` stream) into OpenAI chat completions
/// for an OpenAI client. The mapping table is in the crate docs of
/// `response` (see [`OpenAiToGemini`](crate::OpenAiToGemini)).
///
/// Streaming calling contract: [`translate_event`](ResponseTranslator::translate_event)
/// once per decoded upstream SSE event, then [`finish`](ResponseTranslator::finish)
/// once. Output: per choice a first delta with `role`, one delta per
/// Gemini part (text as `content`, thoughts as `reasoning_content`, each
/// function call whole in one `tool_calls` delta), then at the end one
/// chunk per choice with its `finish_reason`, a usage chunk (`choices:
/// []`) when the client asked for `stream_options.include_usage`, and
/// `data: [DONE]` — or a `data: {"error":…}` chunk last when the upstream
/// reported an error. State is bounded: at most [`MAX_CANDIDATES`] choices
/// and [`MAX_STREAM_TOOL_CALLS`] calls per choice; malformed events are
/// skipped and counted.
///
/// ```
/// use ai_proxy_gemini::GeminiToChat;
/// use ai_proxy_core::translate::ResponseTranslator;
/// use bytes::BytesMut;
///
/// let mut t = GeminiToChat::new(true, Some("gemini-2.5-flash"));
/// let mut out = BytesMut::new();
/// t.translate_event("message", r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1,"totalTokenCount":4},"responseId":"r1"}"#, &mut out).unwrap();
/// t.finish(&mut out).unwrap();
/// let text = std::str::from_utf8(&out).unwrap();
/// assert!(text.contains(r#""delta":{"role":"assistant","content":"Hi"}"#));
/// assert!(text.contains(r#""finish_reason":"stop""#));
/// assert!(text.contains(r#""usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4"#));
/// assert!(text.ends_with("data: [DONE]\n\n"));
/// ```
#[derive(Debug)]
pub struct GeminiToChat {
    include_usage: bool,
    /// `$llm_model` as a JSON string token, for responses without
    /// `modelVersion`.
    fallback_model: String,
    /// The OpenAI side; `id` and `model` (raw JSON string tokens) are
    /// fixed by the first chunk.
    chunks: ChunkWriter,
    head_known: bool,
    /// The escaped contents of `responseId`, for generated call ids.
    response_id: String,
    choices: Vec<Choice>,
    tokens: Tokens,
    /// Calls given a generated id so far.
    generated_ids: u64,
    skipped: u64,
}

impl GeminiToChat {
    /// A translator for one response. `include_usage`: end the stream with
    /// a usage chunk (the client's `stream_options.include_usage`);
    /// `model`: the model named when the response names none (Vertex
    /// omits `modelVersion`).
    pub fn new(include_usage: bool, model: Option<&str>) -> Self {
        let mut fallback_model = Vec::new();
        write_str(&mut fallback_model, model.unwrap_or_default());
        Self {
            include_usage,
            fallback_model: String::from_utf8(fallback_model).unwrap_or_else(|_| "\"\"".into()),
            chunks: ChunkWriter::default(),
            head_known: false,
            response_id: String::new(),
            choices: Vec::new(),
            tokens: Tokens::default(),
            generated_ids: 0,
            skipped: 0,
        }
    }

    /// Upstream events skipped: not JSON chunks, candidates past
    /// [`MAX_CANDIDATES`], calls past [`MAX_STREAM_TOOL_CALLS`].
    pub fn skipped_events(&self) -> u64 {
        self.skipped
    }

    pub(super) fn fallback_model(&self) -> &str {
        &self.fallback_model
    }

    /// Fixes `id` and `model` from the first chunk.
    fn head(&mut self, chunk: &Chunk<'_>) {
        if self.head_known {
            return;
        }
        self.head_known = true;
        let id = chunk.response_id.filter(|r| is_string(r));
        self.response_id = id.map(|r| string_inner(r).to_owned()).unwrap_or_default();
        self.chunks.set_envelope(
            id.map_or_else(|| "\"\"".to_owned(), |r| r.get().to_owned()),
            chunk
                .model_version
                .filter(|m| is_string(m) && m.get() != "\"\"")
                .map_or_else(|| self.fallback_model.clone(), |m| m.get().to_owned()),
        );
    }

    /// The choice for candidate `index`, added on first sight; `None` past
    /// [`MAX_CANDIDATES`].
    fn choice(&mut self, index: u64) -> Option<usize> {
        let index = u32::try_from(index).ok()?;
        if let Some(at) = self.choices.iter().position(|c| c.index == index) {
            return Some(at);
        }
        if self.choices.len() >= MAX_CANDIDATES {
            return None;
        }
        self.choices.push(Choice {
            index,
            started: false,
            tool_calls: 0,
            finish: None,
        });
        Some(self.choices.len() - 1)
    }

    /// One chunk for choice `at` with `delta` = `{[role,] <members>}` and
    /// `finish_reason` (`null` while streaming).
    fn chunk(
        &mut self,
        out: &mut BytesMut,
        at: usize,
        finish: Option<&str>,
        // Writes the delta's members; told whether `role` came first.
        members: impl FnOnce(&mut BytesMut, bool),
    ) {
        let Some(choice) = self.choices.get_mut(at) else {
            return;
        };
        let (index, first) = (choice.index, !choice.started);
        choice.started = true;
        self.chunks.chunk(out, index, finish, |out| {
            if first {
                out.raw(b"\"role\":\"assistant\"");
            }
            members(out, first);
        });
    }

    fn event(&mut self, out: &mut BytesMut, data: &str) {
        if self.chunks.closed() {
            return;
        }
        let data = data.trim_ascii();
        if data.is_empty() {
            return;
        }
        let Ok(chunk) = serde_json::from_str::<Chunk<'_>>(data) else {
            self.skipped += 1;
            return;
        };
        self.head(&chunk);
        if let Some(error) = chunk.error.filter(|e| e.get() != "null") {
            self.chunks.error(out, |out| write_error(out, error));
            return;
        }
        if let Some(usage) = &chunk.usage_metadata {
            self.tokens.merge(usage);
        }
        let candidates = chunk.candidates.as_deref().unwrap_or_default();
        if candidates.is_empty() && chunk.prompt_feedback.as_ref().is_some_and(|f| f.blocked()) {
            if let Some(at) = self.choice(0)
                && let Some(choice) = self.choices.get_mut(at)
            {
                choice.finish = Some("content_filter");
            }
            return;
        }
        for (position, candidate) in candidates.iter().enumerate() {
            self.candidate(out, position, candidate);
        }
    }

    fn candidate(&mut self, out: &mut BytesMut, position: usize, candidate: &Candidate<'_>) {
        let index = candidate.index.unwrap_or(position as u64);
        let Some(at) = self.choice(index) else {
            self.skipped += 1;
            return;
        };
        for part in candidate.parts() {
            self.part(out, at, part);
        }
        if let Some(reason) = reported(candidate.finish_reason)
            && let Some(choice) = self.choices.get_mut(at)
        {
            choice.finish = Some(finish_reason(reason));
        }
    }

    fn part(&mut self, out: &mut BytesMut, at: usize, part: &Part<'_>) {
        if let Some(call) = &part.function_call {
            let Some(n) = self.choices.get(at).map(|c| c.tool_calls) else {
                return;
            };
            if n >= MAX_STREAM_TOOL_CALLS {
                self.skipped += 1;
                return;
            }
            if let Some(choice) = self.choices.get_mut(at) {
                choice.tool_calls += 1;
            }
            let generated = self.generated_ids;
            if call.id.is_none_or(|i| !super::non_empty(i)) {
                self.generated_ids += 1;
            }
            let response_id = std::mem::take(&mut self.response_id);
            self.chunk(out, at, None, |out, first| {
                if first {
                    // After the role, as OpenAI starts a tool-call turn.
                    out.raw(b",\"content\":null,");
                }
                out.raw(b"\"tool_calls\":[{\"index\":");
                write_u64(out, u64::from(n));
                out.raw(b",\"id\":");
                write_call_id(out, call.id, &response_id, generated);
                out.raw(b",");
                write_function(out, call);
                if let Some(sig) = part.signature() {
                    out.raw(b",");
                    write_signature(out, sig);
                }
                out.raw(b"}]");
            });
            self.response_id = response_id;
            return;
        }
        let text = part.text();
        let signature = part.signature();
        if text.is_none() && signature.is_none() {
            // Empty text, or a part with no OpenAI field.
            return;
        }
        let field: &[u8] = if part.is_thought() {
            b"\"reasoning_content\":"
        } else {
            b"\"content\":"
        };
        self.chunk(out, at, None, |out, first| {
            // Only the role can precede.
            let mut comma = first;
            if let Some(t) = text {
                if comma {
                    out.raw(b",");
                }
                out.raw(field);
                write_raw(out, t);
                comma = true;
            }
            if let Some(sig) = signature {
                if comma {
                    out.raw(b",");
                }
                write_signature(out, sig);
            }
        });
    }

    /// Finish chunks, the usage chunk (if asked for) and `[DONE]`.
    fn close(&mut self, out: &mut BytesMut) {
        if self.chunks.closed() || self.choices.is_empty() {
            return;
        }
        self.choices.sort_by_key(|c| c.index);
        for at in 0..self.choices.len() {
            let Some(choice) = self.choices.get(at) else {
                break;
            };
            let reason = final_reason(choice.finish, choice.tool_calls > 0);
            self.chunk(out, at, Some(reason), |_, _| {});
        }
        let usage = |out: &mut BytesMut| self.tokens.write(out);
        self.chunks.end(out, self.include_usage.then_some(usage));
    }
}

impl ResponseTranslator for GeminiToChat {
    fn translate_body(
        &mut self,
        status: StatusCode,
        body: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        // The status is kept by the exchange; error bodies are recognised
        // by their `error` member.
        let _ = status;
        super::body::write_completion(self.fallback_model(), body, out)
    }

    fn translate_event(
        &mut self,
        event: &str,
        data: &str,
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        // Gemini streams are unnamed; the JSON says everything.
        let _ = event;
        self.event(out, data);
        Ok(())
    }

    fn finish(&mut self, out: &mut BytesMut) -> Result<(), TranslateError> {
        // A stream cut before its last chunk still ends in a well-formed
        // OpenAI stream.
        self.close(out);
        if self.chunks.produced() {
            Ok(())
        } else {
            Err(TranslateError::EmptyStream)
        }
    }
}
