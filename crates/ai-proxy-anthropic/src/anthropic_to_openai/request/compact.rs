//! Messages in the compact layout SDKs write — minified, `role` before
//! `content`, each content block's `type` first — read by matching their
//! bytes: a known key is one comparison with its literal, a block's members
//! are read for its kind only, and nothing is stored but what the output
//! needs.
//!
//! Anything else (whitespace, another member order, a repeated `type`, an
//! escaped key, a media block, a value of an unexpected kind, invalid
//! JSON) is declined: the message is read again from its start by the
//! general reader ([`Messages`](super::messages::Messages)), which decides
//! every error. What this path accepts it reads exactly as the general one
//! does (the request oracle compares both against the serde reference).

use ai_proxy_core::json::literal::{expect, long_string, string};
use ai_proxy_core::json::syntax::{string_end, value_end};
use ai_proxy_core::json::write::write_checked_as_string;
use ai_proxy_core::json::{Raw, Scanner};

use super::blocks::{Call, Content, Part, Sorted, ToolResult, present, read_content};

/// A message's content as read.
pub(super) enum Body<'a> {
    /// A string, copied as it is.
    Text(Raw<'a>),
    /// An array, its blocks sorted.
    Blocks,
}

/// A message read in the compact layout.
pub(super) struct Message<'a> {
    pub(super) role: Raw<'a>,
    /// Whether the role is `assistant`.
    pub(super) assistant: bool,
    pub(super) body: Body<'a>,
    /// Whether its content is an array of one or more text blocks that
    /// hold only their `type` and a string `text`: written as OpenAI
    /// content parts, such a message is its own bytes.
    pub(super) plain: bool,
    /// The offset after its `}`.
    pub(super) end: usize,
}

/// The value at `i` (checked) and the offset after it.
#[inline(always)]
fn value(b: &[u8], i: usize) -> Option<(Raw<'_>, usize)> {
    let end = if b.get(i) == Some(&b'"') {
        string_end(b, i).ok()?.0
    } else {
        value_end(b, i).ok()?
    };
    Some((Raw(b.get(i..end)?), end))
}

/// A message's text or a block's: a string expected long (skipping the
/// short-string case), or any value. The value and the offset after it.
#[inline(always)]
fn text(b: &[u8], i: usize) -> Option<(Raw<'_>, usize)> {
    if b.get(i) != Some(&b'"') {
        return value(b, i);
    }
    long_string(b, i)
}

/// A message of one block in the shapes most of a conversation is made
/// of, read as literals around its strings.
pub(super) enum Single<'a> {
    /// A user's or the assistant's one text block (its `type` and a
    /// string `text`): the text's string token.
    Text { assistant: bool, text: Raw<'a> },
    /// A user's one tool result (its `type`, a string `tool_use_id` and a
    /// string `content`): the id's and the content's string tokens.
    Result { id: Raw<'a>, content: Raw<'a> },
}

/// The message at `at` when it is a [`Single`], and the offset after its
/// `}`; anything else `None` (read by [`message`]).
#[inline(always)]
pub(super) fn single(b: &[u8], at: usize) -> Option<(Single<'_>, usize)> {
    // One literal each (a `memcmp` call): measured fewer instructions
    // than the role's literal and the block's compared inline apart.
    const USER_TEXT: &[u8] = b"{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":";
    const ASSISTANT_TEXT: &[u8] =
        b"{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":";
    const USER_RESULT: &[u8] =
        b"{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":";
    // The role's first letter (after `{"role":"`), and a user block's
    // type's second (after `{"role":"user","content":[{"type":"t`), pick
    // the literal.
    let (single, i) = match (b.get(at + 9), b.get(at + 36)) {
        (Some(b'a'), _) => {
            let (text, i) = long_string(b, expect(b, at, ASSISTANT_TEXT)?)?;
            let assistant = true;
            (Single::Text { assistant, text }, i)
        }
        (Some(b'u'), Some(b'e')) => {
            let (text, i) = long_string(b, expect(b, at, USER_TEXT)?)?;
            let assistant = false;
            (Single::Text { assistant, text }, i)
        }
        (Some(b'u'), Some(b'o')) => {
            let (id, _, i) = string(b, expect(b, at, USER_RESULT)?)?;
            let (content, i) = long_string(b, expect(b, i, b",\"content\":")?)?;
            (Single::Result { id, content }, i)
        }
        _ => return None,
    };
    Some((single, expect(b, i, b"}]}")?))
}

