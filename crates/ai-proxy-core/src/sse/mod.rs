//! Server-Sent Events: a sans-IO decoder following the WHATWG HTML
//! "event stream interpretation" rules exactly.
//!
//! [`SseDecoder`] is fed body chunks split at any byte and yields
//! [`SseEvent`]s. Rules it keeps (and APISIX's `sse.lua` does not):
//! one UTF-8 BOM is dropped at stream start; LF, CR and CRLF all end a line,
//! also when a CRLF is split across chunks; a line without a colon is a field
//! with an empty value; field names are case-sensitive; one leading space of
//! the value is stripped; `data` lines are joined with LF; an `id` containing
//! NUL is ignored; `retry` is taken only when it is all ASCII digits; the
//! last event id is carried across events; a block without `data` is not
//! dispatched; at end of stream an unterminated event is discarded. Bytes
//! that are not UTF-8 become U+FFFD when a value is read as text.
//!
//! Memory is bounded: an event (its data plus any incomplete line) larger
//! than [`SseDecoder::with_max_event_bytes`] is a typed error, never
//! unbounded growth.
//!
//! Event data is handed out as borrowed bytes: a single-line `data` field
//! inside one chunk is never copied, so scanning a stream for the few events
//! that matter costs little more than finding its line ends.

use std::borrow::Cow;

use bytes::{Bytes, BytesMut};
use http::StatusCode;

#[cfg(feature = "codec")]
mod codec;
#[cfg(feature = "stream")]
mod stream;

#[cfg(feature = "codec")]
pub use codec::{SseCodec, SseCodecError};
#[cfg(feature = "stream")]
pub use stream::{SseStream, SseStreamError};

/// The default cap on one event's size: 16 MiB (Gemini image parts and
/// Anthropic server-tool results can carry several MiB in one event).
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// A decoding failure. Errors are sticky: once returned, every later call
/// returns the same error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// One event (its data plus an unfinished line) grew past the cap.
    #[error(
        "SSE event larger than {limit} bytes; the upstream sent an oversized or unterminated \
         event (raise the decoder's max_event_bytes if such events are expected)"
    )]
    EventTooLarge {
        /// The configured cap, in bytes.
        limit: usize,
    },
}

impl SseError {
    /// The HTTP status a gateway answers with: 502, the upstream's stream is
    /// unusable.
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_GATEWAY
    }
}

/// One dispatched event, borrowed from the decoder until the next call.
///
/// `event_type` is `"message"` when the stream named none (or sent an empty
/// `event:`), as the WHATWG `MessageEvent.type`; `id` is the last event id
/// seen on the stream so far (`""` when none), as `lastEventId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SseEvent<'a> {
    event_type: &'a str,
    data: &'a [u8],
    id: &'a str,
    retry: Option<u64>,
}

impl<'a> SseEvent<'a> {
    /// The event type (`"message"` by default).
    pub fn event_type(&self) -> &'a str {
        self.event_type
    }

    /// The data as raw bytes (the `data` lines joined with LF), before UTF-8
    /// decoding. Cheap: use it to filter events before decoding them.
    pub fn data_bytes(&self) -> &'a [u8] {
        self.data
    }

    /// The data as text; bytes that are not UTF-8 become U+FFFD.
    pub fn data(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.data)
    }

    /// The last event id (`""` when the stream never set one).
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// The reconnection time (ms) set by a `retry` field inside this event's
    /// block, if any. The stream-wide value is
    /// [`SseDecoder::reconnection_time`].
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// An owned copy.
    pub fn to_owned_event(&self) -> OwnedSseEvent {
        OwnedSseEvent {
            event_type: self.event_type.to_owned(),
            data: self.data().into_owned(),
            id: self.id.to_owned(),
            retry: self.retry,
        }
    }
}

/// An owned [`SseEvent`] (what the `codec` and `stream` adapters yield).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct OwnedSseEvent {
    /// The event type (`"message"` by default).
    pub event_type: String,
    /// The data (lines joined with LF, U+FFFD for bytes that are not UTF-8).
    pub data: String,
    /// The last event id (`""` when none).
    pub id: String,
    /// A `retry` set inside this event's block.
    pub retry: Option<u64>,
}

