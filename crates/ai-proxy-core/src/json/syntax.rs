//! A validating JSON scanner: finds where values end, checking the whole
//! RFC 8259 grammar on the way, without decoding or allocating.
//!
//! Request preparation must validate every byte it forwards, but only ever
//! looks inside a few top-level fields. `serde_json` validates by driving a
//! visitor over every token; this walks the bytes directly (strings
//! sixteen bytes at a time, [`block`](super::block)), which is what makes
//! `prepare` cheaper than a plain serde validation of the same body.
//!
//! Input is `&str` (UTF-8 already checked by the caller), so the scanner
//! only checks grammar. It accepts exactly what `serde_json` accepts when
//! skipping a value (`IgnoredAny`): unpaired `\uD8xx` escapes are
//! syntactically valid JSON and pass, as there. Nesting depth is limited
//! only by the input's size (an explicit bit stack, no recursion).

use std::fmt;
use std::ops::Range;

use super::block::{BLOCK, special_mask};
use super::byte_set::ByteSet;
use super::swar::{long_special, string_special};

/// Where and why a JSON text is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset of the offending byte (the input's length at EOF).
    pub offset: usize,
    /// What was wrong.
    pub what: &'static str,
}

impl SyntaxError {
    pub fn at(offset: usize, what: &'static str) -> Self {
        Self { offset, what }
    }

