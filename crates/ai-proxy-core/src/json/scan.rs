//! A minimal JSON scanner for converters' hot path: walks objects and
//! arrays and hands out raw value slices, skipping strings with `memchr`
//! (SIMD) instead of decoding them.
//!
//! The converter contract says bodies arrive already validated by the
//! pipeline, so this scanner checks structure only as far as it needs to
//! find values: on any input it returns slices of the input or an error,
//! never panics, and never reads past the buffer. Strings it must look
//! into (roles, part types, data URLs) are decoded with serde_json.

use std::borrow::Cow;

/// Nesting deeper than this is rejected (bounded work on hostile input).
const MAX_DEPTH: usize = 512;

/// A scan failure at a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanError {
    /// Where the input stopped making sense.
    pub offset: usize,
}

/// A raw JSON value: the exact input bytes of one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raw<'a>(pub &'a [u8]);

impl<'a> Raw<'a> {
    /// The value's exact input bytes.
    pub fn bytes(self) -> &'a [u8] {
        self.0
    }

    fn first(self) -> u8 {
        self.0.first().copied().unwrap_or(0)
    }

    /// Whether the value is a string.
    pub fn is_string(self) -> bool {
        self.first() == b'"'
    }

    /// Whether the value is an array.
    pub fn is_array(self) -> bool {
        self.first() == b'['
    }

    /// Whether the value is an object.
    pub fn is_object(self) -> bool {
        self.first() == b'{'
    }

    /// Whether the value is `null`.
    pub fn is_null(self) -> bool {
        self.0 == b"null"
    }

    /// Whether the value is a number.
    pub fn is_number(self) -> bool {
        let b = self.first();
        b == b'-' || b.is_ascii_digit()
    }

    /// `""`.
    pub fn is_empty_string(self) -> bool {
        self.0 == b"\"\""
    }

    /// The escaped contents of a string (without quotes).
    pub fn inner(self) -> &'a [u8] {
        self.0
            .get(1..self.0.len().saturating_sub(1))
            .unwrap_or_default()
    }

    /// The decoded string (borrowed when it has no escapes); `None` for
    /// other types or invalid UTF-8.
    pub fn str(self) -> Option<Cow<'a, str>> {
        if !self.is_string() {
            return None;
        }
        let inner = self.inner();
        if !inner.contains(&b'\\') {
            return std::str::from_utf8(inner).ok().map(Cow::Borrowed);
        }
        serde_json::from_slice::<String>(self.0)
            .ok()
            .map(Cow::Owned)
    }

    /// Whether this is a string equal to `expected` (escape-free text).
    pub fn str_is(self, expected: &str) -> bool {
        if self.is_string() && self.inner() == expected.as_bytes() {
            return true;
        }
        self.is_string()
            && self.inner().contains(&b'\\')
            && self.str().is_some_and(|s| s == expected)
    }

    /// A string's decoded contents as bytes (borrowed when it has no
    /// escapes); `None` for other types or a broken escape. Made for JSON
    /// held in a string (tool `arguments`), where nearly every byte pair is
    /// `\"`: the common escapes are undone in a byte loop, no serde round
    /// trip; `\u` falls back to serde.
    pub fn unescaped(self) -> Option<Cow<'a, [u8]>> {
        if !self.is_string() {
            return None;
        }
        let inner = self.inner();
        if !inner.contains(&b'\\') {
            return Some(Cow::Borrowed(inner));
        }
        let mut out = Vec::with_capacity(inner.len());
        let mut bytes = inner.iter();
        while let Some(&b) = bytes.next() {
            if b != b'\\' {
                out.push(b);
                continue;
            }
            out.push(match bytes.next()? {
                b'"' => b'"',
                b'\\' => b'\\',
                b'/' => b'/',
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'b' => 0x08,
                b'f' => 0x0c,
                _ => return self.str().map(|s| Cow::Owned(s.into_owned().into_bytes())),
            });
        }
        Some(Cow::Owned(out))
    }
}

