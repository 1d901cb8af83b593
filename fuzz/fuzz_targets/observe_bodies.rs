//! Every protocol's non-streaming body reader (embeddings and Vertex
//! `:predict` included) on arbitrary bytes: never panics.
#![no_main]

use ai_proxy_core::Protocol;
use ai_proxy_core::exchange::Observer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for protocol in Protocol::ALL {
        let mut observer = Observer::new(protocol, true);
        observer.on_body(data);
        let _ = observer.observation().usage();
    }
});
