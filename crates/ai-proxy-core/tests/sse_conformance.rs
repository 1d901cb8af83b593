//! WHATWG event-stream conformance: every rule, each stream fed whole, one
//! byte at a time, and split in two at every byte offset.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
use ai_proxy_core::sse::{OwnedSseEvent, SseDecoder, SseError};
use bytes::Bytes;
use std::path::PathBuf;

type Expected<'a> = &'a [(&'a str, &'a str, &'a str)];

fn decode_chunks(chunks: &[&[u8]]) -> Result<Vec<OwnedSseEvent>, SseError> {
    let mut decoder = SseDecoder::new();
    let mut events = Vec::new();
    for chunk in chunks {
        decoder.feed(Bytes::copy_from_slice(chunk));
        while let Some(event) = decoder.poll_event()? {
            events.push(event.to_owned_event());
        }
    }
    decoder.finish()?;
    Ok(events)
}

/// Every chunking of `stream` this suite promises decodes to the same events.
fn decode_every_way(stream: &[u8]) -> Vec<OwnedSseEvent> {
    let whole = decode_chunks(&[stream]).unwrap();
    let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(
        decode_chunks(&bytewise).unwrap(),
        whole,
        "one byte at a time"
    );
    for at in 0..=stream.len() {
        let (head, tail) = stream.split_at(at);
        assert_eq!(
            decode_chunks(&[head, tail]).unwrap(),
            whole,
            "split at byte {at}"
        );
    }
    whole
}

fn check(stream: &[u8], expected: Expected<'_>) -> Vec<OwnedSseEvent> {
    let events = decode_every_way(stream);
    let got: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| (e.event_type.as_str(), e.data.as_str(), e.id.as_str()))
        .collect();
    assert_eq!(got, expected);
    events
}

fn msg(data: &str) -> (&str, &str, &str) {
    ("message", data, "")
}

#[test]
fn lf_cr_and_crlf_all_end_lines() {
    check(b"data: a\n\n", &[msg("a")]);
    check(b"data: a\r\r", &[msg("a")]);
    check(b"data: a\r\n\r\n", &[msg("a")]);
    check(b"data: a\r\ndata: b\rdata: c\n\n", &[msg("a\nb\nc")]);
}

#[test]
fn crlf_split_across_chunks_is_one_line_end() {
    let events = decode_chunks(&[b"data: a\r", b"\n", b"\r", b"\ndata: b\r\n\r\n"]).unwrap();
    let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, ["a", "b"]);
}

#[test]
fn cr_at_chunk_end_dispatches_without_waiting() {
    let mut decoder = SseDecoder::new();
    decoder.feed_slice(b"data: a\r\r");
    assert_eq!(decoder.poll_event().unwrap().unwrap().data(), "a");
}

#[test]
fn bare_cr_then_lf_is_crlf_not_two_lines() {
    check(b"data: a\r\n\ndata: b\n\r\n", &[msg("a"), msg("b")]);
}

#[test]
fn utf8_bom_is_dropped_once_at_stream_start() {
    check(b"\xEF\xBB\xBFdata: 1\n\n", &[msg("1")]);
    check(
        b"\xEF\xBB\xBF\xEF\xBB\xBFdata: 1\n\ndata: 2\n\n",
        &[msg("2")],
    );
    check(b"data: 1\n\n\xEF\xBB\xBFdata: 2\n\n", &[msg("1")]);
}

#[test]
fn partial_bom_is_line_content() {
    check(b"\xEF\xBBdata: 1\n\ndata: 2\n\n", &[msg("2")]);
    check(b"\xEFdata: 1\n\n", &[]);
}

#[test]
fn comments_are_ignored() {
    check(
        b": OPENROUTER PROCESSING\n\ndata: a\n: mid\ndata: b\n\n",
        &[msg("a\nb")],
    );
}

#[test]
fn field_without_colon_has_empty_value() {
    check(b"data\n\n", &[msg("")]);
    check(b"data\ndata\n\n", &[msg("\n")]);
    check(b"event\ndata: x\n\n", &[msg("x")]);
}

#[test]
fn one_leading_space_is_stripped() {
    check(
        b"data:x\n\ndata: x\n\ndata:  x\n\ndata:\tx\n\n",
        &[msg("x"), msg("x"), msg(" x"), msg("\tx")],
    );
}

#[test]
fn value_keeps_later_colons() {
    check(b"data: a: b:c\n\n", &[msg("a: b:c")]);
}

