//! `chat.completion` bodies read in one forward pass: what
//! `openai_chat::body`'s serde parse reads, without building its structs or
//! decoding what it does not use. Only the shapes that parse and the serde
//! reads identically are taken; anything else — another type where a
//! member is read, a repeated member, an escaped key, a `\u` escape or
//! non-UTF-8 in a string serde decodes, a number that is not a plain
//! integer, an `error` — is [`FullParse`], and the serde parse (which stays
//! the reference) reads the body.
//!
//! Each string is scanned once for its end (the scan reports escapes, so
//! only escaped strings are searched for `\u`) and once for UTF-8; keys are
//! matched as constants, numbers read where they stand.

use std::borrow::Cow;

use super::observation::{FullParse, Observation};
use crate::json::syntax::{skip_ws, string_end, value_end};
use crate::json::text::decode;
use crate::usage::Usage;

/// Reads `body` into `obs` as `openai_chat::body` would, or returns
/// [`FullParse`] (nothing recorded) when only that parse can.
pub(crate) fn read(obs: &mut Observation, body: &[u8]) -> Result<(), FullParse> {
    let body = body.trim_ascii();
    if body.first() != Some(&b'{') {
        // Serde also reads a struct from an array.
        return Err(FullParse);
    }
    // Texts go straight onto the observation's; a `FullParse` half way
    // takes them back.
    let mark = obs.text.as_ref().map(String::len);
    let mut read = Read {
        texts: obs.text.as_mut().map(|text| Texts { text, first: true }),
        ..Read::default()
    };
    let result = read.body(body);
    let Read {
        model,
        tool_calls,
        done,
        any_text,
        usage,
        groq_usage,
        ..
    } = read;
    if result.is_err() {
        if let (Some(text), Some(mark)) = (&mut obs.text, mark) {
            text.truncate(mark);
        }
        return Err(FullParse);
    }
    obs.set_model(model.as_deref());
    if tool_calls {
        obs.has_tool_calls = true;
    }
    if done {
        obs.done = true;
    }
    obs.content_seen = obs.has_tool_calls || any_text;
    if let Some(usage) = usage.or(groq_usage) {
        obs.add_usage(usage.to_usage());
    }
    Ok(())
}

/// The observation's text while a body is read: the choices' texts go
/// onto it joined with a space (as APISIX joins them).
struct Texts<'o> {
    text: &'o mut String,
    first: bool,
}

/// What a body says, gathered in its one pass.
#[derive(Default)]
struct Read<'a, 'o> {
    /// Present when text is collected.
    texts: Option<Texts<'o>>,
    model: Option<Cow<'a, str>>,
    any_text: bool,
    tool_calls: bool,
    done: bool,
    usage: Option<Counts>,
    groq_usage: Option<Counts>,
}

impl<'a> Read<'a, '_> {
    fn body(&mut self, body: &'a [u8]) -> Result<(), FullParse> {
        let mut c = Cursor { b: body, at: 0 };
        let want_text = self.texts.is_some();
        let mut seen = Seen::default();
        c.object(|c| match c.key_letter() {
            b'm' if c.key(b"\"model\"") => {
                seen.once(0)?;
                self.model = c.string(true)?.map(|t| t.text);
                Ok(())
            }
            b'c' if c.key(b"\"choices\"") => {
                seen.once(1)?;
                if c.null()? {
                    return Ok(());
                }
                c.array(|c| self.choice(c, want_text))
            }
            b'u' if c.key(b"\"usage\"") => {
                seen.once(2)?;
                if !c.null()? {
                    self.usage = Some(c.usage()?);
                }
                Ok(())
            }
            b'x' if c.key(b"\"x_groq\"") => {
                seen.once(3)?;
                if c.null()? {
                    return Ok(());
                }
                let mut seen = Seen::default();
                c.object(|c| match c.key_letter() {
                    b'u' if c.key(b"\"usage\"") => {
                        seen.once(0)?;
                        if !c.null()? {
                            self.groq_usage = Some(c.usage()?);
                        }
                        Ok(())
                    }
                    _ => c.other(),
                })
            }
            // An error body is the serde parse's.
            b'e' if c.key(b"\"error\"") => {
                seen.once(4)?;
                if c.null()? { Ok(()) } else { Err(FullParse) }
            }
            _ => c.other(),
        })?;
        c.end()
    }

    /// One `choices[]` element.
    fn choice(&mut self, c: &mut Cursor<'a>, want_text: bool) -> Result<(), FullParse> {
        let mut seen = Seen::default();
        // `message`, else `delta`; then the legacy `text`.
        let mut message: Option<Message<'a>> = None;
        let mut delta: Option<Message<'a>> = None;
        let mut text = None;
        c.object(|c| match c.key_letter() {
            b'd' if c.key(b"\"delta\"") => {
                seen.once(0)?;
                delta = c.message(want_text)?;
                Ok(())
            }
            b'm' if c.key(b"\"message\"") => {
                seen.once(1)?;
                message = c.message(want_text)?;
                Ok(())
            }
            b't' if c.key(b"\"text\"") => {
                seen.once(2)?;
                text = c.string(want_text)?;
                Ok(())
            }
            b'f' if c.key(b"\"finish_reason\"") => {
                seen.once(3)?;
                self.done |= c.string(false)?.is_some();
                Ok(())
            }
            _ => c.other(),
        })?;
        if let Some(message) = message.or(delta) {
            if let Some(content) = message.content {
                self.text(content);
            }
            self.tool_calls |= message.tool_calls;
        }
        if let Some(text) = text {
            self.text(text);
        }
        Ok(())
    }

    fn text(&mut self, text: Text<'_>) {
        self.any_text |= text.non_empty;
        if let Some(texts) = &mut self.texts {
            if !std::mem::take(&mut texts.first) {
                texts.text.push(' ');
            }
            texts.text.push_str(&text.text);
        }
    }
}

