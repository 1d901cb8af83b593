//! Fuzz the `GeminiToChat` stream translator: any upstream events (one per
//! input line) must give a well-formed client stream or `EmptyStream` with
//! no bytes, the same twice, and never panic; the whole input as one body
//! must translate or fail with a 500. The checkers are the crate's own
//! test helpers, shared by path with the proptests.
#![no_main]

#[path = "../../crates/ai-proxy-gemini/tests/common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let include_usage = data.first().is_some_and(|b| b & 1 == 1);
    common::gemini_to_chat_holds(&common::events_from_bytes(data), include_usage);
    common::gemini_body_holds(data);
});
