//! Patching a few top-level JSON fields without a `Value` tree.
//!
//! A body is parsed once into [`RawObject`]: its top-level keys (borrowed
//! when unescaped, owned when the key had escapes) in document order, each
//! pointing at the exact text of its value. Edits replace or remove single
//! entries; [`RawObject::write`] emits the object again with every untouched
//! value copied byte for byte. Nested objects are patched the same way, one
//! level at a time, only where a merge needs to recurse.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::json::{self, SyntaxError};

/// A top-level field value: the client's text, or text this crate wrote.
#[derive(Debug)]
enum Val<'a> {
    Raw(&'a str),
    Text(Cow<'a, str>),
}

impl Val<'_> {
    fn text(&self) -> &str {
        match self {
            Val::Raw(raw) => raw,
            Val::Text(text) => text,
        }
    }
}

/// A JSON object as `(key, value text)` entries in document order.
///
/// Duplicate keys keep the first position and the last value (what
/// `serde_json::Value` with `preserve_order` and Lua's cjson both read),
/// so what we inspect is what we send.
#[derive(Debug, Default)]
pub(crate) struct RawObject<'a> {
    entries: Vec<Option<(Cow<'a, str>, Val<'a>)>>,
    /// Whether an edit changed the object since it was parsed.
    changed: bool,
    /// Whether the source had duplicate keys (written back de-duplicated).
    had_duplicates: bool,
}

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
    /// Parses and validates the whole body.
    ///
    /// UTF-8 is validated once for the whole body (JSON text must be
    /// UTF-8, RFC 8259 §8.1), so every value can then be borrowed as
    /// text without checking it again; the JSON grammar is checked by the
    /// scanner, which never builds a tree.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        let text = match simdutf8::basic::from_utf8(bytes) {
            Ok(text) => text,
            // The fast check only says "invalid"; the slow one says where.
            Err(_) => {
                let at = std::str::from_utf8(bytes)
                    .err()
                    .map_or(0, |e| e.valid_up_to());
                return Err(format!("invalid UTF-8 at byte {at}"));
            }
        };
        let b = text.as_bytes();
        let start = json::skip_ws(b, 0);
        let whole = |b: &[u8]| json::value_end(b, start).and_then(|end| json::end(b, end));
        let parsed = match b.get(start) {
            Some(b'{') => RawObject::parse_str(text).map(Body::Object),
            Some(b'[') => {
                let non_empty = b.get(json::skip_ws(b, start + 1)) != Some(&b']');
                whole(b).map(|()| Body::Array { non_empty })
            }
            _ => whole(b).map(|()| Body::Scalar),
        };
        parsed.map_err(|e| e.describe(text))
    }
}

