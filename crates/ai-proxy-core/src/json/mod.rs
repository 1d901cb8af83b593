//! The JSON toolkit: reading, validating, patching and writing JSON without
//! a `Value` tree, shared by request preparation, the response observers and
//! the adapter crates' converters and translators.
//!
//! - [`syntax`]: the validating scanner — where values end, the whole
//!   RFC 8259 grammar checked on the way, nothing decoded or allocated. It
//!   accepts exactly what `serde_json` accepts when skipping a value
//!   (`IgnoredAny`); nesting depth is limited only by the input's size.
//! - [`scan`]: [`Scanner`], a cursor on the same rules that walks objects
//!   and arrays in one pass and hands out values raw ([`Raw`]): what
//!   converters read a body with.
//! - [`literal`]: a body in an expected layout read by its bytes (whole
//!   literals, quote-checked strings), for the converters' compact readers.
//! - [`swar`]: the eight-bytes-at-a-time special-byte search.
//! - [`block`]: sixteen bytes at a time (SSE2 on x86-64): the special bytes
//!   of a block as a mask, for the validating scanner's string loop and
//!   the writer of a minified value as a string.
//! - [`byte_set`]: byte classes as tables (one load a byte).
//! - [`text`]: UTF-8 checks, string contents decoded, or recognised as
//!   already escaped the way [`write`] escapes (then copied as they are).
//! - [`write`]: the one string escaper and the writers built on it
//!   (members with their value ranges, minified copies, numbers).
//! - [`object`]: [`RawObject`](object::RawObject), a JSON object's
//!   top-level members as raw texts, patched and written back byte for byte.
//! - [`lenient`]: serde types that read an odd field as absent (the token
//!   [`Count`](lenient::Count), strings, content, errors) instead of failing
//!   a whole event.
//! - [`raw`]: the same tests on a serde `RawValue`, for serde-read shapes.
//! - [`chat`]: OpenAI chat requests read in place (messages, text parts,
//!   tool calls, tools, `tool_choice`, data URLs), for converters from
//!   OpenAI chat.

pub mod block;
pub mod byte_set;
pub mod chat;
pub mod lenient;
pub mod literal;
pub mod object;
pub mod raw;
pub mod scan;
pub mod swar;
pub mod syntax;
pub mod text;
pub mod write;

pub use scan::{Key, Raw, Scanner};
pub use syntax::SyntaxError;

#[cfg(test)]
pub mod tests {
    use proptest::prelude::*;

    /// Any JSON value (finite numbers), nested a few levels.
    pub fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| serde_json::json!(f)),
            ".{0,20}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(6, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map(".{0,8}", inner, 0..8)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
