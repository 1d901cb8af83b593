//! Property tests: arbitrary bytes through the entry points of `check`,
//! `translate`, `sse` and `response` never panic, and every refusal is one
//! printable message; the fuzz target's driver (`fuzzing::drive`) runs here too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ai_proxy_cli::fuzzing::{PROTOCOLS, args};
use ai_proxy_cli::{check, diagnose, response, sse, translate};
use proptest::prelude::*;

/// Bytes made of fragments the parsers react to, mixed with noise.
fn input() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        Just(b"data: ".to_vec()),
        Just(b"event: message_start\n".to_vec()),
        Just(b"\n\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b": comment\n".to_vec()),
        Just(b"{\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}".to_vec()),
        Just(b"{\"type\":\"content_block_delta\",\"delta\":{\"text\":\"x\"}}".to_vec()),
        Just(b"{\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":1}}".to_vec()),
        Just(b"\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}".to_vec()),
        Just(b"[DONE]".to_vec()),
        Just(b"{\"provider\":\"openai\",\"auth\":{}}".to_vec()),
        Just(b"version: \"1\"\nroutes:\n  - uri: /x\n".to_vec()),
        Just(b"- &a [*a, ".to_vec()),
        Just(b"[[{{".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\xff\x00".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..24),
    ];
    proptest::collection::vec(fragment, 0..16).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_fuzz_driver_holds(bytes in input()) {
        ai_proxy_cli::fuzzing::drive(&bytes);
    }

    #[test]
    fn check_never_panics(bytes in input()) {
        let text = String::from_utf8_lossy(&bytes);
        match check::load(&text) {
            Ok(doc) => {
                let _ = check::summary(&doc, &ai_proxy::registry());
                let _ = check::warnings(&doc);
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in errors {
                    let _ = e.to_string();
                }
            }
        }
    }

    #[test]
    fn translate_never_panics(config in input(), body in input()) {
        let a: translate::Args = args(&["translate", "--config", "unused"]);
        let config = String::from_utf8_lossy(&config);
        let openai = r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer k"}}}"#;
        for config in [config.as_ref(), openai] {
            match translate::translate(&a, config, bytes::Bytes::from(body.clone())) {
                Ok(prepared) => {
                    let printed = serde_json::to_string(&translate::Rendered::new(&prepared, false)).unwrap();
                    prop_assert!(!printed.contains("Bearer k"));
                }
                Err(failure) => prop_assert!(!failure.message.is_empty()),
            }
        }
    }

    #[test]
    fn sse_never_panics(bytes in input(), protocol in 0..PROTOCOLS.len()) {
        for extra in [&[][..], &["--no-text"], &["--text-only"], &["--max-text-bytes", "3"]] {
            let mut argv = vec!["sse", "--protocol", PROTOCOLS[protocol]];
            argv.extend_from_slice(extra);
            let a: sse::Args = args(&argv);
            let mut out = Vec::new();
            let verdict = sse::summarise(&a, Box::new(std::io::Cursor::new(bytes.clone())), &mut out).unwrap();
            if let Err(message) = verdict {
                prop_assert!(!message.is_empty() && !message.contains('\n'), "{message}");
            }
        }
        let a: sse::Args = args(&["sse", "--protocol", PROTOCOLS[protocol]]);
        let mut out = Vec::new();
        let verdict = sse::print_events(a.protocol, Box::new(std::io::Cursor::new(bytes.clone())), &mut out).unwrap();
        if let Err(message) = verdict {
            prop_assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn response_never_panics(bytes in input(), protocol in 0..PROTOCOLS.len()) {
        let a: response::Args = args(&["response", "--protocol", PROTOCOLS[protocol]]);
        let answer = response::answer(&a, bytes.clone());
        match &answer.verdict {
            Ok(()) => prop_assert!(answer.summary.is_some()),
            Err(message) => prop_assert!(!message.is_empty() && !message.contains('\n'), "{message}"),
        }
        // The diagnosis alone agrees with the answer's refusals.
        if diagnose::body(a.protocol, &bytes).is_err() {
            prop_assert!(answer.summary.is_none());
        }
    }
}
