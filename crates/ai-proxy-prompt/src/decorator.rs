//! `ai-prompt-decorator`: configured messages put before and after the
//! client's (`apisix/plugins/ai-prompt-decorator.lua` and each protocol's
//! `prepend_messages` / `append_messages` in `ai-protocols/`).
//!
//! Per client protocol:
//! - OpenAI chat (and a body `{}` of no protocol, APISIX's fallback):
//!   `messages` gets `{"role", "content"}` objects at its start and end.
//! - Anthropic Messages (and Anthropic on Bedrock `InvokeModel`): `user` /
//!   `assistant` messages go into `messages`; **`system` ones into the
//!   top-level `system`**, as `{"type": "text", "text"}` blocks around the
//!   client's (a string `system` becomes the block between them). APISIX
//!   master puts them into `messages` with role `system`, which Anthropic's
//!   API rejects; this is a deliberate difference.
//! - Bedrock Converse: `system` blocks `{"text"}` (a `system` that is not
//!   an array is replaced, as APISIX does) and messages with
//!   `[{"text"}]` content.
//! - OpenAI Responses: prepended contents, joined by `\n`, go ahead of
//!   `instructions`; appended ones after a string `input`, or as one more
//!   `user` message item of an array `input`.
//! - Embeddings, Gemini, passthrough: unchanged (APISIX does nothing
//!   there either).
//!
//! Only the members it changes are written; every other byte of the body
//! is copied as it came (APISIX re-encodes the whole body: key order,
//! number forms and `\/` escapes change there, not here).

use ai_proxy_core::Protocol;
use ai_proxy_core::config::{ConfigErrors, PromptDecoratorConfig, PromptMessage, PromptRole};
use ai_proxy_core::json::write::write_str;
use ai_proxy_core::prepare::ClientBodyLayout;
use bytes::Bytes;
use http::Request;
use http::request::Parts;
use serde_json::Value;

use crate::body::{ClientBody, Top, replaced_body};
use crate::error::PromptError;
use crate::splice::{Layout, Splice, array};

/// Comma-separated JSON elements to put at the start and at the end of a
/// list (either may be empty).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Around {
    before: Vec<u8>,
    after: Vec<u8>,
}

impl Around {
    fn is_empty(&self) -> bool {
        self.before.is_empty() && self.after.is_empty()
    }

    /// `elements(message)` for each message `keep` selects.
    fn of(
        config: &PromptDecoratorConfig,
        keep: impl Fn(&PromptMessage) -> bool,
        element: impl Fn(&mut Vec<u8>, &PromptMessage),
    ) -> Self {
        let list = |messages: &[PromptMessage]| {
            let mut out = Vec::new();
            for m in messages.iter().filter(|m| keep(m)) {
                if !out.is_empty() {
                    out.push(b',');
                }
                element(&mut out, m);
            }
            out
        };
        Around {
            before: list(&config.prepend),
            after: list(&config.append),
        }
    }
}

/// A compiled `ai-prompt-decorator`: the configured messages encoded once
/// for each protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptDecorator {
    max_req_body_size: u64,
    chat: Around,
    anthropic_messages: Around,
    anthropic_system: Around,
    converse_messages: Around,
    converse_system: Around,
    /// Prepended and appended contents joined by `\n`, escaped.
    responses: (Option<Vec<u8>>, Option<Vec<u8>>),
}

impl PromptDecorator {
    /// Validates and compiles an `ai-prompt-decorator` plugin object.
    pub fn from_value(value: &Value) -> Result<Self, ConfigErrors> {
        Ok(Self::compile(&PromptDecoratorConfig::from_value(value)?))
    }

