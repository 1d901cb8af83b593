//! `ai-proxy sse [--protocol P] [--events] [--no-text] [FILE|-]`: summarise
//! an SSE byte stream, or print its events, reading it in chunks (memory
//! stays flat however long the stream is). Protocols whose provider streams
//! in another framing (`bedrock-converse`, `bedrock-invoke`: AWS event
//! streams) are read in that framing; their events are its frames.

use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use ai_proxy::core::context::RequestContext;
use ai_proxy::core::exchange::Exchange;
use ai_proxy::core::framing::StreamFraming;
use ai_proxy::core::sse::SseDecoder;
use ai_proxy::core::{Protocol, Provider};

use crate::observe::observe;
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, StatusCode, header};

/// How much is read from the input at a time (small enough to stay in
/// cache while it is zeroed, read and scanned).
const READ_CHUNK: usize = 128 * 1024;

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
    #[arg(long)]
    pub events: bool,
    /// Do not collect the assistant text (`"text": null`); reads only what
    /// usage needs.
    #[arg(long)]
    pub no_text: bool,
    /// The stream, or `-` for standard input.
    #[arg(default_value = "-")]
    pub file: String,
}

pub(crate) fn parse_protocol(name: &str) -> Result<Protocol, String> {
    name.parse::<Protocol>().map_err(|e| e.to_string())
}

/// The stream framing a provider of the registry uses for `protocol`, when
/// it is not SSE.
pub(crate) fn framing(protocol: Protocol) -> Option<Arc<dyn StreamFraming>> {
    let registry = ai_proxy::registry();
    Provider::ALL
        .iter()
        .filter_map(|p| registry.adapter(*p))
        .find_map(|adapter| adapter.stream_framing(protocol))
}

/// Opens `FILE` or standard input.
pub(crate) fn open(file: &str) -> io::Result<Box<dyn Read>> {
    if file == "-" {
        Ok(Box::new(io::stdin().lock()))
    } else {
        Ok(Box::new(std::fs::File::open(file)?))
    }
}

/// Reads the next chunk (`None` at end of input), reusing `buf`'s storage
/// once the previous chunk is dropped.
pub(crate) fn read_chunk(input: &mut dyn Read, buf: &mut BytesMut) -> io::Result<Option<Bytes>> {
    buf.clear();
    buf.reserve(READ_CHUNK);
    buf.resize(READ_CHUNK, 0);
    loop {
        match input.read(&mut buf[..]) {
            Ok(0) => return Ok(None),
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf.split().freeze()));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The summary line shared with `ai-proxy response`.
pub(crate) fn summary(metrics: &ai_proxy::core::Metrics, events: Option<u64>) -> serde_json::Value {
    let usage = metrics.usage;
    serde_json::json!({
        "model": metrics.llm_model,
        "prompt_tokens": usage.map(|u| u.prompt_tokens),
        "completion_tokens": usage.map(|u| u.completion_tokens),
        "total_tokens": usage.map(|u| u.total_tokens),
        "events": events,
        "done": metrics.done,
        "text": metrics.response_text,
    })
}

/// Runs `ai-proxy sse`.
pub fn run(args: Args) -> ExitCode {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = if args.events {
        print_events(&args, &mut out)
    } else {
        summarise(&args, &mut out)
    };
    let result = result.and_then(|code| out.flush().map(|()| code));
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("ai-proxy sse: {}: {error}", args.file);
            ExitCode::FAILURE
        }
    }
}

fn print_events(args: &Args, out: &mut dyn Write) -> io::Result<ExitCode> {
    if let Some(framing) = framing(args.protocol) {
        return print_frames(args, framing.as_ref(), out);
    }
    let mut input = open(&args.file)?;
    let mut decoder = SseDecoder::new();
    let mut buf = BytesMut::new();
    let mut failure = None;
    'read: while let Some(chunk) = read_chunk(&mut *input, &mut buf)? {
        decoder.feed(chunk);
        loop {
            match decoder.poll_event() {
                Ok(Some(event)) => {
                    let line = serde_json::json!({
                        "event": event.event_type(),
                        "data": event.data(),
                        "id": event.id(),
                    });
                    serde_json::to_writer(&mut *out, &line)?;
                    out.write_all(b"\n")?;
                }
                Ok(None) => break,
                Err(error) => {
                    failure = Some(error);
                    break 'read;
                }
            }
        }
    }
    out.flush()?;
    if let Some(error) = failure {
        eprintln!("ai-proxy sse: {}: {error}", args.file);
        return Ok(ExitCode::FAILURE);
    }
    let _ = decoder.finish();
    Ok(ExitCode::SUCCESS)
}