impl OwnedSseEvent {
    /// An event from its parts (handy in tests).
    pub fn new(
        event_type: impl Into<String>,
        data: impl Into<String>,
        id: impl Into<String>,
        retry: Option<u64>,
    ) -> Self {
        Self {
            event_type: event_type.into(),
            data: data.into(),
            id: id.into(),
            retry,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BomState {
    /// At stream start; `n` bytes of a BOM matched so far (held back).
    Pending(usize),
    Done,
}

/// A sans-IO WHATWG event-stream decoder.
///
/// Calling contract:
/// 1. [`feed`](Self::feed) a body chunk (any size, split at any byte);
/// 2. call [`poll_event`](Self::poll_event) until it returns `Ok(None)`
///    (each event borrows the decoder until the next call);
/// 3. repeat; at end of stream call [`finish`](Self::finish), which drops
///    an unterminated event as the spec requires and readies the decoder for
///    a new stream (the last event id and reconnection time are kept, as
///    on an `EventSource` reconnect).
///
/// Feeding again before draining is allowed (the rest is kept), but costs a
/// copy. Errors are sticky.
///
/// ```
/// use ai_proxy_core::sse::SseDecoder;
///
/// let mut decoder = SseDecoder::new();
/// let mut seen = Vec::new();
/// for chunk in [&b"event: add\r\ndata: 1"[..], b"\r", b"\ndata: 2\n\n: done\n"] {
///     decoder.feed(bytes::Bytes::copy_from_slice(chunk));
///     while let Some(event) = decoder.poll_event().unwrap() {
///         seen.push((event.event_type().to_owned(), event.data().into_owned()));
///     }
/// }
/// decoder.finish().unwrap();
/// assert_eq!(seen, [("add".to_owned(), "1\n2".to_owned())]);
/// ```
#[derive(Debug)]
pub struct SseDecoder {
    max_event_bytes: usize,
    input: Bytes,
    pos: usize,
    /// An incomplete line carried over from earlier chunks.
    partial: Vec<u8>,
    /// The previous chunk ended in CR: a leading LF belongs to it.
    skip_lf: bool,
    /// Inside a comment line begun in an earlier chunk (its bytes are
    /// dropped, not kept).
    in_comment: bool,
    bom: BomState,
    /// Where `input`'s first CR is (the skim stops there); computed once
    /// per input, on the first [`skim`](Self::skim).
    first_cr: Option<Option<usize>>,
    // The event being built.
    data: Vec<u8>,
    /// The only data line so far, still inside `input` (zero-copy).
    data_ref: Option<(usize, usize)>,
    data_lines: usize,
    event_type: String,
    block_retry: Option<u64>,
    /// The last event was handed out; clear the block on the next call.
    dispatched: bool,
    // Stream-wide state.
    last_event_id: String,
    reconnection_time: Option<u64>,
    error: Option<SseError>,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder with the default event cap ([`DEFAULT_MAX_EVENT_BYTES`]).
    pub fn new() -> Self {
        Self::with_max_event_bytes(DEFAULT_MAX_EVENT_BYTES)
    }

    /// A decoder whose events (data plus any unfinished line) may not
    /// exceed `max_event_bytes`.
    pub fn with_max_event_bytes(max_event_bytes: usize) -> Self {
        Self {
            max_event_bytes,
            input: Bytes::new(),
            pos: 0,
            partial: Vec::new(),
            skip_lf: false,
            in_comment: false,
            bom: BomState::Pending(0),
            first_cr: None,
            data: Vec::new(),
            data_ref: None,
            data_lines: 0,
            event_type: String::new(),
            block_retry: None,
            dispatched: false,
            last_event_id: String::new(),
            reconnection_time: None,
            error: None,
        }
    }

    /// The configured cap on one event.
    pub fn max_event_bytes(&self) -> usize {
        self.max_event_bytes
    }

    /// The last event id seen so far (`""` when none).
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The reconnection time (ms) from the latest valid `retry` field.
    pub fn reconnection_time(&self) -> Option<u64> {
        self.reconnection_time
    }

    /// Bytes held for the event being built (its data and an unfinished
    /// line); never more than the cap.
    pub fn buffered_bytes(&self) -> usize {
        self.data_len() + self.partial.len()
    }

    /// Hands the decoder the next body chunk. Zero-copy when the previous
    /// chunk was drained.
    pub fn feed(&mut self, chunk: Bytes) {
        if self.dispatched {
            self.reset_block();
        }
        self.own_data_ref();
        match self.input.get(self.pos..) {
            Some(rest) if !rest.is_empty() => {
                let mut joined = BytesMut::with_capacity(rest.len() + chunk.len());
                joined.extend_from_slice(rest);
                joined.extend_from_slice(&chunk);
                self.input = joined.freeze();
            }
            _ => self.input = chunk,
        }
        self.pos = 0;
        self.first_cr = None;
    }

    /// Hands the decoder a borrowed chunk (copied once).
    pub fn feed_slice(&mut self, chunk: &[u8]) {
        self.feed(Bytes::copy_from_slice(chunk));
    }

    /// The next complete event from the input fed so far, or `Ok(None)`
    /// when more input is needed.
    pub fn poll_event(&mut self) -> Result<Option<SseEvent<'_>>, SseError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        if self.dispatched {
            self.reset_block();
        }
        loop {
            let rest = self.input.get(self.pos..).unwrap_or_default();
            let Some(&first) = rest.first() else {
                return Ok(None);
            };
            if self.skip_lf {
                self.skip_lf = false;
                if first == b'\n' {
                    self.pos += 1;
                    continue;
                }
            }
            if let BomState::Pending(matched) = self.bom {
                self.match_bom(matched);
                continue;
            }
            match memchr::memchr2(b'\n', b'\r', rest) {
                None => {
                    let len = rest.len();
                    // A comment is ignored whatever its length: drop it as it
                    // comes instead of buffering it against the cap.
                    if self.in_comment || (self.partial.is_empty() && first == b':') {
                        self.in_comment = true;
                        self.pos += len;
                        return Ok(None);
                    }
                    if self.data_len() + self.partial.len() + len > self.max_event_bytes {
                        return Err(self.fail());
                    }
                    self.partial.extend_from_slice(rest);
                    self.pos += len;
                    return Ok(None);
                }
                Some(at) => {
                    let start = self.pos;
                    let end = start + at;
                    let terminator = rest.get(at).copied();
                    self.pos = end + 1;
                    if terminator == Some(b'\r') {
                        match self.input.get(self.pos) {
                            Some(b'\n') => self.pos += 1,
                            Some(_) => {}
                            None => self.skip_lf = true,
                        }
                    }
                    if self.in_comment {
                        self.in_comment = false;
                        continue;
                    }
                    let dispatch = if self.partial.is_empty() {
                        self.input_line(start, end)?
                    } else {
                        self.carried_line(start, end)?
                    };
                    if dispatch {
                        self.dispatched = true;
                        return Ok(Some(self.current_event()));
                    }
                }
            }
        }
    }

    /// End of stream: discards an unterminated event (the spec's "pending
    /// data must be discarded") and readies the decoder for a new stream.
    /// Returns whether anything was discarded.
    pub fn finish(&mut self) -> Result<bool, SseError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        let rest = self.input.len().saturating_sub(self.pos);
        let discarded =
            rest > 0 || !self.partial.is_empty() || (!self.dispatched && self.data_lines > 0);
        self.reset_block();
        self.input = Bytes::new();
        self.pos = 0;
        self.first_cr = None;
        self.partial.clear();
        self.skip_lf = false;
        self.in_comment = false;
        self.bom = BomState::Pending(0);
        Ok(discarded)
    }

