//! `messages` → Anthropic's turns, one message at a time as the scanner
//! reaches it: system messages' texts are kept for `system`, consecutive
//! tool messages share one `user` turn of `tool_result` blocks.

use std::borrow::Cow;

use ai_proxy_core::adapter::ConvertError;
use ai_proxy_core::json::Raw;
use ai_proxy_core::json::chat;

use super::content::{for_each_text, write_text_block, write_user_content};
use super::message::{Content, Message, ToolCalls};
use super::tools::{write_tool_result, write_tool_use};
use super::{Stage, invalid};

/// The turns written so far and the system texts met.
#[derive(Default)]
pub(super) struct Turns<'a> {
    /// The turns, comma-separated (the array's brackets are not written),
    /// after [`gap`](Self::gap) bytes left free for the members that go
    /// in front of them.
    pub(super) out: Vec<u8>,
    /// Where the turns start in `out`: room for the body's head (`model`,
    /// `max_tokens`, `system`, `"messages":[`), sized when the first turn
    /// is written from what is known then, filled at the end.
    pub(super) gap: usize,
    /// The head's size when no system text is counted (set before the
    /// turns are read: the model and `max_tokens` when already met, room
    /// for them otherwise).
    pub(super) head_hint: usize,
    /// What `out` is reserved for once the gap is made (the turns are a
    /// little longer than the client's messages).
    pub(super) capacity_hint: usize,
    /// The texts of system and developer messages, in order.
    pub(super) system: Vec<Raw<'a>>,
    /// Messages read.
    pub(super) read: usize,
    /// The last turn written is a `user` turn of `tool_result` blocks still
    /// open for the next tool message.
    pub(super) open_results: bool,
}

/// A message's role.
enum Role<'a> {
    System,
    User,
    Assistant,
    Tool,
    Other(Cow<'a, str>),
}

fn role<'a>(raw: Option<Raw<'a>>, i: usize) -> Result<Role<'a>, ConvertError> {
    let name = chat::role(raw, i).map_err(invalid)?;
    Ok(match name.as_ref() {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        "system" | "developer" => Role::System,
        _ => Role::Other(name),
    })
}

impl<'a> Turns<'a> {
    /// Starts again (a repeated `messages` member: the last one counts).
    pub(super) fn reset(&mut self) {
        self.out.clear();
        self.gap = 0;
        self.system.clear();
        self.read = 0;
        self.open_results = false;
    }

    /// Writes message `i`; an error says at which stage of APISIX's checks
    /// it would have been found.
    pub(super) fn message(
        &mut self,
        m: &Message<'a>,
        i: usize,
    ) -> Result<(), (Stage, ConvertError)> {
        let role = role(m.role, i).map_err(|e| (Stage::Role, e))?;
        let turn = |e| (Stage::Turn, e);
        match role {
            Role::System => {
                let system = &mut self.system;
                for_each_text(m.content, &m.parts, i, |t| system.push(t))
                    .map_err(|e| (Stage::System, e))
            }
            Role::Tool => {
                self.results_turn();
                write_tool_result(&mut self.out, m, i).map_err(turn)
            }
            Role::User => {
                self.close_results();
                self.next();
                self.out
                    .extend_from_slice(b"{\"role\":\"user\",\"content\":");
                write_user_content(&mut self.out, m.content, &m.parts, i).map_err(turn)?;
                self.out.push(b'}');
                Ok(())
            }
            Role::Assistant => {
                self.close_results();
                self.assistant(m, i).map_err(turn)
            }
            Role::Other(other) => {
                self.close_results();
                Err(turn(invalid(format_args!(
                    "messages[{i}]: role `{other}` is not supported (use system, developer, \
                     user, assistant or tool)"
                ))))
            }
        }
    }

    fn assistant(&mut self, m: &Message<'a>, i: usize) -> Result<(), ConvertError> {
        if let ToolCalls::Other = m.tool_calls {
            return Err(invalid(format_args!(
                "messages[{i}].tool_calls must be an array"
            )));
        }
        let calls = m.calls();
        if calls.is_empty() {
            match m.content {
                Content::Absent => return Ok(()),
                Content::Raw(c) if c.is_empty_string() => return Ok(()),
                Content::Raw(c) if c.is_string() => {
                    self.next();
                    self.out
                        .extend_from_slice(b"{\"role\":\"assistant\",\"content\":");
                    self.out.extend_from_slice(c.bytes());
                    self.out.push(b'}');
                    return Ok(());
                }
                _ => {}
            }
        }
        self.next();
        let out = &mut self.out;
        out.extend_from_slice(b"{\"role\":\"assistant\",\"content\":[");
        let mut n = 0;
        for_each_text(m.content, &m.parts, i, |t| {
            if n > 0 {
                out.push(b',');
            }
            n += 1;
            write_text_block(out, t);
        })?;
        for (j, call) in calls.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            n += 1;
            write_tool_use(out, call, i, j)?;
        }
        out.extend_from_slice(b"]}");
        Ok(())
    }

    /// Makes room for the next `tool_result` block: in the open turn of
    /// results, else in a new `user` turn.
    pub(super) fn results_turn(&mut self) {
        if self.open_results {
            self.out.push(b',');
        } else {
            self.next();
            self.out
                .extend_from_slice(b"{\"role\":\"user\",\"content\":[");
            self.open_results = true;
        }
    }

    /// Starts the next turn; before the first, makes the gap for the head.
    pub(super) fn next(&mut self) {
        if !self.out.is_empty() {
            self.out.push(b',');
            return;
        }
        // A system text costs at most its bytes and a text block's frame
        // in the head; a later system message or a longer model than
        // reckoned with makes `fill_gap` move the turns instead.
        let system: usize = self.system.iter().map(|t| t.bytes().len() + 24).sum();
        self.gap = (self.head_hint + system).max(1);
        self.out.reserve(self.gap + self.capacity_hint);
        self.out.resize(self.gap, b' ');
    }

    /// Closes an open turn of tool results.
    pub(super) fn close_results(&mut self) {
        if self.open_results {
            self.out.extend_from_slice(b"]}");
            self.open_results = false;
        }
    }
}
