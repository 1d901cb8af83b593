//! Writing a body back with a few of its spans replaced and a few bytes
//! put in: everything else is copied byte for byte, in one copy into a
//! buffer of the exact size.

use std::ops::Range;

use crate::body::{ClientBody, Member, Top, offset};

/// Top-level members as byte ranges: each key's string token and its value.
pub(crate) type Layout = Vec<(Range<usize>, Range<usize>)>;

/// Replacements of spans of one body (an insertion replaces an empty
/// span), then written in one pass.
#[derive(Debug)]
pub(crate) struct Splice<'b, 'a> {
    body: &'b ClientBody<'a>,
    /// Each within one top-level member's value (its ends included).
    edits: Vec<(Range<usize>, Vec<u8>)>,
    /// Members added at the end of the top-level object.
    added: Vec<u8>,
    /// Where the added members' keys and values are in `added`.
    added_layout: Layout,
}

impl<'b, 'a> Splice<'b, 'a> {
    pub fn new(body: &'b ClientBody<'a>) -> Self {
        Self {
            body,
            edits: Vec::with_capacity(4),
            added: Vec::new(),
            added_layout: Vec::new(),
        }
    }

    /// Whether nothing was changed.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty() && self.added.is_empty()
    }

    /// Replaces the bytes of `span` (a top-level member's value) with
    /// `with`.
    pub fn replace(&mut self, span: Range<usize>, with: Vec<u8>) {
        self.edits.push((span, with));
    }

    /// Puts `with` at byte `at` (insertions at one spot keep their order).
    pub fn insert(&mut self, at: usize, with: Vec<u8>) {
        self.replace(at..at, with);
    }

    /// Puts `before` ahead of the elements of the array `member` holds and
    /// `after` behind them (both comma-separated element lists, possibly
    /// empty); the client's elements stay where they are.
    pub fn around(&mut self, member: &Member<'_>, before: &[u8], after: &[u8]) {
        if !has_elements(member.value.bytes()) {
            // `[ ]`: written anew, without the client's whitespace.
            self.replace(member.start..member.end(), array(before, after));
            return;
        }
        if !before.is_empty() {
            let mut head = Vec::with_capacity(before.len() + 1);
            head.extend_from_slice(before);
            head.push(b',');
            self.insert(member.start + 1, head);
        }
        if !after.is_empty() {
            let mut tail = Vec::with_capacity(after.len() + 1);
            tail.push(b',');
            tail.extend_from_slice(after);
            self.insert(member.end().saturating_sub(1), tail);
        }
    }

    /// Sets the top-level member `key` (no escapes needed) to `value`:
    /// its value replaced when present, else added last.
    pub fn set(&mut self, key: &str, value: Vec<u8>) {
        if let Some(m) = self.body.member(key) {
            self.replace(m.start..m.end(), value);
            return;
        }
        let had_members =
            matches!(&self.body.top, Top::Object { members, .. } if !members.is_empty());
        if had_members || !self.added.is_empty() {
            self.added.push(b',');
        }
        let key_start = self.added.len();
        self.added.push(b'"');
        self.added.extend_from_slice(key.as_bytes());
        self.added.push(b'"');
        let key_end = self.added.len();
        self.added.push(b':');
        let value_start = self.added.len();
        self.added.extend_from_slice(&value);
        self.added_layout
            .push((key_start..key_end, value_start..self.added.len()));
    }

    /// The body with every change made, and where its top-level members
    /// now are when it is an object.
    pub fn finish(mut self) -> (Vec<u8>, Option<Layout>) {
        let src = self.body.bytes;
        // Stable: insertions at one spot stay in the order they were made.
        self.edits.sort_by_key(|(span, _)| span.start);
        let layout = self.layout();
        if let Top::Object { close, .. } = self.body.top
            && !self.added.is_empty()
        {
            let added = std::mem::take(&mut self.added);
            self.edits.push((close..close, added));
        }
        let put: usize = self.edits.iter().map(|(_, with)| with.len()).sum();
        let cut: usize = self.edits.iter().map(|(span, _)| span.len()).sum();
        let mut out = Vec::with_capacity((src.len() + put).saturating_sub(cut));
        let mut at = 0;
        for (span, with) in &self.edits {
            out.extend_from_slice(src.get(at..span.start).unwrap_or_default());
            out.extend_from_slice(with);
            at = span.end.max(at);
        }
        out.extend_from_slice(src.get(at..).unwrap_or_default());
        (out, layout)
    }

    /// The top-level members' ranges in the written body: each moved by
    /// the edits ahead of it, a value grown by its own edits (those from
    /// its first byte to its last), then the added members.
    fn layout(&self) -> Option<Layout> {
        let Top::Object { members, .. } = &self.body.top else {
            return None;
        };
        let src = self.body.bytes;
        let growth = |(span, with): &(Range<usize>, Vec<u8>)| with.len().wrapping_sub(span.len());
        let mut layout = Vec::with_capacity(members.len() + self.added_layout.len());
        let mut edits = self.edits.iter().peekable();
        // Wrapping: a replacement may be shorter than what it replaces;
        // every sum is a position in the written body.
        let mut shift = 0usize;
        for m in members {
            let key = offset(src, m.key.bytes());
            let key = key.wrapping_add(shift)..(key + m.key.bytes().len()).wrapping_add(shift);
            let start = m.start.wrapping_add(shift);
            while let Some(edit) = edits.next_if(|(span, _)| span.start <= m.end()) {
                shift = shift.wrapping_add(growth(edit));
            }
            layout.push((key, start..m.end().wrapping_add(shift)));
        }
        if let Top::Object { close, .. } = self.body.top {
            let base = close.wrapping_add(shift);
            layout.extend(
                self.added_layout
                    .iter()
                    .map(|(k, v)| (k.start + base..k.end + base, v.start + base..v.end + base)),
            );
        }
        Some(layout)
    }
}

/// Whether the array text `array` (`[…]`) has elements.
fn has_elements(array: &[u8]) -> bool {
    array
        .get(1..array.len().saturating_sub(1))
        .is_some_and(|inner| !inner.trim_ascii().is_empty())
}

/// A new array of two comma-separated element lists.
pub(crate) fn array(before: &[u8], after: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(before.len() + after.len() + 3);
    out.push(b'[');
    out.extend_from_slice(before);
    if !before.is_empty() && !after.is_empty() {
        out.push(b',');
    }
    out.extend_from_slice(after);
    out.push(b']');
    out
}
