//! Any bytes as a request (method and URI, a header, a JSON body) against
//! routes whose `vars` read headers, cookies, query args, the client
//! address and `post_arg.*` paths: no panic, and a match made on the head
//! alone is the match the body confirms.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ai_proxy_gateway::fuzzing::match_route(data);
});
