//! [`Cursor`]: a forward cursor over a response body on the json
//! toolkit's grammar, reading the members a one-pass reader asks for as the
//! observers' lenient serde types read them (a string or `null` as a
//! `Str`, a plain integer as a `Count`) and skipping (checking) the rest as
//! serde skips it. Anything those types would read differently is
//! [`FullParse`]: the serde parse then reads the body.
//!
//! Each string is scanned once for its end (the scan reports escapes, so
//! only escaped strings are searched for `\u`) and once for UTF-8; known
//! keys are matched as written literals, numbers read where they stand.

use std::borrow::Cow;

use super::observation::FullParse;
use crate::json::syntax::{skip_ws, string_end, value_end};
use crate::json::text::decode;

/// Which known members an object has had, to refuse a repeated one (serde
/// fails on it).
#[derive(Default)]
pub(super) struct Seen(u32);

impl Seen {
    #[inline(always)]
    pub(super) fn once(&mut self, member: u32) -> Result<(), FullParse> {
        let bit = 1 << member;
        if self.0 & bit != 0 {
            return Err(FullParse);
        }
        self.0 |= bit;
        Ok(())
    }
}

/// `\u`, searched for in escaped strings: built once (a one-off `memmem`
/// search builds its searcher each time, which costs more than a message's
/// text).
static UNICODE_ESCAPE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\\u"));

/// A string member's text as serde reads it.
pub(super) struct Text<'a> {
    pub(super) non_empty: bool,
    /// Decoded when asked for (empty otherwise).
    pub(super) text: Cow<'a, str>,
}

