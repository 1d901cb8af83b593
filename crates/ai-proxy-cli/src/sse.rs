//! `ai-proxy sse [--protocol P] [--events | --text-only | --no-text]
//! [--max-text-bytes N] [FILE|-]`: summarise an SSE byte stream, print its
//! events, or write its text out as it is decoded. Protocols whose provider
//! streams in another framing (`bedrock-converse`, `bedrock-invoke`: AWS
//! event streams) are read in that framing; their events are its frames. The stream is read in
//! chunks and memory stays flat however long it is: the summary keeps at
//! most `--max-text-bytes` of text (then `"text_truncated": true`).
//!
//! Exit 0 for a stream of the protocol, with or without usage (unknown
//! values are `null`); exit 1 with one line on stderr saying what was
//! expected and what was seen at which byte when the input is empty, not
//! SSE, or not the protocol (`--events`: empty or not SSE), and when events
//! could not all be read; exit 2 when the input cannot be read.

use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::time::Instant;

use std::sync::Arc;

use ai_proxy::core::context::RequestContext;
use ai_proxy::core::exchange::{Exchange, UsageGap};
use ai_proxy::core::framing::{FrameDecoder, FramingError, StreamFraming};
use ai_proxy::core::sse::{SseDecoder, SseError};
use ai_proxy::core::{Protocol, Provider};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};

pub use crate::observe::{Broken, Verdict};
use crate::observe::{Input, observe_input};
use crate::{diagnose, input, stdio};

/// The default `--max-text-bytes`: 1 MiB.
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;

/// Arguments of `ai-proxy sse`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Protocol of the stream: openai-chat, openai-responses,
    /// anthropic-messages, gemini, bedrock-converse (an AWS event stream),
    /// bedrock-invoke.
    #[arg(long, default_value = "openai-chat", value_parser = parse_protocol)]
    pub protocol: Protocol,
    /// Print one JSON line per dispatched event `{"event","data","id"}`
    /// instead of the summary.
    #[arg(long, conflicts_with_all = ["no_text", "text_only"])]
    pub events: bool,
    /// Do not collect the assistant text (`"text": null`); reads only what
    /// usage needs.
    #[arg(long, conflicts_with = "text_only")]
    pub no_text: bool,
    /// Write the assistant text to stdout as it is decoded, and nothing
    /// else (no summary line).
    #[arg(long)]
    pub text_only: bool,
    /// The most text the summary's `text` keeps; the rest is dropped and
    /// the summary says `"text_truncated": true`.
    #[arg(long, default_value_t = MAX_TEXT_BYTES)]
    pub max_text_bytes: usize,
    /// The stream, or `-` for standard input.
    #[arg(default_value = "-")]
    pub file: String,
}

pub fn parse_protocol(name: &str) -> Result<Protocol, String> {
    name.parse::<Protocol>().map_err(|e| e.to_string())
}

/// The stream framing a provider of the registry uses for `protocol`, when
/// it is not SSE (`bedrock-converse`, `bedrock-invoke`: AWS event streams).
pub fn framing(protocol: Protocol) -> Option<Arc<dyn StreamFraming>> {
    let registry = ai_proxy::registry();
    Provider::ALL
        .iter()
        .filter_map(|p| registry.adapter(*p))
        .find_map(|adapter| adapter.stream_framing(protocol))
}

/// The summary line shared with `ai-proxy response`: the contract's seven
/// fields, then `text_truncated` and `warning` when they apply.
pub fn summary(metrics: &ai_proxy::core::Metrics, events: Option<u64>) -> serde_json::Value {
    let usage = metrics.usage;
    let mut line = serde_json::json!({
        "model": metrics.llm_model,
        "prompt_tokens": usage.map(|u| u.prompt_tokens),
        "completion_tokens": usage.map(|u| u.completion_tokens),
        "total_tokens": usage.map(|u| u.total_tokens),
        "events": events,
        "done": metrics.done,
        "text": metrics.response_text,
    });
    if let Some(fields) = line.as_object_mut() {
        if metrics.response_text_truncated {
            fields.insert("text_truncated".to_owned(), true.into());
        }
        if let Some(gap) = &metrics.usage_gap {
            fields.insert("warning".to_owned(), gap.to_string().into());
        }
    }
    line
}

