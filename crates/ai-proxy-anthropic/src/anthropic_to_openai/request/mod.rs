//! Anthropic Messages request → OpenAI chat request, field by field as in
//! APISIX's `anthropic-messages-to-openai-chat` converter (whitelist: what
//! is not mapped here does not reach the upstream).
//!
//! One pass over the client's body: the scanner checks every byte once,
//! messages and tools are converted as it reaches them (blocks read in
//! place, text copied with its escapes as it is), the small members are
//! kept raw, and the output is assembled in APISIX's member order at the
//! end.

mod blocks;
mod compact;
mod messages;
mod options;
mod system;

use ai_proxy_core::adapter::{BodyLayout, ConvertError};
use ai_proxy_core::json::write::{ObjectWriter, fill_gap};
use ai_proxy_core::json::{Raw, Scanner, SyntaxError};
use bytes::Bytes;

use self::blocks::present;
use self::messages::Messages;
use self::options::{read_tools, reasoning_effort, write_response_format, write_tool_choice};
use self::system::System;
use crate::tool_names::ToolNameMap;

/// Why a conversion stopped: bad JSON, or a request APISIX refuses.
pub(super) enum Fail {
    Syntax(SyntaxError),
    Convert(ConvertError),
}

impl From<SyntaxError> for Fail {
    fn from(e: SyntaxError) -> Self {
        Fail::Syntax(e)
    }
}

