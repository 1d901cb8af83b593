//! Lenient, borrowing JSON pieces shared by the protocol observers: a
//! field of an unexpected type reads as "absent" instead of failing the
//! whole event, and strings are borrowed unless they contain escapes.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A token count: any JSON number (negative → 0, fractions floored);
/// anything else → 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count(pub u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CountVisitor;
        impl<'de> Visitor<'de> for CountVisitor {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a token count")
            }
            fn visit_u64<E>(self, v: u64) -> Result<Count, E> {
                Ok(Count(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Count, E> {
                Ok(Count(u64::try_from(v).unwrap_or(0)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Count, E> {
                // `as` saturates; NaN becomes 0.
                Ok(Count(if v > 0.0 { v as u64 } else { 0 }))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Count, E> {
                Ok(Count(0))
            }
            fn visit_str<E>(self, _: &str) -> Result<Count, E> {
                Ok(Count(0))
            }
            fn visit_unit<E>(self) -> Result<Count, E> {
                Ok(Count(0))
            }
            fn visit_none<E>(self) -> Result<Count, E> {
                Ok(Count(0))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Count, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Count(0))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Count, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Count(0))
            }
        }
        deserializer.deserialize_any(CountVisitor)
    }
}

/// A string if the value is one; anything else reads as absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Str<'a>(pub Option<Cow<'a, str>>);

impl<'a> Str<'a> {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

struct StrVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for StrVisitor<'a> {
    type Value = Str<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Str<'a>, E> {
        Ok(Str(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Str<'a>, E> {
        Ok(Str(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E>(self, v: String) -> Result<Str<'a>, E> {
        Ok(Str(Some(Cow::Owned(v))))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Str<'a>, E> {
        Ok(Str(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Str<'a>, E> {
        Ok(Str(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Str<'a>, E> {
        Ok(Str(None))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Str<'a>, E> {
        Ok(Str(None))
    }
    fn visit_unit<E>(self) -> Result<Str<'a>, E> {
        Ok(Str(None))
    }
    fn visit_none<E>(self) -> Result<Str<'a>, E> {
        Ok(Str(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Str<'a>, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Str<'a>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Str(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Str<'a>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Str(None))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrVisitor(PhantomData))
    }
}

/// Whether the value is a non-empty array (e.g. `tool_calls`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NonEmpty(pub bool);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NonEmptyVisitor;
        impl<'de> Visitor<'de> for NonEmptyVisitor {
            type Value = NonEmpty;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NonEmpty, A::Error> {
                let mut any = false;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    any = true;
                }
                Ok(NonEmpty(any))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NonEmpty, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(NonEmpty(false))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NonEmpty, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_none<E>(self) -> Result<NonEmpty, E> {
                Ok(NonEmpty(false))
            }
            fn visit_unit<E>(self) -> Result<NonEmpty, E> {
                Ok(NonEmpty(false))
            }
            fn visit_bool<E>(self, _: bool) -> Result<NonEmpty, E> {
                Ok(NonEmpty(false))
            }
            fn visit_u64<E>(self, _: u64) -> Result<NonEmpty, E> {
                Ok(NonEmpty(false))
            }
            fn visit_i64<E>(self, _: i64) -> Result<NonEmpty, E> {
                Ok(NonEmpty(false))
            }
            fn visit_f64<E>(self, _: f64) -> Result<NonEmpty, E> {
                Ok(NonEmpty(false))
            }
            fn visit_str<E>(self, _: &str) -> Result<NonEmpty, E> {
                Ok(NonEmpty(false))
            }
        }
        deserializer.deserialize_any(NonEmptyVisitor)
    }
}

/// Message content that is a string, or an array of typed parts whose
/// `"type": "text"` parts carry the text (OpenAI content parts, Mistral's
/// thinking/text chunks). Reads as the text, or absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Content<'a>(pub Option<Cow<'a, str>>);

#[derive(serde::Deserialize)]
struct Part<'a> {
    #[serde(default, rename = "type", borrow)]
    kind: Str<'a>,
    #[serde(default, borrow)]
    text: Str<'a>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContentVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for ContentVisitor<'a> {
            type Value = Content<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("message content")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content<'a>, A::Error> {
                let mut text: Option<String> = None;
                while let Some(part) = seq.next_element::<Part<'a>>()? {
                    if part.kind.as_deref() == Some("text")
                        && let Some(piece) = part.text.as_deref()
                    {
                        text.get_or_insert_with(String::new).push_str(piece);
                    }
                }
                Ok(Content(text.map(Cow::Owned)))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Content<'a>, E> {
                Ok(Content(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Content<'a>, E> {
                Ok(Content(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Content<'a>, E> {
                Ok(Content(Some(Cow::Owned(v))))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Content<'a>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Content(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Content<'a>, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_none<E>(self) -> Result<Content<'a>, E> {
                Ok(Content(None))
            }
            fn visit_unit<E>(self) -> Result<Content<'a>, E> {
                Ok(Content(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Content<'a>, E> {
                Ok(Content(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Content<'a>, E> {
                Ok(Content(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Content<'a>, E> {
                Ok(Content(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Content<'a>, E> {
                Ok(Content(None))
            }
        }
        deserializer.deserialize_any(ContentVisitor(PhantomData))
    }
}

/// `{"error": {"message": …}}` or `{"error": "…"}`: the message, when any.
#[derive(Clone, Debug, Default)]
pub struct ErrorInfo {
    pub present: bool,
    pub message: Option<String>,
}

impl ErrorInfo {
    /// An error member that is not an object or a string (`true`, a
    /// number, an array): present or not, and no message to show.
    fn without_message(present: bool) -> Self {
        ErrorInfo {
            present,
            message: None,
        }
    }
}

impl<'de> Deserialize<'de> for ErrorInfo {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ErrorVisitor;
        impl<'de> Visitor<'de> for ErrorVisitor {
            type Value = ErrorInfo;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an error")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ErrorInfo, A::Error> {
                let mut message = None;
                while let Some(key) = map.next_key::<Str<'_>>()? {
                    if key.as_deref() == Some("message") {
                        message = map.next_value::<Str<'_>>()?.0.map(Cow::into_owned);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(ErrorInfo {
                    present: true,
                    message,
                })
            }
            fn visit_str<E>(self, v: &str) -> Result<ErrorInfo, E> {
                Ok(ErrorInfo {
                    present: true,
                    message: Some(v.to_owned()),
                })
            }
            fn visit_unit<E>(self) -> Result<ErrorInfo, E> {
                Ok(ErrorInfo::default())
            }
            fn visit_none<E>(self) -> Result<ErrorInfo, E> {
                Ok(ErrorInfo::default())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<ErrorInfo, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ErrorInfo, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ErrorInfo::without_message(true))
            }
            fn visit_bool<E>(self, v: bool) -> Result<ErrorInfo, E> {
                Ok(ErrorInfo::without_message(v))
            }
            fn visit_u64<E>(self, _: u64) -> Result<ErrorInfo, E> {
                Ok(ErrorInfo::without_message(true))
            }
            fn visit_i64<E>(self, _: i64) -> Result<ErrorInfo, E> {
                Ok(ErrorInfo::without_message(true))
            }
            fn visit_f64<E>(self, _: f64) -> Result<ErrorInfo, E> {
                Ok(ErrorInfo::without_message(true))
            }
        }
        deserializer.deserialize_any(ErrorVisitor)
    }
}

/// The first element of a JSON array; the rest is skipped without
/// allocating (`choices[1]` in APISIX's Lua).
#[derive(Debug)]
pub struct First<T>(pub Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FirstVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for FirstVisitor<T> {
            type Value = First<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<First<T>, A::Error> {
                let first = seq.next_element::<T>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }
        d.deserialize_seq(FirstVisitor(PhantomData))
    }
}

/// Parses `data` as `T`, or `None` when it is not such JSON.
pub fn parse<'a, T: Deserialize<'a>>(data: &'a [u8]) -> Option<T> {
    serde_json::from_slice(data).ok()
}

/// Whether `data` may hold a `"key": <non-null>` member: a cheap byte test
/// that never says no when the answer is yes (for keys written without
/// escapes, as every provider writes them).
pub fn has_non_null(finder: &memchr::memmem::Finder<'_>, data: &[u8]) -> bool {
    let key_len = finder.needle().len();
    // ok: the key was found at `at`, so `at + key_len ≤ data.len()`.
    #[allow(clippy::indexing_slicing)]
    finder
        .find_iter(data)
        .any(|at| non_null_after_key(&data[at + key_len..]))
}

/// A cheap shape test run on every event, parsed or not: a JSON object
/// starts with `{` and ends with `}` (data is already trimmed). Events that
/// pass it are fully validated only when parsed.
pub fn looks_like_object(data: &[u8]) -> bool {
    data.first() == Some(&b'{') && data.last() == Some(&b'}')
}

/// After a key's closing quote: `: <value>` where the value is not `null`.
pub fn non_null_after_key(rest: &[u8]) -> bool {
    let mut i = 0;
    while matches!(rest.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        i += 1;
    }
    if rest.get(i) != Some(&b':') {
        return false;
    }
    i += 1;
    while matches!(rest.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        i += 1;
    }
    rest.get(i).is_some_and(|&b| b != b'n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_clamp_odd_numbers_and_read_other_values_as_zero() {
        let c: Vec<Count> =
            serde_json::from_str(r#"[3, -4, 2.9, 1e30, "7", null, true, [1], {"a":1}]"#).unwrap();
        let want = [3, 0, 2, u64::MAX, 0, 0, 0, 0, 0].map(Count);
        assert_eq!(c, want);
    }

    #[test]
    fn first_takes_the_head_and_skips_the_rest() {
        let f: First<u32> = serde_json::from_str("[1, {\"x\": [2]}, \"y\"]").unwrap();
        assert_eq!(f.0, Some(1));
        let e: First<u32> = serde_json::from_str("[]").unwrap();
        assert_eq!(e.0, None);
    }
}
