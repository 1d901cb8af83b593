//! Any bytes as an upstream's response to the gateway's HTTP/1.1 client,
//! split into reads of any size, to a `HEAD` request or not: the head and
//! body are read or refused with a typed error, never a panic; the body is
//! never longer than its bytes, an interim head is never taken for the
//! final one, and a body read to EOF never leaves its connection reusable.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ai_proxy_gateway::fuzzing::upstream_response(data);
});
