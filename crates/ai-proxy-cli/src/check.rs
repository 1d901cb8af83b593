//! `ai-proxy check FILE|-`.

use std::process::ExitCode;

/// Arguments of `ai-proxy check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Config file, or `-` for standard input.
    pub file: String,
}

/// Runs `ai-proxy check`.
pub fn run(args: Args) -> ExitCode {
    let _ = args;
    ExitCode::from(2)
}
