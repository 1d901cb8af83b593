//! The `anthropic` observer through the exchange on arbitrary streams and
//! bodies, with and without text: never panics, always forwards the bytes;
//! skimming (`Observer::skim`) observes exactly what decoding every event
//! observes, cap errors included.
#![no_main]

use std::time::Instant;

use ai_proxy_core::Protocol;
use ai_proxy_core::context::RequestContext;
use ai_proxy_core::exchange::{Exchange, Observation, Observer};
use ai_proxy_core::sse::SseDecoder;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use libfuzzer_sys::fuzz_target;

const PROTOCOL: Protocol = Protocol::AnthropicMessages;

fn observe(body: &[u8], step: usize, cap: usize, skim: bool) -> Option<Observation> {
    let mut decoder = SseDecoder::with_max_event_bytes(cap);
    let mut observer = Observer::new(PROTOCOL, false);
    for chunk in body.chunks(step) {
        decoder.feed(Bytes::copy_from_slice(chunk));
        loop {
            if skim {
                observer.skim(&mut decoder);
            }
            match decoder.poll_event().ok()? {
                Some(event) => {
                    observer.on_event(&event);
                }
                None => break,
            }
        }
    }
    decoder.finish().ok()?;
    Some(observer.into_observation())
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, body)) = data.split_first() else {
        return;
    };
    let step = usize::from(seed).max(1);
    let cap = usize::from(seed % 64) + 8;
    assert_eq!(observe(body, step, cap, true), observe(body, step, cap, false));
    for text in [false, true] {
        let start = Instant::now();
        let mut ctx = RequestContext::new(PROTOCOL, PROTOCOL, start);
        ctx.logging.payloads = text;
        let mut exchange = Exchange::new(ctx, None);
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        let _ = exchange.on_head(StatusCode::OK, &headers, start).unwrap();
        for chunk in body.chunks(step) {
            let chunk = Bytes::copy_from_slice(chunk);
            assert_eq!(exchange.on_body(chunk.clone(), start).unwrap(), chunk);
        }
        let _ = exchange.on_eof(start).unwrap();
        let metrics = exchange.finish(start);
        let _ = (metrics.vars(), metrics.otel_attributes());
        let mut observer = Observer::new(PROTOCOL, text);
        observer.on_body(body);
    }
});
