//! `ai-proxy response [--protocol P] [FILE|-]`: summarise a non-streaming
//! response body.

use std::io;
use std::process::ExitCode;
use std::time::Instant;

use ai_proxy::core::Protocol;
use ai_proxy::core::context::RequestContext;
use ai_proxy::core::exchange::Exchange;
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::observe::observe;
use crate::sse::{parse_protocol, summary};

/// Arguments of `ai-proxy response`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Protocol of the body: openai-chat, openai-responses,
    /// openai-embeddings, anthropic-messages, gemini, bedrock-converse,
    /// bedrock-invoke.
    #[arg(long, default_value = "openai-chat", value_parser = parse_protocol)]
    pub protocol: Protocol,
    /// The body, or `-` for standard input.
    #[arg(default_value = "-")]
    pub file: String,
}

/// Runs `ai-proxy response`.
pub fn run(args: Args) -> ExitCode {
    match summarise(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ai-proxy response: {}: {error}", args.file);
            ExitCode::FAILURE
        }
    }
}

fn summarise(args: &Args) -> io::Result<()> {
    let start = Instant::now();
    let mut ctx = RequestContext::new(args.protocol, args.protocol, start);
    ctx.logging.payloads = true;
    // The summary prints the whole text, however long.
    let mut exchange = Exchange::new(ctx, None).with_text_limit(usize::MAX);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let _ = exchange
        .on_head(StatusCode::OK, &headers, start)
        .map_err(io::Error::other)?;
    let report = observe(&args.file, exchange)?;
    // A body has no SSE events: `events` is null.
    println!("{}", summary(&report.metrics, None));
    Ok(())
}
