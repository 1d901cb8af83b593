//! Any bytes as an `ai-proxy-multi` config (checks.active → probes), a
//! chash `vars_combinations` template and a model router glob: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = ai_proxy_multi::fuzzing::drive_config(data) {
        panic!("invariant broken: {broken}");
    }
});
