//! OpenAI chat request → Anthropic Messages request.
//!
//! Mapping (Anthropic's documented Messages API; unknown OpenAI fields are
//! dropped because Anthropic rejects fields it does not know):
//!
//! | OpenAI | Anthropic |
//! |---|---|
//! | `model` | `model` |
//! | `max_completion_tokens`, else `max_tokens` | `max_tokens` (required: default [`DEFAULT_MAX_TOKENS`](crate::DEFAULT_MAX_TOKENS)) |
//! | `system` / `developer` messages | `system` (a string for one text, else text blocks; hoisted in order) |
//! | `user` content string / parts | `content` string / blocks: `text`, `image_url` (data URL → `base64` source, else `url` source), `file.file_data` data URL → `document` |
//! | `assistant` content + `tool_calls` | `text` block + `tool_use` blocks (`input` = parsed `arguments`) |
//! | `tool` messages (consecutive ones merged) | one `user` message of `tool_result` blocks |
//! | `tools[].function` | `tools[]` `{name, description, input_schema}` |
//! | `tool_choice` `auto`/`required`/`none`/function | `{type: auto/any/none/tool}`; `parallel_tool_calls: false` → `disable_parallel_tool_use` |
//! | `stop` (string or array) | `stop_sequences` |
//! | `temperature`, `top_p`, `top_k`, `stream` | same |
//! | `user` | `metadata.user_id` |
//! | `cache_control` on a content part | kept on the block |
//!
//! One pass over the client's body: the scanner checks every byte once,
//! each message is converted as the scanner reaches it (its parts and tool
//! calls read in place, text copied with its escapes), tools likewise, and
//! the output is assembled in the table's order at the end. A request with
//! several faults reports the one APISIX's order of checks meets first.
//! Messages in the compact layout SDKs write are read by matching their
//! bytes ([`compact`]); the others by the general reader ([`message`]).

mod compact;
mod content;
mod message;
mod tools;
mod turns;

use ai_proxy_core::adapter::{BodyLayout, ConvertError};
use ai_proxy_core::json::write::{ObjectWriter, fill_gap, write_array, write_u64};
use ai_proxy_core::json::{Raw, Scanner, SyntaxError};
use bytes::Bytes;

use self::content::write_text_block;
use self::message::Message;
use self::tools::read_tools;
use self::turns::Turns;
use ai_proxy_core::json::chat::{ToolChoice, tool_choice, write_stop};

pub(super) fn invalid(what: impl std::fmt::Display) -> ConvertError {
    ConvertError::new(format!(
        "invalid OpenAI chat request for Anthropic Messages: {what}"
    ))
}

/// Where in the order of checks a fault is met: the reported fault is the
/// earliest stage's (then the earliest message's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Stage {
    /// `messages` is not an array, or an element is not an object.
    Shape,
    /// A role is not a string.
    Role,
    /// No messages.
    Missing,
    /// A system message's content.
    System,
    /// A message's conversion.
    Turn,
}

