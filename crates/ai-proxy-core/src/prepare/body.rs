//! The client's body at the top level ([`Body`]) and the configured
//! `request_body` patch merged into it ([`deep_merge`]), through
//! [`RawObject`]: a few top-level fields patched without a `Value` tree.

use std::ops::Range;

use crate::adapter::BodyLayout;
use crate::json::Scanner;
use crate::json::object::{RawObject, is_object};
use crate::json::syntax as json;

/// The member whose elements `$llm_tool_count` counts.
pub(crate) const TOOLS: &str = "tools";

/// What the client's body is, at the top level.
#[derive(Debug)]
pub(crate) enum Body<'a> {
    /// A JSON object, ready to patch.
    Object(RawObject<'a>),
    /// A JSON array (`non_empty` decides passthrough detection).
    Array { non_empty: bool },
    /// A string, number, boolean or null.
    Scalar,
}

impl<'a> Body<'a> {
    /// A converter's output: read through its layout when it reports one
    /// (nothing parsed again), else parsed like a client's body.
    pub(crate) fn converted(bytes: &'a [u8], layout: Option<&BodyLayout>) -> Result<Self, String> {
        if let Some(layout) = layout
            && let Ok(text) = crate::json::text::from_utf8(bytes)
            && let Some(obj) =
                RawObject::from_members(text, &layout.members, Some((TOOLS, layout.tool_count)))
        {
            return Ok(Body::Object(obj));
        }
        Self::parse(bytes)
    }

    /// A request transform's output, read through the members its
    /// [`ClientBodyLayout`](super::ClientBodyLayout) reports (nothing
    /// parsed again); `None` when they do not fit the body.
    pub(crate) fn laid_out(
        bytes: &'a [u8],
        members: &[(Range<usize>, Range<usize>)],
    ) -> Option<Self> {
        let text = crate::json::text::from_utf8(bytes).ok()?;
        RawObject::from_ranges(text, members, Some(TOOLS)).map(Body::Object)
    }

    /// Parses and validates the whole body.
    ///
    /// UTF-8 is validated once for the whole body (JSON text must be
    /// UTF-8, RFC 8259 §8.1), so every value can then be borrowed as
    /// text without checking it again; the JSON grammar is checked by the
    /// scanner, which never builds a tree.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        let text = crate::json::text::from_utf8(bytes)
            .map_err(|at| format!("invalid UTF-8 at byte {at}"))?;
        let b = text.as_bytes();
        let start = json::skip_ws(b, 0);
        let whole = |b: &[u8]| json::value_end(b, start).and_then(|end| json::end(b, end));
        let parsed = match b.get(start) {
            Some(b'{') => RawObject::parse_counting(text, Some(TOOLS)).map(Body::Object),
            Some(b'[') => {
                let non_empty = b.get(json::skip_ws(b, start + 1)) != Some(&b']');
                whole(b).map(|()| Body::Array { non_empty })
            }
            _ => whole(b).map(|()| Body::Scalar),
        };
        parsed.map_err(|e| e.describe(text))
    }
}

/// The function declarations of a Gemini `tools` array text (each tool
/// object may declare several; built-in tools such as `googleSearch`
/// declare none). 0 for anything that is not such an array.
pub(crate) fn gemini_tool_count(text: &str) -> usize {
    let mut n = 0usize;
    let mut s = Scanner::new(text.as_bytes());
    let counted = s.array(|s| {
        s.object_or_skip(|key, s| match &*key.name() {
            b"functionDeclarations" | b"function_declarations" if s.peek() == Some(b'[') => s
                .array(|s| {
                    n += 1;
                    s.skip()
                }),
            _ => s.skip(),
        })
        .map(drop)
    });
    if counted.is_ok() { n } else { 0 }
}