    /// Fast path for observers that need only a few events: consumes the
    /// complete *plain* events ahead — one `data:` line, at most one
    /// `event:` line, optional comment lines, LF line ends — that `filter`
    /// says it can do without, and returns how many it consumed (each would
    /// have been dispatched). Stops, leaving the input for
    /// [`poll_event`](Self::poll_event), at the first event that is not plain
    /// (another field, several `data` or `event` lines, a CR, a line over the
    /// cap) or that `filter` needs, and at the incomplete tail.
    ///
    /// The result is exactly what decoding those events would give, minus
    /// the events themselves: nothing a plain event changes (last event id,
    /// reconnection time) is touched by one.
    pub(crate) fn skim(&mut self, filter: &mut impl EventFilter) -> u64 {
        if self.error.is_some() {
            return 0;
        }
        if self.dispatched {
            self.reset_block();
        }
        let clean = self.bom == BomState::Done
            && !self.skip_lf
            && !self.in_comment
            && self.partial.is_empty()
            && self.data_lines == 0
            && self.event_type.is_empty()
            && self.block_retry.is_none();
        if !clean {
            return 0;
        }
        let input: &[u8] = &self.input;
        let first_cr = *self
            .first_cr
            .get_or_insert_with(|| memchr::memchr(b'\r', input));
        let limit = first_cr.unwrap_or(input.len());
        let Some(region) = input.get(self.pos..limit) else {
            return 0;
        };
        let base = self.pos;
        let mut skimmed = 0;
        // Offsets in `region`: where the pending event starts, its data
        // line's value, the current line.
        let mut event_start = 0;
        let mut data: Option<(usize, usize)> = None;
        let mut kind: Option<(usize, usize)> = None;
        let mut line_start = 0;
        // At a blank line: whether to go on past the event it ends (a block
        // without data is not dispatched; its `event` field is dropped).
        let mut go_on = |data: &mut Option<(usize, usize)>, kind: &mut Option<(usize, usize)>| {
            let kind = kind.take().map_or(&[][..], |(from, to)| {
                region.get(from..to).unwrap_or_default()
            });
            match data.take() {
                Some((from, to)) if filter.needed(input, kind, base + from..base + to) => false,
                Some(_) => {
                    skimmed += 1;
                    true
                }
                None => true,
            }
        };
        while let Some(found) = region
            .get(line_start..)
            .and_then(|r| memchr::memchr(b'\n', r))
        {
            let nl = line_start + found;
            let line = region.get(line_start..nl).unwrap_or_default();
            match line.first() {
                None => {
                    if !go_on(&mut data, &mut kind) {
                        break;
                    }
                    event_start = nl + 1;
                }
                Some(b':') => {}
                // The decoder counts a line against the cap together with
                // the data already held.
                Some(_)
                    if kind.is_none()
                        && line.len() + data.map_or(0, |(from, to)| to - from)
                            <= self.max_event_bytes
                        && line.starts_with(b"event:") =>
                {
                    let value = if line.get(6) == Some(&b' ') { 7 } else { 6 };
                    kind = Some((line_start + value, nl));
                }
                Some(_)
                    if data.is_none()
                        && line.len() <= self.max_event_bytes
                        && line.starts_with(b"data:") =>
                {
                    let value = if line.get(5) == Some(&b' ') { 6 } else { 5 };
                    data = Some((line_start + value, nl));
                    // Events end `data: …\n\n`: take the blank line here
                    // rather than with another search.
                    if region.get(nl + 1) == Some(&b'\n') {
                        if !go_on(&mut data, &mut kind) {
                            break;
                        }
                        event_start = nl + 2;
                        line_start = nl + 2;
                        continue;
                    }
                }
                Some(_) => break,
            }
            line_start = nl + 1;
        }
        self.pos = base + event_start;
        skimmed
    }

