//! Any text as a service-account key file: never panics, every problem is
//! printable, and nothing of the input's values is quoted back.
#![no_main]

use ai_proxy_core::config::check_service_account;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(errors) = check_service_account(&text) {
        assert!(!errors.errors().is_empty());
        let _ = errors.to_string();
    }
});
