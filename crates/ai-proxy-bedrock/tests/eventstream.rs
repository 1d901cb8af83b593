//! The AWS event-stream decoder: real ConverseStream recordings, every
//! chunking, checksum corruption, limits, and the encoder round trip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use ai_proxy_bedrock::eventstream::{
    EventStreamDecoder, EventStreamError, HeaderValue, MessageKind, encode_event, encode_exception,
    encode_message,
};
use common::{decode_chunked, recording};
use proptest::prelude::*;
use serde_json::Value;

const NOVA: &str = "sse/bedrock-converse-stream-nova-micro.eventstream";
const CLAUDE: &str = "sse/bedrock-converse-stream-claude-sonnet4-reasoning.eventstream";

#[test]
fn nova_recording_decodes_to_its_converse_events() {
    let Some(wire) = recording(NOVA) else { return };
    let messages = decode_chunked(&wire, &[]).unwrap();
    assert_eq!(messages.len(), 33);
    let types: Vec<&str> = messages.iter().map(|m| m.1.as_str()).collect();
    assert_eq!(types[0], "messageStart");
    assert_eq!(types[1..30], ["contentBlockDelta"; 29]);
    assert_eq!(types[30..], ["contentBlockStop", "messageStop", "metadata"]);
    assert!(messages.iter().all(|m| m.0 == "event"));
    let metadata: Value = serde_json::from_slice(&messages[32].2).unwrap();
    assert_eq!(metadata["usage"]["inputTokens"], 13);
    assert_eq!(metadata["usage"]["outputTokens"], 82);
    assert_eq!(metadata["usage"]["totalTokens"], 95);
}

#[test]
fn claude_recording_decodes_reasoning_then_text() {
    let Some(wire) = recording(CLAUDE) else {
        return;
    };
    let messages = decode_chunked(&wire, &[]).unwrap();
    assert_eq!(messages.len(), 25);
    let first_text = messages
        .iter()
        .position(|m| serde_json::from_slice::<Value>(&m.2).unwrap()["delta"]["text"].is_string())
        .unwrap();
    assert_eq!(first_text, 17);
    assert_eq!(messages[24].1, "metadata");
}

#[test]
fn every_two_way_split_of_a_recording_decodes_the_same() {
    for name in [NOVA, CLAUDE] {
        let Some(wire) = recording(name) else { return };
        let whole = decode_chunked(&wire, &[]).unwrap();
        for at in 0..=wire.len() {
            assert_eq!(
                decode_chunked(&wire, &[at]).unwrap(),
                whole,
                "{name} split at {at}"
            );
        }
    }
}

#[test]
fn byte_by_byte_feeding_decodes_the_same() {
    let Some(wire) = recording(NOVA) else { return };
    let whole = decode_chunked(&wire, &[]).unwrap();
    let mut decoder = EventStreamDecoder::new();
    let mut got = 0;
    for b in &wire {
        decoder.feed_slice(std::slice::from_ref(b));
        while let Some(m) = decoder.next_message().unwrap() {
            assert_eq!(m.payload(), whole[got].2.as_slice());
            got += 1;
        }
        // Never more than one message is held.
        assert!(decoder.buffered() < 512);
    }
    decoder.finish().unwrap();
    assert_eq!(got, whole.len());
}

#[test]
fn any_corrupted_byte_is_a_typed_error() {
    let Some(wire) = recording(NOVA) else { return };
    // The first three messages: every byte flipped in turn.
    let end = {
        let mut d = EventStreamDecoder::new();
        d.feed_slice(&wire);
        for _ in 0..3 {
            d.next_message().unwrap().unwrap();
        }
        wire.len() - d.buffered()
    };
    for at in 0..end {
        let mut bad = wire.clone();
        bad[at] ^= 0x20;
        let err = decode_chunked(&bad, &[at / 2]).unwrap_err();
        assert!(
            matches!(
                err,
                EventStreamError::PreludeChecksum { .. } | EventStreamError::MessageChecksum { .. }
            ),
            "byte {at}: {err:?}"
        );
    }
}

