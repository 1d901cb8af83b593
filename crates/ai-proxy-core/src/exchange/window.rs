//! Usage of a non-streaming body too large to hold, read from windows kept
//! at its two ends.
//!
//! Every supported protocol writes `usage` (Gemini: `usageMetadata`) near
//! the end of a body, after the generated output, and the model near the
//! start (Gemini: `modelVersion`, near the end). So when a body outgrows
//! the observation cap the exchange keeps its first and last [`WINDOW`]
//! bytes, refcounted chunks rather than copies, and reads the two fields
//! from there. A raw `"usage"` followed by `:` is always an object key (a
//! quote inside a JSON string is escaped); the last one whose value is a
//! complete object is taken.

use std::collections::VecDeque;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::protocol::Protocol;

/// How much of each end of an oversized body is kept: 64 KiB (a usage
/// object and what follows it are a few hundred bytes; a Responses API
/// `metadata` map at most ~8 KiB).
pub const BODY_WINDOW: usize = 64 * 1024;

/// The first and last [`BODY_WINDOW`] bytes of a body.
#[derive(Debug, Default)]
pub(super) struct Ends {
    head: Vec<u8>,
    tail: VecDeque<Bytes>,
    tail_len: usize,
}

impl Ends {
    /// The next chunk of the body.
    pub(super) fn push(&mut self, chunk: Bytes) {
        if self.head.len() < BODY_WINDOW {
            let take = (BODY_WINDOW - self.head.len()).min(chunk.len());
            self.head
                .extend_from_slice(chunk.get(..take).unwrap_or_default());
        }
        self.tail_len += chunk.len();
        self.tail.push_back(chunk);
        // Drop whole chunks the window no longer needs.
        while let Some(front) = self.tail.front() {
            if self.tail_len - front.len() < BODY_WINDOW {
                break;
            }
            self.tail_len -= front.len();
            self.tail.pop_front();
        }
    }

    /// The first [`BODY_WINDOW`] bytes, and the last ones joined.
    pub(super) fn head_and_tail(&self) -> (&[u8], Vec<u8>) {
        // The last BODY_WINDOW bytes (the first chunk may reach further back).
        let mut skip = self.tail_len.saturating_sub(BODY_WINDOW);
        let mut tail = Vec::with_capacity(self.tail_len - skip);
        for chunk in &self.tail {
            let from = skip.min(chunk.len());
            skip -= from;
            tail.extend_from_slice(chunk.get(from..).unwrap_or_default());
        }
        (&self.head, tail)
    }
}

/// A small body made of the model and usage found in the `head` and
/// `tail` of a `protocol` body; `None` when neither is there.
pub(super) fn ends_body(protocol: Protocol, head: &[u8], tail: &[u8]) -> Option<Vec<u8>> {
    let (model_key, usage_key, model_at_end): (&[u8], &[u8], bool) = match protocol {
        Protocol::Gemini => (b"\"modelVersion\"", b"\"usageMetadata\"", true),
        _ => (b"\"model\"", b"\"usage\"", false),
    };
    let usage = last_value(tail, usage_key, b'{');
    let model = if model_at_end {
        last_value(tail, model_key, b'"')
    } else {
        first_value(head, model_key, b'"')
    };
    let fields: Vec<(&[u8], &RawValue)> = [(model_key, model), (usage_key, usage)]
        .into_iter()
        .filter_map(|(key, value)| Some((key, value?)))
        .collect();
    if fields.is_empty() {
        return None;
    }
    let mut body = Vec::with_capacity(256);
    for (i, (key, value)) in fields.iter().enumerate() {
        body.push(if i == 0 { b'{' } else { b',' });
        body.extend_from_slice(key);
        body.push(b':');
        body.extend_from_slice(value.get().as_bytes());
    }
    body.push(b'}');
    Some(body)
}

/// The value of the last `key` in `bytes` that is followed by `:` and a
/// complete value starting with `first`.
fn last_value<'a>(bytes: &'a [u8], key: &[u8], first: u8) -> Option<&'a RawValue> {
    let mut end = bytes.len();
    while let Some(at) = memchr::memmem::rfind(bytes.get(..end)?, key) {
        if let Some(value) = value_after(bytes, at + key.len(), first) {
            return Some(value);
        }
        end = at;
    }
    None
}

/// [`last_value`], searching from the start.
fn first_value<'a>(bytes: &'a [u8], key: &[u8], first: u8) -> Option<&'a RawValue> {
    memchr::memmem::find_iter(bytes, key).find_map(|at| value_after(bytes, at + key.len(), first))
}

