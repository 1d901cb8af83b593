//! Fuzz the OpenAI chat → Bedrock Converse request converter: any body
//! converts to JSON with messages, or is refused; never a panic. Shared
//! with the crate's proptests.
#![no_main]

#[path = "../../crates/ai-proxy-bedrock/tests/common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::converse_request_holds(data);
});
