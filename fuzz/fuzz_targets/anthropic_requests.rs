//! Fuzz both request converters (Anthropic → OpenAI chat, OpenAI chat →
//! Anthropic): any bytes, no panic; JSON in gives JSON out or a 400. The
//! checker is the crate's own test helper, shared by path with the
//! proptests.
#![no_main]

#[path = "../../crates/ai-proxy-anthropic/tests/common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::requests_hold(data);
});
