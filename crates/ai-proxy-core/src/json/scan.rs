//! [`Scanner`]: a forward-only cursor over one JSON text that walks objects
//! and arrays and hands out the exact bytes of values ([`Raw`]), checking
//! the grammar of everything it passes (the [`syntax`](super::syntax)
//! scanner's rules) and decoding nothing it is not asked to.
//!
//! Converters read a body in one pass with it: the members they map are
//! read in place, the values they copy are handed out raw (strings with
//! their escapes intact), and the rest is skipped. Nesting the caller does
//! not walk itself is skipped without recursion, so hostile depth costs
//! nothing but time.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

pub use super::syntax::SyntaxError;
use super::syntax::{member_key, skip_ws, string_end, value_end};
use super::text::{decode, unescape_into};

/// One JSON value's exact bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Raw<'a>(pub &'a [u8]);

impl<'a> Raw<'a> {
    /// The value's bytes.
    #[inline]
    pub fn bytes(self) -> &'a [u8] {
        self.0
    }

    #[inline]
    fn first(self) -> u8 {
        self.0.first().copied().unwrap_or(0)
    }

    /// Whether it is a string.
    #[inline]
    pub fn is_string(self) -> bool {
        self.first() == b'"'
    }

    /// Whether it is an array.
    #[inline]
    pub fn is_array(self) -> bool {
        self.first() == b'['
    }

    /// Whether it is an object.
    #[inline]
    pub fn is_object(self) -> bool {
        self.first() == b'{'
    }

    /// Whether it is `null`.
    #[inline]
    pub fn is_null(self) -> bool {
        self.0 == b"null"
    }

    /// Whether it is a number.
    #[inline]
    pub fn is_number(self) -> bool {
        let b = self.first();
        b == b'-' || b.is_ascii_digit()
    }

    /// Lua truthiness as APISIX applies it to decoded JSON: anything but
    /// `false` and `null`.
    #[inline]
    pub fn is_truthy(self) -> bool {
        self.0 != b"false" && self.0 != b"null"
    }

    /// Whether it is the empty string `""`.
    #[inline]
    pub fn is_empty_string(self) -> bool {
        self.0 == b"\"\""
    }

    /// Itself when it is a string other than `""`.
    #[inline]
    pub fn non_empty_string(self) -> Option<Self> {
        (self.is_string() && !self.is_empty_string()).then_some(self)
    }

    /// A string's contents between its quotes, escapes intact (empty for
    /// other values).
    #[inline]
    pub fn inner(self) -> &'a [u8] {
        if !self.is_string() {
            return &[];
        }
        self.0
            .get(1..self.0.len().saturating_sub(1))
            .unwrap_or_default()
    }

    /// A string's text, decoded (borrowed when it has no escapes); `None`
    /// for other values.
    pub fn str(self) -> Option<Cow<'a, str>> {
        if !self.is_string() {
            return None;
        }
        decode(self.inner())
    }

    /// A string's decoded contents as bytes (borrowed when it has no
    /// escapes); `None` for other values or an escape that does not decode.
    /// Made for JSON held in a string (tool `arguments`).
    pub fn unescaped(self) -> Option<Cow<'a, [u8]>> {
        if !self.is_string() {
            return None;
        }
        let inner = self.inner();
        if !inner.contains(&b'\\') {
            return Some(Cow::Borrowed(inner));
        }
        let mut out = Vec::with_capacity(inner.len());
        unescape_into(inner, &mut out)?;
        Some(Cow::Owned(out))
    }

    /// Whether it is a string whose text is `expected`. Inlined: callers
    /// compare with a literal, which then compares in place (a role, a
    /// block's type); only longer contents with escapes are decoded.
    #[inline]
    pub fn str_is(self, expected: &str) -> bool {
        let inner = self.inner();
        if !self.is_string() {
            return false;
        }
        // An escape is longer than the text it stands for: contents no
        // longer than `expected` match only as they are.
        inner == expected.as_bytes() || inner.len() > expected.len() && escaped_is(inner, expected)
    }
}

/// [`Raw::str_is`] for contents longer than `expected`: equal only when
/// they have escapes that decode to it.
#[inline(never)]
fn escaped_is(inner: &[u8], expected: &str) -> bool {
    inner.contains(&b'\\') && decode(inner).is_some_and(|s| s == expected)
}

impl<'a> From<&'a RawValue> for Raw<'a> {
    fn from(raw: &'a RawValue) -> Self {
        Raw(raw.get().as_bytes())
    }
}

