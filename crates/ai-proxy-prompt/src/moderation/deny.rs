//! Refusals shaped as a normal answer in the client's protocol, so client
//! SDKs parse them: APISIX's `build_deny_response` of each
//! `ai-protocols/*.lua`, with zero usage.

use ai_proxy_core::Protocol;
use ai_proxy_core::json::write::write_str;
use bytes::Bytes;
use http::StatusCode;

use super::{Denial, ModerationRequest};

const DEFAULT_ID: &str = "moderation-denied";

/// See [`ModerationRequest::denial`].
pub(super) fn denial(request: &ModerationRequest<'_>, status: StatusCode, text: &str) -> Denial {
    let id = request.id.unwrap_or(DEFAULT_ID);
    let model = request.model;
    let stream = request.stream;
    let mut out = Vec::with_capacity(256 + text.len());
    let content_type = match request.protocol {
        Protocol::OpenAiChat if stream => {
            out.extend_from_slice(b"data: ");
            chat_object(&mut out, id, model, text, "chat.completion.chunk", "delta");
            // APISIX sends no blank line after the last event.
            out.extend_from_slice(b"\n\ndata: [DONE]");
            "text/event-stream"
        }
        Protocol::OpenAiChat => {
            chat_object(&mut out, id, model, text, "chat.completion", "message");
            "application/json"
        }
        Protocol::AnthropicMessages | Protocol::BedrockInvoke if stream => {
            anthropic_stream(&mut out, id, model, text);
            "text/event-stream"
        }
        Protocol::AnthropicMessages | Protocol::BedrockInvoke => {
            anthropic_message(&mut out, id, model, text);
            "application/json"
        }
        Protocol::OpenAiResponses => {
            let mut response = Vec::with_capacity(256 + text.len());
            responses_object(&mut response, id, model, text);
            if stream {
                out.extend_from_slice(
                    b"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":",
                );
                write_str(&mut out, text);
                out.extend_from_slice(
                    b"}\n\nevent: response.completed\ndata: {\"type\":\"response.completed\",\"response\":",
                );
                out.extend_from_slice(&response);
                out.extend_from_slice(b"}\n\n");
                "text/event-stream"
            } else {
                out = response;
                "application/json"
            }
        }
        Protocol::OpenAiEmbeddings => {
            out.extend_from_slice(b"{\"error\":{\"message\":");
            write_str(&mut out, text);
            out.extend_from_slice(b",\"type\":\"content_policy_violation\"}}");
            "application/json"
        }
        Protocol::BedrockConverse => {
            out.extend_from_slice(
                b"{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":",
            );
            write_str(&mut out, text);
            out.extend_from_slice(
                b"}]}},\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":0,\"outputTokens\":0,\"totalTokens\":0}}",
            );
            "application/json"
        }
        // Not an APISIX protocol: a generateContent answer.
        Protocol::Gemini => {
            if stream {
                out.extend_from_slice(b"data: ");
            }
            out.extend_from_slice(
                b"{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":",
            );
            write_str(&mut out, text);
            out.extend_from_slice(b"}]},\"finishReason\":\"STOP\",\"index\":0}]");
            if let Some(m) = model {
                out.extend_from_slice(b",\"modelVersion\":");
                write_str(&mut out, m);
            }
            out.push(b'}');
            if stream {
                out.extend_from_slice(b"\n\n");
                "text/event-stream"
            } else {
                "application/json"
            }
        }
        // Passthrough and anything else: APISIX's passthrough answers an
        // empty body; the text says more.
        _ => {
            out.extend_from_slice(text.as_bytes());
            "text/plain"
        }
    };
    Denial {
        status,
        content_type,
        body: Bytes::from(out),
        reason: text.to_owned(),
    }
}

/// `"model":…,` when the client named one (APISIX's cjson drops a nil).
fn model_member(out: &mut Vec<u8>, model: Option<&str>) {
    if let Some(m) = model {
        out.extend_from_slice(b"\"model\":");
        write_str(out, m);
        out.push(b',');
    }
}

fn chat_object(
    out: &mut Vec<u8>,
    id: &str,
    model: Option<&str>,
    text: &str,
    object: &str,
    field: &str,
) {
    out.extend_from_slice(b"{\"id\":");
    write_str(out, id);
    out.extend_from_slice(b",\"object\":\"");
    out.extend_from_slice(object.as_bytes());
    out.extend_from_slice(b"\",");
    model_member(out, model);
    out.extend_from_slice(b"\"choices\":[{\"index\":0,\"");
    out.extend_from_slice(field.as_bytes());
    out.extend_from_slice(b"\":{");
    if field == "message" {
        out.extend_from_slice(b"\"role\":\"assistant\",");
    }
    out.extend_from_slice(b"\"content\":");
    write_str(out, text);
    out.extend_from_slice(
        b"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0,\"total_tokens\":0}}",
    );
}

const ANTHROPIC_USAGE: &[u8] = b"\"usage\":{\"input_tokens\":0,\"output_tokens\":0}";

fn anthropic_message(out: &mut Vec<u8>, id: &str, model: Option<&str>, text: &str) {
    out.extend_from_slice(b"{\"id\":");
    write_str(out, id);
    out.extend_from_slice(b",\"type\":\"message\",\"role\":\"assistant\",");
    model_member(out, model);
    out.extend_from_slice(b"\"content\":[{\"type\":\"text\",\"text\":");
    write_str(out, text);
    out.extend_from_slice(b"}],\"stop_reason\":\"end_turn\",");
    out.extend_from_slice(ANTHROPIC_USAGE);
    out.push(b'}');
}

fn anthropic_stream(out: &mut Vec<u8>, id: &str, model: Option<&str>, text: &str) {
    out.extend_from_slice(
        b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":",
    );
    write_str(out, id);
    out.extend_from_slice(b",\"type\":\"message\",\"role\":\"assistant\",");
    model_member(out, model);
    out.extend_from_slice(b"\"content\":[],");
    out.extend_from_slice(ANTHROPIC_USAGE);
    out.extend_from_slice(
        b"}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
          event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":",
    );
    write_str(out, text);
    out.extend_from_slice(
        b"}}\n\nevent: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
          event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},",
    );
    out.extend_from_slice(ANTHROPIC_USAGE);
    out.extend_from_slice(b"}\n\nevent: message_stop\ndata: {}\n\n");
}

fn responses_object(out: &mut Vec<u8>, id: &str, model: Option<&str>, text: &str) {
    out.extend_from_slice(b"{\"id\":");
    write_str(out, id);
    out.extend_from_slice(b",\"object\":\"response\",\"status\":\"completed\",");
    model_member(out, model);
    out.extend_from_slice(
        b"\"output\":[{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":",
    );
    write_str(out, text);
    out.extend_from_slice(
        b"}]}],\"usage\":{\"input_tokens\":0,\"output_tokens\":0,\"total_tokens\":0}}",
    );
}