fn value_after(bytes: &[u8], mut i: usize, first: u8) -> Option<&RawValue> {
    let ws = |b: &u8| matches!(b, b' ' | b'\n' | b'\r' | b'\t');
    while bytes.get(i).is_some_and(ws) {
        i += 1;
    }
    if bytes.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    while bytes.get(i).is_some_and(ws) {
        i += 1;
    }
    let rest = bytes.get(i..)?;
    if rest.first() != Some(&first) {
        return None;
    }
    let mut de = serde_json::Deserializer::from_slice(rest);
    <&RawValue>::deserialize(&mut de).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::Observer;

    /// What the exchange does with the ends of an oversized body.
    fn observe(ends: &Ends, observer: &mut Observer) -> bool {
        let (head, tail) = ends.head_and_tail();
        observer.on_body_ends(head, &tail)
    }

    fn ends(body: &[u8], chunk: usize) -> Ends {
        let mut ends = Ends::default();
        for piece in body.chunks(chunk) {
            ends.push(Bytes::copy_from_slice(piece));
        }
        ends
    }

    #[test]
    fn the_windows_hold_the_two_ends_within_a_chunk() {
        let body: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let e = ends(&body, 7000);
        assert_eq!(e.head, body[..BODY_WINDOW]);
        assert!(e.tail_len >= BODY_WINDOW && e.tail_len < BODY_WINDOW + 7000);
        let tail: Vec<u8> = e.tail.iter().flat_map(|c| c.to_vec()).collect();
        assert!(body.ends_with(&tail));
    }

    #[test]
    fn usage_in_the_tail_and_model_in_the_head_are_read() {
        let filler = "x".repeat(200_000);
        let body = format!(
            r#"{{"id":"c","model":"gpt-4o","choices":[{{"message":{{"content":"{filler} \"usage\": {{}}"}}}}],"usage":{{"prompt_tokens":3,"completion_tokens":4}},"system_fingerprint":"f"}}"#
        );
        let mut observer = Observer::new(Protocol::OpenAiChat, false);
        assert!(observe(&ends(body.as_bytes(), 4096), &mut observer));
        let seen = observer.observation();
        assert_eq!(seen.usage().map(|u| u.total_tokens), Some(7));
        assert_eq!(seen.model(), Some("gpt-4o"));
    }

    #[test]
    fn gemini_reads_usage_metadata_and_model_version_from_the_tail() {
        let filler = "y".repeat(100_000);
        let body = format!(
            r#"{{"candidates":[{{"content":{{"parts":[{{"text":"{filler}"}}]}}}}],"usageMetadata":{{"promptTokenCount":2,"candidatesTokenCount":5}},"modelVersion":"gemini-2.0"}}"#
        );
        let mut observer = Observer::new(Protocol::Gemini, false);
        assert!(observe(&ends(body.as_bytes(), 1000), &mut observer));
        assert_eq!(observer.observation().model(), Some("gemini-2.0"));
        assert_eq!(
            observer.observation().usage().map(|u| u.total_tokens),
            Some(7)
        );
    }

    #[test]
    fn the_model_is_read_even_without_usage() {
        let body = format!(
            r#"{{"model":"gpt-4o","choices":[{{"message":{{"content":"{}"}}}}]}}"#,
            "z".repeat(200_000)
        );
        let mut observer = Observer::new(Protocol::OpenAiChat, false);
        assert!(!observe(&ends(body.as_bytes(), 4096), &mut observer));
        assert_eq!(observer.observation().model(), Some("gpt-4o"));
    }

    #[test]
    fn ends_found_are_never_counted_as_malformed() {
        for protocol in [
            Protocol::OpenAiChat,
            Protocol::OpenAiResponses,
            Protocol::AnthropicMessages,
            Protocol::Gemini,
            Protocol::OpenAiEmbeddings,
        ] {
            for (head, tail) in [
                (&br#"{"model":"m","x":"#[..], &br#""y"}"#[..]),
                (br#"{"x":1"#, br#","usage":{"prompt_tokens":1},"usageMetadata":{"promptTokenCount":1},"modelVersion":"v"}"#),
            ] {
                let mut observer = Observer::new(protocol, true);
                let _ = observer.on_body_ends(head, tail);
                assert_eq!(observer.observation().malformed_events(), 0, "{protocol}");
            }
        }
    }

    #[test]
    fn no_usage_in_the_tail_is_reported() {
        let body = format!(
            r#"{{"usage":{{"prompt_tokens":1}},"x":"{}"}}"#,
            "z".repeat(200_000)
        );
        let mut observer = Observer::new(Protocol::OpenAiChat, false);
        assert!(!observe(&ends(body.as_bytes(), 4096), &mut observer));
        assert!(observer.observation().usage().is_none());
    }

    /// Bytes around the keys the window looks for, so cases reach the
    /// parsing, not only the search.
    fn around_keys() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            Just(b"\"usage\"".to_vec()),
            Just(b"\"usageMetadata\"".to_vec()),
            Just(b"\"model\"".to_vec()),
            Just(b"\"modelVersion\"".to_vec()),
            Just(b": {\"prompt_tokens\": 1".to_vec()),
            Just(b":\"m\"".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..16),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #[test]
        fn any_ends_are_observed_without_panicking(head in around_keys(), tail in around_keys()) {
            for protocol in [Protocol::OpenAiChat, Protocol::OpenAiResponses, Protocol::AnthropicMessages, Protocol::Gemini, Protocol::OpenAiEmbeddings] {
                let mut observer = Observer::new(protocol, true);
                let found = observer.on_body_ends(&head, &tail);
                proptest::prop_assert_eq!(found, observer.observation().usage().is_some());
            }
        }
    }
}
