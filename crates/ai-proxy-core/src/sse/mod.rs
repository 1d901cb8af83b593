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

#[cfg(feature = "codec")]
mod codec;
mod decoder;
mod error;
mod event;
mod skim;
#[cfg(feature = "stream")]
mod stream;

#[cfg(feature = "codec")]
pub use codec::{SseCodec, SseCodecError};
#[cfg(feature = "stream")]
pub use stream::{SseStream, SseStreamError};

pub use decoder::{DEFAULT_MAX_EVENT_BYTES, SseDecoder, decode_all};
pub use error::SseError;
pub use event::{OwnedSseEvent, SseEvent};
pub(crate) use skim::EventFilter;
