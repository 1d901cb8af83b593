//! The entry points of `ai-proxy check`, `translate`, `sse` and `response`
//! on arbitrary bytes: never panic, and every refusal is one line. The driver
//! is `ai_proxy_cli::fuzzing::drive`, which `crates/ai-proxy-cli/tests/props.rs`
//! also runs under proptest.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ai_proxy_cli::fuzzing::drive(data));
