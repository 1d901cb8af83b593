//! Telling "a valid response that carries no usage" (exit 0, nulls) from
//! "not JSON / not SSE / not this protocol" (exit 1, one line saying what
//! was expected and what was seen, at which byte).
//!
//! A protocol is recognised by the top-level keys of a body or of a
//! stream's first data event (`choices` for OpenAI chat, `type` values for
//! Anthropic and the Responses API, `candidates` for Gemini…); when another
//! protocol recognises it, the message suggests `--protocol`.

mod locate;
mod shape;

use ai_proxy::Protocol;

use crate::input::position;
use locate::{excerpt, field, lines, offset_of, strip_position};
use shape::{expected, shape, suggestion};

/// Checks that `body` is a `protocol` response body.
pub fn body(protocol: Protocol, body: &[u8]) -> Result<(), String> {
    if body.trim_ascii().is_empty() {
        return Err(format!(
            "empty input: expected {} response body (JSON), saw {}",
            named(protocol),
            if body.is_empty() {
                "no bytes"
            } else {
                "only whitespace"
            }
        ));
    }
    let at = body.len() - body.trim_ascii_start().len();
    match shape(body) {
        Err(e) => {
            let offset = offset_of(body, e.line(), e.column());
            Err(format!(
                "not JSON: {}; saw {} at {}",
                strip_position(&e.to_string()),
                excerpt(body, offset),
                position(body, offset)
            ))
        }
        Ok(None) => Err(format!(
            "not {} response body: expected a JSON object, saw {} at {}",
            named(protocol),
            excerpt(body, at),
            position(body, at)
        )),
        Ok(Some(shape)) if !shape.is(protocol, false) => Err(format!(
            "not {} response body: expected {}, saw {} at {}{}",
            named(protocol),
            expected(protocol, false),
            shape.describe(),
            position(body, at),
            suggestion(&shape, protocol, false)
        )),
        Ok(Some(_)) => Ok(()),
    }
}

/// What the start of an SSE stream (`prefix`, at most a few hundred KiB)
/// says about it, once the whole stream has been read: `events` were
/// dispatched from `total` bytes.
pub fn stream(
    protocol: Option<Protocol>,
    prefix: &[u8],
    total: u64,
    events: u64,
) -> Result<(), String> {
    if total == 0 {
        return Err(
            "empty input: expected an SSE stream (`data:` lines, each event ended by a blank \
             line), saw no bytes"
                .to_owned(),
        );
    }
    let mut data: Option<(usize, Vec<u8>)> = None;
    for (offset, line) in lines(prefix) {
        let (field, value) = field(line);
        match field {
            None => {
                // A blank line ends an event.
                if let Some((at, bytes)) = data.take()
                    && bytes != b"[DONE]"
                    && events > 0
                {
                    return match protocol {
                        Some(protocol) => event(protocol, prefix, at, &bytes),
                        None => Ok(()),
                    };
                }
            }
            Some(b"data") => {
                let start = offset + line.len() - value.len();
                let (_, bytes) = data.get_or_insert_with(|| (start, Vec::new()));
                if !bytes.is_empty() {
                    bytes.push(b'\n');
                }
                bytes.extend_from_slice(value);
            }
            Some(b"" | b"event" | b"id" | b"retry") => {}
            Some(_) if events == 0 => {
                let hint = if line.first().is_some_and(|b| matches!(b, b'{' | b'[')) {
                    " (a JSON body? try `ai-proxy response`)"
                } else {
                    ""
                };
                return Err(format!(
                    "not an SSE stream: expected `data:`, `event:`, `id:`, `retry:` or `:` lines, \
                     saw {} at {}{hint}",
                    excerpt(prefix, offset),
                    position(prefix, offset)
                ));
            }
            Some(_) => {}
        }
    }
    if events > 0 {
        return Ok(());
    }
    Err(match data {
        Some((at, _)) => format!(
            "no complete event: the `data:` at {} has no blank line after it before the stream \
             ends",
            position(prefix, at)
        ),
        None if total as usize > prefix.len() => format!(
            "not an SSE stream: no event in {total} bytes (expected `data:` lines, each event \
             ended by a blank line)"
        ),
        None => "no events: the stream holds only comments and blank lines".to_owned(),
    })
}

/// What a `protocol` stream in another framing (`content_type`, e.g. an
/// AWS event stream) says about itself: `frames` read from `total` bytes,
/// and the framing's error if it stopped early.
pub fn framed(
    protocol: Protocol,
    content_type: &str,
    total: u64,
    frames: u64,
    failure: Option<&str>,
) -> Result<(), String> {
    let what = format!("{} stream ({content_type})", named(protocol));
    match (total, frames, failure) {
        (0, _, _) => Err(format!("empty input: expected {what}, saw no bytes")),
        (_, 0, Some(error)) => Err(format!("not {what}: {error}")),
        (_, 0, None) => Err(format!("not {what}: no complete frame in {total} bytes")),
        (_, _, Some(error)) => Err(format!("{what} broke after {frames} frames: {error}")),
        _ => Ok(()),
    }
}