/// The request members the mapping reads, raw, and what was converted in
/// the pass.
#[derive(Default)]
struct Request<'a> {
    model: Option<Raw<'a>>,
    /// `max_completion_tokens` and `max_tokens`: the first number counts.
    max_tokens: [Option<Raw<'a>>; 2],
    stop: Option<Raw<'a>>,
    /// `temperature`, `top_p` and `top_k`: copied when numbers.
    sampling: [Option<Raw<'a>>; 3],
    stream: Option<Raw<'a>>,
    user: Option<Raw<'a>>,
    tool_choice: Option<Raw<'a>>,
    parallel_tool_calls: Option<Raw<'a>>,
    turns: Turns<'a>,
    /// The converted tools, how many, and why they cannot be sent.
    tools: Vec<u8>,
    tool_count: usize,
    tools_fault: Option<ConvertError>,
    /// The first fault by [`Stage`].
    fault: Option<(Stage, ConvertError)>,
}

impl<'a> Request<'a> {
    fn fault(&mut self, stage: Stage, error: ConvertError) {
        if self.fault.as_ref().is_none_or(|(s, _)| stage < *s) {
            self.fault = Some((stage, error));
        }
    }

    /// The single pass over the body.
    fn read(&mut self, body: &'a [u8]) -> Result<(), SyntaxError> {
        let mut s = Scanner::new(body);
        let mut message = Message::default();
        s.object(|key, s| {
            let slot = match &*key.name() {
                b"messages" => return self.messages(s, &mut message),
                b"tools" if s.peek() == Some(b'[') => {
                    self.tools.clear();
                    (self.tool_count, self.tools_fault) = match read_tools(s, &mut self.tools)? {
                        Ok(n) => (n, None),
                        Err(e) => (0, Some(e)),
                    };
                    return Ok(());
                }
                b"tools" => {
                    let raw = s.value()?;
                    self.tools.clear();
                    self.tool_count = 0;
                    self.tools_fault = (!raw.is_null()).then(|| invalid("tools must be an array"));
                    return Ok(());
                }
                b"model" => &mut self.model,
                b"max_completion_tokens" => &mut self.max_tokens[0],
                b"max_tokens" => &mut self.max_tokens[1],
                b"stop" => &mut self.stop,
                b"temperature" => &mut self.sampling[0],
                b"top_p" => &mut self.sampling[1],
                b"top_k" => &mut self.sampling[2],
                b"stream" => &mut self.stream,
                b"user" => &mut self.user,
                b"tool_choice" => &mut self.tool_choice,
                b"parallel_tool_calls" => &mut self.parallel_tool_calls,
                _ => return s.skip(),
            };
            *slot = Some(s.value()?);
            Ok(())
        })?;
        s.end()
    }

    /// `messages` at the cursor: each message converted as it is read.
    fn messages(
        &mut self,
        s: &mut Scanner<'a>,
        message: &mut Message<'a>,
    ) -> Result<(), SyntaxError> {
        // A repeated `messages` member: the last one counts.
        self.turns.reset();
        self.fault = None;
        // The head's fixed part (its keys, `"messages":[`) is under 64 bytes; a
        // model or `max_tokens` not met yet gets room for a usual one.
        let known = |raw: Option<Raw<'_>>, usual: usize| raw.map_or(usual, |r| r.bytes().len());
        self.turns.head_hint = 64
            + known(self.model, 96)
            + known(self.max_tokens[0].or(self.max_tokens[1]), 20).max(20);
        if s.peek() != Some(b'[') {
            if !s.value()?.is_null() {
                self.fault(Stage::Shape, invalid("messages must be an array"));
            }
            return Ok(());
        }
        s.array(|s| {
            let i = self.turns.read;
            self.turns.read += 1;
            if let Some(end) = self.turns.compact(s.text(), s.offset()) {
                s.seek(end);
                return Ok(());
            }
            if s.peek() != Some(b'{') {
                s.skip()?;
                self.fault(
                    Stage::Shape,
                    invalid(format_args!("messages[{i}] must be an object")),
                );
                return Ok(());
            }
            message.read(s)?;
            if let Err((stage, e)) = self.turns.message(message, i) {
                self.fault(stage, e);
            }
            Ok(())
        })?;
        self.turns.close_results();
        Ok(())
    }

    /// The Anthropic body, members in the table's order: written around
    /// the turns, which the pass wrote in their final buffer.
    fn write(
        &self,
        mut out: Vec<u8>,
        default_max_tokens: u64,
        tools: usize,
        choice: Option<ToolChoice<'_>>,
    ) -> (Bytes, BodyLayout) {
        let system: usize = self.turns.system.iter().map(|t| t.bytes().len() + 32).sum();
        let mut head = Vec::with_capacity(system + 256);
        let mut obj = ObjectWriter::new(&mut head);
        if let Some(model) = self.model.filter(|m| m.is_string()) {
            obj.member("model").extend_from_slice(model.bytes());
        }
        match self
            .max_tokens
            .into_iter()
            .flatten()
            .find(|m| m.is_number())
        {
            Some(n) => obj.member("max_tokens").extend_from_slice(n.bytes()),
            None => write_u64(obj.member("max_tokens"), default_max_tokens),
        }
        match self.turns.system.as_slice() {
            [] => {}
            [one] => obj.member("system").extend_from_slice(one.bytes()),
            many => write_array(obj.member("system"), many, |buf, t| {
                write_text_block(buf, *t)
            }),
        }
        obj.member("messages").push(b'[');
        let members = obj.into_open();
        let start = fill_gap(&mut out, self.turns.gap, &head);
        let mut obj = ObjectWriter::resume_at(&mut out, start, members);
        obj.value().push(b']');
        if let Some(stop) = self.stop {
            write_stop(&mut obj, "stop_sequences", stop);
        }
        for (name, value) in ["temperature", "top_p", "top_k"]
            .into_iter()
            .zip(self.sampling)
        {
            if let Some(v) = value.filter(|v| v.is_number()) {
                obj.member(name).extend_from_slice(v.bytes());
            }
        }
        if let Some(stream) = self
            .stream
            .filter(|s| matches!(s.bytes(), b"true" | b"false"))
        {
            obj.member("stream").extend_from_slice(stream.bytes());
        }
        if let Some(user) = self.user.and_then(Raw::non_empty_string) {
            let buf = obj.member("metadata");
            buf.extend_from_slice(b"{\"user_id\":");
            buf.extend_from_slice(user.bytes());
            buf.push(b'}');
        }
        if tools > 0 {
            obj.member("tools").extend_from_slice(&self.tools);
            let no_parallel = self
                .parallel_tool_calls
                .is_some_and(|p| p.bytes() == b"false");
            write_tool_choice(&mut obj, choice, no_parallel);
        }
        let layout = BodyLayout::new(obj.finish(), tools);
        (Bytes::from(out).slice(start..), layout)
    }
}

/// `tool_choice` and `parallel_tool_calls` → Anthropic's `tool_choice`.
fn write_tool_choice(
    obj: &mut ObjectWriter<'_>,
    choice: Option<ToolChoice<'_>>,
    no_parallel: bool,
) {
    match (choice, no_parallel) {
        (None, false) => {}
        (Some(ToolChoice::None), _) => {
            obj.member("tool_choice")
                .extend_from_slice(b"{\"type\":\"none\"}");
        }
        (choice, no_parallel) => {
            let buf = obj.member("tool_choice");
            buf.extend_from_slice(b"{\"type\":");
            match choice {
                Some(ToolChoice::Required) => buf.extend_from_slice(b"\"any\""),
                Some(ToolChoice::Function(name)) => {
                    buf.extend_from_slice(b"\"tool\",\"name\":");
                    buf.extend_from_slice(name.bytes());
                }
                _ => buf.extend_from_slice(b"\"auto\""),
            }
            if no_parallel {
                buf.extend_from_slice(b",\"disable_parallel_tool_use\":true");
            }
            buf.push(b'}');
        }
    }
}

/// Converts the body; `default_max_tokens` fills Anthropic's required
/// `max_tokens` when the client sent none.
pub(crate) fn convert(
    body: &[u8],
    default_max_tokens: u64,
) -> Result<(Bytes, BodyLayout), ConvertError> {
    let malformed = |at: usize| {
        invalid(format_args!(
            "malformed JSON at byte {at}; send a JSON object"
        ))
    };
    ai_proxy_core::json::text::from_utf8(body).map_err(malformed)?;
    let mut req = Request::default();
    // The turns are written in the output's buffer, behind the gap for the
    // head. Anthropic's shapes are a little longer (tool results become
    // blocks of a user message): room for that, so the body is never
    // copied twice.
    req.turns.capacity_hint = body.len() + body.len() / 4 + 256;
    req.read(body).map_err(|e| malformed(e.offset))?;
    if req.turns.read == 0 {
        req.fault(Stage::Missing, ConvertError::new("missing messages"));
    }
    if let Some((_, e)) = req.fault.take() {
        return Err(e);
    }
    if let Some(e) = req.tools_fault.take() {
        return Err(e);
    }
    let tools = req.tool_count;
    let choice = if tools > 0 {
        tool_choice(req.tool_choice).map_err(invalid)?
    } else {
        None
    };
    let turns = std::mem::take(&mut req.turns.out);
    let (out, layout) = req.write(turns, default_max_tokens, tools, choice);
    Ok((out, layout))
}
