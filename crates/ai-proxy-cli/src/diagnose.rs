//! Telling "a valid response that carries no usage" (exit 0, nulls) from
//! "not JSON / not SSE / not this protocol" (exit 1, one line saying what
//! was expected and what was seen, at which byte).
//!
//! A protocol is recognised by the top-level keys of a body or of a
//! stream's first data event (`choices` for OpenAI chat, `type` values for
//! Anthropic and the Responses API, `candidates` for Gemini…); when another
//! protocol recognises it, the message suggests `--protocol`.

use std::fmt::Write as _;

use ai_proxy::Protocol;
use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};

use crate::input::{describe_byte, position};

/// Protocols `--protocol` may name, in the order suggestions are tried.
const PROTOCOLS: [Protocol; 5] = [
    Protocol::OpenAiChat,
    Protocol::OpenAiResponses,
    Protocol::AnthropicMessages,
    Protocol::Gemini,
    Protocol::OpenAiEmbeddings,
];

/// Anthropic stream event types.
const ANTHROPIC_EVENTS: [&str; 8] = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
];

/// The top level of a JSON object: its first keys, and its `type` and
/// `object` strings.
#[derive(Debug, Default)]
struct Shape {
    keys: Vec<String>,
    kind: Option<String>,
    object: Option<String>,
}

impl Shape {
    fn has(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }

    fn has_any(&self, keys: &[&str]) -> bool {
        keys.iter().any(|k| self.has(k))
    }

    /// Whether `protocol` would send this as a stream event (`stream`) or
    /// as a body.
    fn is(&self, protocol: Protocol, stream: bool) -> bool {
        let kind = self.kind.as_deref().unwrap_or_default();
        let object = self.object.as_deref().unwrap_or_default();
        match (protocol, stream) {
            (Protocol::OpenAiChat, _) => {
                self.has_any(&["choices", "usage", "error"])
                    || object.starts_with("chat.completion")
            }
            (Protocol::OpenAiResponses, true) => kind.starts_with("response.") || kind == "error",
            (Protocol::OpenAiResponses, false) => {
                object == "response" || self.has_any(&["output", "error"])
            }
            (Protocol::AnthropicMessages, true) => ANTHROPIC_EVENTS.contains(&kind),
            (Protocol::AnthropicMessages, false) => {
                matches!(kind, "message" | "error") || (self.has("content") && self.has("role"))
            }
            (Protocol::Gemini, _) => self.has_any(&[
                "candidates",
                "usageMetadata",
                "promptFeedback",
                "modelVersion",
                "error",
            ]),
            (Protocol::OpenAiEmbeddings, _) => object == "list" || self.has_any(&["data", "error"]),
            // Nothing else is summarised by these commands.
            _ => true,
        }
    }

    fn describe(&self) -> String {
        let mut out = String::from("an object with ");
        if self.keys.is_empty() {
            out.push_str("no keys");
            return out;
        }
        out.push_str(if self.keys.len() == 1 {
            "key "
        } else {
            "keys "
        });
        for (i, key) in self.keys.iter().take(6).enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "`{}`", clip(key, 32));
        }
        if self.keys.len() > 6 {
            out.push_str(", …");
        }
        if let Some(kind) = &self.kind {
            let _ = write!(out, " (type `{}`)", clip(kind, 32));
        }
        out
    }
}

/// What `protocol` sends, for "expected …".
fn expected(protocol: Protocol, stream: bool) -> &'static str {
    match (protocol, stream) {
        (Protocol::OpenAiChat, true) => {
            "a chat.completion.chunk object (`choices`, `usage` or `error`)"
        }
        (Protocol::OpenAiChat, false) => "a chat.completion object (`choices`, `usage` or `error`)",
        (Protocol::OpenAiResponses, true) => "a Responses API event (`type` \"response.…\")",
        (Protocol::OpenAiResponses, false) => "a Responses API object (`object` \"response\")",
        (Protocol::AnthropicMessages, true) => {
            "an Anthropic Messages event (`type` \"message_start\", \"content_block_delta\", …)"
        }
        (Protocol::AnthropicMessages, false) => {
            "an Anthropic message (`type` \"message\" or \"error\")"
        }
        (Protocol::Gemini, _) => "a Gemini response (`candidates` or `usageMetadata`)",
        (Protocol::OpenAiEmbeddings, _) => "an embeddings list (`data`, `object` \"list\")",
        _ => "a JSON object",
    }
}

/// ` (looks like P: try --protocol P)` when another protocol fits.
fn suggestion(shape: &Shape, protocol: Protocol, stream: bool) -> String {
    PROTOCOLS
        .iter()
        .find(|&&other| other != protocol && shape.is(other, stream))
        .map(|other| format!(" (looks like {other}: try --protocol {other})"))
        .unwrap_or_default()
}

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

