//! A body known only by its two ends (the windows kept from a body past
//! the observation cap), split at the first byte's position, for every
//! protocol: never panics, and "usage found" means usage was recorded.
#![no_main]

use ai_proxy_core::Protocol;
use ai_proxy_core::exchange::Observer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let (head, tail) = rest.split_at(usize::from(split).min(rest.len()));
    for protocol in Protocol::ALL {
        let mut observer = Observer::new(protocol, true);
        let found = observer.on_body_ends(head, tail);
        assert_eq!(found, observer.observation().usage().is_some());
    }
});