/// Deep-merges `patch` into `obj` with APISIX's rules: where both sides are
/// objects, recurse; otherwise set the patch value when the body has none
/// or `force` is on. Arrays and scalars replace wholesale; `null` is a
/// value, not a deletion.
pub(crate) fn deep_merge<'a>(
    obj: &mut RawObject<'a>,
    patch: &'a serde_json::Map<String, serde_json::Value>,
    force: bool,
) {
    for (key, patch_value) in patch {
        let nested = match (patch_value, obj.get(key)) {
            (serde_json::Value::Object(sub_patch), Some(current)) if is_object(current) => {
                match RawObject::parse_str(current) {
                    Ok(mut sub) => {
                        deep_merge(&mut sub, sub_patch, force);
                        Some(sub.is_changed().then(|| sub.to_json()))
                    }
                    // Unreachable for text that parsed before; keep the
                    // client's value rather than guess.
                    Err(_) => Some(None),
                }
            }
            _ => None,
        };
        match nested {
            Some(Some(text)) => obj.set(key, text),
            Some(None) => {}
            None => {
                if force || !obj.contains(key) {
                    obj.set(key, patch_value.to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn written(obj: &RawObject<'_>) -> String {
        obj.to_json()
    }

    /// A patch that lives as long as the test (patches borrow like config).
    fn patch(v: serde_json::Value) -> &'static serde_json::Map<String, serde_json::Value> {
        match v {
            serde_json::Value::Object(m) => Box::leak(Box::new(m)),
            _ => unreachable!(),
        }
    }

    #[test]
    fn body_kinds() {
        assert!(matches!(
            Body::parse(b" []"),
            Ok(Body::Array { non_empty: false })
        ));
        assert!(matches!(
            Body::parse(b"[{}]"),
            Ok(Body::Array { non_empty: true })
        ));
        assert!(matches!(Body::parse(b"\"s\""), Ok(Body::Scalar)));
        assert!(Body::parse(b"{}\"messages\"").is_err());
    }

    #[test]
    fn deep_merge_recurses_into_objects() {
        let mut obj =
            RawObject::parse(br#"{"stream_options":{"include_usage":true},"n":1}"#).unwrap();
        deep_merge(
            &mut obj,
            patch(json!({"stream_options": {"extra": 1}})),
            false,
        );
        assert_eq!(
            written(&obj),
            r#"{"stream_options":{"include_usage":true,"extra":1},"n":1}"#
        );
    }

    #[test]
    fn deep_merge_keeps_client_values_without_force() {
        let mut obj = RawObject::parse(br#"{"max_tokens":999,"stop":["a"]}"#).unwrap();
        deep_merge(
            &mut obj,
            patch(json!({"max_tokens": 555, "stop": ["b", "c"], "new": null})),
            false,
        );
        assert_eq!(
            written(&obj),
            r#"{"max_tokens":999,"stop":["a"],"new":null}"#
        );
    }

    #[test]
    fn deep_merge_force_replaces_scalars_and_arrays_wholesale() {
        let mut obj = RawObject::parse(br#"{"max_tokens":999,"stop":["a","b"]}"#).unwrap();
        deep_merge(
            &mut obj,
            patch(json!({"max_tokens": 555, "stop": ["z"]})),
            true,
        );
        assert_eq!(written(&obj), r#"{"max_tokens":555,"stop":["z"]}"#);
    }

    #[test]
    fn deep_merge_object_over_scalar_replaces_only_with_force() {
        let mut obj = RawObject::parse(br#"{"a":1}"#).unwrap();
        deep_merge(&mut obj, patch(json!({"a": {"b": 2}})), false);
        assert_eq!(written(&obj), r#"{"a":1}"#);
        deep_merge(&mut obj, patch(json!({"a": {"b": 2}})), true);
        assert_eq!(written(&obj), r#"{"a":{"b":2}}"#);
    }

    #[test]
    fn gemini_tools_count_their_function_declarations() {
        let tools = r#"[{"functionDeclarations":[{"name":"a"},{"name":"b"}]},{"googleSearch":{}},
            {"function_declarations":[{"name":"c"}]}]"#;
        assert_eq!(gemini_tool_count(tools), 3);
        assert_eq!(gemini_tool_count("[]"), 0);
        assert_eq!(gemini_tool_count(r#"[{"functionDeclarations":"x"}]"#), 0);
    }
}
