//! The fuzz targets' entry points (`fuzz/fuzz_targets/bedrock_*.rs`) under
//! proptest, so `cargo test` runs them too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use proptest::prelude::*;

/// Event-stream bytes worth fuzzing: real-looking messages (checksums
/// repaired by the entry points when the seed's low bit is set).
fn eventstream_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        (
            proptest::collection::vec(("[:a-z-]{1,14}", "[ -~]{0,24}"), 0..4),
            proptest::collection::vec(any::<u8>(), 0..64),
        ),
        0..5,
    )
    .prop_map(|messages| {
        let mut wire = Vec::new();
        for (headers, payload) in messages {
            let headers: Vec<(&str, ai_proxy_bedrock::eventstream::HeaderValue<'_>)> = headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str(),
                        ai_proxy_bedrock::eventstream::HeaderValue::String(v.as_str()),
                    )
                })
                .collect();
            ai_proxy_bedrock::eventstream::encode_message(&mut wire, &headers, &payload).unwrap();
        }
        wire
    })
}

proptest! {
    #[test]
    fn eventstream_decoding_is_chunking_independent(
        seed in any::<u8>(),
        body in prop_oneof![eventstream_bytes(), proptest::collection::vec(any::<u8>(), 0..300)],
        flip in proptest::option::of((any::<usize>(), any::<u8>())),
    ) {
        let mut data = vec![seed];
        data.extend_from_slice(&body);
        if let Some((at, x)) = flip.filter(|_| data.len() > 1) {
            let at = 1 + at % (data.len() - 1);
            data[at] ^= x;
        }
        common::eventstream_holds(&data);
    }

    #[test]
    fn converse_requests_are_json_or_refused(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        common::converse_request_holds(&body);
    }

    #[test]
    fn converse_to_chat_streams_are_well_formed(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        common::converse_to_chat_holds(&common::converse_events_from_bytes(&data));
    }

    #[test]
    fn converse_to_chat_streams_from_plausible_events_are_well_formed(
        events in proptest::collection::vec(
            prop_oneof![
                Just(("messageStart".to_owned(), r#"{"role":"assistant"}"#.to_owned())),
                "[a-z é\"]{0,8}".prop_map(|t| ("contentBlockDelta".to_owned(), serde_json::json!({"contentBlockIndex": 0, "delta": {"text": t}}).to_string())),
                (0u8..3).prop_map(|i| ("contentBlockStart".to_owned(), serde_json::json!({"contentBlockIndex": i, "start": {"toolUse": {"toolUseId": format!("t{i}"), "name": "f"}}}).to_string())),
                (0u8..3).prop_map(|i| ("contentBlockDelta".to_owned(), serde_json::json!({"contentBlockIndex": i, "delta": {"toolUse": {"input": "{\"a\":"}}}).to_string())),
                Just(("messageStop".to_owned(), r#"{"stopReason":"tool_use"}"#.to_owned())),
                Just(("metadata".to_owned(), r#"{"usage":{"inputTokens":1,"outputTokens":2}}"#.to_owned())),
                Just(("throttlingException".to_owned(), r#"{"message":"slow"}"#.to_owned())),
            ],
            0..16,
        ),
    ) {
        common::converse_to_chat_holds(&events);
    }

    #[test]
    fn passthrough_streams_flow_unchanged(
        seed in any::<u8>(),
        body in prop_oneof![eventstream_bytes(), proptest::collection::vec(any::<u8>(), 0..300)],
    ) {
        let mut data = vec![seed];
        data.extend_from_slice(&body);
        common::passthrough_holds(&data);
    }
}
