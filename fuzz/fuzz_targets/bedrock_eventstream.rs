//! Fuzz the AWS event-stream decoder: any bytes (checksums optionally
//! repaired so headers and payloads are reached), fed in chunks, give
//! exactly what decoding them whole gives, and never panic. Shared with
//! the crate's proptests.
#![no_main]

#[path = "../../crates/ai-proxy-bedrock/tests/common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::eventstream_holds(data);
});
