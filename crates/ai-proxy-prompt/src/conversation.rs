//! The text of a client's conversation, per protocol, as APISIX's
//! `ai-protocols` reads it for the guard and moderation plugins
//! (`get_messages`, `extract_system_content`, `extract_turn_content` in
//! `apisix/plugins/ai-protocols/*.lua`).
//!
//! Texts are decoded (patterns and moderation see the text the model
//! sees); nothing else is.

use std::borrow::Cow;

use ai_proxy_core::Protocol;
use ai_proxy_core::json::scan::{Raw, SyntaxError as ScanError, elements, fields};

use crate::body::ClientBody;

/// One turn: a message (or a Responses API input item).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Turn<'a> {
    /// `role`, decoded; `None` when absent or not a string.
    pub role: Option<Cow<'a, str>>,
    /// A Responses API `function_call_output` item without a role.
    pub tool_output: bool,
    /// Its texts, in order (empty strings kept: they still make a message
    /// count as one with text, as in APISIX).
    pub texts: Vec<Cow<'a, str>>,
}

impl Turn<'_> {
    /// A turn of no role and no text (an element that is no object).
    fn empty() -> Self {
        Turn {
            role: None,
            tool_output: false,
            texts: Vec::new(),
        }
    }
}

/// A client's conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Conversation<'a> {
    /// The protocol it was read as.
    pub protocol: Option<Protocol>,
    /// Texts of the protocol's own system field (Anthropic's and Bedrock's
    /// `system`, the Responses API's `instructions`, Gemini's
    /// `systemInstruction`); system-role messages are turns.
    pub system: Vec<Cow<'a, str>>,
    /// The turns, in order.
    pub turns: Vec<Turn<'a>>,
}

impl<'a> Conversation<'a> {
    /// Reads the conversation of a `protocol` body; `None` for protocols
    /// with none (passthrough, Vertex `:predict`).
    pub fn read(body: &ClientBody<'a>, protocol: Protocol) -> Result<Option<Self>, ScanError> {
        let mut c = Conversation {
            protocol: Some(protocol),
            ..Conversation::default()
        };
        match protocol {
            Protocol::OpenAiChat => c.messages(body.get("messages"), typed_text_parts)?,
            Protocol::AnthropicMessages | Protocol::BedrockInvoke => {
                match body.get("system") {
                    Some(s) if s.is_string() => push_str(&mut c.system, s),
                    Some(s) if s.is_array() => typed_text_parts(s, &mut c.system)?,
                    _ => {}
                }
                c.messages(body.get("messages"), typed_text_parts)?;
            }
            Protocol::BedrockConverse => {
                if let Some(s) = body.get("system").filter(|s| s.is_array()) {
                    text_blocks(s, &mut c.system)?;
                }
                c.messages(body.get("messages"), |content, out| {
                    if content.is_array() {
                        text_blocks(content, out)?;
                    }
                    Ok(())
                })?;
            }
            Protocol::OpenAiResponses => {
                if let Some(i) = body.get("instructions").filter(|i| i.is_string()) {
                    push_str(&mut c.system, i);
                }
                c.responses_input(body.get("input"))?;
            }
            Protocol::OpenAiEmbeddings => c.embeddings_input(body.get("input"))?,
            Protocol::Gemini => c.gemini(body)?,
            _ => return Ok(None),
        }
        Ok(Some(c))
    }

    /// `messages[]`: `role` and the texts `content_texts` finds in
    /// `content`.
    fn messages(
        &mut self,
        messages: Option<Raw<'a>>,
        content_texts: impl Fn(Raw<'a>, &mut Vec<Cow<'a, str>>) -> Result<(), ScanError>,
    ) -> Result<(), ScanError> {
        let Some(messages) = messages.filter(|m| m.is_array()) else {
            return Ok(());
        };
        for message in elements(messages)? {
            if !message.is_object() {
                // Still a turn: it ends a block of selected roles.
                self.turns.push(Turn::empty());
                continue;
            }
            let [role, content] = fields(message, ["role", "content"])?;
            let mut texts = Vec::new();
            match content {
                Some(c) if c.is_string() => push_str(&mut texts, c),
                Some(c) => content_texts(c, &mut texts)?,
                None => {}
            }
            self.turns.push(Turn {
                role: role.and_then(Raw::str),
                tool_output: false,
                texts,
            });
        }
        Ok(())
    }