/// A forward cursor over the body, on the json toolkit's grammar; every
/// value it is not asked to read is skipped (and checked) as serde skips
/// it.
pub(super) struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `body`.
    pub(super) fn new(body: &'a [u8]) -> Self {
        Self { b: body, at: 0 }
    }

    /// Walks the object at the cursor, calling `member` at each member's
    /// key; `member` consumes the key ([`key`](Self::key) or
    /// [`other`](Self::other)) and the value.
    #[inline(always)]
    pub(super) fn object(
        &mut self,
        member: impl FnMut(&mut Self) -> Result<(), FullParse>,
    ) -> Result<(), FullParse> {
        self.items(b'{', b'}', member)
    }

    /// Walks the `open` … `close` container at the cursor (an object or an
    /// array: the same comma-separated walk), calling `item` at each item,
    /// which consumes it.
    #[inline(always)]
    fn items(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<(), FullParse>,
    ) -> Result<(), FullParse> {
        let b = self.b;
        if b.get(self.at) != Some(&open) {
            return Err(FullParse);
        }
        let mut i = ws(b, self.at + 1);
        if b.get(i) == Some(&close) {
            self.at = i + 1;
            return Ok(());
        }
        loop {
            self.at = i;
            item(self)?;
            i = ws(b, self.at);
            match b.get(i) {
                Some(b',') => i = ws(b, i + 1),
                Some(&c) if c == close => {
                    self.at = i + 1;
                    return Ok(());
                }
                _ => return Err(FullParse),
            }
        }
    }

    /// The first letter of the key at the cursor: what a member's
    /// [`key`](Self::key) tests are told apart by.
    #[inline(always)]
    pub(super) fn key_letter(&self) -> u8 {
        self.b.get(self.at + 1).copied().unwrap_or(0)
    }

    /// Consumes `lit` (a key with its quotes) and its colon when the member
    /// at the cursor has that key as written — a name the general scan
    /// ([`other`](Self::other)) would read the same, without scanning it.
    #[inline(always)]
    pub(super) fn key<const N: usize>(&mut self, lit: &[u8; N]) -> bool {
        let (b, i) = (self.b, self.at);
        if b.get(i..i + N) != Some(lit.as_slice()) {
            return false;
        }
        let colon = ws(b, i + N);
        if b.get(colon) != Some(&b':') {
            return false;
        }
        self.at = ws(b, colon + 1);
        true
    }

    /// A member this reader does not read: its key scanned and its value
    /// skipped. An escaped key is the serde parse's (its bytes are not its
    /// name), and serde reads a key as a string, so it must be UTF-8.
    #[inline(always)]
    pub(super) fn other(&mut self) -> Result<(), FullParse> {
        let (b, i) = (self.b, self.at);
        if b.get(i) != Some(&b'"') {
            return Err(FullParse);
        }
        let (key_end, escaped) = string_end(b, i)?;
        let colon = ws(b, key_end);
        let key = b.get(i + 1..key_end - 1).unwrap_or_default();
        if escaped || b.get(colon) != Some(&b':') || !utf8(key) {
            return Err(FullParse);
        }
        self.at = ws(b, colon + 1);
        self.skip()
    }

    /// Walks the array at the cursor, calling `element` for each element
    /// (which it consumes).
    #[inline(always)]
    pub(super) fn array(
        &mut self,
        element: impl FnMut(&mut Self) -> Result<(), FullParse>,
    ) -> Result<(), FullParse> {
        self.items(b'[', b']', element)
    }

    /// Consumes a `null` at the cursor: `true`; another value is left.
    #[inline(always)]
    pub(super) fn null(&mut self) -> Result<bool, FullParse> {
        match self.b.get(self.at) {
            Some(b'n') if self.b.get(self.at..self.at + 4) == Some(b"null") => {
                self.at += 4;
                Ok(true)
            }
            Some(b'n') => Err(FullParse),
            _ => Ok(false),
        }
    }

    /// Skips (checking) the value at the cursor: strings, `null` and plain
    /// integers in place, the rest through the toolkit's validator.
    #[inline(always)]
    pub(super) fn skip(&mut self) -> Result<(), FullParse> {
        let (b, i) = (self.b, self.at);
        self.at = match b.get(i) {
            Some(b'"') => string_end(b, i)?.0,
            Some(b'n') if b.get(i..i + 4) == Some(b"null") => i + 4,
            Some(&d @ b'0'..=b'9') => {
                let end = if d == b'0' {
                    i + 1
                } else {
                    digits(b, i + 1, 0).0
                };
                // A fraction or an exponent (or a leading zero, refused
                // there) is the validator's.
                if matches!(b.get(end), Some(b'.' | b'e' | b'E' | b'0'..=b'9')) {
                    value_end(b, i)?
                } else {
                    end
                }
            }
            _ => value_end(b, i)?,
        };
        Ok(())
    }

    /// A string or `null` (`None`), as a `Str`/`Content` reads it; other
    /// values are [`FullParse`]. The string must be UTF-8 and free of `\u`
    /// escapes (serde refuses a lone surrogate): then serde's text is the
    /// decoded one. Decoded only when asked for.
    #[inline(always)]
    pub(super) fn string(&mut self, decode: bool) -> Result<Option<Text<'a>>, FullParse> {
        let (b, i) = (self.b, self.at);
        if b.get(i) != Some(&b'"') {
            return if self.null()? {
                Ok(None)
            } else {
                Err(FullParse)
            };
        }
        let (end, escaped) = string_end(b, i)?;
        self.at = end;
        let inner = b.get(i + 1..end - 1).unwrap_or_default();
        if escaped && UNICODE_ESCAPE.find(inner).is_some() {
            return Err(FullParse);
        }
        // Escapes other than `\u` are ASCII: the bytes validate as the text.
        let text = if decode {
            let text = simdutf8::basic::from_utf8(inner).map_err(|_| FullParse)?;
            if escaped {
                self::decode(inner).ok_or(FullParse)?
            } else {
                Cow::Borrowed(text)
            }
        } else {
            if !utf8(inner) {
                return Err(FullParse);
            }
            Cow::Borrowed("")
        };
        Ok(Some(Text {
            non_empty: !inner.is_empty(),
            text,
        }))
    }

    /// A token count written as a plain integer (`None` for `null`), as
    /// `Count` reads it: negative is 0. Fractions, exponents, integers past
    /// `u64` and other values are [`FullParse`].
    #[inline(always)]
    pub(super) fn count(&mut self) -> Result<Option<u64>, FullParse> {
        let (b, i) = (self.b, self.at);
        let (negative, start) = match b.get(i) {
            Some(b'-') => (true, i + 1),
            Some(b'0'..=b'9') => (false, i),
            _ => {
                return if self.null()? {
                    Ok(None)
                } else {
                    Err(FullParse)
                };
            }
        };
        let (end, n) = match b.get(start) {
            Some(b'0') => (start + 1, Some(0)),
            Some(&d @ b'1'..=b'9') => digits(b, start + 1, u64::from(d - b'0')),
            _ => return Err(FullParse),
        };
        // A fraction, an exponent or a leading zero: not a plain integer.
        if matches!(b.get(end), Some(b'.' | b'e' | b'E' | b'0'..=b'9')) {
            return Err(FullParse);
        }
        self.at = end;
        if negative {
            // Past `i64` serde reads a float; either way the count is 0.
            return Ok(Some(0));
        }
        n.map(Some).ok_or(FullParse)
    }

    /// Requires only whitespace to remain.
    pub(super) fn end(&self) -> Result<(), FullParse> {
        Ok(crate::json::syntax::end(self.b, self.at)?)
    }
}

/// The first byte that is not whitespace at or after `i`: one space (the
/// separators of `json.dumps` and most pretty printers) settled in place.
#[inline(always)]
fn ws(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b' ') if b.get(i + 1).is_some_and(|&c| c > b' ') => i + 1,
        _ => skip_ws(b, i),
    }
}

/// Whether `text` is UTF-8: short texts (keys, ids) by a plain ASCII test,
/// long ones (message text) with SIMD.
#[inline(always)]
fn utf8(text: &[u8]) -> bool {
    if text.len() < 64 && text.is_ascii() {
        return true;
    }
    simdutf8::basic::from_utf8(text).is_ok()
}

/// The decimal digits from `i` on: where they end, and the number they
/// make after `lead` (`None` past `u64`). One pass; a run long enough to
/// pass `u64` is counted again with checks.
#[inline(always)]
fn digits(b: &[u8], mut i: usize, lead: u64) -> (usize, Option<u64>) {
    let start = i;
    let mut n = lead;
    while let Some(d) = b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d <= 9) {
        n = n.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    // `lead` and 18 more digits stay below `u64::MAX`.
    if i - start <= 18 {
        return (i, Some(n));
    }
    let run = b.get(start..i).unwrap_or_default();
    let checked = run.iter().try_fold(lead, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    });
    (i, checked)
}