impl<'a> RawObject<'a> {
    /// Parses a JSON object (anything else is an error).
    #[cfg(test)]
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
        Self::parse_str(text).map_err(|e| e.describe(text))
    }

    /// Parses the JSON object in `text`, validating all of it.
    ///
    /// Duplicate keys keep the first position and the last value. Objects
    /// with many keys get a hash index while parsing; small ones are
    /// searched linearly, which is faster than hashing.
    pub(crate) fn parse_str(text: &'a str) -> Result<Self, SyntaxError> {
        let b = text.as_bytes();
        let mut i = json::skip_ws(b, 0);
        if b.get(i) != Some(&b'{') {
            return Err(SyntaxError::at(i, "expected a JSON object"));
        }
        let mut obj = RawObject {
            entries: Vec::with_capacity(16),
            ..RawObject::default()
        };
        i = json::skip_ws(b, i + 1);
        if b.get(i) == Some(&b'}') {
            json::end(b, i + 1)?;
            return Ok(obj);
        }
        let mut index: Option<HashMap<Cow<'a, str>, usize>> = None;
        loop {
            let member = json::member_key(b, i)?;
            // ok: the key was just scanned inside `text`, and quotes are
            // ASCII, so its ends are char boundaries.
            #[allow(clippy::indexing_slicing)]
            let quoted = &text[i..member.key_end];
            let key = if member.escaped {
                serde_json::from_str::<String>(quoted)
                    .map(Cow::Owned)
                    .map_err(|_| SyntaxError::at(i, "invalid unicode escape in a key"))?
            } else {
                // ok: `quoted` holds at least its two quotes.
                #[allow(clippy::indexing_slicing)]
                let inner = &quoted[1..quoted.len() - 1];
                Cow::Borrowed(inner)
            };
            i = json::value_end(b, member.value_start)?;
            // ok: the value was just scanned inside `text`; it starts after
            // ASCII whitespace or `:` and ends after an ASCII byte.
            #[allow(clippy::indexing_slicing)]
            let value = &text[member.value_start..i];
            obj.insert(key, value, &mut index);
            i = json::skip_ws(b, i);
            match b.get(i) {
                Some(b',') => i = json::skip_ws(b, i + 1),
                Some(b'}') => {
                    json::end(b, i + 1)?;
                    return Ok(obj);
                }
                Some(_) => return Err(SyntaxError::at(i, "expected `,` or `}`")),
                None => return Err(SyntaxError::at(b.len(), json::EOF_OBJECT)),
            }
        }
    }

    /// Adds a parsed member (a later duplicate replaces the value).
    fn insert(
        &mut self,
        key: Cow<'a, str>,
        value: &'a str,
        index: &mut Option<HashMap<Cow<'a, str>, usize>>,
    ) {
        let existing = match index {
            Some(index) => index.get(&key).copied(),
            None => self
                .entries
                .iter()
                .position(|e| e.as_ref().is_some_and(|(k, _)| *k == key)),
        };
        if let Some(i) = existing {
            if let Some(Some((_, v))) = self.entries.get_mut(i) {
                *v = Val::Raw(value);
            }
            self.had_duplicates = true;
            self.changed = true;
            return;
        }
        if let Some(index) = index {
            index.insert(key.clone(), self.entries.len());
        }
        self.entries.push(Some((key, Val::Raw(value))));
        if index.is_none() && self.entries.len() > 32 {
            *index = Some(
                self.entries
                    .iter()
                    .enumerate()
                    .filter_map(|(i, e)| e.as_ref().map(|(k, _)| (k.clone(), i)))
                    .collect(),
            );
        }
    }

    /// Whether an edit changed the object (or it must be rewritten to drop
    /// duplicate keys).
    pub(crate) fn is_changed(&self) -> bool {
        self.changed
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.as_ref().is_some_and(|(k, _)| k == key))
    }

    /// The value text of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .flatten()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.text())
    }

    /// Whether the object has at least one key.
    pub(crate) fn has_entries(&self) -> bool {
        self.entries.iter().any(Option::is_some)
    }

    /// Whether `key` is present (even as `null`).
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// The string value of `key`, unescaped (`None` when absent or not a
    /// string).
    pub(crate) fn get_str(&self, key: &str) -> Option<Cow<'_, str>> {
        self.get(key).and_then(json_str)
    }

    /// Sets `key` to the JSON `text` (kept in place when present, appended
    /// otherwise). Setting a value to its current text is not a change.
    pub(crate) fn set(&mut self, key: &'a str, text: impl Into<Cow<'a, str>>) {
        self.put(key, Val::Text(text.into()));
    }

    /// Sets `key` to a value borrowed from configuration.
    pub(crate) fn set_raw(&mut self, key: &'a str, raw: &'a RawValue) {
        self.put(key, Val::Raw(raw.get()));
    }

    fn put(&mut self, key: &'a str, val: Val<'a>) {
        match self.position(key) {
            Some(i) => {
                if let Some(Some((_, v))) = self.entries.get_mut(i)
                    && v.text() != val.text()
                {
                    *v = val;
                    self.changed = true;
                }
            }
            None => {
                self.entries.push(Some((Cow::Borrowed(key), val)));
                self.changed = true;
            }
        }
    }

    /// Removes `key`; a change only when it was present.
    pub(crate) fn remove(&mut self, key: &str) {
        if let Some(slot) = self.position(key).and_then(|i| self.entries.get_mut(i)) {
            *slot = None;
            self.changed = true;
        }
    }

    /// Writes the object as compact JSON: keys re-escaped, values as they
    /// were.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut first = true;
        for (key, val) in self.entries.iter().flatten() {
            if !first {
                out.push(b',');
            }
            first = false;
            write_key(key, out);
            out.push(b':');
            out.extend_from_slice(val.text().as_bytes());
        }
        out.push(b'}');
    }

    /// The object as a JSON string.
    pub(crate) fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(self.text_len() + 2);
        self.write(&mut out);
        // ok: every piece written is UTF-8 text (keys, `&str` values, ASCII
        // punctuation).
        #[allow(clippy::expect_used)]
        String::from_utf8(out).expect("RawObject writes UTF-8")
    }

    /// The written size when no key needs escaping (exact then; a lower
    /// bound otherwise), so the output buffer is allocated once and fits.
    pub(crate) fn text_len(&self) -> usize {
        let entries = self.entries.iter().flatten();
        let count = entries.clone().count();
        let fields: usize = entries.map(|(k, v)| k.len() + v.text().len() + 3).sum();
        fields + count.saturating_sub(1) + 2
    }
}

/// Writes `key` as a JSON string, escaping only when it must.
fn write_key(key: &str, out: &mut Vec<u8>) {
    if key.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.push(b'"');
    } else {
        // Serialising a str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, key);
    }
}

