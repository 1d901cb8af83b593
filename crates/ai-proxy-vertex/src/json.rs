//! Reading a few fields of a JSON object without building a value tree.
//!
//! Values come back as borrowed [`RawValue`]s (their exact bytes), so the
//! caller copies what it passes on verbatim. Keys are compared without
//! allocating, including escaped ones (`"in\u0070ut"` is `input`). A key
//! given twice keeps its last value, as cjson (APISIX) does.

use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The values of `names` in the JSON object `json`, by position (`None` for
/// a field that is absent), or `None` when `json` is valid JSON but not an
/// object.
pub(crate) fn pick<'a, const N: usize>(
    json: &'a str,
    names: &[&str; N],
) -> Result<Option<[Option<&'a RawValue>; N]>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let picked = Pick { names }.deserialize(&mut de)?;
    de.end()?;
    Ok(picked)
}

/// [`pick`] over bytes (a request or response body): invalid UTF-8 is an
/// error like any other invalid JSON.
pub(crate) fn pick_bytes<'a, const N: usize>(
    json: &'a [u8],
    names: &[&str; N],
) -> Result<Option<[Option<&'a RawValue>; N]>, serde_json::Error> {
    let text = std::str::from_utf8(json).map_err(serde_json::Error::custom)?;
    pick(text, names)
}

/// The elements of a JSON array (as raw values), or `None` when `raw` is
/// not an array.
pub(crate) fn elements(raw: &RawValue) -> Option<Vec<&RawValue>> {
    if !raw.get().starts_with('[') {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

/// What kind of JSON value `raw` is, from its first byte (a [`RawValue`]
/// holds exactly one valid value with no surrounding whitespace).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool(bool),
    Null,
}

pub(crate) fn kind(raw: &RawValue) -> Kind {
    match raw.get().as_bytes().first() {
        Some(b'{') => Kind::Object,
        Some(b'[') => Kind::Array,
        Some(b'"') => Kind::String,
        Some(b't') => Kind::Bool(true),
        Some(b'f') => Kind::Bool(false),
        Some(b'n') => Kind::Null,
        _ => Kind::Number,
    }
}

/// The text between the quotes of a raw JSON string, escapes kept: valid
/// inside any other JSON string.
pub(crate) fn string_body(raw: &RawValue) -> Option<&str> {
    raw.get().strip_prefix('"')?.strip_suffix('"')
}

struct Pick<'n, const N: usize> {
    names: &'n [&'n str; N],
}

impl<'de, const N: usize> DeserializeSeed<'de> for Pick<'_, N> {
    type Value = Option<[Option<&'de RawValue>; N]>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for Pick<'_, N> {
    type Value = Option<[Option<&'de RawValue>; N]>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = [None; N];
        while let Some(index) = map.next_key_seed(KeyIndex { names: self.names })? {
            match index.and_then(|i| out.get_mut(i)) {
                Some(slot) => *slot = Some(map.next_value::<&'de RawValue>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(out))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// An object key, resolved to its position in `names` without allocating.
struct KeyIndex<'n, const N: usize> {
    names: &'n [&'n str; N],
}

impl<'de, const N: usize> DeserializeSeed<'de> for KeyIndex<'_, N> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<const N: usize> Visitor<'_> for KeyIndex<'_, N> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.names.iter().position(|name| *name == key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_named_fields_and_skips_the_rest() {
        let got = pick(
            r#"{"a": 1, "b": {"x": [1, 2]}, "c": "z"}"#,
            &["c", "a", "d"],
        )
        .unwrap();
        let got = got.unwrap().map(|v| v.map(RawValue::get));
        assert_eq!(got, [Some(r#""z""#), Some("1"), None]);
    }

    #[test]
    fn escaped_keys_match() {
        let got = pick(r#"{"in\u0070ut": "x"}"#, &["input"]).unwrap().unwrap();
        assert_eq!(got[0].map(RawValue::get), Some(r#""x""#));
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let got = pick(r#"{"a": 1, "a": 2}"#, &["a"]).unwrap().unwrap();
        assert_eq!(got[0].map(RawValue::get), Some("2"));
    }

    #[test]
    fn non_objects_are_none() {
        for json in ["[1, {\"a\": 1}]", "\"a\"", "1", "true", "null"] {
            assert!(pick(json, &["a"]).unwrap().is_none(), "{json}");
        }
    }

    #[test]
    fn invalid_json_is_an_error() {
        for json in ["", "{", "{\"a\": 1} x", "{\"a\" 1}", "[1,]"] {
            assert!(pick(json, &["a"]).is_err(), "{json}");
        }
        assert!(pick_bytes(b"{\"a\": \"\xff\"}", &["a"]).is_err());
    }

    #[test]
    fn kinds_and_string_bodies() {
        let raw: Vec<&RawValue> =
            serde_json::from_str(r#"[{}, [], "a\"b", -1.5e3, true, false, null]"#).unwrap();
        let kinds: Vec<Kind> = raw.iter().map(|r| kind(r)).collect();
        assert_eq!(
            kinds,
            [
                Kind::Object,
                Kind::Array,
                Kind::String,
                Kind::Number,
                Kind::Bool(true),
                Kind::Bool(false),
                Kind::Null
            ]
        );
        assert_eq!(string_body(raw[2]), Some(r#"a\"b"#));
        assert_eq!(elements(raw[1]).map(|e| e.len()), Some(0));
        assert!(elements(raw[0]).is_none());
    }
}