/// The first `"` in `hay`. Quotes are often near (escaped quotes, short
/// strings), where a call into SIMD `memchr` costs more than it saves: the
/// first 64 bytes are searched 8 at a time inline (SWAR), the rest with
/// `memchr`.
#[inline]
fn find_quote(hay: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = 0x2222_2222_2222_2222;
    let head = hay.len().min(64);
    let mut i = 0;
    while i + 8 <= head {
        let Some(word) = hay.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) else {
            break;
        };
        let x = u64::from_le_bytes(word) ^ QUOTES;
        // Exact for the lowest zero byte (borrows only flag bytes above it).
        let zero = x.wrapping_sub(LO) & !x & HI;
        if zero != 0 {
            return Some(i + (zero.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    memchr::memchr(b'"', hay.get(i..)?).map(|p| p + i)
}

/// A cursor over one JSON text.
pub struct Scanner<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    /// A cursor at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn err<T>(&self) -> Result<T, ScanError> {
        Err(ScanError { offset: self.pos })
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.buf.get(self.pos) {
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// The next non-whitespace byte, not consumed.
    pub fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.buf.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> Result<(), ScanError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            self.err()
        }
    }

    /// The bytes from `start`, an earlier position, to `self.pos`.
    #[inline]
    #[allow(clippy::indexing_slicing)] // ok: positions only move forward, never past `buf.len()`
    fn stepped_over(&self, start: usize) -> &'a [u8] {
        &self.buf[start..self.pos]
    }

    /// Skips the string whose opening quote is at `self.pos`.
    ///
    /// Only quotes are searched (one SIMD `memchr` per escaped quote, not
    /// per escape): a quote closes the string when an even number of
    /// backslashes precedes it. Each backslash run is counted once, for
    /// the quote right after it, so the work stays linear.
    #[inline]
    fn skip_string(&mut self) -> Result<(), ScanError> {
        // ok (every slice below): `open` is the position of a quote, so
        // `open + 1 <= buf.len()`; `quote` is a quote found after `self.pos`,
        // so `open + 1 <= quote < buf.len()`.
        let open = self.pos;
        self.pos += 1;
        loop {
            #[allow(clippy::indexing_slicing)]
            let rest = &self.buf[self.pos..];
            let Some(i) = find_quote(rest) else {
                self.pos = self.buf.len();
                return self.err();
            };
            let quote = self.pos + i;
            self.pos = quote + 1;
            if quote == open + 1 || self.buf.get(quote - 1) != Some(&b'\\') {
                return Ok(());
            }
            #[allow(clippy::indexing_slicing)]
            let before = &self.buf[open + 1..quote];
            let backslashes = before.iter().rev().take_while(|b| **b == b'\\').count();
            if backslashes % 2 == 0 {
                return Ok(());
            }
        }
    }

    /// The next value, skipped and returned raw.
    #[inline]
    pub fn value(&mut self) -> Result<Raw<'a>, ScanError> {
        // Strings are most values: inlined, no container bookkeeping.
        if self.peek() == Some(b'"') {
            let start = self.pos;
            self.skip_string()?;
            return Ok(Raw(self.stepped_over(start)));
        }
        self.value_other()
    }

    /// A container or scalar value.
    #[inline(never)]
    fn value_other(&mut self) -> Result<Raw<'a>, ScanError> {
        let start = match self.peek() {
            Some(_) => self.pos,
            None => return self.err(),
        };
        let mut depth = 0usize;
        // Which containers are open (bit set: object), so a `]` cannot
        // close a `{`: the slices handed out are balanced JSON.
        let mut objects = [0u64; MAX_DEPTH / 64];
        loop {
            let Some(&b) = self.buf.get(self.pos) else {
                return self.err();
            };
            match b {
                b'"' => self.skip_string()?,
                b'{' | b'[' => {
                    let Some(word) = objects.get_mut(depth / 64) else {
                        return self.err();
                    };
                    let bit = 1u64 << (depth % 64);
                    if b == b'{' {
                        *word |= bit;
                    } else {
                        *word &= !bit;
                    }
                    depth += 1;
                    self.pos += 1;
                }
                b'}' | b']' => {
                    let Some(open) = depth.checked_sub(1) else {
                        return self.err();
                    };
                    let is_object = objects
                        .get(open / 64)
                        .is_some_and(|w| w & (1u64 << (open % 64)) != 0);
                    if is_object != (b == b'}') {
                        return self.err();
                    }
                    depth = open;
                    self.pos += 1;
                }
                _ => {
                    if depth == 0 {
                        // A scalar: runs to the next delimiter.
                        while let Some(c) = self.buf.get(self.pos) {
                            if matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                                break;
                            }
                            self.pos += 1;
                        }
                    } else {
                        self.pos += 1;
                    }
                }
            }
            if depth == 0 {
                let raw = self.stepped_over(start);
                if raw.is_empty() {
                    return self.err();
                }
                return Ok(Raw(raw));
            }
        }
    }

    /// Walks an object, calling `f(key, scanner)`; `f` must consume the
    /// member's value (`scanner.value()`).
    pub fn object(
        &mut self,
        mut f: impl FnMut(Raw<'a>, &mut Self) -> Result<(), ScanError>,
    ) -> Result<(), ScanError> {
        self.eat(b'{')?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return self.err();
            }
            let start = self.pos;
            self.skip_string()?;
            let key = Raw(self.stepped_over(start));
            self.eat(b':')?;
            f(key, self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return self.err(),
            }
        }
    }

    /// Walks an array, calling `f(scanner)` per element; `f` must consume
    /// the element.
    pub fn array(
        &mut self,
        mut f: impl FnMut(&mut Self) -> Result<(), ScanError>,
    ) -> Result<(), ScanError> {
        self.eat(b'[')?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            f(self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return self.err(),
            }
        }
    }

    /// Requires only whitespace to remain.
    pub fn end(&mut self) -> Result<(), ScanError> {
        if self.peek().is_some() {
            return self.err();
        }
        Ok(())
    }
}

