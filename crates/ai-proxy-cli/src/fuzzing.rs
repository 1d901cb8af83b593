//! The one entry point `fuzz/fuzz_targets/cli_inputs.rs` and
//! `tests/props.rs` share: arbitrary bytes through `check`, `translate`,
//! `sse` and `response`, asserting what every input must keep (no panic,
//! refusals on one line, no credential in a printed request).

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // ok: a fuzz driver's asserts are its findings

use clap::Parser;

use crate::{check, response, sse, translate};

/// The protocols the `sse` and `response` commands take.
pub const PROTOCOLS: [&str; 7] = [
    "openai-chat",
    "openai-responses",
    "anthropic-messages",
    "gemini",
    "openai-embeddings",
    "bedrock-converse",
    "bedrock-invoke",
];

#[derive(Parser)]
struct Cli<A: clap::Args> {
    #[command(flatten)]
    args: A,
}

/// A subcommand's arguments parsed from `argv` (the subcommand name first).
pub fn args<A: clap::Args>(argv: &[&str]) -> A {
    Cli::<A>::parse_from(argv).args
}

const OPENAI: &str = r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer k"}}}"#;

/// Runs every command's entry point on `data` (the first byte picks the
/// protocol); panics on a broken invariant.
pub fn drive(data: &[u8]) {
    let protocol = PROTOCOLS[usize::from(data.first().copied().unwrap_or(0)) % PROTOCOLS.len()];
    let text = String::from_utf8_lossy(data);

    if let Err(errors) = check::load(&text) {
        assert!(!errors.is_empty());
    }

    let t: translate::Args = args(&["translate", "--config", "unused"]);
    for config in [text.as_ref(), OPENAI] {
        if let Ok(prepared) = translate::translate(&t, config, bytes::Bytes::copy_from_slice(data))
        {
            let printed =
                serde_json::to_string(&translate::Rendered::new(&prepared, false)).unwrap();
            assert!(!printed.contains("Bearer k"));
        }
    }

    for extra in [&[][..], &["--no-text"], &["--text-only"]] {
        let mut argv = vec!["sse", "--protocol", protocol];
        argv.extend_from_slice(extra);
        let s: sse::Args = args(&argv);
        let verdict = sse::summarise(
            &s,
            Box::new(std::io::Cursor::new(data.to_vec())),
            &mut Vec::new(),
        );
        if let Ok(Err(message)) = verdict {
            assert!(!message.contains('\n'));
        }
    }
    let e: sse::Args = args(&["sse", "--protocol", protocol]);
    let _ = sse::print_events(
        e.protocol,
        Box::new(std::io::Cursor::new(data.to_vec())),
        &mut Vec::new(),
    );

    let r: response::Args = args(&["response", "--protocol", protocol]);
    if let Err(message) = response::answer(&r, data.to_vec()).verdict {
        assert!(!message.contains('\n'));
    }
}