    fn fail(&mut self) -> SseError {
        let error = SseError::EventTooLarge {
            limit: self.max_event_bytes,
        };
        self.error = Some(error.clone());
        error
    }

    fn data_len(&self) -> usize {
        match self.data_ref {
            Some((start, end)) => end - start,
            None => self.data.len(),
        }
    }

    fn match_bom(&mut self, mut matched: usize) {
        while let (Some(&byte), Some(&want)) = (self.input.get(self.pos), BOM.get(matched)) {
            if byte != want {
                // Not a BOM: the bytes held back are line content.
                self.partial
                    .extend_from_slice(BOM.get(..matched).unwrap_or_default());
                self.bom = BomState::Done;
                return;
            }
            matched += 1;
            self.pos += 1;
        }
        self.bom = if matched == BOM.len() {
            BomState::Done
        } else {
            BomState::Pending(matched)
        };
    }

    fn reset_block(&mut self) {
        self.dispatched = false;
        self.data.clear();
        self.data_ref = None;
        self.data_lines = 0;
        self.event_type.clear();
        self.block_retry = None;
    }

    /// Moves a zero-copy data line into `data` before `input` changes.
    fn own_data_ref(&mut self) {
        if let Some((start, end)) = self.data_ref.take() {
            self.data.clear();
            self.data
                .extend_from_slice(self.input.get(start..end).unwrap_or_default());
        }
    }