/// Reads the members named in `keys` of the object `raw` (last one wins,
/// as in most decoders) into `out`, in `keys` order; others are skipped.
pub fn fields<'a, const N: usize>(
    raw: Raw<'a>,
    keys: [&str; N],
) -> Result<[Option<Raw<'a>>; N], ScanError> {
    let mut s = Scanner::new(raw.bytes());
    let out = s.fields(keys)?;
    s.end()?;
    Ok(out)
}

impl<'a> Scanner<'a> {
    /// Reads the object at the cursor, keeping the members named in `keys`.
    pub fn fields<const N: usize>(
        &mut self,
        keys: [&str; N],
    ) -> Result<[Option<Raw<'a>>; N], ScanError> {
        let mut out = [None; N];
        self.object(|key, s| {
            let value = s.value()?;
            let inner = key.inner();
            // Keys are short: a plain loop beats a SIMD call here.
            let found = if !inner.contains(&b'\\') {
                keys.iter().position(|k| k.as_bytes() == inner)
            } else {
                key.str().and_then(|d| keys.iter().position(|k| *k == d))
            };
            if let Some(slot) = found.and_then(|i| out.get_mut(i)) {
                *slot = Some(value);
            }
            Ok(())
        })?;
        Ok(out)
    }
}

/// The elements of the array `raw`.
pub fn elements(raw: Raw<'_>) -> Result<Vec<Raw<'_>>, ScanError> {
    let mut out = Vec::with_capacity(4);
    let mut s = Scanner::new(raw.bytes());
    s.array(|s| {
        out.push(s.value()?);
        Ok(())
    })?;
    s.end()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_objects_and_returns_raw_values() {
        let body = br#" { "a" : [1, {"b": "x\"}"}] , "c":"s\\" ,"d":-1.5e3,"e":null} "#;
        let [a, c, d, e, z] = fields(Raw(body.trim_ascii()), ["a", "c", "d", "e", "z"]).unwrap();
        assert_eq!(a.unwrap().bytes(), br#"[1, {"b": "x\"}"}]"#);
        assert_eq!(c.unwrap().str().unwrap(), "s\\");
        assert_eq!(d.unwrap().bytes(), b"-1.5e3");
        assert!(e.unwrap().is_null());
        assert_eq!(z, None);
    }

    #[test]
    fn quotes_after_backslash_runs() {
        let [a, b] = fields(Raw(br#"{"a":"x\\\"y\\","b":"\\"}"#), ["a", "b"]).unwrap();
        assert_eq!(a.unwrap().str().unwrap(), "x\\\"y\\");
        assert_eq!(b.unwrap().str().unwrap(), "\\");
    }

    #[test]
    fn finds_the_first_quote_at_every_offset() {
        for len in 0..140 {
            for at in 0..=len {
                let mut hay = vec![b'a'; len];
                if at < len {
                    hay[at] = b'"';
                    if at + 3 < len {
                        hay[at + 3] = b'"';
                    }
                }
                let want = (at < len).then_some(at);
                assert_eq!(find_quote(&hay), want, "len {len} at {at}");
            }
        }
        assert_eq!(find_quote("é\"".as_bytes()), Some(2));
        assert_eq!(find_quote(&[0xff, 0x80, 0x22]), Some(2));
    }

    #[test]
    fn strings_unescape_to_their_bytes() {
        let raw = Raw(br#""{\"a\":\"x\\y\n\u00e9\"}""#);
        assert_eq!(
            &*raw.unescaped().unwrap(),
            "{\"a\":\"x\\y\n\u{e9}\"}".as_bytes()
        );
        assert!(matches!(
            Raw(br#""plain""#).unescaped(),
            Some(Cow::Borrowed(b"plain"))
        ));
        assert_eq!(Raw(b"12").unescaped(), None);
        assert_eq!(Raw(br#""bad\q""#).unescaped(), None);
    }

    #[test]
    fn escaped_keys_match() {
        let [a] = fields(Raw(br#"{"\u0061":1}"#), ["a"]).unwrap();
        assert_eq!(a.unwrap().bytes(), b"1");
    }

    #[test]
    fn elements_of_arrays() {
        let e = elements(Raw(br#"[ "x", {"y":[]}, 3 ]"#)).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[1].bytes(), br#"{"y":[]}"#);
        assert!(elements(Raw(b"[]")).unwrap().is_empty());
    }

    #[test]
    fn truncated_or_broken_input_is_an_error_not_a_panic() {
        for bad in [
            &b"{"[..],
            b"{\"a\"",
            b"{\"a\":",
            b"{\"a\":\"x",
            b"{\"a\":\"x\\",
            b"{\"a\":\"x\\\"}",
            b"{\"a\":[1,",
            b"{\"a\":1]",
            b"{\"a\" 1}",
            b"{1:2}",
            b"",
            b"]",
        ] {
            assert!(
                fields(Raw(bad), ["a"]).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(Scanner::new(b"{\"a\":[}]").value().is_err());
        assert!(Scanner::new(b"[{]}").value().is_err());
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert!(Scanner::new(deep.as_bytes()).value().is_err());
    }
}
