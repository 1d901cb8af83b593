//! Random instance sets, policies and outcome sequences through the
//! `ai-proxy-multi` balancer: no panic, no retry past max_retries, no
//! revisited instance, no retry after bytes reached the client.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = ai_proxy_multi::fuzzing::drive(data) {
        panic!("invariant broken: {broken}");
    }
});