    /// Compiles a validated config.
    pub fn compile(config: &PromptDecoratorConfig) -> Self {
        let system = |m: &PromptMessage| m.role == PromptRole::System;
        let not_system = |m: &PromptMessage| m.role != PromptRole::System;
        let joined = |messages: &[PromptMessage]| {
            (!messages.is_empty()).then(|| {
                let text: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
                escaped(&text.join("\n"))
            })
        };
        Self {
            max_req_body_size: config.max_req_body_size,
            chat: Around::of(config, |_| true, role_content),
            anthropic_messages: Around::of(config, not_system, role_content),
            anthropic_system: Around::of(config, system, |out, m| {
                out.extend_from_slice(br#"{"type":"text","text":"#);
                write_str(out, &m.content);
                out.push(b'}');
            }),
            converse_messages: Around::of(config, not_system, |out, m| {
                out.extend_from_slice(br#"{"role":""#);
                out.extend_from_slice(m.role.as_str().as_bytes());
                out.extend_from_slice(br#"","content":[{"text":"#);
                write_str(out, &m.content);
                out.extend_from_slice(b"}]}");
            }),
            converse_system: Around::of(config, system, |out, m| {
                out.extend_from_slice(br#"{"text":"#);
                write_str(out, &m.content);
                out.push(b'}');
            }),
            responses: (joined(&config.prepend), joined(&config.append)),
        }
    }

    /// The body of a request to `path` with the messages put in; `body`
    /// itself (not copied) when its protocol is not decorated.
    pub fn apply(&self, path: &str, body: Bytes) -> Result<Bytes, PromptError> {
        self.decorate(path, body).map(|(body, _)| body)
    }

    /// [`apply`](Self::apply) to a whole client request: its path, its body
    /// replaced, its `Content-Length` (when it has one) updated, and where
    /// the decorated body's members are put in its extensions for
    /// `prepare` (a [`ClientBodyLayout`]), which then does not parse the
    /// body again.
    pub fn apply_request(&self, request: Request<Bytes>) -> Result<Request<Bytes>, PromptError> {
        let (mut parts, mut body) = request.into_parts();
        self.apply_parts(&mut parts, &mut body)?;
        Ok(Request::from_parts(parts, body))
    }

    /// [`apply_request`](Self::apply_request) in place, for a runtime that
    /// holds a request as its head and body (a gateway's plugin phase):
    /// `body` replaced, `Content-Length` kept true, the layout put in
    /// `parts.extensions`. Both are left as they were on an error.
    pub fn apply_parts(&self, parts: &mut Parts, body: &mut Bytes) -> Result<(), PromptError> {
        let (decorated, members) = self.decorate(parts.uri.path(), body.clone())?;
        let layout = members.map(|m| ClientBodyLayout::new(decorated.clone(), m));
        replaced_body(parts, &decorated, layout);
        *body = decorated;
        Ok(())
    }

    /// The decorated body, and where its top-level members are when it
    /// was rewritten.
    pub(crate) fn decorate(
        &self,
        path: &str,
        body: Bytes,
    ) -> Result<(Bytes, Option<Layout>), PromptError> {
        let read = ClientBody::read(&body, self.max_req_body_size)?;
        let mut splice = Splice::new(&read);
        match read.protocol(path) {
            Some(Protocol::OpenAiChat) => messages(&mut splice, &read, &self.chat)?,
            // APISIX's fallback for a body of no protocol (`{}`).
            None if matches!(read.top, Top::Object { .. }) => {
                messages(&mut splice, &read, &self.chat)?;
            }
            Some(Protocol::AnthropicMessages | Protocol::BedrockInvoke) => {
                self.anthropic_system(&mut splice, &read)?;
                messages(&mut splice, &read, &self.anthropic_messages)?;
            }
            Some(Protocol::BedrockConverse) => {
                self.converse_system(&mut splice, &read);
                messages(&mut splice, &read, &self.converse_messages)?;
            }
            Some(Protocol::OpenAiResponses) => self.responses(&mut splice, &read),
            _ => {}
        }
        if splice.is_empty() {
            return Ok((body, None));
        }
        let (out, members) = splice.finish();
        Ok((Bytes::from(out), members))
    }

    /// Anthropic's `system`: blocks around the client's.
    fn anthropic_system(
        &self,
        splice: &mut Splice<'_, '_>,
        read: &ClientBody<'_>,
    ) -> Result<(), PromptError> {
        let ours = &self.anthropic_system;
        if ours.is_empty() {
            return Ok(());
        }
        match read.member("system") {
            None => splice.set("system", array(&ours.before, &ours.after)),
            Some(m) if m.value.is_null() => splice.set("system", array(&ours.before, &ours.after)),
            Some(m) if m.value.is_array() => splice.around(m, &ours.before, &ours.after),
            Some(m) if m.value.is_string() => {
                // `"…"` becomes `[ours…,{"type":"text","text":"…"},ours…]`.
                let mut head = Vec::with_capacity(ours.before.len() + 24);
                head.push(b'[');
                head.extend_from_slice(&ours.before);
                if !ours.before.is_empty() {
                    head.push(b',');
                }
                head.extend_from_slice(br#"{"type":"text","text":"#);
                splice.insert(m.start, head);
                let mut tail = Vec::with_capacity(ours.after.len() + 3);
                tail.push(b'}');
                if !ours.after.is_empty() {
                    tail.push(b',');
                    tail.extend_from_slice(&ours.after);
                }
                tail.push(b']');
                splice.insert(m.end(), tail);
            }
            Some(_) => {
                return Err(PromptError::Unchangeable {
                    what: "system must be a string or an array of content blocks for \
                           ai-prompt-decorator to add its system messages"
                        .to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Bedrock Converse's `system`: blocks around the client's list (a
    /// `system` that is no list is replaced, as APISIX does).
    fn converse_system(&self, splice: &mut Splice<'_, '_>, read: &ClientBody<'_>) {
        let ours = &self.converse_system;
        if ours.is_empty() {
            return;
        }
        match read.member("system").filter(|m| m.value.is_array()) {
            Some(m) => splice.around(m, &ours.before, &ours.after),
            None => splice.set("system", array(&ours.before, &ours.after)),
        }
    }

    /// The Responses API: `instructions` and `input`.
    fn responses(&self, splice: &mut Splice<'_, '_>, read: &ClientBody<'_>) {
        if let Some(before) = &self.responses.0 {
            match read.member("instructions").filter(|m| m.value.is_string()) {
                // `"…"` becomes `"ours\n…"`.
                Some(m) => {
                    let mut head = Vec::with_capacity(before.len() + 2);
                    head.extend_from_slice(before);
                    head.extend_from_slice(b"\\n");
                    splice.insert(m.start + 1, head);
                }
                None => splice.set("instructions", [b"\"", before.as_slice(), b"\""].concat()),
            }
        }
        if let Some(after) = &self.responses.1 {
            match read.member("input") {
                // `"…"` becomes `"…\nours"`.
                Some(m) if m.value.is_string() => {
                    let mut tail = Vec::with_capacity(after.len() + 2);
                    tail.extend_from_slice(b"\\n");
                    tail.extend_from_slice(after);
                    splice.insert(m.end().saturating_sub(1), tail);
                }
                Some(m) if m.value.is_array() => {
                    let mut item = br#"{"type":"message","role":"user","content":""#.to_vec();
                    item.extend_from_slice(after);
                    item.extend_from_slice(b"\"}");
                    splice.around(m, b"", &item);
                }
                _ => splice.set("input", [b"\"", after.as_slice(), b"\""].concat()),
            }
        }
    }
}

/// `messages`: the list around the client's, or a new one.
fn messages(
    splice: &mut Splice<'_, '_>,
    read: &ClientBody<'_>,
    ours: &Around,
) -> Result<(), PromptError> {
    if ours.is_empty() {
        return Ok(());
    }
    match read.member("messages") {
        None => splice.set("messages", array(&ours.before, &ours.after)),
        Some(m) if m.value.is_null() => splice.set("messages", array(&ours.before, &ours.after)),
        Some(m) if m.value.is_array() => splice.around(m, &ours.before, &ours.after),
        Some(_) => {
            return Err(PromptError::Unchangeable {
                what: "messages must be an array for ai-prompt-decorator to add its messages"
                    .to_owned(),
            });
        }
    }
    Ok(())
}

/// `{"role":…,"content":…}`.
fn role_content(out: &mut Vec<u8>, m: &PromptMessage) {
    out.extend_from_slice(br#"{"role":""#);
    out.extend_from_slice(m.role.as_str().as_bytes());
    out.extend_from_slice(br#"","content":"#);
    write_str(out, &m.content);
    out.push(b'}');
}

/// A string's JSON escaped contents (no quotes).
fn escaped(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    write_str(&mut out, text);
    out.get(1..out.len().saturating_sub(1))
        .unwrap_or_default()
        .to_vec()
}