/// The lines of an SSE stream with their byte offsets (LF, CR and CRLF end
/// a line; a leading BOM is skipped; a last line without an end is kept).
fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut at = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    std::iter::from_fn(move || {
        let rest = bytes.get(at..).filter(|r| !r.is_empty())?;
        let start = at;
        match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(end) => {
                let crlf = rest.get(end) == Some(&b'\r') && rest.get(end + 1) == Some(&b'\n');
                at += end + if crlf { 2 } else { 1 };
                Some((start, rest.get(..end).unwrap_or_default()))
            }
            None => {
                at = bytes.len();
                Some((start, rest))
            }
        }
    })
}

/// A line's field name and value (`None`: a blank line; `Some(b"")`: a
/// comment).
fn field(line: &[u8]) -> (Option<&[u8]>, &[u8]) {
    if line.is_empty() {
        return (None, line);
    }
    match line.iter().position(|&b| b == b':') {
        Some(colon) => {
            let value = line.get(colon + 1..).unwrap_or_default();
            let value = value.strip_prefix(b" ").unwrap_or(value);
            (Some(line.get(..colon).unwrap_or_default()), value)
        }
        None => (Some(line), &[]),
    }
}

/// The top-level shape of JSON text: `Ok(None)` when it is JSON but not
/// an object.
fn shape(json: &[u8]) -> Result<Option<Shape>, serde_json::Error> {
    struct Top;
    impl<'de> Visitor<'de> for Top {
        type Value = Option<Shape>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Shape>, A::Error> {
            let mut shape = Shape::default();
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match key.as_ref() {
                    "type" | "object" => {
                        let value = map.next_value::<StringOrOther>()?.0;
                        if key == "type" {
                            shape.kind = value;
                        } else {
                            shape.object = value;
                        }
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                if shape.keys.len() < 64 {
                    shape.keys.push(key.into_owned());
                }
            }
            Ok(Some(shape))
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Option<Shape>, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Option<Shape>, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Option<Shape>, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Option<Shape>, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Option<Shape>, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Option<Shape>, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Option<Shape>, E> {
            Ok(None)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let shape = serde::Deserializer::deserialize_any(&mut de, Top)?;
    de.end()?;
    Ok(shape)
}

/// A string value, or `None` for any other JSON value.
struct StringOrOther(Option<String>);

impl<'de> Deserialize<'de> for StringOrOther {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringOrOther;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<StringOrOther, E> {
                Ok(StringOrOther(Some(v.to_owned())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringOrOther, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(StringOrOther(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<StringOrOther, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(StringOrOther(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<StringOrOther, E> {
                Ok(StringOrOther(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<StringOrOther, E> {
                Ok(StringOrOther(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<StringOrOther, E> {
                Ok(StringOrOther(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<StringOrOther, E> {
                Ok(StringOrOther(None))
            }
            fn visit_unit<E>(self) -> Result<StringOrOther, E> {
                Ok(StringOrOther(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// The byte offset serde_json's 1-based line and column point at.
fn offset_of(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match bytes
            .get(start..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
        {
            Some(i) => start += i + 1,
            None => break,
        }
    }
    (start + column.saturating_sub(1)).min(bytes.len())
}

/// serde_json's message without its " at line L column C" tail.
fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .and_then(|i| message.get(..i))
        .unwrap_or(message)
}

/// Up to 24 characters from `offset`, quoted and escaped; a byte that is
/// not UTF-8 as `byte 0xNN`; `end of input` past the end.
fn excerpt(bytes: &[u8], offset: usize) -> String {
    let Some(rest) = bytes.get(offset..).filter(|r| !r.is_empty()) else {
        return describe_byte(None);
    };
    let valid = match std::str::from_utf8(rest) {
        Ok(text) => text,
        Err(e) => {
            let upto = e.valid_up_to();
            match rest.get(..upto).and_then(|v| std::str::from_utf8(v).ok()) {
                Some(text) if !text.is_empty() => text,
                _ => return describe_byte(rest.first().copied()),
            }
        }
    };
    let line = valid.split(['\n', '\r']).next().unwrap_or_default();
    format!("`{}`", clip(if line.is_empty() { valid } else { line }, 24))
}

/// `text` escaped, cut after `max` characters.
fn clip(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
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

    #[test]
    fn lines_end_at_lf_cr_and_crlf() {
        let found: Vec<(usize, &[u8])> = lines(b"\xEF\xBB\xBFa\rb\r\nc\nd").collect();
        assert_eq!(found, [(3, &b"a"[..]), (5, b"b"), (8, b"c"), (10, b"d")]);
    }
}
