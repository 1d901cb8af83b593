//! Any bytes through `ai_proxy_prompt::fuzzing::guard`: no panic, and the
//! invariants the driver checks hold (the same driver runs under proptest
//! in the crate's tests).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = ai_proxy_prompt::fuzzing::guard(data) {
        panic!("invariant broken: {broken}");
    }
});
