//! [`SseEvent`], borrowed from the decoder, and its owned form.

use std::borrow::Cow;

/// One dispatched event, borrowed from the decoder until the next call.
///
/// `event_type` is `"message"` when the stream named none (or sent an empty
/// `event:`), as the WHATWG `MessageEvent.type`; `id` is the last event id
/// seen on the stream so far (`""` when none), as `lastEventId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SseEvent<'a> {
    pub(super) event_type: &'a str,
    pub(super) data: &'a [u8],
    pub(super) id: &'a str,
    pub(super) retry: Option<u64>,
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
    /// [`SseDecoder::reconnection_time`](crate::sse::SseDecoder::reconnection_time).
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