/// Borrows the value's text from the input (`serde_json` readers of a
/// slice or a `str`), as a `&RawValue` does.
impl<'de: 'a, 'a> Deserialize<'de> for Raw<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&'de RawValue>::deserialize(deserializer).map(Raw::from)
    }
}

/// An object member's key, as written.
#[derive(Clone, Copy, Debug)]
pub struct Key<'a> {
    /// The key's string token, quotes included.
    token: &'a [u8],
    escaped: bool,
}

impl<'a> Key<'a> {
    /// The key's name: its bytes when it has no escapes (every key
    /// providers and SDKs write), decoded otherwise (an invalid escape
    /// reads as no name).
    #[inline]
    pub fn name(&self) -> Cow<'a, [u8]> {
        let inner = self.raw().inner();
        if !self.escaped {
            return Cow::Borrowed(inner);
        }
        match decode(inner) {
            Some(Cow::Owned(s)) => Cow::Owned(s.into_bytes()),
            Some(Cow::Borrowed(s)) => Cow::Borrowed(s.as_bytes()),
            None => Cow::Borrowed(&[]),
        }
    }

    /// Whether the key is written with an escape (its bytes are then not
    /// its name).
    #[inline]
    pub fn is_escaped(&self) -> bool {
        self.escaped
    }

    /// The key as the string value it is written as (to copy it as is).
    #[inline]
    pub fn raw(&self) -> Raw<'a> {
        Raw(self.token)
    }
}