/// Reads the message at `at` into `sorted`; `None` declines it.
pub(super) fn message<'a>(b: &'a [u8], at: usize, sorted: &mut Sorted<'a>) -> Option<Message<'a>> {
    // The two roles as whole literals, any other role string read.
    const USER: &[u8] = b"{\"role\":\"user\",\"content\":";
    const ASSISTANT: &[u8] = b"{\"role\":\"assistant\",\"content\":";
    const ROLE: usize = b"{\"role\":".len();
    let (role, assistant, i) = if let Some(i) = expect(b, at, USER) {
        (Raw(b.get(at + ROLE..at + ROLE + 6)?), false, i)
    } else if let Some(i) = expect(b, at, ASSISTANT) {
        (Raw(b.get(at + ROLE..at + ROLE + 11)?), true, i)
    } else {
        let i = expect(b, at, USER.get(..ROLE)?)?;
        let (role, _, i) = string(b, i)?;
        (
            role,
            role.str_is("assistant"),
            expect(b, i, b",\"content\":")?,
        )
    };
    let (body, plain, i) = match b.get(i)? {
        b'"' => {
            let (text, i) = text(b, i)?;
            (Body::Text(text), false, i)
        }
        b'[' => {
            let (i, plain) = blocks(b, i, sorted)?;
            (Body::Blocks, plain, i)
        }
        _ => return None,
    };
    let end = expect(b, i, b"}")?;
    Some(Message {
        role,
        assistant,
        body,
        plain,
        end,
    })
}

/// The content array whose `[` is at `i`, sorted: the offset after it, and
/// whether it has blocks, all plain text blocks.
fn blocks<'a>(b: &'a [u8], i: usize, sorted: &mut Sorted<'a>) -> Option<(usize, bool)> {
    sorted.clear();
    let mut i = i + 1;
    if b.get(i) == Some(&b']') {
        return Some((i + 1, false));
    }
    let mut all_plain = true;
    loop {
        let (next, plain) = block(b, i, sorted)?;
        all_plain &= plain;
        i = next;
        match b.get(i)? {
            b',' => i += 1,
            b']' => return Some((i + 1, all_plain)),
            _ => return None,
        }
    }
}

/// The block at `i`, sorted by its kind: the offset after it, and whether
/// it is a plain text block (its `type`, then a string `text`, nothing
/// else). The usual blocks' leading members are matched as literals.
fn block<'a>(b: &'a [u8], i: usize, sorted: &mut Sorted<'a>) -> Option<(usize, bool)> {
    if let Some(i) = expect(b, i, b"{\"type\":\"text\",\"text\":") {
        let (first, i) = text(b, i)?;
        if first.is_string() && b.get(i) == Some(&b'}') {
            sorted.parts.push(Part::Text(first));
            return Some((i + 1, true));
        }
        return text_block(b, i, present(first), sorted).map(|end| (end, false));
    }
    block_of_kind(b, i, sorted).map(|end| (end, false))
}

/// [`block`] past the plain text block.
fn block_of_kind<'a>(b: &'a [u8], i: usize, sorted: &mut Sorted<'a>) -> Option<usize> {
    if let Some(i) = expect(b, i, b"{\"type\":\"tool_use\",\"id\":") {
        let (id, i) = value(b, i)?;
        let (name, i) = match expect(b, i, b",\"name\":") {
            Some(i) => value(b, i).map(|(name, i)| (present(name), i))?,
            None => (None, i),
        };
        return tool_use(b, i, [present(id), name], sorted);
    }
    if let Some(i) = expect(b, i, b"{\"type\":\"tool_result\",\"tool_use_id\":") {
        let (id, i) = value(b, i)?;
        return tool_result(b, i, present(id), sorted);
    }
    let i = expect(b, i, b"{\"type\":")?;
    let (kind, escaped, i) = string(b, i)?;
    if escaped {
        return None;
    }
    match kind.inner() {
        b"text" => text_block(b, i, None, sorted),
        b"tool_use" => tool_use(b, i, [None, None], sorted),
        b"tool_result" => tool_result(b, i, None, sorted),
        // Media: the general reader's `source` handling.
        b"image" | b"document" => None,
        // thinking, redacted_thinking, unknown kinds: dropped.
        _ => members(b, i, |_, _| {}),
    }
}

