//! Fuzz the `MessagesToChat` stream translator: any upstream events (one per
//! input line, first byte = event name) must give a well-formed client
//! stream or `EmptyStream` with no bytes, and never panic. The checker is
//! the crate's own test helper, shared by path with the proptests.
#![no_main]

#[path = "../../crates/ai-proxy-anthropic/tests/common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::messages_to_chat_holds(&common::events_from_bytes(data));
});