/// The request members the mapping reads, as raw values (`null` reads as
/// absent), and the converted messages and tools.
#[derive(Default)]
struct Request<'a> {
    model: Option<Raw<'a>>,
    stream: Option<Raw<'a>>,
    /// `max_tokens`, `temperature` and `top_p` (see [`SAMPLING`]).
    sampling: [Option<Raw<'a>>; 3],
    stop_sequences: Option<Raw<'a>>,
    service_tier: Option<Raw<'a>>,
    /// `thinking`'s type and budget_tokens.
    thinking: Option<[Option<Raw<'a>>; 2]>,
    /// `output_config`'s effort and format.
    output_config: Option<[Option<Raw<'a>>; 2]>,
    /// `output_format`'s type and schema.
    output_format: Option<[Option<Raw<'a>>; 2]>,
    /// `metadata.user_id`.
    user_id: Option<Raw<'a>>,
    /// `tool_choice`'s type, name and disable_parallel_tool_use.
    tool_choice: Option<[Option<Raw<'a>>; 3]>,
    system: System<'a>,
    /// Whether `messages` is an array.
    has_messages: bool,
    messages: Messages<'a>,
    tools: Vec<u8>,
    tool_count: usize,
    names: ToolNameMap,
}

/// The OpenAI names of [`Request::sampling`]'s members, each copied when
/// truthy.
const SAMPLING: [&str; 3] = ["max_completion_tokens", "temperature", "top_p"];

/// Room in the gap for the head's keys and the members met after
/// `messages` (see [`Request::read`]).
const HEAD_ROOM: usize = 256;

/// The most reserved up front for the OpenAI tools (a long list regrows).
const TOOLS_RESERVE: usize = 64 * 1024;

/// An object member read in place (a non-object reads as absent).
fn object<'a, const N: usize>(
    s: &mut Scanner<'a>,
    keys: [&str; N],
) -> Result<Option<[Option<Raw<'a>>; N]>, SyntaxError> {
    Ok(s.fields_of_object(keys)?
        .map(|fields| fields.map(|v| v.and_then(present))))
}

impl<'a> Request<'a> {
    /// The single pass over the body.
    fn read(&mut self, body: &'a [u8]) -> Result<(), Fail> {
        let mut s = Scanner::new(body);
        s.object(|key, s| {
            let slot = match &*key.name() {
                b"messages" if s.peek() == Some(b'[') => {
                    // The head (the members before `messages` in the
                    // output, and the system message) is about as long as
                    // what precedes the messages here, plus room for the
                    // usual members that follow them (`stream`,
                    // `temperature`, `tool_choice`): written into that gap
                    // at the end. A longer head (a `system` after the
                    // messages) moves the messages once instead.
                    self.messages.reset(s.offset() + HEAD_ROOM);
                    self.has_messages = true;
                    return s.array(|s| self.messages.message(s));
                }
                b"messages" => {
                    self.has_messages = false;
                    return Ok(s.skip()?);
                }
                b"tools" if s.peek() == Some(b'[') => {
                    self.tools.clear();
                    // The tools take at most the rest of the body, plus a
                    // wrapper per tool: one allocation for the usual list
                    // instead of a dozen regrowths.
                    let rest = s.text().len().saturating_sub(s.offset());
                    self.tools.reserve((rest + rest / 8).min(TOOLS_RESERVE));
                    self.names = ToolNameMap::new();
                    self.tool_count = read_tools(s, &mut self.tools, &mut self.names)?;
                    return Ok(());
                }
                b"tools" => {
                    self.tool_count = 0;
                    return Ok(s.skip()?);
                }
                b"system" => {
                    self.system = System::read(s)?;
                    return Ok(());
                }
                b"thinking" => {
                    self.thinking = object(s, ["type", "budget_tokens"])?;
                    return Ok(());
                }
                b"output_config" => {
                    self.output_config = object(s, ["effort", "format"])?;
                    return Ok(());
                }
                b"output_format" => {
                    self.output_format = object(s, ["type", "schema"])?;
                    return Ok(());
                }
                b"metadata" => {
                    self.user_id = object(s, ["user_id"])?.and_then(|[u]| u);
                    return Ok(());
                }
                b"tool_choice" => {
                    self.tool_choice = object(s, ["type", "name", "disable_parallel_tool_use"])?;
                    return Ok(());
                }
                b"model" => &mut self.model,
                b"stream" => &mut self.stream,
                b"max_tokens" => &mut self.sampling[0],
                b"temperature" => &mut self.sampling[1],
                b"top_p" => &mut self.sampling[2],
                b"stop_sequences" => &mut self.stop_sequences,
                b"service_tier" => &mut self.service_tier,
                _ => return Ok(s.skip()?),
            };
            *slot = present(s.value()?);
            Ok(())
        })?;
        s.end()?;
        Ok(())
    }

    /// `output_format` when it is an object, else `output_config.format`.
    fn format(&self) -> Option<[Option<Raw<'a>>; 2]> {
        if self.output_format.is_some() {
            return self.output_format;
        }
        let format = self.output_config?[1]?;
        if !format.is_object() {
            return None;
        }
        let fields = Scanner::new(format.bytes())
            .fields(["type", "schema"])
            .ok()?;
        Some(fields.map(|v| v.and_then(present)))
    }

    /// The tool-use names the tools renamed, replaced in the messages.
    fn rename_tool_uses(&mut self) {
        if self.names.is_empty() || self.messages.renamable.is_empty() {
            return;
        }
        let out = &self.messages.out;
        let mut renamed = Vec::with_capacity(out.len() + 64);
        let mut copied = 0;
        for (range, original) in &self.messages.renamable {
            if let Some(sent) = self.names.sent_name(original) {
                renamed.extend_from_slice(out.get(copied..range.start).unwrap_or_default());
                ai_proxy_core::json::write::write_str(&mut renamed, &sent);
                copied = range.end;
            }
        }
        renamed.extend_from_slice(out.get(copied..).unwrap_or_default());
        self.messages.out = renamed;
    }

    /// The OpenAI body, members in APISIX's order: the head written into
    /// the gap in front of the messages, which the pass wrote in their
    /// final buffer; the body handed out from the head's start.
    fn write(&self, mut out: Vec<u8>) -> (Bytes, BodyLayout) {
        let mut head = Vec::with_capacity(self.system.len() + 512);
        let mut obj = ObjectWriter::new(&mut head);
        if let Some(model) = self.model.filter(|m| m.is_string()) {
            obj.member("model").extend_from_slice(model.bytes());
        }
        if let Some(stream) = self.stream {
            obj.member("stream").extend_from_slice(stream.bytes());
            if stream.is_truthy() {
                obj.member("stream_options")
                    .extend_from_slice(b"{\"include_usage\":true}");
            }
        }
        for (name, value) in SAMPLING.into_iter().zip(self.sampling) {
            if let Some(v) = value.filter(|v| v.is_truthy()) {
                obj.member(name).extend_from_slice(v.bytes());
            }
        }
        if let Some(stop) = self.stop_sequences.filter(|s| s.is_array()) {
            obj.member("stop").extend_from_slice(stop.bytes());
        }
        let effort = self.output_config.and_then(|[e, _]| e);
        if let Some(effort) = self.thinking.and_then(|t| reasoning_effort(t, effort)) {
            effort.write(obj.member("reasoning_effort"));
        }
        if self.tool_count > 0
            && let Some(choice) = self.tool_choice
        {
            write_tool_choice(&mut obj, choice, &self.names);
        }
        if let Some([kind, schema]) = self.format()
            && kind.is_some_and(|k| k.str_is("json_schema"))
            && let Some(schema) = schema.filter(|s| s.is_object())
        {
            write_response_format(&mut obj, schema);
        }
        if let Some(user) = self.user_id.filter(|u| u.is_string()) {
            obj.member("user").extend_from_slice(user.bytes());
        }
        if let Some(tier) = self.service_tier.filter(|t| t.is_string()) {
            obj.member("service_tier").extend_from_slice(tier.bytes());
        }
        let list = obj.member("messages");
        list.push(b'[');
        if self.system.write(list) && out.len() > self.messages.gap {
            list.push(b',');
        }
        let members = obj.into_open();
        let start = fill_gap(&mut out, self.messages.gap, &head);
        let mut obj = ObjectWriter::resume_at(&mut out, start, members);
        obj.value().push(b']');
        if self.tool_count > 0 {
            obj.member("tools").extend_from_slice(&self.tools);
        }
        let layout = BodyLayout::new(obj.finish(), self.tool_count);
        (Bytes::from(out).slice(start..), layout)
    }
}

/// The converted body, its layout, and the tool names renamed.
pub(crate) struct Converted {
    pub(crate) body: Bytes,
    pub(crate) layout: BodyLayout,
    pub(crate) names: ToolNameMap,
}

/// Converts the body.
pub(crate) fn convert(body: &[u8]) -> Result<Converted, ConvertError> {
    let not_json = |what: String| {
        ConvertError::new(format!(
            "request body must be a JSON object in Anthropic Messages format: {what}"
        ))
    };
    let text = ai_proxy_core::json::text::from_utf8(body)
        .map_err(|at| not_json(format!("invalid UTF-8 at byte {at}")))?;
    let mut req = Request::default();
    // The messages are written in the output's buffer, behind the gap
    // for the head: together about as long as the client's body.
    req.messages.out.reserve(body.len() + 2048);
    req.read(body).map_err(|fail| match fail {
        Fail::Syntax(e) => not_json(e.describe(text)),
        Fail::Convert(e) => e,
    })?;
    if !req.has_messages || req.messages.read == 0 {
        return Err(ConvertError::new("missing messages"));
    }
    req.rename_tool_uses();
    let messages = std::mem::take(&mut req.messages.out);
    let (body, layout) = req.write(messages);
    Ok(Converted {
        body,
        layout,
        names: req.names,
    })
}
