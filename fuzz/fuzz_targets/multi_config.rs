//! Any bytes as an `ai-proxy-multi` config (checks.active → probes), a
//! chash `vars_combinations` template and a model router glob: no panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

static REGISTRY: LazyLock<ai_proxy::Registry> = LazyLock::new(ai_proxy::registry);

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = ai_proxy_multi::fuzzing::drive_config(data, &REGISTRY) {
        panic!("invariant broken: {broken}");
    }
});
