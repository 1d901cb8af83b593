//! `ai-proxy response [--protocol P] [FILE|-]`: summarise a non-streaming
//! response body.
//!
//! The body is one JSON document and is read whole (up to
//! [`MAX_BODY_BYTES`]). Exit 0 for a body of the protocol, with or without
//! usage; a body past the gateway's observation cap whose tail carries no
//! usage gets a `warning` in the summary (and on stderr), never a silent
//! null. Exit 1 with one line saying what was expected and what was seen at
//! which byte when the body is empty, not JSON or not the protocol; exit 2
//! when it cannot be read.

use std::process::ExitCode;
use std::time::Instant;

use ai_proxy::core::Protocol;
use ai_proxy::core::context::RequestContext;
use ai_proxy::core::exchange::Exchange;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use http_body_util::Full;

use crate::observe::{self, Broken};
use crate::sse::{MAX_TEXT_BYTES, Verdict, parse_protocol, summary};
use crate::{diagnose, input, stdio};

/// The largest body read: 1 GiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024 * 1024;

/// Arguments of `ai-proxy response`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Protocol of the body: openai-chat, openai-responses,
    /// openai-embeddings, anthropic-messages, gemini, bedrock-converse,
    /// bedrock-invoke.
    #[arg(long, default_value = "openai-chat", value_parser = parse_protocol)]
    pub protocol: Protocol,
    /// The most text the summary's `text` keeps; the rest is dropped and
    /// the summary says `"text_truncated": true`.
    #[arg(long, default_value_t = MAX_TEXT_BYTES)]
    pub max_text_bytes: usize,
    /// The body, or `-` for standard input.
    #[arg(default_value = "-")]
    pub file: String,
}

/// Runs `ai-proxy response`.
pub fn run(args: Args) -> ExitCode {
    let body = match input::read_bytes(&args.file, MAX_BODY_BYTES, "response body") {
        Ok(body) => body,
        Err(e) => {
            stdio::err(format_args!("ai-proxy response: {e}"));
            return ExitCode::from(e.code());
        }
    };
    let answer = answer(&args, body);
    if let Some(summary) = &answer.summary
        && let Err(closed) = stdio::out(format_args!("{summary}"))
    {
        return closed.into();
    }
    if let Some(warning) = &answer.warning {
        stdio::err(format_args!(
            "ai-proxy response: {}: warning: {warning}",
            args.file
        ));
    }
    match answer.verdict {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            stdio::err(format_args!("ai-proxy response: {}: {message}", args.file));
            ExitCode::FAILURE
        }
    }
}

/// What `ai-proxy response` says about a body.
#[derive(Debug)]
pub struct Answer {
    /// The summary line (none when the body is not the protocol's).
    pub summary: Option<serde_json::Value>,
    /// Why usage is missing although the body is fine.
    pub warning: Option<String>,
    /// Exit 0, or exit 1 with this message.
    pub verdict: Verdict,
}

/// Diagnoses and summarises one response body.
pub fn answer(args: &Args, body: Vec<u8>) -> Answer {
    let refused = |message: String| Answer {
        summary: None,
        warning: None,
        verdict: Err(message),
    };
    if let Err(message) = diagnose::body(args.protocol, &body) {
        return refused(message);
    }
    let metrics = match observe(args.protocol, Bytes::from(body), args.max_text_bytes) {
        Ok(metrics) => metrics,
        Err(message) => return refused(message),
    };
    let verdict = if metrics.malformed_events > 0 {
        Err(format!(
            "the body has the {} keys but not their types (e.g. `usage` is not an object of \
             counts): the summary may be incomplete",
            args.protocol
        ))
    } else {
        Ok(())
    };
    Answer {
        // A body has no SSE events: `events` is null.
        summary: Some(summary(&metrics, None)),
        warning: metrics.usage_gap.as_ref().map(ToString::to_string),
        verdict,
    }
}

/// The exchange's metrics for `body`, relayed as one frame (so a body
/// within the observation cap is read in place, not copied).
fn observe(protocol: Protocol, body: Bytes, max_text: usize) -> Result<ai_proxy::Metrics, String> {
    let start = Instant::now();
    let mut ctx = RequestContext::new(protocol, protocol, start);
    ctx.logging.payloads = true;
    let mut exchange = Exchange::new(ctx, None).with_text_limit(max_text);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let _ = exchange
        .on_head(StatusCode::OK, &headers, start)
        .map_err(|e| e.to_string())?;
    match observe::observe(Full::new(body), exchange, |_| Ok(())) {
        Ok(Ok(metrics)) => Ok(metrics),
        Ok(Err(error)) => Err(observe::stopped(&error)),
        Err(Broken::Input(e) | Broken::Output(e)) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_over_the_observation_cap_keeps_its_usage_from_the_tail() {
        let cap = ai_proxy::core::exchange::DEFAULT_MAX_BUFFERED_BODY;
        let body = format!(
            r#"{{"model":"m","choices":[{{"message":{{"content":"{}"}}}}],"usage":{{"prompt_tokens":1,"completion_tokens":2}}}}"#,
            "x".repeat(cap)
        );
        let m = observe(Protocol::OpenAiChat, Bytes::from(body), MAX_TEXT_BYTES).unwrap();
        assert_eq!(m.usage.map(|u| u.total_tokens), Some(3));
        assert_eq!(m.usage_gap, None);
        assert_eq!(summary(&m, None)["warning"], serde_json::Value::Null);
    }

    #[test]
    fn a_body_over_the_cap_without_usage_says_so_in_the_summary() {
        let cap = ai_proxy::core::exchange::DEFAULT_MAX_BUFFERED_BODY;
        let body = format!(
            r#"{{"model":"m","choices":[{{"message":{{"content":"{}"}}}}]}}"#,
            "x".repeat(cap)
        );
        let m = observe(Protocol::OpenAiChat, Bytes::from(body), MAX_TEXT_BYTES).unwrap();
        let line = summary(&m, None);
        assert_eq!(line["total_tokens"], serde_json::Value::Null);
        assert!(
            line["warning"]
                .as_str()
                .unwrap()
                .contains("token counts are unknown"),
            "{line}"
        );
    }
}