/// A choice's `message` (or `delta`).
struct Message<'a> {
    content: Option<Text<'a>>,
    tool_calls: bool,
}

/// A `usage` object's counts (`ChatUsage::to_usage` reads the same).
#[derive(Default)]
struct Counts {
    prompt: u64,
    completion: u64,
    total: u64,
    /// `prompt_tokens_details`, when an object: its `cached_tokens`.
    cached: Option<Option<u64>>,
    created: u64,
    reasoning: u64,
    /// DeepSeek's `prompt_cache_hit_tokens`.
    cache_hit: Option<u64>,
}

impl Counts {
    fn to_usage(&self) -> Usage {
        // `cached_tokens: null` is no cache figure: DeepSeek's
        // `prompt_cache_hit_tokens` then counts.
        let cache_read = self.cached.flatten().or(self.cache_hit).unwrap_or(0);
        Usage::new(self.prompt, self.completion)
            .with_total(self.total)
            .with_cache(cache_read, self.created)
            .with_reasoning(self.reasoning)
    }
}

/// Which known members an object has had, to refuse a repeated one (serde
/// fails on it).
#[derive(Default)]
struct Seen(u32);

impl Seen {
    #[inline(always)]
    fn once(&mut self, member: u32) -> Result<(), FullParse> {
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
struct Text<'a> {
    non_empty: bool,
    /// Decoded when asked for (empty otherwise).
    text: Cow<'a, str>,
}

/// A forward cursor over the body, on the json toolkit's grammar; every
/// value it is not asked to read is skipped (and checked) as serde skips
/// it.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// Walks the object at the cursor, calling `member` at each member's
    /// key; `member` consumes the key ([`key`](Self::key) or
    /// [`other`](Self::other)) and the value.
    #[inline(always)]
    fn object(
        &mut self,
        mut member: impl FnMut(&mut Self) -> Result<(), FullParse>,
    ) -> Result<(), FullParse> {
        let b = self.b;
        if b.get(self.at) != Some(&b'{') {
            return Err(FullParse);
        }
        let mut i = ws(b, self.at + 1);
        if b.get(i) == Some(&b'}') {
            self.at = i + 1;
            return Ok(());
        }
        loop {
            self.at = i;
            member(self)?;
            i = ws(b, self.at);
            match b.get(i) {
                Some(b',') => i = ws(b, i + 1),
                Some(b'}') => {
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
    fn key_letter(&self) -> u8 {
        self.b.get(self.at + 1).copied().unwrap_or(0)
    }

    /// Consumes `lit` (a key with its quotes) and its colon when the member
    /// at the cursor has that key as written — a name the general scan
    /// ([`other`](Self::other)) would read the same, without scanning it.
    #[inline(always)]
    fn key<const N: usize>(&mut self, lit: &[u8; N]) -> bool {
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
    fn other(&mut self) -> Result<(), FullParse> {
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
    fn array(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<(), FullParse>,
    ) -> Result<(), FullParse> {
        let b = self.b;
        if b.get(self.at) != Some(&b'[') {
            return Err(FullParse);
        }
        let mut i = ws(b, self.at + 1);
        if b.get(i) == Some(&b']') {
            self.at = i + 1;
            return Ok(());
        }
        loop {
            self.at = i;
            element(self)?;
            i = ws(b, self.at);
            match b.get(i) {
                Some(b',') => i = ws(b, i + 1),
                Some(b']') => {
                    self.at = i + 1;
                    return Ok(());
                }
                _ => return Err(FullParse),
            }
        }
    }

    /// Consumes a `null` at the cursor: `true`; another value is left.
    #[inline(always)]
    fn null(&mut self) -> Result<bool, FullParse> {
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
    fn skip(&mut self) -> Result<(), FullParse> {
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
    fn string(&mut self, decode: bool) -> Result<Option<Text<'a>>, FullParse> {
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
    fn count(&mut self) -> Result<Option<u64>, FullParse> {
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

    /// A choice's `message` (or `delta`): `None` for `null`.
    fn message(&mut self, want_text: bool) -> Result<Option<Message<'a>>, FullParse> {
        if self.null()? {
            return Ok(None);
        }
        let mut out = Message {
            content: None,
            tool_calls: false,
        };
        let mut seen = Seen::default();
        self.object(|c| {
            match c.key_letter() {
                // Content parts (an array) are the serde parse's.
                b'c' if c.key(b"\"content\"") => {
                    seen.once(0)?;
                    out.content = c.string(want_text)?;
                }
                b'r' if c.key(b"\"reasoning_content\"") => {
                    seen.once(1)?;
                    c.string(false)?;
                }
                b'r' if c.key(b"\"reasoning\"") => {
                    seen.once(2)?;
                    c.string(false)?;
                }
                b't' if c.key(b"\"tool_calls\"") => {
                    seen.once(3)?;
                    if !c.null()? {
                        c.array(|c| {
                            out.tool_calls = true;
                            c.skip()
                        })?;
                    }
                }
                _ => c.other()?,
            }
            Ok(())
        })?;
        Ok(Some(out))
    }

    /// A `usage` object (`ChatUsage`); another value is [`FullParse`].
    fn usage(&mut self) -> Result<Counts, FullParse> {
        let mut u = Counts::default();
        let mut seen = Seen::default();
        self.object(|c| {
            match c.key_letter() {
                b'p' if c.key(b"\"prompt_tokens\"") => {
                    seen.once(0)?;
                    u.prompt = c.count()?.unwrap_or(0);
                }
                b'c' if c.key(b"\"completion_tokens\"") => {
                    seen.once(1)?;
                    u.completion = c.count()?.unwrap_or(0);
                }
                b't' if c.key(b"\"total_tokens\"") => {
                    seen.once(2)?;
                    u.total = c.count()?.unwrap_or(0);
                }
                b'p' if c.key(b"\"prompt_tokens_details\"") => {
                    seen.once(3)?;
                    if !c.null()? {
                        let mut present = None;
                        let mut seen = Seen::default();
                        c.object(|c| match c.key_letter() {
                            b'c' if c.key(b"\"cached_tokens\"") => {
                                seen.once(0)?;
                                present = c.count()?;
                                Ok(())
                            }
                            b'c' if c.key(b"\"cache_creation_input_tokens\"") => {
                                seen.once(1)?;
                                u.created = c.count()?.unwrap_or(0);
                                Ok(())
                            }
                            _ => c.other(),
                        })?;
                        u.cached = Some(present);
                    }
                }
                b'c' if c.key(b"\"completion_tokens_details\"") => {
                    seen.once(4)?;
                    if !c.null()? {
                        let mut seen = Seen::default();
                        c.object(|c| match c.key_letter() {
                            b'r' if c.key(b"\"reasoning_tokens\"") => {
                                seen.once(0)?;
                                u.reasoning = c.count()?.unwrap_or(0);
                                Ok(())
                            }
                            _ => c.other(),
                        })?;
                    }
                }
                b'p' if c.key(b"\"prompt_cache_hit_tokens\"") => {
                    seen.once(5)?;
                    u.cache_hit = c.count()?;
                }
                _ => c.other()?,
            }
            Ok(())
        })?;
        Ok(u)
    }

    /// Requires only whitespace to remain.
    fn end(&self) -> Result<(), FullParse> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(body: &str) -> bool {
        read(&mut Observation::default(), body.as_bytes()).is_ok()
    }

    #[test]
    fn compact_spaced_and_indented_bodies_take_the_one_pass_read() {
        let compact = r#"{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hi","tool_calls":[{"id":"t"}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":1},"completion_tokens_details":{"reasoning_tokens":0}},"x_groq":{"usage":null},"error":null}"#;
        assert!(fast(compact));
        assert!(fast(&compact.replace(',', ", ").replace(':', ": ")));
        assert!(fast(&compact.replace(',', ",\n    ").replace('{', "{\n  ")));
    }

    #[test]
    fn what_serde_reads_otherwise_goes_to_the_serde_parse() {
        for body in [
            r#"{"usage":{"prompt_tokens":012}}"#,
            r#"{"usage":{"prompt_tokens":1.0}}"#,
            r#"{"usage":{"prompt_tokens":18446744073709551616}}"#,
            r#"{"mod\u0065l":"m"}"#,
            r#"{"model":"caf\u00e9"}"#,
            r#"{"model":"a","model":"b"}"#,
            r#"{"choices":[{"message":{"content":[{"type":"text","text":"t"}]}}]}"#,
            r#"{"error":{"message":"boom"}}"#,
            r#"{"choices":{}}"#,
            r#"[]"#,
            r#"{} x"#,
        ] {
            assert!(!fast(body), "{body}");
        }
    }

    #[test]
    fn counts_are_plain_integers_and_negative_ones_are_zero() {
        let mut obs = Observation::default();
        let body = br#"{"usage":{"prompt_tokens":-5,"completion_tokens":0,"total_tokens":18446744073709551615}}"#;
        assert!(read(&mut obs, body).is_ok());
        let usage = obs.usage().unwrap();
        assert_eq!(
            (
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.total_tokens
            ),
            (0, 0, u64::MAX)
        );
    }
}
