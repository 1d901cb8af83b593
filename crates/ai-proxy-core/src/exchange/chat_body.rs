//! `chat.completion` bodies read in one pass with the json [`Scanner`]:
//! what `openai_chat::body`'s serde parse reads, without building its
//! structs or decoding what it does not use. Only the shapes that parse
//! and the serde reads identically are taken; anything else — another
//! type where a member is read, a repeated member, an escaped key, a `\u`
//! escape or non-UTF-8 in a string serde decodes, a number that is not a
//! plain integer, an `error` — is [`FullParse`], and the serde parse
//! (which stays the reference) reads the body.

use std::borrow::Cow;

use super::observation::{FullParse, Observation};
use crate::json::Scanner;
use crate::json::scan::{Key, Raw};
use crate::usage::Usage;

/// What a body says, read before any of it is recorded (a [`FullParse`]
/// half way leaves the observation untouched).
#[derive(Default)]
struct Read<'a> {
    model: Option<Cow<'a, str>>,
    /// The choices' texts (when text is collected).
    texts: Vec<Cow<'a, str>>,
    any_text: bool,
    tool_calls: bool,
    done: bool,
    usage: Option<Usage>,
    groq_usage: Option<Usage>,
}

/// Reads `body` into `obs` as `openai_chat::body` would, or returns
/// [`FullParse`] (nothing recorded) when only that parse can.
pub(crate) fn read(obs: &mut Observation, body: &[u8]) -> Result<(), FullParse> {
    let body = body.trim_ascii();
    if body.first() != Some(&b'{') {
        // Serde also reads a struct from an array.
        return Err(FullParse);
    }
    let want_text = obs.collecting_text();
    let mut read = Read::default();
    let mut s = Scanner::new(body);
    let mut seen = Members::default();
    s.object(|key, s| {
        match seen.first(key, &["model", "choices", "usage", "x_groq", "error"])? {
            0 => {
                read.model = string(s.value()?, true)?.map(|t| t.text);
                Ok(())
            }
            1 => nullable(s, |s| s.array(|s| choice(s, &mut read, want_text))),
            2 => nullable(s, |s| {
                read.usage = Some(usage(s)?);
                Ok(())
            }),
            3 => nullable(s, |s| {
                let mut seen = Members::default();
                s.object(|key, s| match seen.first(key, &["usage"])? {
                    0 => nullable(s, |s| {
                        read.groq_usage = Some(usage(s)?);
                        Ok(())
                    }),
                    _ => Ok(s.skip()?),
                })
            }),
            4 => nullable(s, |_| Err(FullParse)),
            _ => Ok(s.skip()?),
        }
    })?;
    s.end()?;
    obs.set_model(read.model.as_deref());
    if read.tool_calls {
        obs.has_tool_calls = true;
    }
    if read.done {
        obs.done = true;
    }
    obs.content_seen = obs.has_tool_calls || read.any_text;
    if want_text {
        // APISIX joins the choices' contents with a space.
        obs.push_text(&read.texts.join(" "));
    }
    if let Some(usage) = read.usage.or(read.groq_usage) {
        obs.add_usage(usage);
    }
    Ok(())
}

/// One `choices[]` element.
fn choice<'a>(s: &mut Scanner<'a>, read: &mut Read<'a>, want_text: bool) -> Result<(), FullParse> {
    if s.peek() != Some(b'{') {
        return Err(FullParse);
    }
    let mut seen = Members::default();
    // `message`, else `delta`; then the legacy `text`.
    let mut message: Option<Message<'a>> = None;
    let mut delta: Option<Message<'a>> = None;
    let mut text = None;
    s.object(
        |key, s| match seen.first(key, &["delta", "message", "text", "finish_reason"])? {
            0 => nullable(s, |s| {
                delta = Some(self::message(s, want_text)?);
                Ok(())
            }),
            1 => nullable(s, |s| {
                message = Some(self::message(s, want_text)?);
                Ok(())
            }),
            2 => {
                text = string(s.value()?, want_text)?;
                Ok(())
            }
            3 => {
                read.done |= string(s.value()?, false)?.is_some();
                Ok(())
            }
            _ => Ok(s.skip()?),
        },
    )?;
    // Texts are only decoded (and kept) when collected.
    if let Some(message) = message.or(delta) {
        if let Some(content) = message.content {
            read.any_text |= content.non_empty;
            if want_text {
                read.texts.push(content.text);
            }
        }
        read.tool_calls |= message.tool_calls;
    }
    if let Some(text) = text {
        read.any_text |= text.non_empty;
        if want_text {
            read.texts.push(text.text);
        }
    }
    Ok(())
}

/// A choice's `message` (or `delta`).
struct Message<'a> {
    content: Option<Text<'a>>,
    tool_calls: bool,
}

fn message<'a>(s: &mut Scanner<'a>, want_text: bool) -> Result<Message<'a>, FullParse> {
    let mut out = Message {
        content: None,
        tool_calls: false,
    };
    let mut seen = Members::default();
    s.object(|key, s| {
        match seen.first(
            key,
            &["content", "reasoning_content", "reasoning", "tool_calls"],
        )? {
            // Content parts (an array) are the serde parse's.
            0 => out.content = string(s.value()?, want_text)?,
            1 | 2 => {
                string(s.value()?, false)?;
            }
            3 => {
                nullable(s, |s| {
                    s.array(|s| {
                        out.tool_calls = true;
                        Ok::<_, FullParse>(s.skip()?)
                    })
                })?;
            }
            _ => s.skip()?,
        }
        Ok::<(), FullParse>(())
    })?;
    Ok(out)
}