/// Runs `ai-proxy sse`.
pub fn run(args: Args) -> ExitCode {
    let input = match input::open(&args.file) {
        Ok(input) => input,
        Err(e) => return Broken::Input(e).exit("sse", &args.file),
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let verdict = if args.events {
        print_events(args.protocol, input, &mut out)
    } else {
        summarise(&args, input, &mut out)
    };
    let verdict = verdict.and_then(|v| out.flush().map(|()| v).map_err(Broken::Output));
    match verdict {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(message)) => {
            stdio::err(format_args!("ai-proxy sse: {}: {message}", args.file));
            ExitCode::FAILURE
        }
        Err(broken) => broken.exit("sse", &args.file),
    }
}

/// `--events`: one JSON line per dispatched event (for a framed protocol,
/// per frame); the verdict says whether the input was such a stream at all.
pub fn print_events(
    protocol: Protocol,
    input: Box<dyn Read>,
    out: &mut dyn Write,
) -> Result<Verdict, Broken> {
    if let Some(framing) = framing(protocol) {
        return print_frames(protocol, framing.as_ref(), input, out);
    }
    let mut input = Input::new(input);
    let mut decoder = SseDecoder::new();
    let (events, failure) = print_lines(&mut input, out, &mut decoder, SseDecoder::feed, |d| {
        let event = d.poll_event()?;
        Ok::<_, SseError>(event.map(|event| {
            serde_json::json!({
                "event": event.event_type(),
                "data": event.data(),
                "id": event.id(),
            })
        }))
    })?;
    if let Some(error) = failure {
        return Ok(Err(error.to_string()));
    }
    let _ = decoder.finish();
    Ok(diagnose::stream(None, &input.prefix, input.total, events))
}

/// `--events` for a framed stream: one line per frame, `"error": true` on
/// frames the upstream marked as errors.
fn print_frames(
    protocol: Protocol,
    framing: &dyn StreamFraming,
    input: Box<dyn Read>,
    out: &mut dyn Write,
) -> Result<Verdict, Broken> {
    let mut input = Input::new(input);
    let mut decoder = framing.decoder();
    let feed = |d: &mut Box<dyn FrameDecoder>, chunk| d.feed(chunk);
    let (frames, failure) = print_lines(&mut input, out, &mut decoder, feed, |d| {
        let frame = d.next_frame()?;
        Ok::<_, FramingError>(frame.map(|frame| {
            let data = String::from_utf8_lossy(frame.payload());
            if frame.is_error() {
                serde_json::json!({
                    "event": frame.event_type(), "data": data, "id": "", "error": true,
                })
            } else {
                serde_json::json!({"event": frame.event_type(), "data": data, "id": ""})
            }
        }))
    })?;
    let failure = failure.or_else(|| decoder.finish().err());
    Ok(diagnose::framed(
        protocol,
        framing.content_type(),
        input.total,
        frames,
        failure.map(|e| e.to_string()).as_deref(),
    ))
}

/// The summary (or, with `--text-only`, the text) of the stream `input`;
/// the verdict says whether it was a stream of the protocol, read whole.
pub fn summarise(
    args: &Args,
    input: Box<dyn Read>,
    out: &mut dyn Write,
) -> Result<Verdict, Broken> {
    let mut input = Input::new(input);
    let start = Instant::now();
    let mut ctx = RequestContext::new(args.protocol, args.protocol, start);
    ctx.logging.payloads = !args.no_text;
    ctx.framing = framing(args.protocol);
    let content_type = ctx
        .framing
        .as_ref()
        .map_or("text/event-stream", |f| f.content_type());
    let framed = ctx.framing.is_some();
    // Text written out as it arrives is never held, so it needs no cap.
    let limit = if args.text_only {
        usize::MAX
    } else {
        args.max_text_bytes
    };
    let mut exchange = Exchange::new(ctx, None).with_text_limit(limit);
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Without limits configured, the exchange refuses nothing: its errors
    // could only be misuse, reported like any other.
    if let Err(e) = exchange.on_head(StatusCode::OK, &headers, start) {
        return Ok(Err(e.to_string()));
    }
    let text_only = args.text_only;
    let metrics = observe_input(&mut input, exchange, |exchange| {
        if text_only {
            write_text(exchange.take_text().as_deref(), out)?;
        }
        Ok(())
    })?;
    let metrics = match metrics {
        Ok(metrics) => metrics,
        Err(message) => return Ok(Err(message)),
    };
    if args.text_only {
        // What the last frame and the end added.
        write_text(metrics.response_text.as_deref(), out)?;
    }
    let verdict = if framed {
        // A stream that broke after some frames still gets its summary;
        // the gap is reported after it.
        let failure = match &metrics.usage_gap {
            Some(UsageGap::FramesUnobserved(e)) if metrics.events == 0 => Some(e.to_string()),
            _ => None,
        };
        diagnose::framed(
            args.protocol,
            content_type,
            input.total,
            metrics.events,
            failure.as_deref(),
        )
    } else {
        diagnose::stream(
            Some(args.protocol),
            &input.prefix,
            input.total,
            metrics.events,
        )
    };
    if verdict.is_err() {
        return Ok(verdict);
    }
    if !args.text_only {
        let line = summary(&metrics, Some(metrics.events));
        write_json_line(out, &line)?;
    }
    if let Some(gap) = &metrics.usage_gap {
        return Ok(Err(gap.to_string()));
    }
    if metrics.malformed_events > 0 {
        let n = metrics.malformed_events;
        return Ok(Err(format!(
            "{n} event{} of the {} stream could not be read (not JSON, or fields of the \
                 wrong type): the summary may be incomplete",
            if n == 1 { "" } else { "s" },
            args.protocol
        )));
    }
    Ok(Ok(()))
}

