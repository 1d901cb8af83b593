//! AWS event streams (`application/vnd.amazon.eventstream`): the binary
//! framing of Bedrock's `ConverseStream` and `InvokeModelWithResponseStream`.
//!
//! A message is `total_len:u32 headers_len:u32 prelude_crc:u32`, the
//! headers, the payload and `message_crc:u32` (all big-endian; both CRCs
//! are CRC-32/ISO-HDLC, the prelude's over its first 8 bytes, the
//! message's over everything before it).
//!
//! [`EventStreamDecoder`] is fed chunks split anywhere and yields
//! [`Message`]s borrowed from it. Both checksums are verified, lengths are
//! checked as soon as the 12-byte prelude is in (so garbage is refused
//! before it is buffered), a message is bounded
//! ([`DEFAULT_MAX_MESSAGE_BYTES`]), and memory beyond the message being
//! assembled is O(1): a chunk holding whole messages is sliced, not copied.
//! Errors are typed and sticky; no input panics.
//!
//! ```
//! use ai_proxy_bedrock::eventstream::{EventStreamDecoder, MessageKind, encode_event};
//!
//! let mut wire = Vec::new();
//! encode_event(&mut wire, "contentBlockDelta", br#"{"delta":{"text":"Hi"}}"#).unwrap();
//! let mut decoder = EventStreamDecoder::new();
//! decoder.feed_slice(&wire[..5]);
//! assert!(decoder.next_message().unwrap().is_none());
//! decoder.feed_slice(&wire[5..]);
//! let message = decoder.next_message().unwrap().unwrap();
//! assert_eq!(message.kind(), MessageKind::Event("contentBlockDelta"));
//! assert_eq!(message.payload(), br#"{"delta":{"text":"Hi"}}"#);
//! ```

mod encode;
mod header;

use bytes::{Buf, Bytes, BytesMut};
use http::StatusCode;

pub use encode::{encode_event, encode_exception, encode_message};
pub use header::{HeaderValue, Headers, MAX_HEADERS_BYTES};

/// The prelude: total length, headers length, prelude CRC.
pub const PRELUDE_BYTES: usize = 12;

/// The smallest message: prelude and message CRC, no headers, no payload.
const MIN_MESSAGE_BYTES: usize = PRELUDE_BYTES + 4;

/// The default cap on one message: a 16 MiB payload plus the largest
/// header section and the framing, AWS's own limits.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize =
    16 * 1024 * 1024 + MAX_HEADERS_BYTES + MIN_MESSAGE_BYTES;

/// A decoding failure. Sticky: once returned, every later call returns it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventStreamError {
    /// The prelude's CRC does not match its first 8 bytes.
    #[error(
        "event stream prelude checksum mismatch (sent {expected:#010x}, computed {computed:#010x}): \
         the upstream stream is corrupt or not an AWS event stream"
    )]
    PreludeChecksum {
        /// The CRC in the prelude.
        expected: u32,
        /// The CRC of the prelude's bytes.
        computed: u32,
    },
    /// The message CRC does not match the message.
    #[error(
        "event stream message checksum mismatch (sent {expected:#010x}, computed {computed:#010x}): \
         the upstream stream is corrupt"
    )]
    MessageChecksum {
        /// The CRC at the end of the message.
        expected: u32,
        /// The CRC of the message's bytes.
        computed: u32,
    },
    /// A prelude announces a message larger than the cap.
    #[error(
        "event stream message of {length} bytes exceeds the {limit}-byte limit; the upstream sent \
         an oversized message (raise the decoder's max_message_bytes if that is expected)"
    )]
    MessageTooLarge {
        /// The announced total length.
        length: u64,
        /// The cap.
        limit: usize,
    },
    /// A prelude's lengths contradict each other.
    #[error(
        "event stream prelude is invalid (total length {total}, headers length {headers}): \
         the upstream stream is corrupt"
    )]
    InvalidPrelude {
        /// The announced total length.
        total: u32,
        /// The announced headers length.
        headers: u32,
    },
    /// A header section is malformed.
    #[error("event stream message headers are invalid: {reason}")]
    InvalidHeaders {
        /// What is wrong.
        reason: &'static str,
    },
    /// The stream ended inside a message.
    #[error("event stream ended inside a message ({buffered} bytes of it received)")]
    Truncated {
        /// Bytes of the unfinished message.
        buffered: usize,
    },
}

impl EventStreamError {
    /// 502: the upstream's stream is unusable.
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_GATEWAY
    }
}

/// What a message is, from its `:message-type` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageKind<'a> {
    /// `event`, with its `:event-type` (`""` when missing).
    Event(&'a str),
    /// `exception`, with its `:exception-type` (e.g. `throttlingException`).
    Exception(&'a str),
    /// `error`, with `:error-code` and `:error-message`.
    Error {
        /// `:error-code`.
        code: &'a str,
        /// `:error-message`.
        message: &'a str,
    },
    /// Another or a missing `:message-type`.
    Other(&'a str),
}

/// One decoded message, borrowed from the decoder until the next call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    headers: &'a [u8],
    payload: &'a [u8],
}

impl<'a> Message<'a> {
    /// The headers, in order.
    pub fn headers(&self) -> Headers<'a> {
        Headers::new(self.headers)
    }

    /// The first header named `name`.
    pub fn header(&self, name: &str) -> Option<HeaderValue<'a>> {
        self.headers().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The payload bytes.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Event, exception or error, with its type (one pass over the
    /// headers: this runs for every message of a stream).
    pub fn kind(&self) -> MessageKind<'a> {
        let [
            mut message_type,
            mut event,
            mut exception,
            mut code,
            mut text,
        ] = [""; 5];
        for (name, value) in self.headers() {
            let slot = match name {
                ":message-type" => &mut message_type,
                ":event-type" => &mut event,
                ":exception-type" => &mut exception,
                ":error-code" => &mut code,
                ":error-message" => &mut text,
                _ => continue,
            };
            if slot.is_empty() {
                *slot = value.as_str().unwrap_or("");
            }
        }
        match message_type {
            "event" => MessageKind::Event(event),
            "exception" => MessageKind::Exception(exception),
            "error" => MessageKind::Error {
                code,
                message: text,
            },
            other => MessageKind::Other(other),
        }
    }
}

