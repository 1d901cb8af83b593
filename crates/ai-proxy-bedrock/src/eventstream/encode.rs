//! Writing event-stream messages (fake upstreams, tests, benches).

use super::header::{self, HeaderValue};
use super::{EventStreamError, MIN_MESSAGE_BYTES};

/// Appends one message with `headers` and `payload` to `out`.
///
/// Fails (writing nothing) when a header name is empty or longer than
/// 255 bytes, a string/bytes value is longer than 65535 bytes, or the
/// message would not fit the 32-bit length fields.
pub fn encode_message(
    out: &mut Vec<u8>,
    headers: &[(&str, HeaderValue<'_>)],
    payload: &[u8],
) -> Result<(), EventStreamError> {
    let mut section = Vec::with_capacity(headers.len() * 24);
    for (name, value) in headers {
        header::write(&mut section, name, value)
            .map_err(|reason| EventStreamError::InvalidHeaders { reason })?;
    }
    let total = MIN_MESSAGE_BYTES + section.len() + payload.len();
    let (Ok(total32), Ok(headers32)) = (u32::try_from(total), u32::try_from(section.len())) else {
        return Err(EventStreamError::MessageTooLarge {
            length: u64::try_from(total).unwrap_or(u64::MAX),
            limit: usize::try_from(u32::MAX).unwrap_or(usize::MAX),
        });
    };
    let start = out.len();
    out.reserve(total);
    out.extend_from_slice(&total32.to_be_bytes());
    out.extend_from_slice(&headers32.to_be_bytes());
    let prelude_crc = crc32fast::hash(out.get(start..).unwrap_or_default());
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&section);
    out.extend_from_slice(payload);
    let message_crc = crc32fast::hash(out.get(start..).unwrap_or_default());
    out.extend_from_slice(&message_crc.to_be_bytes());
    Ok(())
}

/// Appends an `event` message (`:event-type`, JSON content type).
pub fn encode_event(
    out: &mut Vec<u8>,
    event_type: &str,
    payload: &[u8],
) -> Result<(), EventStreamError> {
    encode_message(
        out,
        &[
            (":event-type", HeaderValue::String(event_type)),
            (":content-type", HeaderValue::String("application/json")),
            (":message-type", HeaderValue::String("event")),
        ],
        payload,
    )
}

/// Appends an `exception` message (`:exception-type`, e.g.
/// `throttlingException`, with a `{"message": …}` payload).
pub fn encode_exception(
    out: &mut Vec<u8>,
    exception_type: &str,
    payload: &[u8],
) -> Result<(), EventStreamError> {
    encode_message(
        out,
        &[
            (":exception-type", HeaderValue::String(exception_type)),
            (":content-type", HeaderValue::String("application/json")),
            (":message-type", HeaderValue::String("exception")),
        ],
        payload,
    )
}