/// A `usage` object (`ChatUsage::to_usage`).
fn usage(s: &mut Scanner<'_>) -> Result<Usage, FullParse> {
    let (mut prompt, mut completion, mut total) = (0, 0, 0);
    let (mut cached, mut created, mut reasoning) = (None, 0, 0);
    let mut cache_hit = None;
    let mut seen = Members::default();
    let keys = [
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "prompt_tokens_details",
        "completion_tokens_details",
        "prompt_cache_hit_tokens",
    ];
    s.object(|key, s| {
        match seen.first(key, &keys)? {
            0 => prompt = count(s.value()?)?.unwrap_or(0),
            1 => completion = count(s.value()?)?.unwrap_or(0),
            2 => total = count(s.value()?)?.unwrap_or(0),
            3 => nullable(s, |s| {
                // `cached_tokens: null` is no cache figure: DeepSeek's
                // `prompt_cache_hit_tokens` then counts.
                let mut present = None;
                let mut seen = Members::default();
                s.object(|key, s| {
                    match seen.first(key, &["cached_tokens", "cache_creation_input_tokens"])? {
                        0 => present = count(s.value()?)?,
                        1 => created = count(s.value()?)?.unwrap_or(0),
                        _ => s.skip()?,
                    }
                    Ok::<_, FullParse>(())
                })?;
                cached = Some(present);
                Ok(())
            })?,
            4 => nullable(s, |s| {
                let mut seen = Members::default();
                s.object(|key, s| {
                    match seen.first(key, &["reasoning_tokens"])? {
                        0 => reasoning = count(s.value()?)?.unwrap_or(0),
                        _ => s.skip()?,
                    }
                    Ok::<_, FullParse>(())
                })
            })?,
            5 => cache_hit = count(s.value()?)?,
            _ => s.skip()?,
        }
        Ok::<_, FullParse>(())
    })?;
    let cache_read = cached.flatten().or(cache_hit).unwrap_or(0);
    Ok(Usage::new(prompt, completion)
        .with_total(total)
        .with_cache(cache_read, created)
        .with_reasoning(reasoning))
}

/// Which known members an object has had, to refuse a repeated one (serde
/// fails on it).
#[derive(Default)]
struct Members(u32);

impl Members {
    /// The index of `key` in `names` (`names.len()` for another key),
    /// refusing a key serde would read differently (escaped or not UTF-8)
    /// and a known one met before.
    fn first(&mut self, key: Key<'_>, names: &[&str]) -> Result<usize, FullParse> {
        let name = key.raw().inner();
        // A known name is ASCII without escapes: only other keys need the
        // checks.
        let Some(at) = names.iter().position(|n| n.as_bytes() == name) else {
            if key.is_escaped() || !name.is_ascii() && simdutf8::basic::from_utf8(name).is_err() {
                return Err(FullParse);
            }
            return Ok(names.len());
        };
        let bit = 1 << at;
        if self.0 & bit != 0 {
            return Err(FullParse);
        }
        self.0 |= bit;
        Ok(at)
    }
}

/// Walks the value at the cursor with `walk` when it is an object or an
/// array, as `Option<T>` reads it; `null` is none; another value is the
/// serde parse's.
fn nullable<'a>(
    s: &mut Scanner<'a>,
    walk: impl FnOnce(&mut Scanner<'a>) -> Result<(), FullParse>,
) -> Result<(), FullParse> {
    match s.peek() {
        Some(b'n') => {
            s.skip()?;
            Ok(())
        }
        Some(b'{' | b'[') => walk(s),
        _ => Err(FullParse),
    }
}

/// A string member's text as serde reads it.
struct Text<'a> {
    non_empty: bool,
    /// Decoded when asked for (empty otherwise).
    text: Cow<'a, str>,
}

/// A string or `null` (`None`), as a `Str`/`Content` reads it; other values
/// are [`FullParse`]. The string must be UTF-8 and free of `\u` escapes
/// (serde refuses a lone surrogate): then serde's text is the decoded one.
fn string(raw: Raw<'_>, decode: bool) -> Result<Option<Text<'_>>, FullParse> {
    if raw.is_null() {
        return Ok(None);
    }
    if !raw.is_string() {
        return Err(FullParse);
    }
    let inner = raw.inner();
    let escaped = memchr::memchr(b'\\', inner).is_some();
    if escaped && memchr::memmem::find(inner, b"\\u").is_some() {
        return Err(FullParse);
    }
    // Escapes other than `\u` are ASCII: the bytes validate as the text.
    if simdutf8::basic::from_utf8(inner).is_err() {
        return Err(FullParse);
    }
    let text = if decode {
        raw.str().ok_or(FullParse)?
    } else {
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
fn count(raw: Raw<'_>) -> Result<Option<u64>, FullParse> {
    let bytes = raw.bytes();
    if raw.is_null() {
        return Ok(None);
    }
    let (negative, digits) = match bytes.strip_prefix(b"-") {
        Some(digits) => (true, digits),
        None => (false, bytes),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(FullParse);
    }
    let mut n: u64 = 0;
    for &d in digits {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or(FullParse)?;
    }
    if negative {
        // Past `i64` serde reads a float; either way the count is 0.
        return Ok(Some(0));
    }
    Ok(Some(n))
}
