//! `openai-chat` (and OpenAI-wire providers: Azure, DeepSeek, OpenRouter,
//! Groq, Mistral…): `chat.completion.chunk` streams ending in `[DONE]`, and
//! `chat.completion` bodies.

use serde::Deserialize;

use std::ops::Range;

use super::diff::{shared_prefix, shared_suffix};
use super::observation::{Finders, FullParse, Observation};
use crate::json::Scanner;
use crate::json::lenient::{
    Content, Count, ErrorInfo, NonEmpty, Str, has_non_null, looks_like_object, non_null_after_key,
    parse,
};
use crate::usage::Usage;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ChatUsage {
    prompt_tokens: Count,
    completion_tokens: Count,
    total_tokens: Count,
    prompt_tokens_details: Option<PromptDetails>,
    completion_tokens_details: Option<CompletionDetails>,
    /// DeepSeek's cache hits.
    prompt_cache_hit_tokens: Option<Count>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PromptDetails {
    cached_tokens: Option<Count>,
    cache_creation_input_tokens: Count,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CompletionDetails {
    reasoning_tokens: Count,
}

impl ChatUsage {
    pub(crate) fn to_usage(&self) -> Usage {
        let details = self.prompt_tokens_details.as_ref();
        let cache_read = details
            .and_then(|d| d.cached_tokens)
            .or(self.prompt_cache_hit_tokens)
            .unwrap_or_default();
        Usage::new(self.prompt_tokens.0, self.completion_tokens.0)
            .with_total(self.total_tokens.0)
            .with_cache(
                cache_read.0,
                details.map_or(0, |d| d.cache_creation_input_tokens.0),
            )
            .with_reasoning(
                self.completion_tokens_details
                    .as_ref()
                    .map_or(0, |d| d.reasoning_tokens.0),
            )
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Chunk<'a> {
    #[serde(borrow)]
    model: Str<'a>,
    #[serde(borrow)]
    choices: Option<Vec<Choice<'a>>>,
    usage: Option<ChatUsage>,
    /// Groq reports stream usage under `x_groq.usage`.
    x_groq: Option<XGroq>,
    error: ErrorInfo,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct XGroq {
    usage: Option<ChatUsage>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Choice<'a> {
    #[serde(borrow)]
    delta: Option<Message<'a>>,
    #[serde(borrow)]
    message: Option<Message<'a>>,
    /// Legacy `completions` streams and bodies.
    #[serde(borrow)]
    text: Str<'a>,
    #[serde(borrow)]
    finish_reason: Str<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Message<'a> {
    #[serde(borrow)]
    content: Content<'a>,
    #[serde(borrow)]
    reasoning_content: Str<'a>,
    #[serde(borrow)]
    reasoning: Str<'a>,
    tool_calls: NonEmpty,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorEvent {
    error: ErrorInfo,
    message: Option<String>,
}

/// Records an `event: error` (or an `error` chunk) payload.
pub(crate) fn error_event(obs: &mut Observation, data: &[u8]) {
    match parse::<ErrorEvent>(data.trim_ascii()) {
        Some(event) => obs.error(event.error.message.as_deref().or(event.message.as_deref())),
        None => obs.error(None),
    }
}

/// Whether an event may carry something still missing.
fn wanted(obs: &Observation, f: &Finders, data: &[u8]) -> bool {
    if !obs.content_seen || (obs.model.is_none() && f.model.find(data).is_some()) {
        return true;
    }
    has_non_null(&f.usage, data)
        || has_non_null(&f.error, data)
        || (!obs.has_tool_calls && has_non_null(&f.tool_calls, data))
}

/// What the last skipped event of a skim was: its data, and the lengths
/// of head and tail it shared with the event before (the likely answers
/// for the next one).
#[derive(Debug, Default)]
pub(crate) struct Previous {
    data: Option<Range<usize>>,
    prefix: usize,
    suffix: usize,
    /// Where the data line [`skim_line_end`] delimited last starts, and the
    /// prefix it shares with `data`.
    line: Option<(usize, usize)>,
    /// For the head `data[..prefix]`: where in an event sharing it a
    /// needle may start ([`head_window_start`]); `None` once `prefix`
    /// changes.
    head: Option<usize>,
}

impl Previous {
    /// [`shared_prefix`] with the last skipped event, forgetting what was
    /// known of the old head when the guess changes.
    fn shared_prefix(&mut self, data: &[u8], current: &[u8]) -> usize {
        let before = self.prefix;
        let prefix = shared_prefix(data, current, &mut self.prefix);
        if self.prefix != before {
            self.head = None;
        }
        prefix
    }
}

/// Takes a run of events (see `EventFilter::run`) each of which is the
/// last skipped one with only its middle changed: `data: ` and a line that
/// starts with that event's head (`prefix` bytes, one `memcmp`) and ends
/// with its tail (`suffix` bytes), holding no needle between — what
/// [`skim_needed`] decides for such an event, without the decoder's walk.
/// Stops (leaving the event to the walk) at anything else.
pub(crate) fn skim_run(
    obs: &Observation,
    f: &Finders,
    previous: &mut Previous,
    input: &[u8],
    from: usize,
    limit: usize,
    max_line: usize,
) -> (usize, u64) {
    let mut at = from;
    let mut events = 0;
    if !obs.content_seen {
        return (at, 0);
    }
    while let Some(last) = previous.data.clone().and_then(|p| input.get(p)) {
        let (prefix, suffix) = (previous.prefix, previous.suffix);
        let value = at + 6;
        if prefix == 0 || suffix == 0 || input.get(at..value) != Some(b"data: ") {
            break;
        }
        let (Some(head), Some(current_head)) =
            (last.get(..prefix), input.get(value..value + prefix))
        else {
            break;
        };
        if head != current_head {
            break;
        }
        // A line with that head and tail ends past both: look there (one
        // word, usually), then check that the tail is there and that the
        // middle between holds no line end (head and tail, from a line,
        // hold none).
        let Some(nl) = line_end_from(input, value + prefix + suffix, limit) else {
            break;
        };
        if nl + 1 >= limit || input.get(nl + 1) != Some(&b'\n') || nl - at > max_line {
            break;
        }
        let (Some(current), Some(middle)) =
            (input.get(value..nl), input.get(value + prefix..nl - suffix))
        else {
            break;
        };
        let end = current.len() - suffix;
        let tail = last.len().checked_sub(suffix).and_then(|t| last.get(t..));
        if current.get(end..) != tail || middle.contains(&b'\n') {
            break;
        }
        // Untrimmed braces: the object shape `looks_like_object` wants.
        if current.first() != Some(&b'{') || current.last() != Some(&b'}') {
            break;
        }
        let start = *previous.head.get_or_insert_with(|| head_window_start(head));
        if window_needed(obs, f, current, start..end) {
            break;
        }
        previous.data = Some(value..nl);
        events += 1;
        at = nl + 2;
    }
    (at, events)
}

/// The first `\n` in `input[from..limit]`: one word looked at first (a
/// streamed chunk's middle is a few bytes), then `memchr`.
fn line_end_from(input: &[u8], from: usize, limit: usize) -> Option<usize> {
    if from + 8 <= limit
        && let Some(word) = input
            .get(from..from + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
    {
        let flags = crate::json::swar::byte_flags(u64::from_le_bytes(word), b'\n');
        if flags != 0 {
            return Some(from + (flags.trailing_zeros() / 8) as usize);
        }
    }
    memchr::memchr(b'\n', input.get(from..limit)?).map(|i| from + i)
}

/// Where in an event whose first bytes are `head` a needle not already
/// rejected in `head` may start: `differing`'s window start, or the end
/// of `head` when no quote in that stretch can start one whatever follows
/// (the byte after it is in `head` and names no needle).
fn head_window_start(head: &[u8]) -> usize {
    let run = head
        .iter()
        .rev()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b':'))
        .count();
    let start = head.len().saturating_sub(run + LONGEST_NEEDLE);
    // `needle_at` tells needles apart by the byte after the quote.
    let settled = (start..head.len()).all(|q| {
        head.get(q) != Some(&b'"')
            || head
                .get(q + 1)
                .is_some_and(|b| !matches!(b, b'm' | b'u' | b'e' | b't'))
    });
    if settled { head.len() } else { start }
}

/// Finds the end of the `data` line whose value starts at `input[from]`
/// (see `EventFilter::line_end`): the head it shares with the last skipped
/// event is compared, not searched — that event was one line, so it holds
/// no `\n` — and only the rest is searched. Keeps the shared head for
/// [`skim_needed`].
pub(crate) fn skim_line_end(
    previous: &mut Previous,
    input: &[u8],
    from: usize,
    limit: usize,
) -> Option<usize> {
    let rest = input.get(from..limit)?;
    let prefix = match previous.data.clone().and_then(|p| input.get(p)) {
        Some(data) => previous.shared_prefix(data, rest),
        None => 0,
    };
    previous.line = Some((from, prefix));
    memchr::memchr(b'\n', rest.get(prefix..)?).map(|at| from + prefix + at)
}

/// For a plain `message` event skimmed without text: whether [`event`]
/// would do more with it than count it — [`wanted`]'s tests, applied only
/// to the bytes that differ from `previous`, the last event skipped in
/// this skim (streamed chunks repeat everything but a few bytes). Records
/// the event as `previous` when it is not needed.
pub(crate) fn skim_needed(
    obs: &Observation,
    f: &Finders,
    previous: &mut Previous,
    input: &[u8],
    range: Range<usize>,
) -> bool {
    let Some(raw) = input.get(range.clone()) else {
        return true;
    };
    let data = raw.trim_ascii();
    if data.is_empty() {
        return false;
    }
    if !looks_like_object(data) {
        // `[DONE]` among them.
        return true;
    }
    if !obs.content_seen {
        return true;
    }
    // The prefix shared with `previous`, when `skim_line_end` measured it
    // for this line.
    let prefix = match previous.line.take() {
        Some((from, prefix)) if from == range.start => Some(prefix),
        _ => None,
    };
    let window = previous
        .data
        .clone()
        .and_then(|p| input.get(p))
        .and_then(|p| differing(p, raw, prefix, previous));
    let needed = match window {
        Some(window) => window_needed(obs, f, raw, window),
        None => wanted(obs, f, data),
    };
    if !needed {
        previous.data = Some(range);
    }
    needed
}

/// [`wanted`]'s key tests for matches starting in `starts` of `data`
/// (which they may run past): each quote there is looked at. Windows are a
/// few dozen bytes: eight at a time (SWAR) beats a SIMD call.
fn window_needed(obs: &Observation, f: &Finders, data: &[u8], starts: Range<usize>) -> bool {
    let mut at = starts.start;
    while at < starts.end {
        let Some(word) = data
            .get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
        else {
            // The last few bytes of the data.
            return (at..starts.end)
                .any(|i| data.get(i) == Some(&b'"') && needle_at(obs, f, data, i));
        };
        // Flags above a true quote may be false (a borrow): `needle_at`
        // checks the bytes.
        let mut quotes = crate::json::swar::byte_flags(u64::from_le_bytes(word), b'"');
        while quotes != 0 {
            let i = at + (quotes.trailing_zeros() / 8) as usize;
            if i >= starts.end {
                return false;
            }
            if needle_at(obs, f, data, i) {
                return true;
            }
            quotes &= quotes - 1;
        }
        at += 8;
    }
    false
}

/// Whether one of [`wanted`]'s needles starts at `data[at]` (a quote) and
/// counts there.
fn needle_at(obs: &Observation, f: &Finders, data: &[u8], at: usize) -> bool {
    let Some(rest) = data.get(at..) else {
        return false;
    };
    let non_null = |needle: &[u8]| rest.strip_prefix(needle).is_some_and(non_null_after_key);
    // The byte after the quote tells the needles apart.
    match rest.get(1) {
        Some(b'm') => obs.model.is_none() && rest.starts_with(f.model.needle()),
        Some(b'u') => non_null(f.usage.needle()),
        Some(b'e') => non_null(f.error.needle()),
        Some(b't') => !obs.has_tool_calls && non_null(f.tool_calls.needle()),
        _ => false,
    }
}

/// The longest needle [`wanted`] searches for (`"tool_calls"`).
const LONGEST_NEEDLE: usize = 12;

/// Where in `current` a match of [`wanted`]'s needles could start that the
/// same tests did not already reject in `previous` (an event skipped under
/// the same observation), or `None` when the two share too little.
///
/// A match lying in the common prefix was in `previous` too, with the same
/// bytes after it up to the first byte that is neither whitespace nor `:`
/// (where [`non_null_after_key`] decides); one in the common suffix has the
/// same bytes after it to the end. So only matches starting between
/// `prefix − whitespace/colon run − LONGEST_NEEDLE` and `len − suffix`
/// need a look.
fn differing(
    previous: &[u8],
    current: &[u8],
    prefix: Option<usize>,
    guesses: &mut Previous,
) -> Option<Range<usize>> {
    let prefix = match prefix {
        Some(prefix) => prefix.min(current.len()),
        None => guesses.shared_prefix(previous, current),
    };
    let suffix = shared_suffix(previous, current, &mut guesses.suffix)
        .min(current.len() - prefix)
        .min(previous.len() - prefix);
    if prefix + suffix < current.len() / 2 {
        return None;
    }
    let run = current
        .get(..prefix)?
        .iter()
        .rev()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b':'))
        .count();
    Some(prefix.saturating_sub(run + LONGEST_NEEDLE)..current.len() - suffix)
}

pub(crate) fn event(obs: &mut Observation, f: &Finders, kind: &str, data: &[u8], full: bool) {
    // APISIX reads only `message` events; an `error` event is counted.
    if kind != "message" {
        if kind == "error" {
            error_event(obs, data);
        }
        return;
    }
    let data = data.trim_ascii();
    if data.is_empty() {
        return;
    }
    if data == b"[DONE]" {
        obs.done = true;
        return;
    }
    if !looks_like_object(data) {
        obs.malformed();
        return;
    }
    if full {
        // Text wanted: walk the chunk once; parse it fully only when it may
        // carry more than text.
        if scan_chunk(obs, data).is_some() {
            return;
        }
    } else if !wanted(obs, f, data) {
        return;
    }
    let Some(chunk) = parse::<Chunk<'_>>(data) else {
        obs.malformed();
        return;
    };
    obs.set_model(chunk.model.as_deref());
    if chunk.error.present {
        obs.error(chunk.error.message.as_deref());
    }
    for choice in chunk.choices.iter().flatten() {
        if let Some(delta) = choice.delta.as_ref().or(choice.message.as_ref()) {
            if let Some(text) = delta.content.0.as_deref()
                && !text.is_empty()
            {
                obs.content_seen = true;
                obs.push_text(text);
            }
            let reasoning = delta
                .reasoning_content
                .as_deref()
                .or(delta.reasoning.as_deref());
            if reasoning.is_some_and(|r| !r.is_empty()) {
                obs.content_seen = true;
            }
            if delta.tool_calls.0 {
                obs.content_seen = true;
                obs.has_tool_calls = true;
            }
        }
        if let Some(text) = choice.text.as_deref()
            && !text.is_empty()
        {
            obs.content_seen = true;
            obs.push_text(text);
        }
    }
    if let Some(usage) = chunk.usage.or(chunk.x_groq.and_then(|x| x.usage)) {
        obs.add_usage(usage.to_usage());
    }
}

pub(crate) fn body(obs: &mut Observation, body: &[u8]) {
    // The one-pass read takes the bodies it reads exactly as this parse.
    if super::chat_body::read(obs, body).is_ok() {
        return;
    }
    reference_body(obs, body);
}

/// `body` through the serde parse: the reference the one-pass read
/// (`chat_body`) must agree with, and the reader of what it leaves.
pub(crate) fn reference_body(obs: &mut Observation, body: &[u8]) {
    let Some(chunk) = parse::<Chunk<'_>>(body.trim_ascii()) else {
        obs.malformed();
        return;
    };
    obs.set_model(chunk.model.as_deref());
    if chunk.error.present {
        obs.error(chunk.error.message.as_deref());
    }
    let mut texts: Vec<&str> = Vec::new();
    for choice in chunk.choices.iter().flatten() {
        if let Some(message) = choice.message.as_ref().or(choice.delta.as_ref()) {
            if let Some(text) = message.content.0.as_deref() {
                texts.push(text);
            }
            if message.tool_calls.0 {
                obs.has_tool_calls = true;
            }
        }
        if let Some(text) = choice.text.as_deref() {
            texts.push(text);
        }
        if choice.finish_reason.as_deref().is_some() {
            obs.done = true;
        }
    }
    obs.content_seen = obs.has_tool_calls || texts.iter().any(|t| !t.is_empty());
    // APISIX joins the choices' contents with a space.
    obs.push_text(&texts.join(" "));
    if let Some(usage) = chunk.usage.or(chunk.x_groq.and_then(|x| x.usage)) {
        obs.add_usage(usage.to_usage());
    }
}