/// A `text` block's members after those read (`text` so far).
fn text_block<'a>(
    b: &'a [u8],
    i: usize,
    mut text: Option<Raw<'a>>,
    sorted: &mut Sorted<'a>,
) -> Option<usize> {
    let end = members(b, i, |name, raw| {
        if name == b"text" {
            text = present(raw);
        }
    })?;
    sorted
        .parts
        .extend(text.filter(|t| t.is_string()).map(Part::Text));
    Some(end)
}

/// A `tool_use` block's members after those read (`id` and `name` so far).
fn tool_use<'a>(
    b: &'a [u8],
    mut i: usize,
    [mut id, mut name]: [Option<Raw<'a>>; 2],
    sorted: &mut Sorted<'a>,
) -> Option<usize> {
    let mut arguments = None;
    loop {
        let Some(key) = next_member(b, &mut i)? else {
            let call = Call::new(id, name).map(|call| Call { arguments, ..call });
            sorted.calls.extend(call);
            return Some(i);
        };
        if key == b"input" {
            // Checked and written as the call's arguments in one walk.
            let from = sorted.args.len();
            let end = write_checked_as_string(&mut sorted.args, b, i).ok()?;
            arguments = if b.get(i..end) == Some(&b"null"[..]) {
                sorted.args.truncate(from);
                None
            } else {
                Some(from..sorted.args.len())
            };
            i = end;
            continue;
        }
        let (raw, next) = value(b, i)?;
        i = next;
        match key {
            b"id" => id = present(raw),
            b"name" => name = present(raw),
            _ => {}
        }
    }
}

/// A `tool_result` block's members after those read (`tool_use_id` so
/// far): the offset after it.
fn tool_result<'a>(
    b: &'a [u8],
    mut i: usize,
    mut id: Option<Raw<'a>>,
    sorted: &mut Sorted<'a>,
) -> Option<usize> {
    let mut content = Content::Absent;
    loop {
        let Some(at) = next_member(b, &mut i)? else {
            sorted.results.extend(ToolResult::new(id, content));
            return Some(i);
        };
        if at == b"content" && b.get(i) == Some(&b'[') {
            let mut s = Scanner::new(b);
            s.seek(i);
            content = read_content(&mut s, &mut sorted.nested).ok()?;
            i = s.offset();
            continue;
        }
        let (raw, next) = if at == b"content" {
            text(b, i)?
        } else {
            value(b, i)?
        };
        i = next;
        match at {
            b"tool_use_id" => id = present(raw),
            b"content" if raw.is_null() => content = Content::Absent,
            b"content" if raw.is_string() => content = Content::Text(raw),
            b"content" => content = Content::Other,
            _ => {}
        }
    }
}

/// The members after a block's `type`, each handed to `member` (name,
/// value); the offset after the block's `}`.
#[inline(always)]
fn members<'a>(b: &'a [u8], mut i: usize, mut member: impl FnMut(&[u8], Raw<'a>)) -> Option<usize> {
    loop {
        let Some(name) = next_member(b, &mut i)? else {
            return Some(i);
        };
        let (raw, next) = value(b, i)?;
        i = next;
        member(name, raw);
    }
}

/// At `*i`, after a member: `Some(None)` past the object's `}`, or the
/// next member's name with `*i` at its value. A repeated `type` (which the
/// general reader lets win) or an escaped key declines.
#[inline(always)]
fn next_member<'a>(b: &'a [u8], i: &mut usize) -> Option<Option<&'a [u8]>> {
    match b.get(*i)? {
        b'}' => {
            *i += 1;
            return Some(None);
        }
        b',' => {}
        _ => return None,
    }
    let (key, escaped, after) = string(b, *i + 1)?;
    let name = key.inner();
    if escaped || name == b"type" {
        return None;
    }
    *i = expect(b, after, b":")?;
    Some(Some(name))
}
