//! Messages in the compact layout SDKs write — minified, `role` first,
//! string contents, tool calls as `{"id","type":"function","function":
//! {"name","arguments"}}` — read by matching their bytes: a known key is
//! one comparison with its literal, text is scanned as a long string from
//! its quote, and a user or assistant text message is copied whole (its
//! Anthropic form is the same bytes).
//!
//! Anything else (whitespace, another member order or member, a
//! `developer` role, content parts, an escaped key, arguments that
//! are not a JSON object, invalid JSON) is declined: nothing is written and
//! the message is read again from its start by the general reader
//! ([`Message`](super::message::Message)), which decides every error. What
//! this path accepts it writes exactly as the general one does (the request
//! oracle compares both against the serde reference).

use ai_proxy_core::json::literal::{expect, long_string, string};

use super::tools::{open_tool_result, write_tool_use_block};
use super::turns::Turns;

const USER: &[u8] = b"{\"role\":\"user\",\"content\":";
const ASSISTANT: &[u8] = b"{\"role\":\"assistant\",\"content\":";
const TOOL: &[u8] = b"{\"role\":\"tool\",\"tool_call_id\":";
const SYSTEM: &[u8] = b"{\"role\":\"system\",\"content\":";

impl<'a> Turns<'a> {
    /// Reads and writes the message at `at` when it is in the compact
    /// layout: the offset after it, or `None` (declined, nothing changed).
    pub(super) fn compact(&mut self, b: &'a [u8], at: usize) -> Option<usize> {
        if let Some(i) = expect(b, at, USER) {
            let (_, i) = long_string(b, i)?;
            let end = expect(b, i, b"}")?;
            self.close_results();
            self.next();
            self.out.extend_from_slice(b.get(at..end)?);
            return Some(end);
        }
        if let Some(i) = expect(b, at, ASSISTANT) {
            return self.compact_assistant(b, at, i);
        }
        if let Some(i) = expect(b, at, TOOL) {
            let (id, _, i) = string(b, i)?;
            let i = expect(b, i, b",\"content\":")?;
            let (content, i) = long_string(b, i)?;
            let end = expect(b, i, b"}")?;
            self.results_turn();
            open_tool_result(&mut self.out, id);
            self.out.extend_from_slice(b",\"content\":");
            self.out.extend_from_slice(content.bytes());
            self.out.push(b'}');
            return Some(end);
        }
        let i = expect(b, at, SYSTEM)?;
        let (content, i) = long_string(b, i)?;
        let end = expect(b, i, b"}")?;
        if !content.is_empty_string() {
            self.system.push(content);
        }
        Some(end)
    }

    /// An assistant message from its content on (at `i`): text only, or
    /// text and tool calls; a `null` content (what clients echo back with
    /// tool calls) is no text.
    fn compact_assistant(&mut self, b: &'a [u8], at: usize, i: usize) -> Option<usize> {
        let (content, i) = match expect(b, i, b"null") {
            Some(i) => (None, i),
            None => long_string(b, i).map(|(t, i)| (t.non_empty_string(), i))?,
        };
        if let Some(end) = expect(b, i, b"}") {
            self.close_results();
            if content.is_some() {
                self.next();
                self.out.extend_from_slice(b.get(at..end)?);
            }
            return Some(end);
        }
        let mut i = expect(b, i, b",\"tool_calls\":[{")?;
        // Written as read; a call this path declines takes back what was
        // written, so the general reader starts from the same state.
        let (len, open_results) = (self.out.len(), self.open_results);
        self.close_results();
        self.next();
        self.out
            .extend_from_slice(b"{\"role\":\"assistant\",\"content\":[");
        if let Some(content) = content {
            self.out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
            self.out.extend_from_slice(content.bytes());
            self.out.extend_from_slice(b"},");
        }
        let end = loop {
            match self.compact_call(b, i) {
                Some(next) => i = next,
                None => {
                    self.out.truncate(len);
                    self.open_results = open_results;
                    return None;
                }
            }
            if let Some(next) = expect(b, i, b",{") {
                self.out.push(b',');
                i = next;
                continue;
            }
            match expect(b, i, b"]}") {
                Some(end) => break end,
                None => {
                    self.out.truncate(len);
                    self.open_results = open_results;
                    return None;
                }
            }
        };
        self.out.extend_from_slice(b"]}");
        Some(end)
    }

    /// A tool call's members, after its `{` at `i - 1`: written as a
    /// `tool_use` block; the offset after its `}`.
    fn compact_call(&mut self, b: &'a [u8], i: usize) -> Option<usize> {
        let i = expect(b, i, b"\"id\":")?;
        let (id, _, i) = string(b, i)?;
        let i = expect(b, i, b",\"type\":\"function\",\"function\":{\"name\":")?;
        let (name, _, i) = string(b, i)?;
        let i = expect(b, i, b",\"arguments\":")?;
        let (arguments, i) = long_string(b, i)?;
        let end = expect(b, i, b"}}")?;
        write_tool_use_block(&mut self.out, id, name, Some(arguments)).then_some(end)
    }
}
