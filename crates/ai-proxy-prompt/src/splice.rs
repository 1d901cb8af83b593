//! Writing a body back with a few of its spans replaced: everything else
//! is copied byte for byte.

use std::ops::Range;

use crate::body::{ClientBody, Top};

/// Replacements of spans of one body, then written in one pass.
#[derive(Debug)]
pub(crate) struct Splice<'b, 'a> {
    body: &'b ClientBody<'a>,
    edits: Vec<(Range<usize>, Vec<u8>)>,
    /// Members added at the end of the top-level object.
    added: Vec<u8>,
}

impl<'b, 'a> Splice<'b, 'a> {
    pub fn new(body: &'b ClientBody<'a>) -> Self {
        Self {
            body,
            edits: Vec::with_capacity(2),
            added: Vec::new(),
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
        self.added.push(b'"');
        self.added.extend_from_slice(key.as_bytes());
        self.added.extend_from_slice(b"\":");
        self.added.extend_from_slice(&value);
    }

    /// The body with every change made.
    pub fn finish(mut self) -> Vec<u8> {
        let src = self.body.bytes;
        if let Top::Object { close, .. } = self.body.top
            && !self.added.is_empty()
        {
            let added = std::mem::take(&mut self.added);
            self.edits.push((close..close, added));
        }
        self.edits.sort_by_key(|(span, _)| span.start);
        let grown: usize = self.edits.iter().map(|(_, with)| with.len()).sum();
        let mut out = Vec::with_capacity(src.len() + grown);
        let mut at = 0;
        for (span, with) in &self.edits {
            out.extend_from_slice(src.get(at..span.start).unwrap_or_default());
            out.extend_from_slice(with);
            at = span.end.max(at);
        }
        out.extend_from_slice(src.get(at..).unwrap_or_default());
        out
    }
}

/// An array value `[…]` with `before` put ahead of its elements and
/// `after` behind them (both comma-separated element lists, possibly
/// empty).
pub(crate) fn around(array: &[u8], before: &[u8], after: &[u8]) -> Vec<u8> {
    let inner = array
        .get(1..array.len().saturating_sub(1))
        .unwrap_or_default();
    let has_inner = !inner.trim_ascii().is_empty();
    let mut out = Vec::with_capacity(array.len() + before.len() + after.len() + 2);
    out.push(b'[');
    out.extend_from_slice(before);
    if has_inner {
        if !before.is_empty() {
            out.push(b',');
        }
        out.extend_from_slice(inner);
    }
    if !after.is_empty() {
        if has_inner || !before.is_empty() {
            out.push(b',');
        }
        out.extend_from_slice(after);
    }
    out.push(b']');
    out
}

/// A new array of two comma-separated element lists.
pub(crate) fn array(before: &[u8], after: &[u8]) -> Vec<u8> {
    around(b"[]", before, after)
}