    /// The Responses API's `input`: a string (a user turn) or items.
    fn responses_input(&mut self, input: Option<Raw<'a>>) -> Result<(), ScanError> {
        let Some(input) = input else {
            return Ok(());
        };
        if input.is_string() {
            self.turns.push(user_text(input));
            return Ok(());
        }
        if !input.is_array() {
            return Ok(());
        }
        for item in elements(input)? {
            if item.is_string() {
                self.turns.push(user_text(item));
                continue;
            }
            if !item.is_object() {
                self.turns.push(Turn::empty());
                continue;
            }
            let [role, kind, content, text, output] =
                fields(item, ["role", "type", "content", "text", "output"])?;
            let mut texts = Vec::new();
            // APISIX's append_item_text: content first; only without it a
            // bare part's text or a tool result's output.
            match (content, text, output) {
                (Some(c), ..) if c.is_string() => push_str(&mut texts, c),
                (Some(c), ..) if c.is_array() => text_blocks(c, &mut texts)?,
                (Some(_), ..) => {}
                (None, Some(t), _) if t.is_string() => push_str(&mut texts, t),
                (None, _, Some(o)) if o.is_string() => push_str(&mut texts, o),
                (None, _, Some(o)) if o.is_array() => text_blocks(o, &mut texts)?,
                _ => {}
            }
            self.turns.push(Turn {
                role: role.and_then(Raw::str),
                tool_output: kind.is_some_and(|k| k.str_is("function_call_output")),
                texts,
            });
        }
        Ok(())
    }

    /// Embeddings' `input`: the user's text (a string, or strings).
    fn embeddings_input(&mut self, input: Option<Raw<'a>>) -> Result<(), ScanError> {
        match input {
            Some(i) if i.is_string() => self.turns.push(user_text(i)),
            Some(i) if i.is_array() => {
                let mut texts = Vec::new();
                for item in elements(i)?.into_iter().filter(|i| i.is_string()) {
                    push_str(&mut texts, item);
                }
                self.turns.push(Turn {
                    role: Some(Cow::Borrowed("user")),
                    tool_output: false,
                    texts,
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// Gemini's `contents[]` (`user` / `model` turns of `parts[].text`) and
    /// `systemInstruction.parts[].text`. Not an APISIX protocol (APISIX
    /// reads these bodies as passthrough); read so a guard or moderation
    /// on a native Gemini route is not bypassed.
    fn gemini(&mut self, body: &ClientBody<'a>) -> Result<(), ScanError> {
        let system = body
            .get("systemInstruction")
            .or_else(|| body.get("system_instruction"));
        if let Some(s) = system.filter(|s| s.is_object()) {
            let [parts] = fields(s, ["parts"])?;
            if let Some(p) = parts.filter(|p| p.is_array()) {
                text_blocks(p, &mut self.system)?;
            }
        }
        let Some(contents) = body.get("contents").filter(|c| c.is_array()) else {
            return Ok(());
        };
        for content in elements(contents)? {
            if !content.is_object() {
                self.turns.push(Turn::empty());
                continue;
            }
            let [role, parts] = fields(content, ["role", "parts"])?;
            let mut texts = Vec::new();
            if let Some(p) = parts.filter(|p| p.is_array()) {
                text_blocks(p, &mut texts)?;
            }
            let role = match role {
                Some(r) if r.str_is("model") => Some(Cow::Borrowed("assistant")),
                Some(r) => r.str(),
                None => Some(Cow::Borrowed("user")),
            };
            self.turns.push(Turn {
                role,
                tool_output: false,
                texts,
            });
        }
        Ok(())
    }
}

fn user_text(text: Raw<'_>) -> Turn<'_> {
    let mut texts = Vec::with_capacity(1);
    push_str(&mut texts, text);
    Turn {
        role: Some(Cow::Borrowed("user")),
        tool_output: false,
        texts,
    }
}

fn push_str<'a>(out: &mut Vec<Cow<'a, str>>, text: Raw<'a>) {
    if let Some(s) = text.str() {
        out.push(s);
    }
}

/// OpenAI chat parts and Anthropic blocks: `{"type": "text", "text": …}`.
fn typed_text_parts<'a>(parts: Raw<'a>, out: &mut Vec<Cow<'a, str>>) -> Result<(), ScanError> {
    if !parts.is_array() {
        return Ok(());
    }
    for part in elements(parts)?.into_iter().filter(|p| p.is_object()) {
        let [kind, text] = fields(part, ["type", "text"])?;
        if let (Some(k), Some(t)) = (kind, text)
            && k.str_is("text")
            && t.is_string()
        {
            push_str(out, t);
        }
    }
    Ok(())
}

/// Bedrock blocks, Responses API parts, Gemini parts: any element with a
/// string `text`.
fn text_blocks<'a>(blocks: Raw<'a>, out: &mut Vec<Cow<'a, str>>) -> Result<(), ScanError> {
    for block in elements(blocks)?.into_iter().filter(|b| b.is_object()) {
        let [text] = fields(block, ["text"])?;
        if let Some(t) = text.filter(|t| t.is_string()) {
            push_str(out, t);
        }
    }
    Ok(())
}
