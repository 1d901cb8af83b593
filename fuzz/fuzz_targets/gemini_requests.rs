//! Fuzz the OpenAI chat → Gemini request converter: any bytes, no panic;
//! JSON in gives JSON out (with `contents`) or a 400. The checker is the
//! crate's own test helper, shared by path with the proptests.
#![no_main]

#[path = "../../crates/ai-proxy-gemini/tests/common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::requests_hold(data);
});
