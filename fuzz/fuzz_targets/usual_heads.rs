//! Any bytes as a request head and as a response head: the gateway's
//! reader of usual heads takes only heads `httparse` reads, and reads them
//! the same way (start line, fields, length), never panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ai_proxy_gateway::fuzzing::usual_heads(data);
});
