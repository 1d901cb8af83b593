//! Any bytes into every configuration parser: no panic, every error located.
#![no_main]

use ai_proxy_core::config::{AiProxyConfig, AiProxyMultiConfig};
use ai_proxy_gateway::config::Document;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for errors in [
        AiProxyConfig::from_json(&text).err(),
        AiProxyMultiConfig::from_json(&text).err(),
        Document::parse(&text).err(),
    ]
    .into_iter()
    .flatten()
    {
        assert!(!errors.errors().is_empty());
        let _ = errors.to_string();
    }
});
