//! `ai-proxy`: the command-line face of the ai-proxy SDK.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ai_proxy_cli::{check, response, serve, sse, translate};

/// ai-proxy: APISIX-compatible AI gateway toolkit.
#[derive(Debug, Parser)]
#[command(name = "ai-proxy", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate an ai-proxy / ai-proxy-multi config, a route JSON or a config-sync YAML.
    Check(check::Args),
    /// Print the upstream request (method, URL, headers, body) a client request becomes.
    Translate(translate::Args),
    /// Summarise an SSE stream (or print its events): model, tokens, events, done, text.
    Sse(sse::Args),
    /// Summarise a non-streaming response body: model, tokens, done, text.
    Response(response::Args),
    /// Run the gateway: routes from a config file, or --demo with in-process upstreams.
    Serve(serve::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version land here too; a closed pipe ends them
        // with exit 1 like any other output.
        Err(e) => {
            return match e.print() {
                Ok(()) => ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2)),
                Err(_) => ExitCode::FAILURE,
            };
        }
    };
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Translate(args) => translate::run(args),
        Command::Sse(args) => sse::run(args),
        Command::Response(args) => response::run(args),
        Command::Serve(args) => serve::run(args),
    }
}
