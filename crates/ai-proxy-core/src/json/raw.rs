//! Small JSON tools shared by both directions: raw tokens read without a
//! `Value` tree, lenient numbers, and a writer that appends to either a
//! `Vec<u8>` (request bodies) or a `BytesMut` (translated responses).
//!
//! Strings that pass through unchanged are copied as their raw JSON token
//! (escapes intact), which is both exact and the cheapest possible copy.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use bytes::BytesMut;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

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

/// Writes an object's members, comma-separated, after an opening `{`
/// written by the caller (who also closes it).
#[derive(Debug)]
pub struct MemberWriter<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> MemberWriter<'o> {
    /// Members go to `out`, after its already written `{`.
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        Self { out, first: true }
    }

    /// Writes `"name":` (after a comma from the second member on) and hands
    /// back the buffer for the value. `name` is written as is: it must not
    /// need escaping.
    pub fn key(&mut self, name: &[u8]) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name);
        self.out.extend_from_slice(b"\":");
        self.out
    }

    /// Whether no member was written yet.
    pub fn is_empty(&self) -> bool {
        self.first
    }
}

/// Appends `s` as a JSON string literal.
// ok: nibbles are below 16 == HEX.len(); `start` is 0 or one past an
// earlier `i`, so `start <= i < bytes.len()` and `start <= bytes.len()`.
#[allow(clippy::indexing_slicing)]
pub fn write_str<O: Out + ?Sized>(out: &mut O, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.raw(b"\"");
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let mut unicode = [b'\\', b'u', b'0', b'0', b'0', b'0'];
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => {
                unicode[4] = HEX[usize::from(b >> 4)];
                unicode[5] = HEX[usize::from(b & 0xf)];
                &unicode
            }
            _ => continue,
        };
        out.raw(&bytes[start..i]);
        out.raw(escape);
        start = i + 1;
    }
    out.raw(&bytes[start..]);
    out.raw(b"\"");
}

/// Appends the raw token of a JSON value.
#[inline]
pub fn write_raw<O: Out + ?Sized>(out: &mut O, raw: &RawValue) {
    out.raw(raw.get().as_bytes());
}

/// Appends an unsigned integer.
// ok: a u64 has at most 20 digits, so `i` stays in 0..20 == buf.len().
#[allow(clippy::indexing_slicing)]
pub fn write_u64<O: Out + ?Sized>(out: &mut O, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        // `n % 10` < 10, so the cast cannot truncate.
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.raw(&buf[i..]);
}

/// Whether the raw value is a JSON string.
#[inline]
pub fn is_string(raw: &RawValue) -> bool {
    raw.get().starts_with('"')
}

/// Whether the raw value is a JSON array.
#[inline]
pub fn is_array(raw: &RawValue) -> bool {
    raw.get().starts_with('[')
}

/// Whether the raw value is a JSON object.
#[inline]
pub fn is_object(raw: &RawValue) -> bool {
    raw.get().starts_with('{')
}

/// Whether the raw value is a JSON number.
#[inline]
pub fn is_number(raw: &RawValue) -> bool {
    raw.get()
        .as_bytes()
        .first()
        .is_some_and(|b| *b == b'-' || b.is_ascii_digit())
}

/// Lua truthiness as APISIX applies it to decoded JSON: anything but
/// `false` (absent and `null` are filtered before, by `Option`).
#[inline]
pub fn truthy(raw: &RawValue) -> bool {
    raw.get() != "false" && raw.get() != "null"
}

/// Whether the raw value is the empty string `""`.
#[inline]
pub fn is_empty_string(raw: &RawValue) -> bool {
    raw.get() == "\"\""
}

/// A non-empty JSON string token, else `None`.
#[inline]
pub fn non_empty_string(raw: Option<&RawValue>) -> Option<&RawValue> {
    raw.filter(|r| is_string(r) && !is_empty_string(r))
}

/// The escaped contents of a string token, without the quotes.
#[inline]
pub fn string_inner(raw: &RawValue) -> &str {
    let s = raw.get();
    s.get(1..s.len().saturating_sub(1)).unwrap_or_default()
}

/// The decoded value of a JSON string token (borrowed when it has no
/// escapes), `None` for any other JSON type.
pub fn str_value(raw: &RawValue) -> Option<Cow<'_, str>> {
    if !is_string(raw) {
        return None;
    }
    let inner = string_inner(raw);
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(raw.get())
        .ok()
        .map(Cow::Owned)
}

/// Whether a string token equals `expected` (which has no characters that
/// need escaping).
pub fn str_eq(raw: Option<&RawValue>, expected: &str) -> bool {
    raw.and_then(str_value).is_some_and(|s| s == expected)
}