/// Checks a stream's first data event.
fn event(protocol: Protocol, prefix: &[u8], at: usize, data: &[u8]) -> Result<(), String> {
    match shape(data) {
        Ok(Some(shape)) if shape.is(protocol, true) => Ok(()),
        Ok(Some(shape)) => Err(format!(
            "not {} stream: expected {}, saw {} in the first event at {}{}",
            named(protocol),
            expected(protocol, true),
            shape.describe(),
            position(prefix, at),
            suggestion(&shape, protocol, true)
        )),
        _ => Err(format!(
            "not {} stream: expected a JSON object in `data:`, saw {} at {}",
            named(protocol),
            excerpt(data, 0),
            position(prefix, at)
        )),
    }
}

/// `an openai-chat`, `a gemini`.
fn named(protocol: Protocol) -> String {
    let name = protocol.to_string();
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_body_without_usage_is_a_chat_body() {
        assert_eq!(body(Protocol::OpenAiChat, br#"{"choices":[]}"#), Ok(()));
        assert_eq!(
            body(Protocol::OpenAiChat, br#" {"error":{"message":"x"}}"#),
            Ok(())
        );
    }

    #[test]
    fn empty_and_blank_bodies_are_named() {
        assert_eq!(
            body(Protocol::OpenAiChat, b""),
            Err("empty input: expected an openai-chat response body (JSON), saw no bytes".into())
        );
        assert!(
            body(Protocol::OpenAiChat, b" \n")
                .unwrap_err()
                .ends_with("only whitespace")
        );
    }

    #[test]
    fn not_json_points_at_the_byte() {
        assert_eq!(
            body(Protocol::OpenAiChat, b"{\"a\":1}\nhello"),
            Err("not JSON: trailing characters; saw `hello` at byte 8 (line 2, column 1)".into())
        );
        assert_eq!(
            body(Protocol::OpenAiChat, b"\x00\x01"),
            Err("not JSON: expected value; saw `\\0\\u{1}` at byte 0 (line 1, column 1)".into())
        );
        assert_eq!(
            body(Protocol::OpenAiChat, b"\xFF"),
            Err("not JSON: expected value; saw byte 0xFF at byte 0 (line 1, column 1)".into())
        );
    }

    #[test]
    fn another_protocols_body_is_named_with_a_suggestion() {
        let e = body(
            Protocol::OpenAiChat,
            br#"{"id":"m","type":"message","role":"assistant","content":[]}"#,
        )
        .unwrap_err();
        assert_eq!(
            e,
            "not an openai-chat response body: expected a chat.completion object (`choices`, \
             `usage` or `error`), saw an object with keys `id`, `type`, `role`, `content` (type \
             `message`) at byte 0 (line 1, column 1) (looks like anthropic-messages: try --protocol \
             anthropic-messages)"
        );
    }

    #[test]
    fn json_that_is_not_an_object_is_named() {
        assert!(
            body(Protocol::Gemini, b"[1,2]")
                .unwrap_err()
                .contains("saw `[1,2]` at byte 0")
        );
    }

    const CHAT: &[u8] = b": hi\n\ndata: {\"choices\":[]}\n\ndata: [DONE]\n\n";

    #[test]
    fn a_chat_stream_is_recognised_by_its_first_event() {
        assert_eq!(
            stream(Some(Protocol::OpenAiChat), CHAT, CHAT.len() as u64, 2),
            Ok(())
        );
    }

    #[test]
    fn empty_input_and_garbage_are_not_sse() {
        assert!(
            stream(None, b"", 0, 0)
                .unwrap_err()
                .starts_with("empty input")
        );
        assert_eq!(
            stream(None, b"\x00\x01garbage", 9, 0),
            Err(
                "not an SSE stream: expected `data:`, `event:`, `id:`, `retry:` or `:` lines, \
                 saw `\\0\\u{1}garbage` at byte 0 (line 1, column 1)"
                    .into()
            )
        );
        assert!(
            stream(None, b"{\"choices\":[]}", 14, 0)
                .unwrap_err()
                .ends_with("(a JSON body? try `ai-proxy response`)")
        );
    }

    #[test]
    fn an_unterminated_event_is_named() {
        assert_eq!(
            stream(None, b"\ndata: x", 8, 0),
            Err(
                "no complete event: the `data:` at byte 7 (line 2, column 7) has no blank line \
                 after it before the stream ends"
                    .into()
            )
        );
    }

    #[test]
    fn another_protocols_stream_is_named_with_a_suggestion() {
        let anthropic =
            b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n";
        let e = stream(Some(Protocol::OpenAiChat), anthropic, 66, 1).unwrap_err();
        assert!(
            e.starts_with("not an openai-chat stream: expected a chat.completion.chunk"),
            "{e}"
        );
        assert!(e.ends_with("in the first event at byte 27 (line 2, column 7) (looks like anthropic-messages: try --protocol anthropic-messages)"), "{e}");
    }

    #[test]
    fn data_that_is_not_json_is_named() {
        assert_eq!(
            stream(Some(Protocol::OpenAiChat), b"data: hello\n\n", 13, 1),
            Err("not an openai-chat stream: expected a JSON object in `data:`, saw `hello` at byte 6 (line 1, column 7)".into())
        );
    }
}