#[test]
fn field_names_are_case_sensitive() {
    check(b"Data: x\nDATA: y\nEvent: e\ndata: z\n\n", &[msg("z")]);
}

#[test]
fn unknown_fields_are_ignored() {
    check(b"foo: 1\ndata: x\nbar\n\n", &[msg("x")]);
}

#[test]
fn multi_line_data_is_joined_with_lf() {
    check(
        b"data: YHOO\ndata: +2\ndata: 10\n\n",
        &[msg("YHOO\n+2\n10")],
    );
}

#[test]
fn event_type_applies_to_one_event_only() {
    check(
        b"event: add\ndata: 1\n\ndata: 2\n\n",
        &[("add", "1", ""), msg("2")],
    );
}

#[test]
fn empty_event_type_means_message() {
    check(b"event:\ndata: 1\n\n", &[msg("1")]);
}

#[test]
fn event_type_of_an_undispatched_block_is_dropped() {
    check(b"event: ping\n\ndata: 1\n\n", &[msg("1")]);
}

#[test]
fn last_event_id_is_carried_across_events() {
    check(
        b"id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
        &[
            ("message", "a", "7"),
            ("message", "b", "7"),
            ("message", "c", ""),
        ],
    );
}

#[test]
fn id_set_in_an_undispatched_block_persists() {
    check(b"id: 9\n\ndata: a\n\n", &[("message", "a", "9")]);
}

#[test]
fn id_containing_nul_is_ignored() {
    check(
        b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
        &[("message", "a", "1"), ("message", "b", "1")],
    );
}

#[test]
fn retry_is_taken_only_when_all_digits() {
    let events = check(
        b"retry: 1500\ndata: a\n\nretry: 15x\ndata: b\n\nretry:\ndata: c\n\nretry: -1\ndata: d\n\n",
        &[msg("a"), msg("b"), msg("c"), msg("d")],
    );
    let retries: Vec<Option<u64>> = events.iter().map(|e| e.retry).collect();
    assert_eq!(retries, [Some(1500), None, None, None]);
    let mut decoder = SseDecoder::new();
    decoder.feed_slice(b"retry: 1500\n\nretry: 2x\n\n");
    assert!(decoder.poll_event().unwrap().is_none());
    assert_eq!(decoder.reconnection_time(), Some(1500));
}

#[test]
fn retry_beyond_u64_is_ignored() {
    let events = check(b"retry: 99999999999999999999999\ndata: a\n\n", &[msg("a")]);
    assert_eq!(events[0].retry, None);
}

#[test]
fn empty_data_buffer_is_not_dispatched() {
    check(b"event: x\nid: 1\nretry: 5\n\n\n\n", &[]);
}

#[test]
fn empty_data_line_is_dispatched_as_empty_string() {
    check(b"data:\n\n", &[msg("")]);
}

#[test]
fn no_dispatch_at_eof_without_blank_line() {
    check(b"data: a\n\ndata: b\n", &[msg("a")]);
    check(b"data: a\n\ndata: b", &[msg("a")]);
    let mut decoder = SseDecoder::new();
    decoder.feed_slice(b"data: b\n");
    assert!(decoder.poll_event().unwrap().is_none());
    assert!(
        decoder.finish().unwrap(),
        "finish reports the dropped event"
    );
}

#[test]
fn invalid_utf8_becomes_replacement_characters() {
    check(b"data: \xFF\xFE ok\n\n", &[msg("\u{FFFD}\u{FFFD} ok")]);
    check(b"data: \xE2\x80\n\n", &[msg("\u{FFFD}")]);
}

#[test]
fn utf8_split_mid_character_is_intact() {
    let events = decode_chunks(&[b"data: caf\xC3", b"\xA9 \xE2\x80", b"\xA6\n\n"]).unwrap();
    assert_eq!(events[0].data, "caf\u{e9} \u{2026}");
}

#[test]
fn nul_in_data_is_kept() {
    check(b"data:\x00\n\n", &[msg("\0")]);
}

#[test]
fn event_over_cap_is_a_typed_error_and_sticky() {
    let mut decoder = SseDecoder::with_max_event_bytes(16);
    decoder.feed_slice(b"data: 0123456789\ndata: 0123456789\n\n");
    let err = decoder.poll_event().unwrap_err();
    assert_eq!(err, SseError::EventTooLarge { limit: 16 });
    assert_eq!(err.status(), http::StatusCode::BAD_GATEWAY);
    decoder.feed_slice(b"data: x\n\n");
    assert_eq!(decoder.poll_event().unwrap_err(), err);
    assert_eq!(decoder.finish().unwrap_err(), err);
}