    fn current_event(&self) -> SseEvent<'_> {
        let data = match self.data_ref {
            Some((start, end)) => self.input.get(start..end).unwrap_or_default(),
            None => &self.data,
        };
        SseEvent {
            event_type: if self.event_type.is_empty() {
                "message"
            } else {
                &self.event_type
            },
            data,
            id: &self.last_event_id,
            retry: self.block_retry,
        }
    }

    /// A line lying wholly inside `input[start..end]`.
    fn input_line(&mut self, start: usize, end: usize) -> Result<bool, SseError> {
        // Taken, not cloned: no refcount traffic per line.
        let input = std::mem::take(&mut self.input);
        let result = self.line(
            input.get(start..end).unwrap_or_default(),
            Some(start),
            &input,
        );
        self.input = input;
        result
    }

    /// A line begun in an earlier chunk and ending at `input[..end]`.
    fn carried_line(&mut self, start: usize, end: usize) -> Result<bool, SseError> {
        let mut line = std::mem::take(&mut self.partial);
        let input = std::mem::take(&mut self.input);
        line.extend_from_slice(input.get(start..end).unwrap_or_default());
        let result = self.line(&line, None, &input);
        self.input = input;
        line.clear();
        self.partial = line;
        result
    }

    /// Interprets one line; `origin` is its offset in `input` (the current
    /// chunk, taken out of `self` meanwhile) when it lies there, so a data
    /// value can be borrowed instead of copied.
    fn line(&mut self, line: &[u8], origin: Option<usize>, input: &[u8]) -> Result<bool, SseError> {
        let Some(&first) = line.first() else {
            if self.data_lines > 0 {
                return Ok(true);
            }
            self.reset_block();
            return Ok(false);
        };
        if first == b':' {
            return Ok(false);
        }
        if line.len() + self.data_len() > self.max_event_bytes {
            return Err(self.fail());
        }
        // `data:` leads almost every line of a real stream.
        let colon = if line.starts_with(b"data:") {
            Some(4)
        } else {
            memchr::memchr(b':', line)
        };
        let (name, value, value_at) = match colon {
            Some(colon) => {
                let mut at = colon + 1;
                if line.get(at) == Some(&b' ') {
                    at += 1;
                }
                (
                    line.get(..colon).unwrap_or_default(),
                    line.get(at..).unwrap_or_default(),
                    at,
                )
            }
            None => (line, &[][..], line.len()),
        };
        match name {
            b"data" => {
                if let Some(origin) = origin.filter(|_| self.data_lines == 0) {
                    self.data.clear();
                    self.data_ref = Some((origin + value_at, origin + line.len()));
                    self.data_lines = 1;
                    return Ok(false);
                }
                if let Some((start, end)) = self.data_ref.take() {
                    self.data.clear();
                    self.data
                        .extend_from_slice(input.get(start..end).unwrap_or_default());
                }
                if self.data_lines > 0 {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.data_lines += 1;
            }
            b"event" => {
                self.event_type.clear();
                push_lossy(&mut self.event_type, value);
            }
            b"id" if memchr::memchr(0, value).is_none() => {
                self.last_event_id.clear();
                push_lossy(&mut self.last_event_id, value);
            }
            // Only all-digit values count; one past u64 is ignored like a
            // bogus one.
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                if let Some(ms) = std::str::from_utf8(value)
                    .ok()
                    .and_then(|digits| digits.parse::<u64>().ok())
                {
                    self.reconnection_time = Some(ms);
                    self.block_retry = Some(ms);
                }
            }
            _ => {}
        }
        Ok(false)
    }
}

fn push_lossy(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => out.push_str(text),
        Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
    }
}

/// Decides, for [`SseDecoder::skim`], which plain events must be decoded
/// normally.
pub(crate) trait EventFilter {
    /// Whether the plain event whose data is `input[data]` must be
    /// decoded (the skim stops before it). `kind` is its `event` field's
    /// raw value (empty when absent: the event type is then `message`).
    /// `input` is the decoder's whole buffer, the same slice across calls
    /// until the next feed, so a filter may cache searches over it.
    fn needed(&mut self, input: &[u8], kind: &[u8], data: std::ops::Range<usize>) -> bool;
}

