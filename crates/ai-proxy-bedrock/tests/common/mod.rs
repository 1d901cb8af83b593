//! Shared test helpers: the wire recordings and event-stream decoding.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use ai_proxy_bedrock::eventstream::{EventStreamDecoder, EventStreamError, MessageKind};

/// `../shared/fixtures/wire` (searched upwards from the crate), if present.
pub fn wire_dir() -> Option<PathBuf> {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/fixtures/wire"))
        .find(|dir| dir.is_dir())
}

/// A recording's bytes, or `None` (with a note) when the fixtures are absent.
pub fn recording(relative: &str) -> Option<Vec<u8>> {
    match wire_dir() {
        Some(dir) => Some(std::fs::read(dir.join(relative)).unwrap()),
        None => {
            eprintln!("skipping: ../shared/fixtures/wire not found");
            None
        }
    }
}

/// One decoded message, owned: (kind tag, type, payload).
pub type Owned = (String, String, Vec<u8>);

fn own(kind: MessageKind<'_>, payload: &[u8]) -> Owned {
    let (tag, name) = match kind {
        MessageKind::Event(t) => ("event", t.to_owned()),
        MessageKind::Exception(t) => ("exception", t.to_owned()),
        MessageKind::Error { code, .. } => ("error", code.to_owned()),
        MessageKind::Other(t) => ("other", t.to_owned()),
        _ => ("unknown", String::new()),
    };
    (tag.to_owned(), name, payload.to_vec())
}

/// Decodes `wire` fed in `chunks` (split points), draining after each feed.
pub fn decode_chunked(wire: &[u8], splits: &[usize]) -> Result<Vec<Owned>, EventStreamError> {
    let mut decoder = EventStreamDecoder::new();
    let mut out = Vec::new();
    let mut start = 0;
    let mut points: Vec<usize> = splits.iter().map(|s| s % (wire.len() + 1)).collect();
    points.sort_unstable();
    points.push(wire.len());
    for end in points {
        let end = end.max(start);
        decoder.feed(bytes::Bytes::copy_from_slice(&wire[start..end]));
        start = end;
        while let Some(m) = decoder.next_message()? {
            out.push(own(m.kind(), m.payload()));
        }
    }
    decoder.finish()?;
    Ok(out)
}
