//! The [`Raw`] tests on a serde `RawValue`, for shapes read with serde
//! (response bodies and events): each answers what the same test on
//! `Raw::from(raw)` answers.

use std::borrow::Cow;

use serde_json::value::RawValue;

use super::Raw;

/// Whether the raw value is a JSON string.
#[inline]
pub fn is_string(raw: &RawValue) -> bool {
    Raw::from(raw).is_string()
}

/// Whether the raw value is a JSON array.
#[inline]
pub fn is_array(raw: &RawValue) -> bool {
    Raw::from(raw).is_array()
}

/// Whether the raw value is a JSON object.
#[inline]
pub fn is_object(raw: &RawValue) -> bool {
    Raw::from(raw).is_object()
}

/// Whether the raw value is a JSON number.
#[inline]
pub fn is_number(raw: &RawValue) -> bool {
    Raw::from(raw).is_number()
}

/// Lua truthiness as APISIX applies it to decoded JSON (see
/// [`Raw::is_truthy`]).
#[inline]
pub fn truthy(raw: &RawValue) -> bool {
    Raw::from(raw).is_truthy()
}

/// Whether the raw value is `null`.
#[inline]
pub fn is_null(raw: &RawValue) -> bool {
    Raw::from(raw).is_null()
}

/// Whether the raw value is the empty string `""`.
#[inline]
pub fn is_empty_string(raw: &RawValue) -> bool {
    Raw::from(raw).is_empty_string()
}

/// A non-empty JSON string token, else `None`.
#[inline]
pub fn non_empty_string(raw: Option<&RawValue>) -> Option<&RawValue> {
    raw.filter(|r| Raw::from(*r).non_empty_string().is_some())
}

/// The escaped contents of a string token, without the quotes.
#[inline]
pub fn string_inner(raw: &RawValue) -> &str {
    let s = raw.get();
    if !is_string(raw) {
        return "";
    }
    s.get(1..s.len().saturating_sub(1)).unwrap_or_default()
}

/// The decoded value of a JSON string token (borrowed when it has no
/// escapes), `None` for any other JSON type.
pub fn str_value(raw: &RawValue) -> Option<Cow<'_, str>> {
    Raw::from(raw).str()
}

/// Whether a string token equals `expected`.
pub fn str_eq(raw: Option<&RawValue>, expected: &str) -> bool {
    raw.is_some_and(|r| Raw::from(r).str_is(expected))
}
