//! The request converters' mappings written again over serde_json `Value`
//! trees, independently of the converters' one-pass byte writers: the
//! oracle the proptests and the fuzz target hold them to (the same bytes
//! for a compactly serialized request, the same tree otherwise, and the
//! same errors).

pub mod anthropic_to_openai;
pub mod openai_to_anthropic;

use serde_json::{Map, Value};

/// A member that is present and not `null` (how the converters read most
/// members).
pub fn present<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// A string other than `""`.
pub fn non_empty_str(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}
