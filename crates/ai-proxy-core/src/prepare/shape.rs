//! Body shaping in APISIX order: options, `max_tokens`, the `request_body`
//! patch, stream-usage injection, model removal; and what the final body
//! says for logs and metrics.

use std::borrow::Cow;

use bytes::Bytes;
use http::Uri;
use serde_json::value::RawValue;

use super::AiProxy;
use super::body::{self, Body, TOOLS};
use super::error::PrepareError;
use crate::adapter::MaxTokensMapping;
use crate::json::object::{RawObject, array_len, is_object};
use crate::protocol::Protocol;

impl AiProxy {
    /// Applies options, `max_tokens`, the `request_body` patch, usage
    /// injection and model removal; returns the bytes to send (the source
    /// itself when nothing changed) and what the final body says.
    pub(super) fn shape<'a>(
        &'a self,
        parsed: Body<'a>,
        source: &Bytes,
        target: Protocol,
        uri: &Uri,
    ) -> Result<(Bytes, BodyFacts), PrepareError> {
        let Body::Object(mut obj) = parsed else {
            // Arrays have no top-level fields to shape.
            return Ok((source.clone(), BodyFacts::default()));
        };
        if target == Protocol::BedrockConverse {
            // APISIX's bedrock-converse `prepare_outgoing_request`: the
            // path says whether it streams.
            obj.remove("stream");
        }
        if let Some((_, patch)) = self.options_patches.iter().find(|(p, _)| *p == target) {
            body::deep_merge(&mut obj, patch, true);
        } else {
            for (key, value) in &self.options.fields {
                obj.set_raw(key, value);
            }
            match (&self.max_tokens, self.adapter.max_tokens_mapping(target)) {
                (Some(n), MaxTokensMapping::Set { field, remove }) => {
                    obj.set(field, n.as_str());
                    for r in remove {
                        obj.remove(r);
                    }
                }
                (Some(n), MaxTokensMapping::SetIn { object, field }) => {
                    set_in(&mut obj, object, field, n);
                }
                _ => {}
            }
        }
        if let Some((_, patch)) = self.request_body.iter().find(|(p, _)| *p == target) {
            body::deep_merge(&mut obj, patch, self.force_override);
        }
        if self.inject_stream_usage
            && target == Protocol::OpenAiChat
            && obj.get("stream") == Some("true")
            && self.adapter.accepts_stream_options(uri)
        {
            include_usage(&mut obj);
        }
        if self.adapter.removes_model() {
            obj.remove("model");
        }
        let facts = self.facts(&obj, target);
        let bytes = if obj.is_changed() {
            // Exact capacity: `Bytes::from` a full Vec takes it without
            // another allocation.
            let mut out = Vec::with_capacity(obj.text_len());
            obj.write(&mut out);
            Bytes::from(out)
        } else {
            source.clone()
        };
        Ok((bytes, facts))
    }

    pub(super) fn facts(&self, obj: &RawObject<'_>, target: Protocol) -> BodyFacts {
        let tool_count = match target {
            // `tools: [{functionDeclarations: [...]}, {googleSearch: {}}]`.
            Protocol::Gemini => obj.get(TOOLS).map_or(0, body::gemini_tool_count),
            // Converse declares tools in `toolConfig.tools`.
            Protocol::BedrockConverse => obj
                .get("toolConfig")
                .filter(|c| is_object(c))
                .and_then(|c| RawObject::parse_str(c).ok())
                .and_then(|c| c.get(TOOLS).map(array_len))
                .unwrap_or(0),
            // Counted while the body was validated, or by the converter.
            _ => obj
                .counted(TOOLS)
                .unwrap_or_else(|| obj.get(TOOLS).map_or(0, array_len)),
        };
        let end_user_id = match target {
            Protocol::AnthropicMessages => obj
                .get("metadata")
                .filter(|m| is_object(m))
                .and_then(|m| RawObject::parse_str(m).ok())
                .and_then(|m| m.get_str("user_id").map(|u| u.into_owned())),
            Protocol::OpenAiChat | Protocol::OpenAiResponses => obj
                .get_str("safety_identifier")
                .or_else(|| obj.get_str("user"))
                .map(|u| u.into_owned()),
            _ => None,
        };
        let messages_key = match target {
            Protocol::OpenAiChat
            | Protocol::AnthropicMessages
            | Protocol::BedrockConverse
            | Protocol::BedrockInvoke => Some("messages"),
            Protocol::OpenAiEmbeddings | Protocol::OpenAiResponses => Some("input"),
            Protocol::Gemini => Some("contents"),
            _ => None,
        };
        let request_messages = messages_key
            .filter(|_| self.logging.payloads)
            .and_then(|k| obj.get(k))
            .and_then(|text| RawValue::from_string(text.to_owned()).ok());
        BodyFacts {
            tool_count,
            end_user_id,
            request_messages,
        }
    }
}

/// What the final upstream body says, for logs and metrics.
#[derive(Debug, Default)]
pub(super) struct BodyFacts {
    pub(super) tool_count: usize,
    pub(super) end_user_id: Option<String>,
    pub(super) request_messages: Option<Box<RawValue>>,
}

/// Sets `object.field = n`, keeping the object's other members; an absent
/// (or non-object) `object` becomes `{"field": n}`.
fn set_in(obj: &mut RawObject<'_>, object: &'static str, field: &str, n: &str) {
    let updated = obj
        .get(object)
        .filter(|current| is_object(current))
        .and_then(|current| RawObject::parse_str(current).ok())
        .map(|mut inner| {
            inner.set(field, n);
            inner.to_json()
        });
    let text = updated.unwrap_or_else(|| {
        let mut fresh = String::with_capacity(field.len() + n.len() + 5);
        fresh.push_str("{\"");
        fresh.push_str(field);
        fresh.push_str("\":");
        fresh.push_str(n);
        fresh.push('}');
        fresh
    });
    obj.set(object, Cow::<str>::Owned(text));
}

/// Sets `stream_options.include_usage = true`, keeping the client's other
/// `stream_options` keys (a non-object `stream_options` is replaced).
fn include_usage(obj: &mut RawObject<'_>) {
    const ONLY_USAGE: &str = r#"{"include_usage":true}"#;
    let updated = match obj.get("stream_options") {
        Some(current) if is_object(current) => match RawObject::parse_str(current) {
            Ok(mut options) => {
                options.set("include_usage", "true");
                options.is_changed().then(|| Cow::Owned(options.to_json()))
            }
            Err(_) => Some(Cow::Borrowed(ONLY_USAGE)),
        },
        _ => Some(Cow::Borrowed(ONLY_USAGE)),
    };
    if let Some(text) = updated {
        obj.set("stream_options", text);
    }
}
