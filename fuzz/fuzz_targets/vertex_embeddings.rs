//! OpenAI embeddings body → Vertex `:predict` body: never panics, and what
//! it produces is a JSON object holding only `instances`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(out) = ai_proxy::vertex::embeddings::embeddings_to_instances(body) {
        let v: serde_json::Value = serde_json::from_slice(&out).expect("converter output is JSON");
        let obj = v.as_object().expect("an object");
        assert!(obj.len() == 1 && obj["instances"].is_array());
    }
});
