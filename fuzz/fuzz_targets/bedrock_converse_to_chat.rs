//! Fuzz `ConverseToChat`: any Converse events (one per line, first byte =
//! event name) and any response body give a well-formed OpenAI client
//! stream / body, and never panic. Shared with the crate's proptests.
#![no_main]

#[path = "../../crates/ai-proxy-bedrock/tests/common/mod.rs"]
mod common;

use ai_proxy_core::translate::ResponseTranslator;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::converse_to_chat_holds(&common::converse_events_from_bytes(data));
    if let Some((&status, body)) = data.split_first() {
        let status = http::StatusCode::from_u16(200 + u16::from(status) * 2).unwrap_or(http::StatusCode::OK);
        let mut out = bytes::BytesMut::new();
        let mut t = ai_proxy_bedrock::ConverseToChat::new(Some("m"));
        if t.translate_body(status, body, &mut out).is_ok() && !status.is_success() {
            let _: serde_json::Value = serde_json::from_slice(&out).expect("error bodies are JSON");
        }
    }
});
