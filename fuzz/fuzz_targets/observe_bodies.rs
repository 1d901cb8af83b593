//! Every protocol's non-streaming body reader (embeddings and Vertex
//! `:predict` included) on arbitrary bytes: never panics; the one-pass
//! `openai-chat` read observes exactly what the serde parse observes.
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
    for text in [false, true] {
        let mut fast = Observer::new(Protocol::OpenAiChat, text);
        fast.on_body(data);
        let mut reference = Observer::new(Protocol::OpenAiChat, text);
        reference.on_body_reference(data);
        assert_eq!(fast.observation(), reference.observation());
    }
});