/// Decodes a whole stream at once (convenience for tests and tools):
/// every dispatched event, owned.
pub fn decode_all(stream: &[u8]) -> Result<Vec<OwnedSseEvent>, SseError> {
    let mut decoder = SseDecoder::new();
    let mut events = Vec::new();
    decoder.feed_slice(stream);
    while let Some(event) = decoder.poll_event()? {
        events.push(event.to_owned_event());
    }
    decoder.finish()?;
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Skips every event whose data does not contain `keep`.
    struct Keep(&'static [u8]);

    impl EventFilter for Keep {
        fn needed(&mut self, input: &[u8], kind: &[u8], data: std::ops::Range<usize>) -> bool {
            if kind == b"keep" {
                return true;
            }
            let data = input.get(data).unwrap_or_default();
            memchr::memmem::find(data, self.0).is_some()
        }
    }

    fn rest(decoder: &mut SseDecoder) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(event) = decoder.poll_event().unwrap() {
            out.push(event.data().into_owned());
        }
        out
    }

    /// A decoder past the stream-start BOM check.
    fn started() -> SseDecoder {
        let mut d = SseDecoder::new();
        d.feed_slice(b"data: 0\n\n");
        assert_eq!(rest(&mut d), ["0"]);
        d
    }

    #[test]
    fn skim_skips_plain_events_and_stops_before_a_needed_one() {
        let mut d = started();
        d.feed_slice(b"data: a\n\n: note\ndata:b\n\n\n\ndata: KEEP\n\ndata: c\n\n");
        assert_eq!(d.skim(&mut Keep(b"KEEP")), 2);
        assert_eq!(rest(&mut d), ["KEEP", "c"]);
    }

    #[test]
    fn skim_leaves_an_incomplete_event_to_the_decoder() {
        let mut d = started();
        d.feed_slice(b"data: a\n\ndata: b");
        assert_eq!(d.skim(&mut Keep(b"-")), 1);
        d.feed_slice(b"c\n\n");
        assert_eq!(rest(&mut d), ["bc"]);
    }

    #[test]
    fn skim_stops_at_anything_but_one_data_line_with_lf_ends() {
        for stream in [
            &b"data: a\r\n\r\n"[..],
            b"event: x\nevent: y\ndata: a\n\n",
            b"id: 1\ndata: a\n\n",
            b"data: a\ndata: b\n\n",
            b"data\n\n",
            b"retry: 5\ndata: a\n\n",
        ] {
            let mut d = started();
            d.feed_slice(stream);
            assert_eq!(d.skim(&mut Keep(b"-")), 0, "{stream:?}");
            assert_eq!(rest(&mut d).len(), 1, "{stream:?}");
        }
    }

    #[test]
    fn skim_passes_the_event_name_and_forgets_it_with_the_block() {
        let mut d = started();
        // Named events, one leading space stripped from the name; a block
        // with a name but no data is not dispatched and its name is gone
        // by the next event.
        d.feed_slice(b"event: x\ndata: a\n\nevent:y\ndata: b\n\nevent: keep\n\ndata: c\n\nevent: keep\ndata: d\n\n");
        assert_eq!(d.skim(&mut Keep(b"KEEP")), 3);
        let event = d.poll_event().unwrap().unwrap();
        assert_eq!((event.event_type(), event.data().as_ref()), ("keep", "d"));
    }

    #[test]
    fn skim_waits_for_the_bom_check_and_a_clean_block() {
        let mut d = SseDecoder::new();
        d.feed_slice(b"data: a\n\n");
        assert_eq!(d.skim(&mut Keep(b"-")), 0);
        let mut d = SseDecoder::new();
        d.feed_slice(b"data: 0\n\nevent: x\n");
        let _ = rest(&mut d);
        d.feed_slice(b"data: a\n\n");
        assert_eq!(d.skim(&mut Keep(b"-")), 0);
        assert_eq!(d.poll_event().unwrap().unwrap().event_type(), "x");
    }

    #[test]
    fn skim_leaves_over_cap_lines_to_the_decoder_error() {
        let mut d = SseDecoder::with_max_event_bytes(8);
        d.feed_slice(b"data: 0\n\n");
        let _ = rest(&mut d);
        d.feed_slice(b"data: 123456789\n\n");
        assert_eq!(d.skim(&mut Keep(b"-")), 0);
        assert!(d.poll_event().is_err());
        // An event line counts together with the data before it.
        let mut d = SseDecoder::with_max_event_bytes(10);
        d.feed_slice(b"data: 0\n\n");
        let _ = rest(&mut d);
        d.feed_slice(b"data: 1234\nevent: abc\n\n");
        assert_eq!(d.skim(&mut Keep(b"-")), 0);
        assert!(d.poll_event().is_err());
    }
}
