//! Any bytes as an `ai-rate-limiting` `cost_expr` and the usage values it
//! is evaluated with: no panic, bounded, costs as APISIX rounds them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = ai_proxy_multi::fuzzing::limit::drive_cost_expr(data) {
        panic!("invariant broken: {broken}");
    }
});