/// A cursor over one JSON text (see the [module docs](self)).
#[derive(Debug)]
pub struct Scanner<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    /// A cursor at the start of `text`.
    pub fn new(text: &'a [u8]) -> Self {
        Self { b: text, at: 0 }
    }

    /// The offset of the next byte.
    #[inline]
    pub fn offset(&self) -> usize {
        self.at
    }

    /// The whole text the cursor walks (for a reader that matches a
    /// value's bytes itself, then [`seek`](Self::seek)s past it).
    #[inline]
    pub fn text(&self) -> &'a [u8] {
        self.b
    }

    /// Moves the cursor to `at`: the end of a value read from
    /// [`text`](Self::text) and checked by the caller.
    #[inline]
    pub fn seek(&mut self, at: usize) {
        self.at = at;
    }

    /// The first byte of the next value (whitespace skipped), not consumed.
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        self.at = skip_ws(self.b, self.at);
        self.b.get(self.at).copied()
    }

    /// The next value, checked and returned raw. Inlined: it is called
    /// once per value read, and the call cost a fifth of it.
    #[inline(always)]
    pub fn value(&mut self) -> Result<Raw<'a>, SyntaxError> {
        let start = skip_ws(self.b, self.at);
        let end = if self.b.get(start) == Some(&b'"') {
            string_end(self.b, start)?.0
        } else {
            value_end(self.b, start)?
        };
        self.at = end;
        Ok(Raw(self.b.get(start..end).unwrap_or_default()))
    }

    /// Skips the next value (checking it).
    #[inline]
    pub fn skip(&mut self) -> Result<(), SyntaxError> {
        self.value().map(drop)
    }

    /// Walks the object at the cursor, calling `member(key, scanner)` for
    /// each member in order; `member` must consume the member's value
    /// (with [`value`](Self::value), [`skip`](Self::skip) or a walk of its
    /// own). An error from `member` stops the walk.
    #[inline]
    pub fn object<E: From<SyntaxError>>(
        &mut self,
        mut member: impl FnMut(Key<'a>, &mut Self) -> Result<(), E>,
    ) -> Result<(), E> {
        let b = self.b;
        let Some(mut i) = self.enter(b'{', b'}')? else {
            return Ok(());
        };
        loop {
            let m = member_key(b, i)?;
            let token = b.get(i..m.key_end).unwrap_or_default();
            self.at = m.value_start;
            member(
                Key {
                    token,
                    escaped: m.escaped,
                },
                self,
            )?;
            match self.after_item(b'}')? {
                Some(next) => i = next,
                None => return Ok(()),
            }
        }
    }

    /// Into the object or array (`open`) at the cursor: where its first
    /// member or element starts, or `None` past an empty one.
    #[inline]
    fn enter(&mut self, open: u8, close: u8) -> Result<Option<usize>, SyntaxError> {
        let b = self.b;
        let i = skip_ws(b, self.at);
        if b.get(i) != Some(&open) {
            let expected = if open == b'{' {
                "expected an object"
            } else {
                "expected an array"
            };
            return Err(SyntaxError::at(i, expected));
        }
        let i = skip_ws(b, i + 1);
        if b.get(i) == Some(&close) {
            self.at = i + 1;
            return Ok(None);
        }
        Ok(Some(i))
    }

    /// After a member or an element: the start of the next one behind a
    /// `,`, or `None` past the container's `close`.
    #[inline]
    fn after_item(&mut self, close: u8) -> Result<Option<usize>, SyntaxError> {
        let b = self.b;
        let i = skip_ws(b, self.at);
        match b.get(i) {
            Some(b',') => Ok(Some(skip_ws(b, i + 1))),
            Some(&c) if c == close => {
                self.at = i + 1;
                Ok(None)
            }
            Some(_) if close == b'}' => Err(SyntaxError::at(i, "expected `,` or `}`")),
            Some(_) => Err(SyntaxError::at(i, "expected `,` or `]`")),
            None if close == b'}' => Err(SyntaxError::at(i, super::syntax::EOF_OBJECT)),
            None => Err(SyntaxError::at(i, super::syntax::EOF_LIST)),
        }
    }

    /// Walks the value at the cursor as [`object`](Self::object) does when
    /// it is an object and returns `true`; any other value is skipped
    /// (checked) and `false` returned.
    #[inline]
    pub fn object_or_skip<E: From<SyntaxError>>(
        &mut self,
        member: impl FnMut(Key<'a>, &mut Self) -> Result<(), E>,
    ) -> Result<bool, E> {
        if self.peek() != Some(b'{') {
            self.skip()?;
            return Ok(false);
        }
        self.object(member)?;
        Ok(true)
    }

    /// [`fields`](Self::fields) of the value at the cursor when it is an
    /// object; any other value is skipped (checked) and `None` returned.
    pub fn fields_of_object<const N: usize>(
        &mut self,
        keys: [&str; N],
    ) -> Result<Option<[Option<Raw<'a>>; N]>, SyntaxError> {
        if self.peek() != Some(b'{') {
            self.skip()?;
            return Ok(None);
        }
        self.fields(keys).map(Some)
    }

    /// Walks the array at the cursor, calling `element(scanner)` for each
    /// element; `element` must consume it. An error from `element` stops
    /// the walk.
    #[inline]
    pub fn array<E: From<SyntaxError>>(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<(), E>,
    ) -> Result<(), E> {
        let Some(mut i) = self.enter(b'[', b']')? else {
            return Ok(());
        };
        loop {
            self.at = i;
            element(self)?;
            match self.after_item(b']')? {
                Some(next) => i = next,
                None => return Ok(()),
            }
        }
    }

    /// Reads the object at the cursor, keeping the members named in `keys`
    /// (the last of duplicate keys), in `keys` order; others are skipped.
    pub fn fields<const N: usize>(
        &mut self,
        keys: [&str; N],
    ) -> Result<[Option<Raw<'a>>; N], SyntaxError> {
        let mut out = [None; N];
        self.object(|key, s| {
            let name = key.name();
            match keys.iter().position(|k| k.as_bytes() == &*name) {
                Some(i) => {
                    let value = s.value()?;
                    if let Some(slot) = out.get_mut(i) {
                        *slot = Some(value);
                    }
                    Ok(())
                }
                None => s.skip(),
            }
        })?;
        Ok(out)
    }

    /// Requires only whitespace to remain.
    pub fn end(&mut self) -> Result<(), SyntaxError> {
        super::syntax::end(self.b, self.at)
    }
}

/// The members of the object `raw` named in `keys` (the last of duplicate
/// keys), in `keys` order — for a value already handed out raw.
pub fn fields<'a, const N: usize>(
    raw: Raw<'a>,
    keys: [&str; N],
) -> Result<[Option<Raw<'a>>; N], SyntaxError> {
    let mut s = Scanner::new(raw.bytes());
    let out = s.fields(keys)?;
    s.end()?;
    Ok(out)
}