/// Reads a chunk's text (`choices[].delta.content`) as the full parse
/// would, when text is all the chunk can add; `None` (nothing recorded)
/// when it needs the full parse (first content, a model still unknown,
/// usage, an error, the first tool call, content parts, a `message` or
/// legacy `text` choice).
fn scan_chunk(obs: &mut Observation, data: &[u8]) -> Option<()> {
    if !obs.content_seen {
        return None;
    }
    let (model_known, tools_known) = (obs.model.is_some(), obs.has_tool_calls);
    let text = obs.text.as_mut()?;
    let mark = text.len();
    let mut s = Scanner::new(data);
    let scanned = s
        .object(|key, s| match (&*key.name(), s.peek()) {
            (b"usage" | b"error" | b"x_groq", Some(c)) if c != b'n' => Err(FullParse),
            (b"model", _) if !model_known => Err(FullParse),
            (b"choices", Some(c)) if c != b'n' => s.array(|s| scan_choice(s, text, tools_known)),
            _ => Ok(s.skip()?),
        })
        .and_then(|()| Ok(s.end()?));
    if scanned.is_err() {
        // Undo what was appended; the full parse will append it again.
        text.truncate(mark);
        return None;
    }
    Some(())
}

fn scan_choice(s: &mut Scanner<'_>, text: &mut String, tools_known: bool) -> Result<(), FullParse> {
    s.object(|key, s| match (&*key.name(), s.peek()) {
        (b"delta", Some(c)) if c != b'n' => s.object(|key, s| match (&*key.name(), s.peek()) {
            (b"content", Some(b'"')) => {
                text.push_str(&s.value()?.str().ok_or(FullParse)?);
                Ok(())
            }
            // Content parts or an odd type: the full parse decides.
            (b"content", Some(c)) if c != b'n' => Err(FullParse),
            (b"tool_calls", Some(c)) if !tools_known && c != b'n' => Err(FullParse),
            _ => Ok(s.skip()?),
        }),
        (b"message" | b"text", Some(c)) if c != b'n' => Err(FullParse),
        _ => Ok(s.skip()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_skim_window_covers_the_longest_needle() {
        let f = Finders::new();
        for finder in [&f.model, &f.usage, &f.error, &f.tool_calls] {
            assert!(finder.needle().len() <= LONGEST_NEEDLE);
        }
    }

    #[test]
    fn differing_windows_start_before_a_key_whose_value_changed() {
        let previous = br#"{"a":"x","usage":   null}"#;
        let current = br#"{"a":"x","usage":   {"n":1}}"#;
        let window = differing(previous, current, None, &mut Previous::default()).unwrap();
        // The window reaches back over the spaces and colon to the key.
        assert!(window.start <= 9, "{window:?}");
        let obs = Observation {
            content_seen: true,
            model: Some("m".into()),
            ..Observation::default()
        };
        assert!(window_needed(&obs, &Finders::new(), current, window));
    }
}