    /// `"<what> at line L column C"` (1-based, columns in bytes), the form
    /// `serde_json` uses, for the text the offset points into.
    pub fn describe(&self, text: &str) -> String {
        let before = text
            .as_bytes()
            .get(..self.offset)
            .unwrap_or(text.as_bytes());
        let line = 1 + memchr::memchr_iter(b'\n', before).count();
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        let column = self.offset.saturating_sub(line_start) + 1;
        format!("{} at line {line} column {column}", self.what)
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

const EOF_VALUE: &str = "EOF while parsing a value";
const EOF_STRING: &str = "EOF while parsing a string";
pub const EOF_OBJECT: &str = "EOF while parsing an object";
/// A list cut short.
pub const EOF_LIST: &str = "EOF while parsing a list";

/// The index of the first non-whitespace byte at or after `i`.
#[inline(always)]
pub fn skip_ws(b: &[u8], i: usize) -> usize {
    // Minified JSON (what clients send) has no whitespace between tokens:
    // one comparison settles the common case.
    match b.get(i) {
        Some(&c) if c > b' ' => i,
        None => i,
        Some(_) => skip_ws_run(b, i),
    }
}

#[inline(never)]
fn skip_ws_run(b: &[u8], mut i: usize) -> usize {
    while let Some(c) = b.get(i) {
        if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// The string whose opening quote is at `i`: the index after its closing
/// quote, and whether it contains escapes (so it cannot be borrowed as
/// is).
///
/// Inlined for the common short string (a key, a role, a type, an id:
/// closed within the sixteen bytes after the quote, no escape); anything
/// longer goes through [`long_string_end`].
#[inline(always)]
pub fn string_end(b: &[u8], i: usize) -> Result<(usize, bool), SyntaxError> {
    if let Some(x) = block(b, i + 1) {
        let mask = special_mask(x);
        let at = i + 1 + mask.trailing_zeros() as usize;
        if mask != 0 && b.get(at) == Some(&b'"') {
            return Ok((at + 1, false));
        }
    }
    long_string_end(b, i)
}

/// The sixteen bytes at `j`, when there are sixteen.
#[inline(always)]
fn block(b: &[u8], j: usize) -> Option<&[u8; BLOCK]> {
    b.get(j..j + BLOCK)
        .and_then(|w| <&[u8; BLOCK]>::try_from(w).ok())
}

/// The bytes the string loop takes at a time: two blocks, their masks
/// joined (one bounds check, test and step per two blocks).
const WINDOW: usize = 2 * BLOCK;

/// The `N` bytes at `j`, when there are `N`.
#[inline(always)]
fn window<const N: usize>(b: &[u8], j: usize) -> Option<&[u8; N]> {
    b.get(j..j + N).and_then(|w| <&[u8; N]>::try_from(w).ok())
}

/// [`special_mask`] of each block of a window (`N` ≤ 32): bit `k` for byte `k`.
#[inline(always)]
fn window_mask<const N: usize>(x: &[u8; N]) -> u32 {
    let mut mask = 0;
    for (n, h) in x.chunks_exact(BLOCK).enumerate() {
        if let Ok(h) = <&[u8; BLOCK]>::try_from(h) {
            mask |= special_mask(h) << (BLOCK * n);
        }
    }
    mask
}

/// Clean bytes (no special byte) in a row after which a string's rest is
/// searched with SIMD `memchr` ([`long_special`]): base64 data and long
/// prose, where a call pays for itself.
const CLEAN_RUN: usize = 4 * BLOCK;

/// The first window of `N` bytes at or after `j` (in steps of `N`) with a
/// special byte: its offset, bytes and [`window_mask`]; `Err` where fewer
/// than `N` bytes remain. Past [`CLEAN_RUN`] clean bytes, [`long_special`].
#[inline(always)]
fn special_window<const N: usize>(b: &[u8], j: usize) -> Result<(usize, &[u8; N], u32), usize> {
    let mut at = j;
    for _ in 0..CLEAN_RUN / N {
        let Some(x) = window::<N>(b, at) else {
            return Err(at);
        };
        let mask = window_mask(x);
        if mask != 0 {
            return Ok((at, x, mask));
        }
        at += N;
    }
    let special = long_special(b, at);
    match window::<N>(b, special) {
        Some(x) => Ok((special, x, window_mask(x))),
        None => Err(special),
    }
}

/// [`string_end`] past its short case: a loop over the string a window
/// at a time, every special byte handled from the window's one mask; a
/// long clean run goes to SIMD `memchr`. Public for a reader that expects
/// a long string (a message's text): it skips the short case.
#[inline(never)]
pub fn long_string_end(b: &[u8], i: usize) -> Result<(usize, bool), SyntaxError> {
    long_string_end_inlined(b, i)
}

/// [`long_string_end`] inlined, for the compact readers' long strings
/// ([`long_string`](super::literal::long_string)): a call per text cost
/// its saved registers and a result through memory.
#[inline(always)]
pub(super) fn long_string_end_inlined(b: &[u8], i: usize) -> Result<(usize, bool), SyntaxError> {
    windows_string_end::<WINDOW>(b, i + 1, false)
}

/// The string loop from `j` (`escaped`: escapes met already), `N` bytes
/// at a time; near the input's end a block at a time, then byte runs.
#[inline(always)]
fn windows_string_end<const N: usize>(
    b: &[u8],
    mut j: usize,
    mut escaped: bool,
) -> Result<(usize, bool), SyntaxError> {
    loop {
        let (start, x, mut mask) = match special_window::<N>(b, j) {
            Ok(found) => found,
            Err(tail) if N > BLOCK => return block_string_end(b, tail, escaped),
            Err(tail) => return tail_string_end(b, tail, escaped),
        };
        loop {
            // The special byte (and an escape's letter) read from the
            // window: no bounds to check.
            let k = mask.trailing_zeros() as usize & (N - 1);
            match x.get(k) {
                Some(b'"') => return Ok((start + k + 1, escaped)),
                Some(b'\\') => {
                    escaped = true;
                    let next = match x.get(k + 1) {
                        Some(&c) if SHORT_ESCAPE.contains(c) => k + 2,
                        // A `\u` escape, or one the window cuts.
                        _ => escape_end(b, start + k)? - start,
                    };
                    if next >= N {
                        j = start + next;
                        break;
                    }
                    // Drop the bits of the escape's own bytes (an escaped
                    // `"` or `\`) and of what precedes it.
                    mask &= u32::MAX << next;
                    if mask == 0 {
                        j = start + N;
                        break;
                    }
                }
                _ => return Err(SyntaxError::at(start + k, CONTROL_IN_STRING)),
            }
        }
    }
}

/// The string loop's last window's worth of input: a block at a time.
#[inline(never)]
fn block_string_end(b: &[u8], j: usize, escaped: bool) -> Result<(usize, bool), SyntaxError> {
    windows_string_end::<BLOCK>(b, j, escaped)
}

/// The last few bytes of the input: one special byte at a time.
fn tail_string_end(
    b: &[u8],
    mut j: usize,
    mut escaped: bool,
) -> Result<(usize, bool), SyntaxError> {
    loop {
        j = string_special(b, j);
        match b.get(j) {
            Some(b'"') => return Ok((j + 1, escaped)),
            Some(b'\\') => {
                escaped = true;
                j = escape_end(b, j)?;
            }
            Some(_) => return Err(SyntaxError::at(j, CONTROL_IN_STRING)),
            None => return Err(SyntaxError::at(b.len(), EOF_STRING)),
        }
    }
}

const CONTROL_IN_STRING: &str = "control character (\\u0000-\\u001F) found while parsing a string";

/// The letters of the two-byte escapes (`\"`, `\\`, `\/`, `\b`, `\f`,
/// `\n`, `\r`, `\t`), by byte: one load and one well-predicted branch for
/// the common escape, where a `match` compiled to a jump table whose
/// target changes with every escape.
const SHORT_ESCAPE: ByteSet = ByteSet::of(&[b"\"\\/bfnrt"]);

/// The escape whose backslash is at `j`, checked: the index after it.
#[inline(always)]
fn escape_end(b: &[u8], j: usize) -> Result<usize, SyntaxError> {
    match b.get(j + 1) {
        Some(&c) if SHORT_ESCAPE.contains(c) => Ok(j + 2),
        Some(b'u') => match b.get(j + 2..j + 6) {
            Some(h) if h.iter().all(u8::is_ascii_hexdigit) => Ok(j + 6),
            Some(_) => Err(SyntaxError::at(j + 2, "invalid escape")),
            None => Err(SyntaxError::at(b.len(), EOF_STRING)),
        },
        Some(_) => Err(SyntaxError::at(j + 1, "invalid escape")),
        None => Err(SyntaxError::at(b.len(), EOF_STRING)),
    }
}

/// The number starting at `i` (`-` or a digit): the index after it.
#[inline]
fn number_end(b: &[u8], mut i: usize) -> Result<usize, SyntaxError> {
    let digits = |b: &[u8], mut i: usize| {
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i, i - start)
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(b, i).0,
        Some(_) => return Err(SyntaxError::at(i, "invalid number")),
        None => return Err(SyntaxError::at(b.len(), EOF_VALUE)),
    }
    if b.get(i) == Some(&b'.') {
        let (end, n) = digits(b, i + 1);
        if n == 0 {
            return Err(SyntaxError::at(end, "invalid number"));
        }
        i = end;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let (end, n) = digits(b, i);
        if n == 0 {
            return Err(SyntaxError::at(end, "invalid number"));
        }
        i = end;
    }
    Ok(i)
}

/// The literal `word` at `i`: the index after it.
#[inline]
fn literal_end(b: &[u8], i: usize, word: &'static [u8]) -> Result<usize, SyntaxError> {
    match b.get(i..i + word.len()) {
        Some(w) if w == word => Ok(i + word.len()),
        Some(_) => Err(SyntaxError::at(i, "expected value")),
        None => {
            // A prefix of the literal then EOF reads as EOF, anything else
            // as a wrong value.
            // ok: callers pass the index of the literal's first letter.
            #[allow(clippy::indexing_slicing)]
            let rest = &b[i..];
            if word.starts_with(rest) {
                Err(SyntaxError::at(b.len(), EOF_VALUE))
            } else {
                Err(SyntaxError::at(i, "expected value"))
            }
        }
    }
}

/// Which containers are open: one bit per level (set: object).
struct Nesting {
    inline: u64,
    spill: Vec<u64>,
    depth: usize,
}

impl Nesting {
    fn new() -> Self {
        Self {
            inline: 0,
            spill: Vec::new(),
            depth: 0,
        }
    }

    fn push(&mut self, object: bool) {
        let (word, bit) = (self.depth / 64, 1u64 << (self.depth % 64));
        // ok: depth grows by one, so `spill` grows to `word` words just in
        // time.
        #[allow(clippy::indexing_slicing)]
        let slot = if word == 0 {
            &mut self.inline
        } else {
            if self.spill.len() < word {
                self.spill.push(0);
            }
            &mut self.spill[word - 1]
        };
        if object {
            *slot |= bit;
        } else {
            *slot &= !bit;
        }
        self.depth += 1;
    }

    /// Whether the innermost open container is an object.
    fn top_is_object(&self) -> bool {
        let Some(top) = self.depth.checked_sub(1) else {
            return false;
        };
        let (word, bit) = (top / 64, 1u64 << (top % 64));
        // ok: `push` made a word for every open level.
        #[allow(clippy::indexing_slicing)]
        let bits = if word == 0 {
            self.inline
        } else {
            self.spill[word - 1]
        };
        bits & bit != 0
    }
}

/// An object member's `"key" :`, read from its opening quote.
#[derive(Clone, Copy, Debug)]
pub struct MemberKey {
    /// The index after the key's closing quote.
    pub key_end: usize,
    /// Whether the key has escapes.
    pub escaped: bool,
    /// The index of the `:`.
    pub colon: usize,
    /// The index of the value's first byte (whitespace skipped).
    pub value_start: usize,
}

/// Reads `"key" :` at `i` (after whitespace). Inlined: it runs once per
/// object member, and the call cost a quarter of it.
#[inline(always)]
pub fn member_key(b: &[u8], i: usize) -> Result<MemberKey, SyntaxError> {
    match b.get(i) {
        Some(b'"') => {}
        Some(_) => return Err(SyntaxError::at(i, "key must be a string")),
        None => return Err(SyntaxError::at(b.len(), EOF_OBJECT)),
    }
    let (key_end, escaped) = string_end(b, i)?;
    let colon = skip_ws(b, key_end);
    match b.get(colon) {
        Some(b':') => Ok(MemberKey {
            key_end,
            escaped,
            colon,
            value_start: skip_ws(b, colon + 1),
        }),
        Some(_) => Err(SyntaxError::at(colon, "expected `:`")),
        None => Err(SyntaxError::at(b.len(), EOF_OBJECT)),
    }
}

/// The value whose first byte is at `i` (whitespace already skipped): the
/// index after it. Validates everything inside.
pub fn value_end(b: &[u8], i: usize) -> Result<usize, SyntaxError> {
    value_tokens(b, i, &mut Unseen)
}

/// What a walk over a value ([`value_tokens`]) hands on: its tokens in
/// order, the whitespace between them left out.
pub trait Tokens {
    /// Punctuation, a number or a literal: `b[range]`.
    fn text(&mut self, b: &[u8], range: Range<usize>);
    /// A string token, quotes included (`escaped`: it has escapes).
    fn string(&mut self, b: &[u8], range: Range<usize>, escaped: bool);
}

/// Tokens nobody reads ([`value_end`]): the walk compiles to the checks
/// alone.
struct Unseen;

impl Tokens for Unseen {
    #[inline(always)]
    fn text(&mut self, _: &[u8], _: Range<usize>) {}
    #[inline(always)]
    fn string(&mut self, _: &[u8], _: Range<usize>, _: bool) {}
}

/// A member's key and colon, handed on.
#[inline(always)]
fn key_tokens<T: Tokens>(b: &[u8], i: usize, tokens: &mut T) -> Result<usize, SyntaxError> {
    let m = member_key(b, i)?;
    tokens.string(b, i..m.key_end, m.escaped);
    tokens.text(b, m.colon..m.colon + 1);
    Ok(m.value_start)
}

/// [`value_end`], handing every token to `tokens` as it passes: one walk
/// that checks a value and writes it elsewhere (minified, as a string).
pub fn value_tokens<T: Tokens>(
    b: &[u8],
    mut i: usize,
    tokens: &mut T,
) -> Result<usize, SyntaxError> {
    let mut nesting = Nesting::new();
    loop {
        // One value (or the opening of a container).
        let start = i;
        match b.get(i) {
            Some(b'"') => {
                let (end, escaped) = string_end(b, i)?;
                tokens.string(b, i..end, escaped);
                i = end;
            }
            Some(b'{') => {
                tokens.text(b, i..i + 1);
                let next = skip_ws(b, i + 1);
                if b.get(next) == Some(&b'}') {
                    tokens.text(b, next..next + 1);
                    i = next + 1;
                } else {
                    nesting.push(true);
                    i = key_tokens(b, next, tokens)?;
                    continue;
                }
            }
            Some(b'[') => {
                tokens.text(b, i..i + 1);
                let next = skip_ws(b, i + 1);
                if b.get(next) == Some(&b']') {
                    tokens.text(b, next..next + 1);
                    i = next + 1;
                } else {
                    nesting.push(false);
                    i = next;
                    continue;
                }
            }
            Some(&c @ (b't' | b'f' | b'n' | b'-' | b'0'..=b'9')) => {
                i = match c {
                    b't' => literal_end(b, i, b"true")?,
                    b'f' => literal_end(b, i, b"false")?,
                    b'n' => literal_end(b, i, b"null")?,
                    _ => number_end(b, i)?,
                };
                tokens.text(b, start..i);
            }
            Some(_) => return Err(SyntaxError::at(i, "expected value")),
            None => return Err(SyntaxError::at(b.len(), EOF_VALUE)),
        }
        // After a value: close what ends here, or go on to the next one.
        loop {
            if nesting.depth == 0 {
                return Ok(i);
            }
            let object = nesting.top_is_object();
            i = skip_ws(b, i);
            match (b.get(i), object) {
                (Some(b','), true) => {
                    tokens.text(b, i..i + 1);
                    i = key_tokens(b, skip_ws(b, i + 1), tokens)?;
                    break;
                }
                (Some(b','), false) => {
                    tokens.text(b, i..i + 1);
                    i = skip_ws(b, i + 1);
                    break;
                }
                (Some(b'}'), true) | (Some(b']'), false) => {
                    tokens.text(b, i..i + 1);
                    nesting.depth -= 1;
                    i += 1;
                }
                (Some(_), true) => {
                    return Err(SyntaxError::at(i, "expected `,` or `}`"));
                }
                (Some(_), false) => {
                    return Err(SyntaxError::at(i, "expected `,` or `]`"));
                }
                (None, true) => return Err(SyntaxError::at(b.len(), EOF_OBJECT)),
                (None, false) => return Err(SyntaxError::at(b.len(), EOF_LIST)),
            }
        }
    }
}

/// The array whose `[` is at `i`: the index after its `]` and how many
/// elements it has. Validates everything inside.
pub fn array_end(b: &[u8], i: usize) -> Result<(usize, usize), SyntaxError> {
    let mut j = skip_ws(b, i + 1);
    if b.get(j) == Some(&b']') {
        return Ok((j + 1, 0));
    }
    let mut n = 0;
    loop {
        j = value_end(b, j)?;
        n += 1;
        j = skip_ws(b, j);
        match b.get(j) {
            Some(b',') => j = skip_ws(b, j + 1),
            Some(b']') => return Ok((j + 1, n)),
            Some(_) => return Err(SyntaxError::at(j, "expected `,` or `]`")),
            None => return Err(SyntaxError::at(b.len(), EOF_LIST)),
        }
    }
}

/// Requires only whitespace from `i` on.
pub fn end(b: &[u8], i: usize) -> Result<(), SyntaxError> {
    let i = skip_ws(b, i);
    if i < b.len() {
        return Err(SyntaxError::at(i, "trailing characters"));
    }
    Ok(())
}

/// Whether `text` is one valid JSON value with optional surrounding
/// whitespace.
pub fn validate(text: &str) -> Result<(), SyntaxError> {
    let b = text.as_bytes();
    let i = value_end(b, skip_ws(b, 0))?;
    end(b, i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn serde_accepts(text: &str) -> bool {
        serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
    }

    #[test]
    fn accepts_every_value_kind() {
        for ok in [
            "0",
            "-0",
            "12.5e-3",
            "1E+9",
            "true",
            "false",
            "null",
            r#""a\"b\\c\/\b\f\n\r\t\u00e9 ✓""#,
            "[]",
            "{}",
            " [1, [2, [3, {}]], {\"a\": {\"b\": []}}] ",
            r#"{"k":"\ud800"}"#,
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
            assert!(serde_accepts(ok), "{ok}");
        }
    }

    #[test]
    fn rejects_what_serde_json_rejects() {
        for bad in [
            "",
            " ",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "+1",
            "tru",
            "nul",
            "truex",
            "[1,]",
            "[,1]",
            "{,}",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{1:2}",
            "[1 2]",
            "[",
            "]",
            "{",
            "}",
            "\"abc",
            "\"\\x\"",
            "\"\\u12G4\"",
            "\"\\u12\"",
            "\"a\u{1}\"",
            "[1]]",
            "{}}",
            "[}",
            "{]",
            "nan",
            "'a'",
        ] {
            assert!(validate(bad).is_err(), "{bad:?}");
            assert!(!serde_accepts(bad), "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_spills_past_the_inline_word() {
        let deep = format!("{}1{}", "[{\"a\":".repeat(300), "}]".repeat(300));
        assert_eq!(validate(&deep), Ok(()));
        let mismatched = format!("{}1{}", "[".repeat(100), "}".repeat(100));
        assert!(validate(&mismatched).is_err());
    }

    #[test]
    fn errors_name_line_and_column() {
        let text = "{\n  \"a\": x}";
        let e = validate(text).unwrap_err();
        assert_eq!(e.describe(text), "expected value at line 2 column 8");
        let e = validate("{}x").unwrap_err();
        assert_eq!(e.describe("{}x"), "trailing characters at line 1 column 3");
    }

    #[test]
    fn string_end_reports_escapes() {
        assert_eq!(string_end(br#""plain text here!""#, 0), Ok((18, false)));
        assert_eq!(
            string_end(br#""a long \"escaped\" one""#, 0),
            Ok((24, true))
        );
    }

    /// JSON-ish text: fragments that stress every branch of the grammar.
    fn jsonish() -> impl Strategy<Value = String> {
        const TOKENS: &[&str] = &[
            "{", "}", "[", "]", ",", ":", "\"", "\\", " ", "\n", "true", "nul", "-", "0", "e", ".",
            "u",
        ];
        let piece = prop_oneof![
            17 => proptest::sample::select(TOKENS).prop_map(str::to_owned),
            1 => "[0-9a-fA-F]{1,4}",
            1 => "\"[a-z\\\\\"é\u{1}]{0,12}\"",
            1 => "[ -~]{1,3}",
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    /// `string_end` byte by byte: the reference for the block loop.
    fn naive_string_end(b: &[u8], i: usize) -> Result<(usize, bool), SyntaxError> {
        let mut j = i + 1;
        let mut escaped = false;
        loop {
            match b.get(j) {
                Some(b'"') => return Ok((j + 1, escaped)),
                Some(b'\\') => {
                    escaped = true;
                    j = escape_end(b, j)?;
                }
                Some(&c) if c < 0x20 => return Err(SyntaxError::at(j, CONTROL_IN_STRING)),
                Some(_) => j += 1,
                None => return Err(SyntaxError::at(b.len(), EOF_STRING)),
            }
        }
    }

    /// String-ish bytes: text, escapes (valid or not), quotes, control
    /// characters, non-ASCII, in runs long enough to cross blocks.
    fn stringish() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            8 => "[a-z ]{1,40}".prop_map(String::into_bytes),
            2 => proptest::sample::select(vec![
                &b"\\\""[..], b"\\\\", b"\\n", b"\\u00e9", b"\\uD83D", b"\\x", b"\\u12", b"\\",
                b"\"", b"\n", b"\x00", b"\x1f", "é✓🚀".as_bytes(), b"\xff",
            ])
            .prop_map(<[u8]>::to_vec),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn agrees_with_serde_on_jsonish_text(text in jsonish()) {
            prop_assert_eq!(validate(&text).is_ok(), serde_accepts(&text), "{:?}", text);
        }

        #[test]
        fn string_end_agrees_with_a_byte_loop(text in stringish(), lead in 0usize..20) {
            let mut b = vec![b' '; lead];
            b.push(b'"');
            b.extend_from_slice(&text);
            prop_assert_eq!(string_end(&b, lead), naive_string_end(&b, lead));
            prop_assert_eq!(long_string_end(&b, lead), naive_string_end(&b, lead));
        }

        #[test]
        fn agrees_with_serde_on_arbitrary_text(text in ".{0,64}") {
            prop_assert_eq!(validate(&text).is_ok(), serde_accepts(&text), "{:?}", text);
        }

        #[test]
        fn accepts_all_serialized_values(value in crate::json::tests::json_value(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&value)
            } else {
                serde_json::to_string(&value)
            }
            .unwrap();
            prop_assert_eq!(validate(&text), Ok(()));
            // Any strict prefix of a compact container is incomplete.
            if text.len() > 1 && (text.starts_with('{') || text.starts_with('[')) {
                prop_assert!(validate(&text[..text.len() - 1]).is_err());
            }
        }
    }
}