/// Appends `raw` with insignificant whitespace removed (what a JSON
/// encoder would produce for the decoded value, key order kept).
// ok: `start` is 0 or one past an earlier `i`, so `start <= i < bytes.len()`
// and `start <= bytes.len()`.
#[allow(clippy::indexing_slicing)]
pub fn write_minified<O: Out + ?Sized>(out: &mut O, raw: &str) {
    let bytes = raw.as_bytes();
    let mut in_string = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            out.raw(&bytes[start..i]);
            start = i + 1;
        }
    }
    out.raw(&bytes[start..]);
}

/// A token count: any JSON number, clamped into `u64` (negative → 0,
/// fractions truncated), so one odd provider value does not drop a chunk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count(pub u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                Ok(Count(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                Ok(Count(u64::try_from(v).unwrap_or(0)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Count, E> {
                // `as` saturates for floats (NaN → 0), which is the intent.
                Ok(Count(v as u64))
            }
        }
        d.deserialize_any(V)
    }
}

/// A token count as the observers read usage: any JSON number (negative →
/// 0, fractions floored), anything else → 0, so an odd provider value
/// never drops the event it is in (unlike [`Count`], which rejects
/// non-numbers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenCount(pub u64);

impl<'de> Deserialize<'de> for TokenCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CountVisitor;
        impl<'de> Visitor<'de> for CountVisitor {
            type Value = TokenCount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a token count")
            }
            fn visit_u64<E>(self, v: u64) -> Result<TokenCount, E> {
                Ok(TokenCount(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<TokenCount, E> {
                Ok(TokenCount(u64::try_from(v).unwrap_or(0)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<TokenCount, E> {
                // `as` saturates; NaN becomes 0.
                Ok(TokenCount(if v > 0.0 { v as u64 } else { 0 }))
            }
            fn visit_bool<E>(self, _: bool) -> Result<TokenCount, E> {
                Ok(TokenCount(0))
            }
            fn visit_str<E>(self, _: &str) -> Result<TokenCount, E> {
                Ok(TokenCount(0))
            }
            fn visit_unit<E>(self) -> Result<TokenCount, E> {
                Ok(TokenCount(0))
            }
            fn visit_none<E>(self) -> Result<TokenCount, E> {
                Ok(TokenCount(0))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<TokenCount, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TokenCount, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(TokenCount(0))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TokenCount, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(TokenCount(0))
            }
        }
        deserializer.deserialize_any(CountVisitor)
    }
}

/// The first element of a JSON array; the rest is skipped without
/// allocating (`choices[1]` in APISIX's Lua).
#[derive(Debug)]
pub struct First<T>(pub Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = First<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<First<T>, A::Error> {
                let first = seq.next_element::<T>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }
        d.deserialize_seq(V(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> &RawValue {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn escapes_control_characters_quotes_and_backslashes() {
        let mut out = Vec::new();
        write_str(&mut out, "a\"b\\c\nd\u{1}é");
        let back: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, b"\"a\\\"b\\\\c\\nd\\u0001\xc3\xa9\"");
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
        write_minified(&mut out, "{ \"a b\" : [1, 2],\n \"c\\\" d\": \" x \" }");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"a b\":[1,2],\"c\\\" d\":\" x \"}"
        );
    }

    #[test]
    fn decodes_escaped_strings_and_borrows_plain_ones() {
        assert!(matches!(
            str_value(raw("\"plain\"")),
            Some(Cow::Borrowed("plain"))
        ));
        assert_eq!(str_value(raw("\"t\\u0065xt\"")).unwrap(), "text");
        assert_eq!(str_value(raw("12")), None);
    }

    #[test]
    fn counts_clamp_odd_numbers() {
        let c: Vec<Count> = serde_json::from_str("[3, -4, 2.9, 1e30]").unwrap();
        assert_eq!(c, vec![Count(3), Count(0), Count(2), Count(u64::MAX)]);
    }

    #[test]
    fn token_counts_read_anything_but_numbers_as_zero() {
        let c: Vec<TokenCount> =
            serde_json::from_str(r#"[3, -4, 2.9, "12", null, true, [1], {"a": 1}]"#).unwrap();
        let want = [3, 0, 2, 0, 0, 0, 0, 0].map(TokenCount);
        assert_eq!(c, want);
    }

    #[test]
    fn first_takes_the_head_and_skips_the_rest() {
        let f: First<u32> = serde_json::from_str("[1, {\"x\": [2]}, \"y\"]").unwrap();
        assert_eq!(f.0, Some(1));
        let e: First<u32> = serde_json::from_str("[]").unwrap();
        assert_eq!(e.0, None);
    }
}
