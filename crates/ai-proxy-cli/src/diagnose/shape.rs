//! A JSON object's top level — its keys and its `type` / `object` values —
//! and which protocol sends such an object.

use std::fmt::Write as _;

use ai_proxy::Protocol;
use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};

use super::locate::clip;

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
pub(super) struct Shape {
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
    pub(super) fn is(&self, protocol: Protocol, stream: bool) -> bool {
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

    pub(super) fn describe(&self) -> String {
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
pub(super) fn expected(protocol: Protocol, stream: bool) -> &'static str {
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
pub(super) fn suggestion(shape: &Shape, protocol: Protocol, stream: bool) -> String {
    PROTOCOLS
        .iter()
        .find(|&&other| other != protocol && shape.is(other, stream))
        .map(|other| format!(" (looks like {other}: try --protocol {other})"))
        .unwrap_or_default()
}

/// The top-level shape of JSON text: `Ok(None)` when it is JSON but not
/// an object.
pub(super) fn shape(json: &[u8]) -> Result<Option<Shape>, serde_json::Error> {
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
