//! OpenAI chat responses → Anthropic Messages responses: the non-streaming
//! body and the streaming state machine (`chat.completion.chunk` events in,
//! `message_start` … `message_stop` events out).

mod mapping;
mod shapes;
mod stream;

use ai_proxy_core::json::Raw;
use ai_proxy_core::json::write::{Out, write_minified, write_str};
use ai_proxy_core::translate::{ResponseTranslator, TranslateError};
use bytes::BytesMut;
use http::StatusCode;

use self::mapping::{AnthropicUsage, finish_reason, reasoning, stop_reason, write_error};
use self::shapes::Response;
use self::stream::StreamState;
use crate::tool_names::ToolNameMap;

pub use self::stream::MAX_STREAM_TOOL_CALLS;

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
        if let Some(error) = res.error.filter(|e| !e.is_null()) {
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
            out.raw(id.bytes());
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
                out.raw(m.bytes());
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
                out.raw(r.bytes());
                out.raw(b",\"signature\":\"\"}");
            }
            if let Some(text) = msg.content.and_then(Raw::non_empty_string) {
                sep(out);
                out.raw(b"{\"type\":\"text\",\"text\":");
                out.raw(text.bytes());
                out.raw(b"}");
            }
            for call in msg.tool_calls.iter().flatten() {
                sep(out);
                out.raw(b"{\"type\":\"tool_use\",\"id\":");
                match call.id.filter(|i| i.is_string()) {
                    Some(id) => out.raw(id.bytes()),
                    None => out.raw(b"\"\""),
                }
                out.raw(b",\"name\":");
                write_str(out, self.restored(&call.name()));
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
fn write_arguments(out: &mut BytesMut, arguments: Option<Raw<'_>>) {
    let decoded = arguments.and_then(Raw::str);
    let valid = decoded
        .as_deref()
        .and_then(|s| serde_json::from_str::<&serde_json::value::RawValue>(s).ok());
    match valid {
        Some(v) => write_minified(out, v.get().as_bytes(), false),
        None => out.raw(b"{}"),
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