/// An incremental event-stream decoder (see the [module docs](self)).
#[derive(Debug)]
pub struct EventStreamDecoder {
    /// The unread tail of the last chunk (sliced, never copied).
    pending: Bytes,
    /// A message arriving across chunks.
    assembly: BytesMut,
    /// The message handed out last.
    current: Bytes,
    max_message: usize,
    error: Option<EventStreamError>,
    messages: u64,
}

impl Default for EventStreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_be_bytes)
}

impl EventStreamDecoder {
    /// A decoder with [`DEFAULT_MAX_MESSAGE_BYTES`].
    pub fn new() -> Self {
        Self::with_max_message_bytes(DEFAULT_MAX_MESSAGE_BYTES)
    }

    /// A decoder refusing messages larger than `limit` bytes (at least 16).
    pub fn with_max_message_bytes(limit: usize) -> Self {
        Self {
            pending: Bytes::new(),
            assembly: BytesMut::new(),
            current: Bytes::new(),
            max_message: limit.max(MIN_MESSAGE_BYTES),
            error: None,
            messages: 0,
        }
    }

    /// Messages decoded so far.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Bytes received but not yet part of a decoded message.
    pub fn buffered(&self) -> usize {
        self.pending.len() + self.assembly.len()
    }

    /// Adds a chunk (kept by reference when nothing is buffered).
    pub fn feed(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        if self.assembly.is_empty() && self.pending.is_empty() {
            self.pending = chunk;
        } else {
            self.spill();
            self.assembly.extend_from_slice(&chunk);
        }
    }

    /// Adds a chunk by copy.
    pub fn feed_slice(&mut self, chunk: &[u8]) {
        if chunk.is_empty() {
            return;
        }
        self.spill();
        self.assembly.extend_from_slice(chunk);
    }

    /// Moves the pending tail into the assembly buffer.
    fn spill(&mut self) {
        if !self.pending.is_empty() {
            self.assembly.extend_from_slice(&self.pending);
            self.pending = Bytes::new();
        }
    }

    fn fail(&mut self, error: EventStreamError) -> EventStreamError {
        self.error = Some(error.clone());
        error
    }

    /// The next complete message, `None` until more bytes arrive.
    pub fn next_message(&mut self) -> Result<Option<Message<'_>>, EventStreamError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        let in_assembly = !self.assembly.is_empty();
        let source: &[u8] = if in_assembly {
            &self.assembly
        } else {
            &self.pending
        };
        if source.len() < PRELUDE_BYTES {
            return Ok(None);
        }
        let total = be32(source, 0);
        let headers = be32(source, 4);
        let prelude_crc = be32(source, 8);
        let computed = crc32fast::hash(source.get(..8).unwrap_or_default());
        if computed != prelude_crc {
            return Err(self.fail(EventStreamError::PreludeChecksum {
                expected: prelude_crc,
                computed,
            }));
        }
        let length = usize::try_from(total).unwrap_or(usize::MAX);
        if length > self.max_message {
            return Err(self.fail(EventStreamError::MessageTooLarge {
                length: u64::from(total),
                limit: self.max_message,
            }));
        }
        let headers_len = usize::try_from(headers).unwrap_or(usize::MAX);
        if length < MIN_MESSAGE_BYTES
            || headers_len > length - MIN_MESSAGE_BYTES
            || headers_len > MAX_HEADERS_BYTES
        {
            return Err(self.fail(EventStreamError::InvalidPrelude { total, headers }));
        }
        if source.len() < length {
            if !in_assembly {
                self.spill();
            }
            self.assembly.reserve(length - self.assembly.len());
            return Ok(None);
        }
        let message = if in_assembly {
            self.assembly.split_to(length).freeze()
        } else {
            self.pending.split_to(length)
        };
        let body_end = length - 4;
        let expected = be32(&message, body_end);
        let computed = crc32fast::hash(message.get(..body_end).unwrap_or_default());
        if computed != expected {
            return Err(self.fail(EventStreamError::MessageChecksum { expected, computed }));
        }
        let headers_end = PRELUDE_BYTES + headers_len;
        if let Err(reason) =
            header::validate(message.get(PRELUDE_BYTES..headers_end).unwrap_or_default())
        {
            return Err(self.fail(EventStreamError::InvalidHeaders { reason }));
        }
        if self.assembly.is_empty() && self.assembly.capacity() > 2 * self.max_message.min(1 << 20)
        {
            // Give back a large assembly buffer once it is drained.
            self.assembly = BytesMut::new();
        }
        self.messages += 1;
        self.current = message;
        Ok(Some(Message {
            headers: self
                .current
                .get(PRELUDE_BYTES..headers_end)
                .unwrap_or_default(),
            payload: self.current.get(headers_end..body_end).unwrap_or_default(),
        }))
    }

    /// The stream ended: an unfinished message is an error.
    pub fn finish(&mut self) -> Result<(), EventStreamError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        let buffered = self.buffered();
        if buffered > 0 {
            self.pending.advance(self.pending.len());
            self.assembly.clear();
            return Err(self.fail(EventStreamError::Truncated { buffered }));
        }
        Ok(())
    }
}