/// Feeds `input` to `decoder` chunk by chunk and writes one JSON line per
/// item `next` takes from it, until the input ends or `next` fails (that
/// error ends the reading); then flushes `out`. Answers the lines written
/// and the error.
fn print_lines<D, E>(
    input: &mut Input,
    out: &mut dyn Write,
    decoder: &mut D,
    feed: impl Fn(&mut D, Bytes),
    mut next: impl FnMut(&mut D) -> Result<Option<serde_json::Value>, E>,
) -> Result<(u64, Option<E>), Broken> {
    let mut lines = 0u64;
    let mut failure = None;
    'read: while let Some(chunk) = input.next_chunk()? {
        feed(decoder, chunk);
        loop {
            match next(decoder) {
                Ok(Some(line)) => {
                    lines += 1;
                    write_json_line(out, &line)?;
                }
                Ok(None) => break,
                Err(error) => {
                    failure = Some(error);
                    break 'read;
                }
            }
        }
    }
    out.flush().map_err(Broken::Output)?;
    Ok((lines, failure))
}

/// One JSON value on its own line (`--events`, the summary).
fn write_json_line(out: &mut dyn Write, line: &serde_json::Value) -> Result<(), Broken> {
    serde_json::to_writer(&mut *out, line).map_err(|e| Broken::Output(e.into()))?;
    out.write_all(b"\n").map_err(Broken::Output)
}

