//! Writing to standard output and standard error without panicking.
//!
//! `println!` panics (exit 101) when stdout is a closed pipe
//! (`ai-proxy translate … | head -c1`). Every command writes through
//! [`out`] instead and ends with exit code 1, quietly, when its reader has
//! gone — as a tool killed by `SIGPIPE` would, minus the signal. Messages
//! go through [`err`], which never fails: a closed stderr has nowhere to
//! report to.

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

/// Standard output could not be written (its reader closed the pipe, or
/// the disk is full). The command stops with exit code 1.
#[derive(Debug)]
pub struct StdoutClosed;

impl From<StdoutClosed> for ExitCode {
    fn from(_: StdoutClosed) -> Self {
        ExitCode::FAILURE
    }
}

/// Turns a failed write to stdout into [`StdoutClosed`]. A broken pipe is
/// the reader's choice and stays quiet; any other failure (a full disk)
/// gets one line on stderr.
pub fn closed(error: &io::Error) -> StdoutClosed {
    if error.kind() != io::ErrorKind::BrokenPipe {
        err(format_args!(
            "ai-proxy: cannot write to standard output: {error}"
        ));
    }
    StdoutClosed
}

/// Writes `text` and a newline to stdout, flushed.
pub fn out(text: fmt::Arguments<'_>) -> Result<(), StdoutClosed> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_fmt(text)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush())
        .map_err(|e| closed(&e))
}

/// Writes `text` and a newline to stderr; failures are ignored.
pub fn err(text: fmt::Arguments<'_>) {
    let mut stderr = io::stderr().lock();
    let _ = stderr
        .write_fmt(text)
        .and_then(|()| stderr.write_all(b"\n"));
}

/// Writes each line of `lines` to stderr (see [`err`]).
pub fn err_lines<T: fmt::Display>(lines: impl IntoIterator<Item = T>) {
    for line in lines {
        err(format_args!("{line}"));
    }
}
