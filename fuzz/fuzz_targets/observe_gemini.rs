//! The `gemini` observer through the exchange on arbitrary streams and
//! bodies, with and without text: never panics, always forwards the bytes.
#![no_main]

use std::time::Instant;

use ai_proxy_core::Protocol;
use ai_proxy_core::context::RequestContext;
use ai_proxy_core::exchange::{Exchange, Observer};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use libfuzzer_sys::fuzz_target;

const PROTOCOL: Protocol = Protocol::Gemini;

fuzz_target!(|data: &[u8]| {
    let Some((&seed, body)) = data.split_first() else {
        return;
    };
    let step = usize::from(seed).max(1);
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