/// Writes out text taken from the exchange.
fn write_text(text: Option<&str>, out: &mut dyn Write) -> Result<(), Broken> {
    match text {
        Some(text) if !text.is_empty() => out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(Broken::Output),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_on(bytes: &[u8], extra: &[&str]) -> (Verdict, String) {
        let args = {
            use clap::Parser;
            #[derive(clap::Parser)]
            struct Cli {
                #[command(flatten)]
                args: Args,
            }
            let mut argv = vec!["sse".to_owned()];
            argv.extend(extra.iter().map(|s| (*s).to_owned()));
            Cli::parse_from(argv).args
        };
        let input = Box::new(std::io::Cursor::new(bytes.to_vec()));
        let mut out = Vec::new();
        let verdict = if args.events {
            print_events(args.protocol, input, &mut out).unwrap()
        } else {
            summarise(&args, input, &mut out).unwrap()
        };
        (verdict, String::from_utf8(out).unwrap())
    }

    fn ok(bytes: &[u8], extra: &[&str]) -> String {
        let (verdict, out) = run_on(bytes, extra);
        assert_eq!(verdict, Ok(()), "{out}");
        out
    }

    const STREAM: &[u8] = b": OPENROUTER PROCESSING\n\ndata: {\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\r\n\r\nid: 9\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n";

    #[test]
    fn summary_has_the_contract_fields_in_order() {
        assert_eq!(
            ok(STREAM, &[]),
            "{\"model\":\"m\",\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5,\"events\":3,\"done\":true,\"text\":\"Hi\"}\n"
        );
    }

    #[test]
    fn no_text_gives_null_text_and_the_same_numbers() {
        assert_eq!(
            ok(STREAM, &["--no-text"]),
            "{\"model\":\"m\",\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5,\"events\":3,\"done\":true,\"text\":null}\n"
        );
    }

    #[test]
    fn a_valid_stream_without_usage_has_null_numbers_and_exit_0() {
        let stream = b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n";
        assert_eq!(
            ok(stream, &[]),
            "{\"model\":null,\"prompt_tokens\":null,\"completion_tokens\":null,\"total_tokens\":null,\"events\":1,\"done\":false,\"text\":\"a\"}\n"
        );
    }

    #[test]
    fn data_that_is_not_the_protocol_is_exit_1_without_a_summary() {
        let (verdict, out) = run_on(b"data: hello\n\n", &[]);
        assert!(verdict.is_err());
        assert_eq!(out, "");
    }

    #[test]
    fn text_beyond_max_text_bytes_is_dropped_and_marked() {
        let out = ok(STREAM, &["--max-text-bytes", "1"]);
        assert!(
            out.contains("\"text\":\"H\",\"text_truncated\":true}"),
            "{out}"
        );
    }

    #[test]
    fn text_only_writes_just_the_text() {
        assert_eq!(ok(STREAM, &["--text-only"]), "Hi");
    }

    #[test]
    fn events_prints_one_line_per_dispatched_event() {
        let lines = ok(STREAM, &["--events"]);
        let lines: Vec<serde_json::Value> = lines
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["event"], "message");
        assert_eq!(lines[0]["id"], "");
        assert_eq!(lines[1]["id"], "9");
        assert_eq!(lines[2]["data"], "[DONE]");
        assert_eq!(lines[2]["id"], "9", "the last event id carries over");
    }

    #[test]
    fn events_of_any_protocol_are_printed() {
        assert_eq!(ok(b"data: hello\n\n", &["--events"]).lines().count(), 1);
        assert!(run_on(b"hello", &["--events"]).0.is_err());
    }

    fn bedrock_stream() -> Vec<u8> {
        use ai_proxy::bedrock::eventstream::{encode_event, encode_exception};
        let mut wire = Vec::new();
        for (kind, payload) in [
            ("messageStart", r#"{"role":"assistant"}"#),
            (
                "contentBlockDelta",
                r#"{"contentBlockIndex":0,"delta":{"text":"Paris"}}"#,
            ),
            ("messageStop", r#"{"stopReason":"end_turn"}"#),
            (
                "metadata",
                r#"{"usage":{"inputTokens":13,"outputTokens":2,"totalTokens":15}}"#,
            ),
        ] {
            encode_event(&mut wire, kind, payload.as_bytes()).unwrap();
        }
        encode_exception(&mut wire, "throttlingException", br#"{"message":"slow"}"#).unwrap();
        wire
    }

    #[test]
    fn bedrock_event_streams_are_summarised_like_sse() {
        assert_eq!(
            ok(&bedrock_stream(), &["--protocol", "bedrock-converse"]),
            "{\"model\":null,\"prompt_tokens\":13,\"completion_tokens\":2,\"total_tokens\":15,\"events\":5,\"done\":true,\"text\":\"Paris\"}\n"
        );
    }

    #[test]
    fn bedrock_events_are_its_frames() {
        let lines = ok(
            &bedrock_stream(),
            &["--protocol", "bedrock-converse", "--events"],
        );
        let lines: Vec<serde_json::Value> = lines
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[1]["event"], "contentBlockDelta");
        assert_eq!(
            lines[3]["data"],
            r#"{"usage":{"inputTokens":13,"outputTokens":2,"totalTokens":15}}"#
        );
        assert_eq!(lines[4]["event"], "throttlingException");
        assert_eq!(lines[4]["error"], true);
    }

    #[test]
    fn a_framed_protocol_on_other_bytes_is_exit_1_naming_the_framing() {
        let (verdict, out) = run_on(b"data: {}\n\n", &["--protocol", "bedrock-converse"]);
        let message = verdict.unwrap_err();
        assert!(
            message.starts_with(
                "not a bedrock-converse stream (application/vnd.amazon.eventstream): "
            ),
            "{message}"
        );
        assert_eq!(out, "");
    }
}
