//! Any bytes as an `ai-rate-limiting`, `key-auth` or `consumers` config,
//! then requests through the compiled limiter: no panic, every error
//! located, verdicts consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = ai_proxy_multi::fuzzing::limit::drive_rate_limiting(data) {
        panic!("invariant broken: {broken}");
    }
});
