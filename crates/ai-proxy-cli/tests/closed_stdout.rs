//! Issue 15, defect 1: a closed stdout ends every command with exit 1 and at
//! most one line on stderr.
//!
//! Alone in its own test binary on purpose: while another test thread forks a
//! child, that child briefly holds a copy of every pipe end (until its exec
//! closes them), so a closed reader could look open and the command's write
//! succeed. With no other test running beside it, the reader is really gone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;

#[test]
fn defect_1_a_closed_stdout_ends_every_command_with_exit_1_quietly() {
    let config = temp_file("openai.json", OPENAI.as_bytes());
    let config = config.to_str().unwrap();
    let serve_config =
        r#"{"uri":"/v1/chat/completions","plugins":{"ai-proxy":{"provider":"openai","auth":{}}}}"#;
    let cases: [(&[&str], &str); 8] = [
        (&["check", "-"], OPENAI),
        (&["translate", "--config", config, "-"], CHAT),
        (&["sse", "-"], CHAT_STREAM),
        (&["sse", "--events", "-"], CHAT_STREAM),
        (&["sse", "--text-only", "-"], CHAT_STREAM),
        (&["response", "-"], CHAT_BODY),
        (
            &["serve", "--config", "-", "--listen", "127.0.0.1:0"],
            serve_config,
        ),
        (&["--help"], ""),
    ];
    for (args, input) in cases {
        let out = run_with_stdout_closed(args, input.as_bytes());
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.lines().count() <= 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