/// `--events` for a framed stream: one line per frame, `"error": true`
/// on frames the upstream marked as errors.
fn print_frames(
    args: &Args,
    framing: &dyn StreamFraming,
    out: &mut dyn Write,
) -> io::Result<ExitCode> {
    let mut input = open(&args.file)?;
    let mut decoder = framing.decoder();
    let mut buf = BytesMut::new();
    let mut failure = None;
    'read: while let Some(chunk) = read_chunk(&mut *input, &mut buf)? {
        decoder.feed(chunk);
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => {
                    let data = String::from_utf8_lossy(frame.payload());
                    let line = if frame.is_error() {
                        serde_json::json!({
                            "event": frame.event_type(), "data": data, "id": "", "error": true,
                        })
                    } else {
                        serde_json::json!({"event": frame.event_type(), "data": data, "id": ""})
                    };
                    serde_json::to_writer(&mut *out, &line)?;
                    out.write_all(b"\n")?;
                }
                Ok(None) => break,
                Err(error) => {
                    failure = Some(error);
                    break 'read;
                }
            }
        }
    }
    out.flush()?;
    if let Some(error) = failure.or_else(|| decoder.finish().err()) {
        eprintln!("ai-proxy sse: {}: {error}", args.file);
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn summarise(args: &Args, out: &mut dyn Write) -> io::Result<ExitCode> {
    let start = Instant::now();
    let mut ctx = RequestContext::new(args.protocol, args.protocol, start);
    ctx.logging.payloads = !args.no_text;
    ctx.framing = framing(args.protocol);
    let content_type = ctx
        .framing
        .as_ref()
        .map_or("text/event-stream", |f| f.content_type());
    // The summary prints the whole text, however long.
    let mut exchange = Exchange::new(ctx, None).with_text_limit(usize::MAX);
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let _ = exchange
        .on_head(StatusCode::OK, &headers, start)
        .map_err(io::Error::other)?;
    let report = observe(&args.file, exchange)?;
    let metrics = &report.metrics;
    writeln!(out, "{}", summary(metrics, Some(metrics.events)))?;
    if let Some(error) = report.observe_error {
        eprintln!("ai-proxy sse: {}: {error}", args.file);
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_on(bytes: &[u8], protocol: &str, events: bool, no_text: bool) -> String {
        let dir = std::env::temp_dir().join(format!("ai-proxy-sse-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Tests run in parallel: every call gets its own file.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let file = dir.join(format!("{protocol}-{events}-{no_text}-{n}.sse"));
        std::fs::write(&file, bytes).unwrap();
        let args = Args {
            protocol: protocol.parse().unwrap(),
            events,
            no_text,
            file: file.to_string_lossy().into_owned(),
        };
        let mut out = Vec::new();
        let code = if events {
            print_events(&args, &mut out).unwrap()
        } else {
            summarise(&args, &mut out).unwrap()
        };
        assert_eq!(code, ExitCode::SUCCESS);
        String::from_utf8(out).unwrap()
    }

    const STREAM: &[u8] = b": OPENROUTER PROCESSING\n\ndata: {\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\r\n\r\nid: 9\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n";

    #[test]
    fn summary_has_the_contract_fields_in_order() {
        assert_eq!(
            run_on(STREAM, "openai-chat", false, false),
            "{\"model\":\"m\",\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5,\"events\":3,\"done\":true,\"text\":\"Hi\"}\n"
        );
    }

    #[test]
    fn no_text_gives_null_text_and_the_same_numbers() {
        assert_eq!(
            run_on(STREAM, "openai-chat", false, true),
            "{\"model\":\"m\",\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5,\"events\":3,\"done\":true,\"text\":null}\n"
        );
    }

    #[test]
    fn unknown_values_are_null() {
        assert_eq!(
            run_on(b"data: hello\n\n", "openai-chat", false, false),
            "{\"model\":null,\"prompt_tokens\":null,\"completion_tokens\":null,\"total_tokens\":null,\"events\":1,\"done\":false,\"text\":\"\"}\n"
        );
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
            run_on(&bedrock_stream(), "bedrock-converse", false, false),
            "{\"model\":null,\"prompt_tokens\":13,\"completion_tokens\":2,\"total_tokens\":15,\"events\":5,\"done\":true,\"text\":\"Paris\"}\n"
        );
    }

    #[test]
    fn bedrock_events_are_its_frames() {
        let lines = run_on(&bedrock_stream(), "bedrock-converse", true, false);
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
    fn events_prints_one_line_per_dispatched_event() {
        let lines = run_on(STREAM, "openai-chat", true, false);
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
}
