//! The SSE decoder on arbitrary bytes: never panics, stays within its cap,
//! and yields the same events however the input is split.
#![no_main]

use ai_proxy_core::sse::{OwnedSseEvent, SseDecoder};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fn decode(chunks: &[&[u8]]) -> Result<Vec<OwnedSseEvent>, ()> {
    let mut decoder = SseDecoder::with_max_event_bytes(4096);
    let mut events = Vec::new();
    for chunk in chunks {
        decoder.feed(Bytes::copy_from_slice(chunk));
        loop {
            match decoder.poll_event() {
                Ok(Some(event)) => events.push(event.to_owned_event()),
                Ok(None) => break,
                Err(_) => return Err(()),
            }
        }
        assert!(decoder.buffered_bytes() <= 4096);
    }
    decoder.finish().map_err(|_| ())?;
    Ok(events)
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };
    let step = usize::from(seed).max(1);
    let chunks: Vec<&[u8]> = stream.chunks(step).collect();
    let split = decode(&chunks);
    let whole = decode(&[stream]);
    if let (Ok(split), Ok(whole)) = (split, whole) {
        assert_eq!(split, whole);
    }
});
