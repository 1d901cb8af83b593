//! Any bytes as a client's request stream to the gateway's HTTP/1.1
//! server, split into reads of any size: heads and bodies (pipelined,
//! `Content-Length` or chunked) are read or refused with a typed error,
//! never a panic, and no body comes out longer than its bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ai_proxy_gateway::fuzzing::client_requests(data);
});