/// The string a JSON text holds, unescaped; `None` for other types.
pub(crate) fn json_str(text: &str) -> Option<Cow<'_, str>> {
    if !text.starts_with('"') {
        return None;
    }
    serde_json::from_str::<BorrowedStr<'_>>(text)
        .ok()
        .map(|s| s.0)
}

/// Whether a JSON text is an object.
pub(crate) fn is_object(text: &str) -> bool {
    text.starts_with('{')
}

/// Whether a JSON text is an array or an object.
pub(crate) fn is_container(text: &str) -> bool {
    text.starts_with('{') || text.starts_with('[')
}

/// The number of elements of a JSON array text (0 for anything else).
pub(crate) fn array_len(text: &str) -> usize {
    if !text.starts_with('[') {
        return 0;
    }
    serde_json::from_str::<SeqLen>(text).map_or(0, |n| n.0)
}

/// The function declarations of a Gemini `tools` array text (each tool
/// object may declare several; built-in tools such as `googleSearch`
/// declare none). 0 for anything that is not such an array.
pub(crate) fn gemini_tool_count(text: &str) -> usize {
    #[derive(Deserialize)]
    struct Tool {
        #[serde(
            default,
            rename = "functionDeclarations",
            alias = "function_declarations"
        )]
        declarations: Option<SeqLen>,
    }
    if !text.starts_with('[') {
        return 0;
    }
    serde_json::from_str::<Vec<Tool>>(text).map_or(0, |tools| {
        tools
            .iter()
            .map(|t| t.declarations.as_ref().map_or(0, |n| n.0))
            .sum()
    })
}

/// A string that borrows from the input when it has no escapes.
struct BorrowedStr<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for BorrowedStr<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BorrowedStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The length of a JSON array.
struct SeqLen(usize);

impl<'de> Deserialize<'de> for SeqLen {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(SeqLenVisitor).map(SeqLen)
    }
}

struct SeqLenVisitor;

impl<'de> Visitor<'de> for SeqLenVisitor {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut n = 0usize;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n = n.saturating_add(1);
        }
        Ok(n)
    }
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
    fn untouched_values_keep_their_bytes_and_order() {
        let src = br#"{ "z" : [1,  2], "a":{"x" :1}, "m":"x" }"#;
        let mut obj = RawObject::parse(src).unwrap();
        obj.set("m", "\"y\"");
        assert_eq!(written(&obj), r#"{"z":[1,  2],"a":{"x" :1},"m":"y"}"#);
    }

    #[test]
    fn escaped_keys_and_values_round_trip() {
        let src = br#"{"mo\u0064el":"gpt\/4","k\"q":1}"#;
        let obj = RawObject::parse(src).unwrap();
        assert_eq!(obj.get_str("model").as_deref(), Some("gpt/4"));
        let out = written(&obj);
        let a: serde_json::Value = serde_json::from_str(&out).unwrap();
        let b: serde_json::Value = serde_json::from_slice(src).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn setting_the_same_text_is_not_a_change() {
        let mut obj = RawObject::parse(br#"{"model":"m"}"#).unwrap();
        obj.set("model", "\"m\"");
        assert!(!obj.is_changed());
    }

    #[test]
    fn duplicate_keys_keep_first_position_and_last_value() {
        let obj = RawObject::parse(br#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert!(obj.is_changed());
        assert_eq!(written(&obj), r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn many_duplicate_keys_use_the_index() {
        let mut src = String::from("{");
        for i in 0..100 {
            src.push_str(&format!("\"k{i}\":{i},"));
        }
        src.push_str("\"k5\":\"last\"}");
        let obj = RawObject::parse(src.as_bytes()).unwrap();
        assert_eq!(obj.get("k5"), Some("\"last\""));
        assert_eq!(obj.entries.iter().flatten().count(), 100);
    }

    #[test]
    fn text_len_is_exact_for_plain_keys() {
        let mut obj = RawObject::parse(br#"{ "a" : [1, 2], "b":"x" }"#).unwrap();
        obj.set("c", "true");
        obj.remove("b");
        let mut out = Vec::new();
        obj.write(&mut out);
        assert_eq!(out.len(), obj.text_len());
    }

    #[test]
    fn remove_drops_the_entry() {
        let mut obj = RawObject::parse(br#"{"model":"m","x":1}"#).unwrap();
        obj.remove("model");
        obj.remove("absent");
        assert_eq!(written(&obj), r#"{"x":1}"#);
    }

    #[test]
    fn non_objects_are_rejected_by_object_parse() {
        assert!(RawObject::parse(b"[1]").is_err());
        assert!(RawObject::parse(b"{} x").is_err());
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
    fn array_len_counts_elements() {
        assert_eq!(array_len(r#"[{"a":[1,2]}, 2, "x"]"#), 3);
        assert_eq!(array_len("{}"), 0);
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
