//! [`SseDecoder`]: the WHATWG event-stream parsing rules over chunks split
//! at any byte.

use bytes::{Bytes, BytesMut};

use super::error::SseError;
use super::event::{OwnedSseEvent, SseEvent};

/// The default cap on one event's size: 16 MiB (Gemini image parts and
/// Anthropic server-tool results can carry several MiB in one event).
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BomState {
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
    pub(super) max_event_bytes: usize,
    pub(super) input: Bytes,
    pub(super) pos: usize,
    /// An incomplete line carried over from earlier chunks.
    pub(super) partial: Vec<u8>,
    /// The previous chunk ended in CR: a leading LF belongs to it.
    pub(super) skip_lf: bool,
    /// Inside a comment line begun in an earlier chunk (its bytes are
    /// dropped, not kept).
    pub(super) in_comment: bool,
    pub(super) bom: BomState,
    /// Where `input`'s first CR is (the skim stops there); computed once
    /// per input, on the first [`skim`](Self::skim).
    pub(super) first_cr: Option<Option<usize>>,
    // The event being built.
    pub(super) data: Vec<u8>,
    /// The only data line so far, still inside `input` (zero-copy).
    pub(super) data_ref: Option<(usize, usize)>,
    pub(super) data_lines: usize,
    pub(super) event_type: String,
    pub(super) block_retry: Option<u64>,
    /// The last event was handed out; clear the block on the next call.
    pub(super) dispatched: bool,
    // Stream-wide state.
    pub(super) last_event_id: String,
    pub(super) reconnection_time: Option<u64>,
    pub(super) error: Option<SseError>,
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
            // ok: `pos` never passes the end of `input`: each advance steps
            // over bytes just read from it.
            #[allow(clippy::indexing_slicing)]
            let rest = &self.input[self.pos..];
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
                // ok: `BOM[matched]` was just read, so `matched < BOM.len()`.
                #[allow(clippy::indexing_slicing)]
                let held = &BOM[..matched];
                self.partial.extend_from_slice(held);
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

    pub(super) fn reset_block(&mut self) {
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
            // ok: a `data_ref` always lies inside the current `input`.
            #[allow(clippy::indexing_slicing)]
            let value = &self.input[start..end];
            self.data.extend_from_slice(value);
        }
    }

    fn current_event(&self) -> SseEvent<'_> {
        // ok: a `data_ref` always lies inside the current `input`.
        #[allow(clippy::indexing_slicing)]
        let data = match self.data_ref {
            Some((start, end)) => &self.input[start..end],
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
        // ok: `poll_event` found the line's end inside `input[start..]`.
        #[allow(clippy::indexing_slicing)]
        let line = &input[start..end];
        let result = self.line(line, Some(start), &input);
        self.input = input;
        result
    }

    /// A line begun in an earlier chunk and ending at `input[..end]`.
    fn carried_line(&mut self, start: usize, end: usize) -> Result<bool, SseError> {
        let mut line = std::mem::take(&mut self.partial);
        let input = std::mem::take(&mut self.input);
        // ok: `poll_event` found the line's end inside `input[start..]`.
        #[allow(clippy::indexing_slicing)]
        let tail = &input[start..end];
        line.extend_from_slice(tail);
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
        // ok: the colon is a byte of `line`, and `at` steps past it and past
        // one space only when that space is there.
        #[allow(clippy::indexing_slicing)]
        let (name, value, value_at) = match colon {
            Some(colon) => {
                let mut at = colon + 1;
                if line.get(at) == Some(&b' ') {
                    at += 1;
                }
                (&line[..colon], &line[at..], at)
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
                    // ok: a `data_ref` always lies inside the current input.
                    #[allow(clippy::indexing_slicing)]
                    let value = &input[start..end];
                    self.data.extend_from_slice(value);
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
