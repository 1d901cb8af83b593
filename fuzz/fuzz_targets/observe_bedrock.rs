//! Fuzz passthrough metering of Bedrock streams through the exchange with
//! the adapter's event-stream framing (ConverseStream and InvokeModel
//! chunks, with and without text): bytes always flow unchanged, nothing
//! panics. Shared with the crate's proptests.
#![no_main]

#[path = "../../crates/ai-proxy-bedrock/tests/common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::passthrough_holds(data);
});
