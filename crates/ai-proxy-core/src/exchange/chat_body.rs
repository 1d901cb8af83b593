//! `chat.completion` bodies read in one forward pass: what
//! `openai_chat::body`'s serde parse reads, without building its structs or
//! decoding what it does not use. Only the shapes that parse and the serde
//! reads identically are taken; anything else — another type where a
//! member is read, a repeated member, an escaped key, a `\u` escape or
//! non-UTF-8 in a string serde decodes, a number that is not a plain
//! integer, an `error` — is [`FullParse`], and the serde parse (which stays
//! the reference) reads the body.
//! It walks the body with the [`Cursor`].

use std::borrow::Cow;

use super::cursor::{Cursor, Seen, Text};
use super::observation::{FullParse, Observation};
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
        let mut c = Cursor::new(body);
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

impl<'a> Cursor<'a> {
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
