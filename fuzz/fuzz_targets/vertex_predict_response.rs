//! Vertex `:predict` response → OpenAI embeddings list: never panics; on
//! success the output is the body unchanged (not JSON, or an error status)
//! or JSON; on error nothing is written.
#![no_main]

use ai_proxy::core::translate::ResponseTranslator;
use ai_proxy::vertex::PredictTranslator;
use bytes::BytesMut;
use http::StatusCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    // First byte picks the status class: odd → 400, even → 200.
    let (status, body) = match input.split_first() {
        Some((b, rest)) if b % 2 == 1 => (StatusCode::BAD_REQUEST, rest),
        Some((_, rest)) => (StatusCode::OK, rest),
        None => (StatusCode::OK, input),
    };
    let mut out = BytesMut::new();
    let mut translator = PredictTranslator::new(Some("text-embedding-004".into()));
    match translator.translate_body(status, body, &mut out) {
        Ok(()) if out[..] == body[..] => {}
        Ok(()) => {
            serde_json::from_slice::<serde_json::Value>(&out).expect("translated output is JSON");
        }
        Err(_) => assert!(out.is_empty()),
    }
});
