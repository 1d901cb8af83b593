//! Writing JSON: the one string escaper, and writers appending to a
//! `Vec<u8>` (request bodies) or a `BytesMut` (translated responses).

use std::convert::Infallible;
use std::ops::Range;

use bytes::BytesMut;
use serde_json::value::RawValue;

use super::block::{BLOCK, special_mask};
use super::swar::string_special;
use super::syntax::{SyntaxError, Tokens, value_tokens};

/// Where serialized JSON goes.
pub trait Out {
    /// Appends raw bytes.
    fn raw(&mut self, bytes: &[u8]);
}

impl Out for Vec<u8> {
    #[inline]
    fn raw(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Out for BytesMut {
    #[inline]
    fn raw(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// The escape of each control character, as `serde_json` writes it.
const CONTROL: [&str; 32] = [
    "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007", "\\b",
    "\\t", "\\n", "\\u000b", "\\f", "\\r", "\\u000e", "\\u000f", "\\u0010", "\\u0011", "\\u0012",
    "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019", "\\u001a",
    "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
];

/// The escape of a byte [`string_special`] stops at.
fn escape_of(byte: u8) -> &'static str {
    match byte {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        _ => CONTROL.get(usize::from(byte)).copied().unwrap_or(""),
    }
}

/// Hands `emit` the pieces of `text` as the contents of a JSON string, in
/// order: runs of text as they are, and an escape for each `"`, `\` and
/// control character — exactly what `serde_json` writes. The first error
/// `emit` returns stops the walk.
pub fn escape<E>(text: &str, emit: impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
    escape_from(text, string_special(text.as_bytes(), 0), emit)
}

/// [`escape`] with the first special byte's index `at` found already.
fn escape_from<E>(
    text: &str,
    mut at: usize,
    mut emit: impl FnMut(&str) -> Result<(), E>,
) -> Result<(), E> {
    let b = text.as_bytes();
    let mut plain = 0;
    loop {
        // Every byte `string_special` stops at is ASCII: both ends of the
        // run are char boundaries.
        let run = text.get(plain..at).unwrap_or_default();
        if !run.is_empty() {
            emit(run)?;
        }
        let Some(&byte) = b.get(at) else {
            return Ok(());
        };
        emit(escape_of(byte))?;
        plain = at + 1;
        at = string_special(b, plain);
    }
}

/// Appends `s` as a JSON string literal.
pub fn write_str<O: Out + ?Sized>(out: &mut O, s: &str) {
    out.raw(b"\"");
    let first = string_special(s.as_bytes(), 0);
    if first == s.len() {
        // Nothing to escape (most strings): one copy.
        out.raw(s.as_bytes());
    } else {
        let _ = escape_from(s, first, |piece| {
            out.raw(piece.as_bytes());
            Ok::<(), Infallible>(())
        });
    }
    out.raw(b"\"");
}

/// Appends the raw token of a JSON value.
#[inline]
pub fn write_raw<O: Out + ?Sized>(out: &mut O, raw: &RawValue) {
    out.raw(raw.get().as_bytes());
}

/// Appends a JSON array: `each` writes one element's value per item, the
/// commas and brackets are written here.
pub fn write_array<O: Out + ?Sized, T>(
    out: &mut O,
    items: impl IntoIterator<Item = T>,
    mut each: impl FnMut(&mut O, T),
) {
    out.raw(b"[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.raw(b",");
        }
        each(out, item);
    }
    out.raw(b"]");
}

/// Appends an unsigned integer.
pub fn write_u64<O: Out + ?Sized>(out: &mut O, n: u64) {
    let mut digits = [0u8; 20];
    out.raw(decimal(n, &mut digits));
}

/// `n` in decimal, written at the end of `digits` (a `u64` has at most 20
/// digits): the digits, for callers that need them as bytes of their own
/// (a header value) rather than appended.
pub fn decimal(n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut start = digits.len();
    let mut n = n;
    loop {
        start -= 1;
        if let Some(slot) = digits.get_mut(start) {
            // `n % 10` is one digit.
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    digits.get(start..).unwrap_or_default()
}

/// Appends the JSON text `raw` with the whitespace between tokens removed
/// (what an encoder writes for the decoded value, key order kept). With
/// `as_string`, appends it as the contents of a JSON string instead: its
/// `"` and `\` escaped (minified JSON has no other byte to escape).
///
/// String contents are crossed with [`string_special`] and copied in runs
/// (tool inputs are mostly text).
pub fn write_minified<O: Out + ?Sized>(out: &mut O, raw: &[u8], as_string: bool) {
    // `raw[start..]` is not written yet.
    let mut start = 0;
    let mut i = 0;
    while let Some(&c) = raw.get(i) {
        match c {
            b'"' => {
                if as_string {
                    out.raw(raw.get(start..i).unwrap_or_default());
                    out.raw(b"\\\"");
                    start = i + 1;
                }
                let mut j = i + 1;
                loop {
                    j = string_special(raw, j);
                    match raw.get(j) {
                        // The escaped byte goes with its backslash, so a
                        // `\"` does not end the string.
                        Some(b'\\') => {
                            if as_string {
                                out.raw(raw.get(start..j).unwrap_or_default());
                                out.raw(b"\\\\");
                                start = j + 1;
                                if let Some(&e @ (b'"' | b'\\')) = raw.get(j + 1) {
                                    out.raw(if e == b'"' { b"\\\"" } else { b"\\\\" });
                                    start = j + 2;
                                }
                            }
                            j += 2;
                        }
                        Some(b'"') => break,
                        // Not valid JSON: copied as it is.
                        Some(_) => j += 1,
                        None => break,
                    }
                }
                if as_string && j < raw.len() {
                    out.raw(raw.get(start..j).unwrap_or_default());
                    out.raw(b"\\\"");
                    start = j + 1;
                }
                i = j + 1;
            }
            b' ' | b'\n' | b'\r' | b'\t' => {
                out.raw(raw.get(start..i).unwrap_or_default());
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    out.raw(raw.get(start..).unwrap_or_default());
}

/// Appends the JSON text `raw` as a JSON string holding its minified text:
/// `{"a": 1}` → `"{\"a\":1}"` (a tool's `input` → OpenAI `arguments`).
pub fn write_as_string<O: Out + ?Sized>(out: &mut O, raw: &[u8]) {
    out.raw(b"\"");
    write_minified(out, raw, true);
    out.raw(b"\"");
}

/// [`write_as_string`] of the value at `b[i..]`, checked first (the
/// grammar of [`value_end`](super::syntax::value_end), same errors): where
/// a converter checks a tool's `input` and writes it again as `arguments`.
/// The offset after the value; on an error nothing is written.
///
/// A minified value (no whitespace between its tokens: what SDKs send) is
/// then copied sixteen bytes at a time with a backslash put before each
/// `"` and `\`; another is minified as it is written
/// ([`write_as_string`]).
pub fn write_checked_as_string(
    out: &mut Vec<u8>,
    b: &[u8],
    i: usize,
) -> Result<usize, SyntaxError> {
    let mut gaps = Gaps { end: i, gap: false };
    let end = value_tokens(b, i, &mut gaps)?;
    if gaps.gap {
        write_as_string(out, b.get(i..end).unwrap_or_default());
    } else {
        out.push(b'"');
        write_backslashed(out, b, i, end);
        out.push(b'"');
    }
    Ok(end)
}

/// Whether a value has whitespace between its tokens: a token that does
/// not start where the last one ended.
struct Gaps {
    /// The end of the last token.
    end: usize,
    gap: bool,
}

impl Tokens for Gaps {
    #[inline(always)]
    fn text(&mut self, _: &[u8], range: Range<usize>) {
        self.gap |= range.start != self.end;
        self.end = range.end;
    }

    #[inline(always)]
    fn string(&mut self, _: &[u8], range: Range<usize>, _: bool) {
        self.gap |= range.start != self.end;
        self.end = range.end;
    }
}

/// Appends `b[from..to]`, a valid minified JSON text, as the contents of
/// a JSON string: a backslash before each `"` and `\`. There
/// [`special_mask`] flags exactly those bytes (a control character is
/// neither allowed in a string nor whitespace between tokens here), so the
/// text goes a block of sixteen at a time through a buffer on the stack:
/// the block stored whole, then for each flagged byte a backslash and the
/// block's rest from there stored again one further (fixed-size copies,
/// no call per run).
fn write_backslashed(out: &mut Vec<u8>, b: &[u8], from: usize, to: usize) {
    // A block takes at most 2 × 16 bytes; the last copy of its rest
    // reaches 16 further: room for 3 × 16 after `n`.
    let mut buf = [0u8; 8 * BLOCK];
    let mut n = 0;
    let mut at = from;
    // Blocks of the value (the last one cut short: its mask clipped) with
    // sixteen more bytes of `b` behind them (a flagged byte's rest is
    // read from the pair).
    while at < to
        && let Some(pair) = b
            .get(at..at + 2 * BLOCK)
            .and_then(|w| <&[u8; 2 * BLOCK]>::try_from(w).ok())
    {
        if n + 3 * BLOCK > buf.len() {
            out.extend_from_slice(buf.get(..n).unwrap_or_default());
            n = 0;
        }
        let (x, _) = pair
            .split_first_chunk::<BLOCK>()
            .unwrap_or((&[0; BLOCK], &[]));
        let len = (to - at).min(BLOCK);
        let mut mask = special_mask(x) & (u32::MAX >> (32 - len));
        put(&mut buf, n, x);
        while mask != 0 {
            let k = mask.trailing_zeros() as usize & (BLOCK - 1);
            if let Some(slot) = buf.get_mut(n + k) {
                *slot = b'\\';
            }
            n += 1;
            if let Some(rest) = pair
                .get(k..k + BLOCK)
                .and_then(|w| <&[u8; BLOCK]>::try_from(w).ok())
            {
                put(&mut buf, n + k, rest);
            }
            mask &= mask - 1;
        }
        n += len;
        at += len;
    }
    out.extend_from_slice(buf.get(..n).unwrap_or_default());
    // The body's last bytes: in runs.
    let mut copied = at;
    while at < to {
        if matches!(b.get(at), Some(b'"' | b'\\')) {
            copy_run(out, b, copied, at);
            out.push(b'\\');
            copied = at;
        }
        at += 1;
    }
    copy_run(out, b, copied, to);
}

/// Stores `block` at `buf[at..]` (in bounds: see [`write_backslashed`]).
#[inline(always)]
fn put(buf: &mut [u8], at: usize, block: &[u8; BLOCK]) {
    if let Some(slot) = buf.get_mut(at..at + BLOCK) {
        slot.copy_from_slice(block);
    }
}

/// Appends `b[from..to]`. Runs between escapes are short (a key, a
/// number, punctuation): one of up to 16 bytes is stored as a whole
/// 16-byte load and cut back, not copied by a call.
#[inline(always)]
fn copy_run(out: &mut Vec<u8>, b: &[u8], from: usize, to: usize) {
    let len = to.saturating_sub(from);
    if len <= BLOCK
        && let Some(word) = b
            .get(from..from + BLOCK)
            .and_then(|w| <&[u8; BLOCK]>::try_from(w).ok())
    {
        let at = out.len();
        out.extend_from_slice(word);
        out.truncate(at + len);
        return;
    }
    out.extend_from_slice(b.get(from..to).unwrap_or_default());
}

/// Writes a JSON object member by member onto a `Vec<u8>`, recording the
/// byte range of each member's value: the layout a converter hands to
/// `prepare` (see [`BodyLayout`](crate::adapter::BodyLayout)) so the body
/// is patched without being parsed again.
#[derive(Debug)]
pub struct ObjectWriter<'o> {
    out: &'o mut Vec<u8>,
    /// Where the object starts in `out`: ranges are offsets from it.
    base: usize,
    members: Vec<(&'static str, Range<usize>)>,
}

impl<'o> ObjectWriter<'o> {
    /// Opens the object.
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Self {
            out,
            base: 0,
            members: Vec::with_capacity(16),
        }
    }

    /// Starts the member `key` (a name that needs no escaping); the value is
    /// what is written to the returned buffer until the next member.
    pub fn member(&mut self, key: &'static str) -> &mut Vec<u8> {
        self.close_value();
        if !self.members.is_empty() {
            self.out.push(b',');
        }
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        let at = self.out.len() - self.base;
        self.members.push((key, at..at));
        self.out
    }

    /// Whether no member was written yet.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The buffer, to go on writing the current member's value.
    pub fn value(&mut self) -> &mut Vec<u8> {
        self.out
    }

    /// Stops writing to this buffer, the object and its last member still
    /// open: the members so far, to [`resume_at`](Self::resume_at) where
    /// this one's bytes are put in front of the rest (see [`fill_gap`]).
    pub fn into_open(self) -> Vec<(&'static str, Range<usize>)> {
        self.members
    }

    /// Goes on writing an object [`into_open`](Self::into_open) left open,
    /// now at `base` in `out` (see [`fill_gap`]); ranges stay offsets from
    /// the object's start.
    pub fn resume_at(
        out: &'o mut Vec<u8>,
        base: usize,
        members: Vec<(&'static str, Range<usize>)>,
    ) -> Self {
        Self { out, base, members }
    }

    fn close_value(&mut self) {
        if let Some((_, range)) = self.members.last_mut() {
            range.end = self.out.len() - self.base;
        }
    }

    /// Closes the object; returns each member's key and value range.
    pub fn finish(mut self) -> Vec<(&'static str, Range<usize>)> {
        self.close_value();
        self.out.push(b'}');
        self.members
    }
}

/// Puts `head` right before `body[gap..]`, where a writer left `gap` bytes
/// free for members it only knows at the end: written into the gap when it
/// fits (nothing moves), else the bytes after the gap are moved to make
/// room within `body`'s own buffer (no second buffer of its size). Returns where `head` starts — the start of the whole text, which
/// the caller hands out from there (e.g. `Bytes::slice`) instead of
/// copying it.
pub fn fill_gap(body: &mut Vec<u8>, gap: usize, head: &[u8]) -> usize {
    let gap = gap.min(body.len());
    if let Some(start) = gap.checked_sub(head.len())
        && let Some(front) = body.get_mut(start..gap)
    {
        front.copy_from_slice(head);
        return start;
    }
    let len = body.len();
    let grow = head.len() - gap;
    body.resize(len + grow, 0);
    body.copy_within(gap..len, head.len());
    if let Some(front) = body.get_mut(..head.len()) {
        front.copy_from_slice(head);
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn written(s: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn arrays_separate_their_elements_with_commas() {
        let mut out = Vec::new();
        write_array(&mut out, [1u64, 22, 333], write_u64);
        write_array(&mut out, [0u64; 0], write_u64);
        assert_eq!(out, b"[1,22,333][]");
    }

    #[test]
    fn escapes_control_characters_quotes_and_backslashes() {
        assert_eq!(
            written("a\"b\\c\nd\u{1}\u{8}\u{c}é"),
            "\"a\\\"b\\\\c\\nd\\u0001\\b\\fé\""
        );
    }

    #[test]
    fn object_writer_records_each_value() {
        let mut out = b"junk".to_vec();
        out.clear();
        let mut obj = ObjectWriter::new(&mut out);
        obj.member("a").extend_from_slice(b"1");
        write_str(obj.member("b"), "x");
        let members = obj.finish();
        assert_eq!(out, br#"{"a":1,"b":"x"}"#);
        assert_eq!(members, [("a", 5..6), ("b", 11..14)]);
    }

    #[test]
    fn an_object_left_open_resumes_after_its_head_is_put_in_front() {
        let mut head = Vec::new();
        let mut obj = ObjectWriter::new(&mut head);
        obj.member("a").extend_from_slice(b"1");
        obj.member("list").push(b'[');
        let members = obj.into_open();
        let mut out = b"2,3".to_vec();
        let start = fill_gap(&mut out, 0, &head);
        assert_eq!(start, 0);
        let mut obj = ObjectWriter::resume_at(&mut out, start, members);
        obj.value().push(b']');
        obj.member("b").extend_from_slice(b"true");
        let members = obj.finish();
        assert_eq!(out, br#"{"a":1,"list":[2,3],"b":true}"#);
        assert_eq!(members, [("a", 5..6), ("list", 14..19), ("b", 24..28)]);
    }

    #[test]
    fn a_head_fills_the_gap_left_for_it_or_moves_the_rest() {
        // Fits: written into the gap, nothing moves.
        let mut out = b"......2,3]".to_vec();
        let start = fill_gap(&mut out, 6, b"{\"l\":[");
        assert_eq!(&out[start..], br#"{"l":[2,3]"#);
        assert_eq!(start, 0);
        let mut out = b"........2]".to_vec();
        let start = fill_gap(&mut out, 8, b"[1,");
        assert_eq!((start, &out[start..]), (5, &b"[1,2]"[..]));
        // Too long: the rest moves.
        let mut out = b"..2]".to_vec();
        let start = fill_gap(&mut out, 2, b"[0,1,");
        assert_eq!((start, &out[..]), (0, &b"[0,1,2]"[..]));
    }

    #[test]
    fn an_object_resumed_after_a_gap_records_offsets_from_its_start() {
        let mut head = Vec::new();
        let mut obj = ObjectWriter::new(&mut head);
        obj.member("list").push(b'[');
        let members = obj.into_open();
        let mut out = b"..........2".to_vec();
        let start = fill_gap(&mut out, 10, &head);
        let mut obj = ObjectWriter::resume_at(&mut out, start, members);
        obj.value().push(b']');
        obj.member("b").extend_from_slice(b"true");
        let members = obj.finish();
        assert_eq!(&out[start..], br#"{"list":[2],"b":true}"#);
        assert_eq!(members, [("list", 8..11), ("b", 16..20)]);
    }

    #[test]
    fn writes_integers() {
        for n in [0, 7, 10, 12345, u64::MAX] {
            let mut out = Vec::new();
            write_u64(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
    }

    #[test]
    fn minifies_outside_strings_only() {
        let mut out = Vec::new();
        write_minified(
            &mut out,
            b"{ \"a b\" : [1, 2],\n \"c\\\" d\": \" x \\\\\" }",
            false,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"a b\":[1,2],\"c\\\" d\":\" x \\\\\"}"
        );
    }

    #[test]
    fn a_value_checked_as_it_is_written_as_a_string() {
        let text = b"x { \"a b\" : [1, true],\n \"c\\\" d\": \" \\u00e9 \\\\\" } y";
        let mut out = b"<".to_vec();
        assert_eq!(
            write_checked_as_string(&mut out, text, 2),
            Ok(text.len() - 2)
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<"{\"a b\":[1,true],\"c\\\" d\":\" \\u00e9 \\\\\"}""#
        );
        let mut out = b"<".to_vec();
        let err = write_checked_as_string(&mut out, b"{\"a\":[1,]}", 0).unwrap_err();
        assert_eq!(Err(err), crate::json::syntax::value_end(b"{\"a\":[1,]}", 0));
        assert_eq!(out, b"<");
    }

    #[test]
    fn a_minified_value_is_written_with_a_backslash_before_each_quote_and_backslash() {
        let text = br#"[{"note":"a \"long\" text\\ \u00e9 that crosses blocks","n":-1.5}]"#;
        let mut body = text.to_vec();
        body.extend_from_slice(br#""]}"#);
        let mut out = Vec::new();
        assert_eq!(write_checked_as_string(&mut out, &body, 0), Ok(text.len()));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""[{\"note\":\"a \\\"long\\\" text\\\\ \\u00e9 that crosses blocks\",\"n\":-1.5}]""#
        );
    }

    #[test]
    fn a_long_minified_value_is_written_as_write_as_string_writes_it() {
        // Past the stack buffer's size, quotes in runs and apart.
        let item = r#"{"k":"\"\"\"\"\\\\","text":"some words between the quotes"}"#;
        let text = format!("[{}]", [item; 12].join(","));
        let mut expected = Vec::new();
        write_as_string(&mut expected, text.as_bytes());
        for after in ["", "]}", r#""]}""""""""""""""""""""""""""#] {
            let body = format!("{text}{after}");
            let mut out = Vec::new();
            assert_eq!(
                write_checked_as_string(&mut out, body.as_bytes(), 0),
                Ok(text.len())
            );
            assert_eq!(out, expected, "followed by {after:?}");
        }
    }

    proptest! {
        #[test]
        fn checked_as_string_writes_what_write_as_string_does(
            v in crate::json::tests::json_value(),
            pretty in any::<bool>(),
            // What follows the value in the body (quotes and backslashes
            // that must not be written).
            after in "[\"\\\\\\]}]{0,40}",
        ) {
            let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }.unwrap();
            let mut expected = Vec::new();
            write_as_string(&mut expected, text.as_bytes());
            let body = format!("{text}{after}");
            let mut out = Vec::new();
            prop_assert_eq!(write_checked_as_string(&mut out, body.as_bytes(), 0), Ok(text.len()));
            prop_assert_eq!(out, expected);
        }

        #[test]
        fn checked_as_string_fails_where_value_end_does(text in "[\\[\\]{}\",:0-9a-z\\\\ é]{0,24}") {
            let mut out = Vec::new();
            let b = text.as_bytes();
            let i = crate::json::syntax::skip_ws(b, 0);
            let written = write_checked_as_string(&mut out, b, i);
            prop_assert_eq!(written, crate::json::syntax::value_end(b, i));
            if written.is_err() {
                prop_assert!(out.is_empty());
            }
        }

        #[test]
        fn escapes_exactly_as_serde_json(s in any::<String>()) {
            prop_assert_eq!(written(&s), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn minified_text_is_what_serde_json_writes(v in crate::json::tests::json_value(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }.unwrap();
            let mut out = Vec::new();
            write_minified(&mut out, text.as_bytes(), false);
            prop_assert_eq!(std::str::from_utf8(&out).unwrap(), serde_json::to_string(&v).unwrap());
            let mut quoted = vec![b'"'];
            write_minified(&mut quoted, text.as_bytes(), true);
            quoted.push(b'"');
            prop_assert_eq!(
                serde_json::from_slice::<String>(&quoted).unwrap(),
                serde_json::to_string(&v).unwrap()
            );
        }
    }
}