#[test]
fn payload_corruption_is_a_message_checksum_error() {
    let mut wire = Vec::new();
    encode_event(&mut wire, "metadata", br#"{"usage":{"inputTokens":1}}"#).unwrap();
    let last_payload_byte = wire.len() - 5;
    wire[last_payload_byte] ^= 1;
    let mut d = EventStreamDecoder::new();
    d.feed_slice(&wire);
    assert!(matches!(
        d.next_message(),
        Err(EventStreamError::MessageChecksum { .. })
    ));
    // Sticky.
    assert!(matches!(
        d.next_message(),
        Err(EventStreamError::MessageChecksum { .. })
    ));
    assert!(d.finish().is_err());
}

/// A prelude with a valid checksum announcing `total` and `headers`.
fn prelude(total: u32, headers: u32) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&headers.to_be_bytes());
    let crc = crc32(&p);
    p.extend_from_slice(&crc.to_be_bytes());
    p
}

fn crc32(bytes: &[u8]) -> u32 {
    // Bitwise CRC-32/ISO-HDLC, independent of crc32fast.
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn oversized_messages_are_refused_from_the_prelude() {
    let mut d = EventStreamDecoder::with_max_message_bytes(1024);
    d.feed_slice(&prelude(1 << 30, 0));
    assert_eq!(
        d.next_message(),
        Err(EventStreamError::MessageTooLarge {
            length: 1 << 30,
            limit: 1024
        })
    );
}

#[test]
fn contradictory_lengths_are_refused() {
    for (total, headers) in [(15, 0), (16, 1), (100, 90), (0, 0)] {
        let mut d = EventStreamDecoder::new();
        d.feed_slice(&prelude(total, headers));
        assert_eq!(
            d.next_message(),
            Err(EventStreamError::InvalidPrelude { total, headers }),
            "{total}/{headers}"
        );
    }
}

#[test]
fn a_stream_ending_inside_a_message_is_truncated() {
    let mut wire = Vec::new();
    encode_event(&mut wire, "messageStart", br#"{"role":"assistant"}"#).unwrap();
    let mut d = EventStreamDecoder::new();
    d.feed_slice(&wire[..wire.len() - 3]);
    assert!(d.next_message().unwrap().is_none());
    assert_eq!(
        d.finish(),
        Err(EventStreamError::Truncated {
            buffered: wire.len() - 3
        })
    );
}

#[test]
fn malformed_headers_under_a_valid_checksum_are_refused() {
    // One header whose string length runs past the section.
    let headers = [3u8, b'a', b'b', b'c', 7, 0, 9, b'x'];
    let total = 16 + headers.len() as u32;
    let mut wire = prelude(total, headers.len() as u32);
    wire.extend_from_slice(&headers);
    let crc = crc32(&wire);
    wire.extend_from_slice(&crc.to_be_bytes());
    let mut d = EventStreamDecoder::new();
    d.feed_slice(&wire);
    assert!(matches!(
        d.next_message(),
        Err(EventStreamError::InvalidHeaders { .. })
    ));
}

#[test]
fn exceptions_and_errors_are_classified() {
    let mut wire = Vec::new();
    encode_exception(
        &mut wire,
        "throttlingException",
        br#"{"message":"slow down"}"#,
    )
    .unwrap();
    encode_message(
        &mut wire,
        &[
            (":message-type", HeaderValue::String("error")),
            (":error-code", HeaderValue::String("InternalFailure")),
            (":error-message", HeaderValue::String("boom")),
        ],
        b"",
    )
    .unwrap();
    let mut d = EventStreamDecoder::new();
    d.feed_slice(&wire);
    assert_eq!(
        d.next_message().unwrap().unwrap().kind(),
        MessageKind::Exception("throttlingException")
    );
    assert_eq!(
        d.next_message().unwrap().unwrap().kind(),
        MessageKind::Error {
            code: "InternalFailure",
            message: "boom"
        }
    );
}

fn header_value() -> impl Strategy<Value = (String, OwnedValue)> {
    let value = prop_oneof![
        any::<bool>().prop_map(OwnedValue::Bool),
        any::<i8>().prop_map(OwnedValue::Byte),
        any::<i16>().prop_map(OwnedValue::Short),
        any::<i32>().prop_map(OwnedValue::Int),
        any::<i64>().prop_map(OwnedValue::Long),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(OwnedValue::Bytes),
        "\\PC{0,20}".prop_map(OwnedValue::String),
        any::<i64>().prop_map(OwnedValue::Timestamp),
        any::<[u8; 16]>().prop_map(OwnedValue::Uuid),
    ];
    ("[a-z:-]{1,20}", value)
}

#[derive(Clone, Debug, PartialEq)]
enum OwnedValue {
    Bool(bool),
    Byte(i8),
    Short(i16),
    Int(i32),
    Long(i64),
    Bytes(Vec<u8>),
    String(String),
    Timestamp(i64),
    Uuid([u8; 16]),
}

impl OwnedValue {
    fn borrow(&self) -> HeaderValue<'_> {
        match self {
            OwnedValue::Bool(b) => HeaderValue::Bool(*b),
            OwnedValue::Byte(n) => HeaderValue::Byte(*n),
            OwnedValue::Short(n) => HeaderValue::Short(*n),
            OwnedValue::Int(n) => HeaderValue::Int(*n),
            OwnedValue::Long(n) => HeaderValue::Long(*n),
            OwnedValue::Bytes(b) => HeaderValue::Bytes(b),
            OwnedValue::String(s) => HeaderValue::String(s),
            OwnedValue::Timestamp(n) => HeaderValue::Timestamp(*n),
            OwnedValue::Uuid(u) => HeaderValue::Uuid(*u),
        }
    }
}

proptest! {
    #[test]
    fn every_chunking_of_a_recording_decodes_the_same(
        splits in proptest::collection::vec(any::<usize>(), 0..40),
    ) {
        for name in [NOVA, CLAUDE] {
            let Some(wire) = recording(name) else { return Ok(()) };
            let whole = decode_chunked(&wire, &[]).unwrap();
            prop_assert_eq!(decode_chunked(&wire, &splits).unwrap(), whole);
        }
    }

    #[test]
    fn encoded_messages_decode_to_their_headers_and_payload(
        messages in proptest::collection::vec(
            (proptest::collection::vec(header_value(), 0..6), proptest::collection::vec(any::<u8>(), 0..300)),
            1..6,
        ),
        splits in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        let mut wire = Vec::new();
        for (headers, payload) in &messages {
            let borrowed: Vec<(&str, HeaderValue<'_>)> =
                headers.iter().map(|(n, v)| (n.as_str(), v.borrow())).collect();
            encode_message(&mut wire, &borrowed, payload).unwrap();
        }
        let mut decoder = EventStreamDecoder::new();
        let mut points: Vec<usize> = splits.iter().map(|s| s % (wire.len() + 1)).collect();
        points.sort_unstable();
        points.push(wire.len());
        let mut start = 0;
        let mut seen = 0;
        for end in points {
            decoder.feed_slice(&wire[start..end]);
            start = end;
            while let Some(m) = decoder.next_message().unwrap() {
                let (headers, payload) = &messages[seen];
                prop_assert_eq!(m.payload(), payload.as_slice());
                let got: Vec<(&str, HeaderValue<'_>)> = m.headers().collect();
                let want: Vec<(&str, HeaderValue<'_>)> =
                    headers.iter().map(|(n, v)| (n.as_str(), v.borrow())).collect();
                prop_assert_eq!(got, want);
                seen += 1;
            }
        }
        decoder.finish().unwrap();
        prop_assert_eq!(seen, messages.len());
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2000),
        splits in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let _ = decode_chunked(&bytes, &splits);
    }
}