#[test]
fn unterminated_line_over_cap_is_an_error_not_growth() {
    let mut decoder = SseDecoder::with_max_event_bytes(1024);
    let chunk = vec![b'x'; 300];
    let mut failed = false;
    for _ in 0..10 {
        decoder.feed_slice(&chunk);
        match decoder.poll_event() {
            Ok(None) => assert!(decoder.buffered_bytes() <= 1024),
            Err(SseError::EventTooLarge { .. }) => {
                failed = true;
                break;
            }
            Ok(Some(_)) => panic!("no event expected"),
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert!(failed);
}

#[test]
fn comments_longer_than_the_cap_are_dropped_not_buffered() {
    let mut decoder = SseDecoder::with_max_event_bytes(16);
    let mut data = Vec::new();
    let stream = format!(": {}\r\ndata: ok\n\n", "x".repeat(100));
    for piece in stream.as_bytes().chunks(7) {
        decoder.feed_slice(piece);
        while let Some(event) = decoder.poll_event().unwrap() {
            data.push(event.data().into_owned());
        }
        assert!(decoder.buffered_bytes() <= 16);
    }
    assert_eq!(data, ["ok"]);
}

#[test]
fn events_within_cap_pass_even_in_tiny_chunks() {
    let mut decoder = SseDecoder::with_max_event_bytes(20);
    let mut data = Vec::new();
    for byte in b"data: 0123456789\n\ndata: abcdefghij\n\n" {
        decoder.feed_slice(&[*byte]);
        while let Some(event) = decoder.poll_event().unwrap() {
            data.push(event.data().into_owned());
        }
    }
    assert_eq!(data, ["0123456789", "abcdefghij"]);
}

#[test]
fn feeding_before_draining_keeps_the_rest() {
    let mut decoder = SseDecoder::new();
    decoder.feed_slice(b"data: a\n\ndata: b\n\n");
    assert_eq!(decoder.poll_event().unwrap().unwrap().data(), "a");
    decoder.feed_slice(b"data: c\n\n");
    let mut rest = Vec::new();
    while let Some(event) = decoder.poll_event().unwrap() {
        rest.push(event.data().into_owned());
    }
    assert_eq!(rest, ["b", "c"]);
}

#[test]
fn finish_readies_a_new_stream_keeping_last_id() {
    let mut decoder = SseDecoder::new();
    decoder.feed_slice(b"id: 4\ndata: a\n\ndata: cut");
    assert!(decoder.poll_event().unwrap().is_some());
    assert!(decoder.poll_event().unwrap().is_none());
    assert!(decoder.finish().unwrap());
    decoder.feed_slice(b"\xEF\xBB\xBFdata: b\n\n");
    let event = decoder.poll_event().unwrap().unwrap();
    assert_eq!((event.data().as_ref(), event.id()), ("b", "4"));
}

#[test]
fn single_line_data_is_borrowed_from_the_chunk() {
    let chunk = Bytes::from_static(b"data: {\"a\":1}\n\n");
    let mut decoder = SseDecoder::new();
    decoder.feed(chunk.clone());
    let event = decoder.poll_event().unwrap().unwrap();
    let data = event.data_bytes();
    assert_eq!(data, b"{\"a\":1}");
    assert!(chunk.as_ptr_range().contains(&data.as_ptr()), "zero-copy");
}

// ---- the shared WHATWG / web-platform-tests corpus -------------------------

fn conformance_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    root.ancestors()
        .map(|dir| dir.join("shared/fixtures/wire/sse-conformance"))
        .find(|dir| dir.is_dir())
}

/// Expected events per file, derived by reading each file against the spec.
const CORPUS: &[(&str, Expected<'static>)] = &[
    (
        "eof-incomplete-last-line.sse",
        &[("message", "", ""), ("message", "\n", "")],
    ),
    (
        "spec-colon-in-value-and-space-field.sse",
        &[("message", "{\"a\":\"b: c\"}\n: x", "")],
    ),
    (
        "spec-cr-only-line-endings.sse",
        &[("add", "73857293", ""), ("remove", "2153", "")],
    ),
    (
        "spec-eof-without-blank-line-crlf.sse",
        &[("message", "a", "")],
    ),
    (
        "spec-event-without-data-not-dispatched.sse",
        &[("message", "after", "7")],
    ),
    (
        "spec-example-empty-data.sse",
        &[("message", "", ""), ("message", "\n", "")],
    ),
    (
        "spec-example-ids-and-leading-space.sse",
        &[
            ("message", "first event", "1"),
            ("message", "second event", ""),
            ("message", " third event", ""),
        ],
    ),
    (
        "spec-example-leading-space-equivalence.sse",
        &[("message", "test", ""), ("message", "test", "")],
    ),
    (
        "spec-example-multiline-yhoo.sse",
        &[("message", "YHOO\n+2\n10", "")],
    ),
    (
        "utf8-invalid-bytes-replaced.sse",
        &[("message", "\u{FFFD}\u{FFFD} ok", "")],
    ),
    (
        "wpt-event-data-message2.sse",
        &[
            ("message", "msg\nmsg", ""),
            ("message", "", ""),
            ("message", "end", ""),
        ],
    ),
    (
        "wpt-format-bom-2-double-bom.sse",
        &[("message", "2", ""), ("message", "3", "")],
    ),
    (
        "wpt-format-bom.sse",
        &[("message", "1", ""), ("message", "3", "")],
    ),
    (
        "wpt-format-comments-mixed-newlines.sse",
        &[("message", "1\n2\n3\n4", "")],
    ),
    (
        "wpt-format-data-before-final-empty-line.sse",
        &[("message", "test1", "")],
    ),
    (
        "wpt-format-field-data.sse",
        &[
            ("message", "", ""),
            ("message", "\n", ""),
            ("message", "test", ""),
        ],
    ),
    (
        "wpt-format-field-event-empty.sse",
        &[("message", "data", "")],
    ),
    (
        "wpt-format-field-event.sse",
        &[("test", "x", ""), ("message", "x", "")],
    ),
    (
        "wpt-format-field-id-3-persists.sse",
        &[
            ("message", "1", "1"),
            ("message", "2", "1"),
            ("message", "3", "2"),
            ("message", "4", "2"),
        ],
    ),
    (
        "wpt-format-field-id-3-resets-empty-value.sse",
        &[
            ("message", "1", "1"),
            ("message", "2", ""),
            ("message", "3", ""),
        ],
    ),
    (
        "wpt-format-field-id-3-resets-no-colon.sse",
        &[
            ("message", "1", "1"),
            ("message", "2", ""),
            ("message", "3", ""),
        ],
    ),
    (
        "wpt-format-field-id-null-1.sse",
        &[("message", "hello", "")],
    ),
    (
        "wpt-format-field-id-null-5-space-nul.sse",
        &[("message", "hello", "")],
    ),
    (
        "wpt-format-field-id-unicode.sse",
        &[("message", "hello", "\u{2026}")],
    ),
    (
        "wpt-format-field-parsing.sse",
        &[("message", "\0\n 2\n1\n3\n\n4", "")],
    ),
    ("wpt-format-field-retry-bogus.sse", &[("message", "x", "")]),
    (
        "wpt-format-field-retry-empty.sse",
        &[("message", "test", "")],
    ),
    (
        "wpt-format-field-unknown.sse",
        &[("message", "test\n\ntest", "")],
    ),
    (
        "wpt-format-leading-space.sse",
        &[("message", "\ttest\n\ntest", "")],
    ),
    (
        "wpt-format-newlines.sse",
        &[("message", "test\n\ntest", "")],
    ),
    ("wpt-format-null-character.sse", &[("message", "\0", "")]),
    ("wpt-format-utf-8.sse", &[("message", "ok\u{2026}", "")]),
];

#[test]
fn shared_conformance_corpus() {
    let Some(dir) = conformance_dir() else {
        eprintln!("skipping: ../shared/fixtures/wire/sse-conformance not found");
        return;
    };
    let mut seen = 0;
    for (name, expected) in CORPUS {
        let path = dir.join(name);
        let Ok(stream) = std::fs::read(&path) else {
            eprintln!("skipping missing {}", path.display());
            continue;
        };
        let events = check(&stream, expected);
        match *name {
            "wpt-format-field-retry-bogus.sse" => assert_eq!(events[0].retry, Some(2000)),
            "wpt-format-field-id-null-1.sse" | "wpt-format-field-id-unicode.sse" => {
                assert_eq!(events[0].retry, Some(200))
            }
            "wpt-format-field-retry-empty.sse" => assert_eq!(events[0].retry, None),
            _ => {}
        }
        seen += 1;
    }
    // Every file in the corpus directory has an expectation here.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".sse") {
            assert!(
                CORPUS.iter().any(|(known, _)| *known == name),
                "no expectation for {name}"
            );
        }
    }
    assert!(seen > 0);
}
