//! What the binary-level robustness tests share: running `ai-proxy` with a
//! deadline, temporary inputs that clean up after themselves, and the small
//! valid inputs each command accepts.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ai-proxy"))
}

/// A file in a fresh temporary directory, removed with it when dropped (the
/// campaign writes inputs of tens of MB; none may outlive the test).
pub struct TempFile {
    dir: PathBuf,
    path: PathBuf,
}

impl std::ops::Deref for TempFile {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `contents` to `name` in a fresh temporary directory.
pub fn temp_file(name: &str, contents: &[u8]) -> TempFile {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ai-proxy-robustness-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    TempFile { dir, path }
}

/// Waits for `child` while draining its output, killing it after 60 s (a
/// hang is a failure, not a stuck test run).
pub fn wait(mut child: std::process::Child) -> Output {
    fn drain(
        pipe: Option<impl std::io::Read + Send + 'static>,
    ) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("ai-proxy did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Runs `ai-proxy ARGS` with `input` on stdin.
pub fn run(args: &[&str], input: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Written from a thread: the command may stop reading early.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = wait(child);
    writer.join().unwrap();
    out
}

/// Runs `ai-proxy ARGS` whose stdout reader has already gone: the read end
/// of the pipe is closed before the command gets its input on stdin.
pub fn run_with_stdout_closed(args: &[&str], input: &[u8]) -> Output {
    // The read end is closed before the child starts: a piped stdout
    // dropped after spawn left a window in which a command that writes
    // without reading stdin (`--help`) could fill the pipe and exit 0.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(input);
    drop(stdin);
    wait(child)
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Exit 1, and stderr starting with `start`.
#[track_caller]
pub fn refused(out: &Output, start: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with(start), "expected `{start}…`, got: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

pub const OPENAI: &str = r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer sk-x"}},"options":{"model":"gpt-4o"}}"#;
pub const CHAT: &str = r#"{"messages":[{"role":"user","content":"hi"}]}"#;
pub const CHAT_BODY: &str = r#"{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#;
pub const CHAT_STREAM: &str = "data: {\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n";
