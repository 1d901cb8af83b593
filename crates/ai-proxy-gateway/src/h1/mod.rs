//! HTTP/1.1 pieces, sans I/O, shared by the gateway's two sides: the pool's
//! upstream client ([`crate::pool`]) and the server's client connections.

use http::HeaderMap;

pub(crate) mod chunked;
pub(crate) mod field;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod oracle;
pub(crate) mod usual;

/// The largest head read (start line and fields), exclusive: a client's
/// request head and an upstream's response head alike (nginx's
/// `large_client_header_buffers` is 4×8k).
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// The most header fields a head may have, either side (hyper's default).
pub(crate) const MAX_HEADERS: usize = 100;

/// Why a head `httparse` read is refused, whichever side's.
pub(crate) enum Refused {
    /// [`MAX_HEAD`] bytes or more.
    TooLarge,
    /// Not a head `httparse` reads.
    Parse(httparse::Error),
}

/// The length of the head `httparse` read (`parsed`) from a buffer of
/// `buffered` bytes, under [`MAX_HEAD`]; `None` while it is incomplete and
/// may still fit.
pub(crate) fn capped(
    parsed: httparse::Result<usize>,
    buffered: usize,
) -> Result<Option<usize>, Refused> {
    match parsed {
        Ok(httparse::Status::Complete(len)) if len < MAX_HEAD => Ok(Some(len)),
        Ok(httparse::Status::Partial) if buffered < MAX_HEAD => Ok(None),
        Ok(_) => Err(Refused::TooLarge),
        Err(e) => Err(Refused::Parse(e)),
    }
}

/// The most fields a map kept for a connection's next head has room for: a
/// larger one (a head with many fields) is dropped, not kept.
const KEPT_MAP: usize = 32;

/// The map for a head of `count` fields: the connection's `kept` one when
/// it has room, else a new one. A map's two allocations (its index and its
/// entries, ~240 instructions a map to make and free) are then made once a
/// connection, not once a head.
pub(crate) fn map_for(count: usize, kept: &mut Option<HeaderMap>) -> HeaderMap {
    match kept.take() {
        Some(map) if map.capacity() >= count => map,
        _ => HeaderMap::with_capacity(count),
    }
}

/// Keeps `map`, emptied (its values, which may share a head's buffer, are
/// dropped now), for the connection's next head — unless it is large.
pub(crate) fn keep_map(mut map: HeaderMap, kept: &mut Option<HeaderMap>) {
    if map.capacity() <= KEPT_MAP {
        map.clear();
        *kept = Some(map);
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use http::header::{CONTENT_TYPE, SERVER};

    use super::*;

    fn map(fields: usize) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(fields);
        for i in 0..fields {
            let name = http::HeaderName::try_from(format!("x-{i}")).unwrap();
            map.append(name, HeaderValue::from(i));
        }
        map
    }

    #[test]
    fn a_kept_map_is_empty_and_serves_a_head_it_has_room_for() {
        let mut kept = None;
        let mut used = map(3);
        used.append(SERVER, HeaderValue::from_static("up"));
        let room = used.capacity();
        keep_map(used, &mut kept);
        let next = map_for(room, &mut kept);
        assert!(next.is_empty());
        assert_eq!(next.capacity(), room);
        assert!(kept.is_none(), "handed out once");
    }

    #[test]
    fn a_head_with_more_fields_than_the_kept_map_holds_gets_a_new_one() {
        let mut kept = None;
        keep_map(map(2), &mut kept);
        let room = kept.as_ref().unwrap().capacity();
        let mut next = map_for(room + 1, &mut kept);
        assert!(next.capacity() > room);
        next.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert_eq!(next.len(), 1);
    }

    #[test]
    fn a_large_map_is_not_kept() {
        let mut kept = None;
        keep_map(map(KEPT_MAP + 1), &mut kept);
        assert!(kept.is_none());
    }
}