/// The elements of the array `raw` — for a value already handed out raw.
pub fn elements(raw: Raw<'_>) -> Result<Vec<Raw<'_>>, SyntaxError> {
    let mut out = Vec::with_capacity(4);
    let mut s = Scanner::new(raw.bytes());
    s.array(|s| {
        out.push(s.value()?);
        Ok::<(), SyntaxError>(())
    })?;
    s.end()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(text: &[u8]) -> Result<Vec<(String, String)>, SyntaxError> {
        let mut s = Scanner::new(text);
        let mut out = Vec::new();
        s.object(|key, s| {
            let value = s.value()?;
            out.push((
                String::from_utf8(key.name().into_owned()).unwrap(),
                String::from_utf8(value.bytes().to_vec()).unwrap(),
            ));
            Ok::<(), SyntaxError>(())
        })?;
        s.end()?;
        Ok(out)
    }

    #[test]
    fn walks_objects_and_returns_raw_values() {
        let m = members(br#" { "a" : [1, {"b": "x\"}"}] , "c":"s\\" ,"d":-1.5e3,"\u0065":null} "#)
            .unwrap();
        assert_eq!(
            m,
            [
                ("a".into(), r#"[1, {"b": "x\"}"}]"#.into()),
                ("c".into(), r#""s\\""#.into()),
                ("d".into(), "-1.5e3".into()),
                ("e".into(), "null".into()),
            ]
        );
    }

    #[test]
    fn fields_keep_the_named_members_last_one_winning() {
        let mut s = Scanner::new(br#"{"b":1,"a":[2],"c":3,"b":"x"}"#);
        let [a, b, z] = s.fields(["a", "b", "z"]).unwrap();
        assert_eq!(a, Some(Raw(b"[2]")));
        assert_eq!(b, Some(Raw(br#""x""#)));
        assert_eq!(z, None);
        s.end().unwrap();
    }

    #[test]
    fn raw_values_read_again_by_fields_and_elements() {
        let [a, z] = fields(Raw(br#"{"a":[1, 2],"b":3}"#), ["a", "z"]).unwrap();
        assert_eq!(elements(a.unwrap()).unwrap(), [Raw(b"1"), Raw(b"2")]);
        assert_eq!(z, None);
        assert!(fields(Raw(b"[1]"), ["a"]).is_err());
        assert_eq!(
            Raw(br#""{\"a\":\u0031}""#).unescaped().unwrap(),
            &br#"{"a":1}"#[..]
        );
    }

    #[test]
    fn raw_strings_decode_and_compare() {
        let r = Raw(br#""t\u0065xt""#);
        assert_eq!(r.str().unwrap(), "text");
        assert!(r.str_is("text"));
        assert!(Raw(br#""text""#).str_is("text"));
        assert!(!Raw(b"1").str_is("1"));
        assert!(Raw(br#""\u00e9t\u00e9""#).str_is("été"));
        assert!(!Raw(br#""\u0061""#).str_is("abcdef"));
        assert!(!Raw(br#""us""#).str_is("user"));
        assert_eq!(Raw(br#""a\"b""#).inner(), br#"a\"b"#);
    }

    #[test]
    fn nested_walks_read_in_place() {
        let text = br#"{"m":[{"role":"user","content":"hi"},{"role":"tool"}],"n":1}"#;
        let mut roles = Vec::new();
        let mut s = Scanner::new(text);
        s.object(|key, s| match &*key.name() {
            b"m" => s.array(|s| {
                s.object(|key, s| {
                    if &*key.name() == b"role" {
                        roles.push(s.value()?.str().unwrap().into_owned());
                        Ok(())
                    } else {
                        s.skip()
                    }
                })
            }),
            _ => s.skip(),
        })
        .unwrap();
        s.end().unwrap();
        assert_eq!(roles, ["user", "tool"]);
    }

    #[test]
    fn invalid_or_truncated_input_is_an_error_not_a_panic() {
        for bad in [
            &b"{"[..],
            b"{\"a\"",
            b"{\"a\":",
            b"{\"a\":\"x",
            b"{\"a\":\"x\\",
            b"{\"a\":[1,",
            b"{\"a\":1]",
            b"{\"a\" 1}",
            b"{1:2}",
            b"{\"a\":tru}",
            b"{\"a\":\"\\x\"}",
            b"{\"a\":\"\x01\"}",
            b"",
            b"]",
            b"{}x",
        ] {
            assert!(members(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    proptest::proptest! {
        #[test]
        fn accepts_what_serde_json_accepts(text in ".{0,40}") {
            let wrapped = format!("{{\"k\":{text}}}");
            let serde_ok = serde_json::from_str::<serde::de::IgnoredAny>(&wrapped).is_ok();
            proptest::prop_assert_eq!(members(wrapped.as_bytes()).is_ok(), serde_ok, "{}", wrapped);
        }
    }
}
