//! [`RawObject`]: a JSON object's top-level members as raw value texts,
//! read and patched without a `Value` tree.
//!
//! An object is parsed once: its top-level keys (borrowed when unescaped,
//! owned when the key had escapes) in document order, each pointing at the
//! exact text of its value. Edits replace or remove single entries;
//! [`RawObject::write`] emits the object again with every untouched value
//! copied byte for byte. Nested objects are patched the same way, one level
//! at a time, only where an edit needs to recurse.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use serde_json::value::RawValue;

use super::Scanner;
use super::syntax::{self as json, SyntaxError};

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
pub struct RawObject<'a> {
    entries: Vec<Option<(Cow<'a, str>, Val<'a>)>>,
    /// Whether an edit changed the object since it was parsed.
    changed: bool,
    /// Whether the source had duplicate keys (written back de-duplicated).
    had_duplicates: bool,
    /// The element count of one array member, taken while reading it (the
    /// key the reader was asked to count), until that member changes.
    counted: Option<(&'static str, usize)>,
}

impl<'a> RawObject<'a> {
    /// Parses a JSON object (anything else is an error).
    #[cfg(test)]
    pub fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
        Self::parse_str(text).map_err(|e| e.describe(text))
    }

    /// Parses the JSON object in `text`, validating all of it.
    ///
    /// Duplicate keys keep the first position and the last value. Objects
    /// with many keys get a hash index while parsing; small ones are
    /// searched linearly, which is faster than hashing.
    pub fn parse_str(text: &'a str) -> Result<Self, SyntaxError> {
        Self::parse_counting(text, None)
    }

    /// [`parse_str`](Self::parse_str), also counting the elements of the
    /// member `count` when it is an array (see [`counted`](Self::counted)):
    /// the count costs nothing while the array is validated anyway.
    pub fn parse_counting(text: &'a str, count: Option<&'static str>) -> Result<Self, SyntaxError> {
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
                // ok: `quoted` holds at least its two quotes.
                #[allow(clippy::indexing_slicing)]
                let inner = &quoted[1..quoted.len() - 1];
                super::text::decode(inner.as_bytes())
                    .map(|k| Cow::Owned(k.into_owned()))
                    .ok_or_else(|| SyntaxError::at(i, "invalid unicode escape in a key"))?
            } else {
                // ok: `quoted` holds at least its two quotes.
                #[allow(clippy::indexing_slicing)]
                let inner = &quoted[1..quoted.len() - 1];
                Cow::Borrowed(inner)
            };
            i = match count {
                Some(counted) if key == counted && b.get(member.value_start) == Some(&b'[') => {
                    let (end, n) = json::array_end(b, member.value_start)?;
                    obj.counted = Some((counted, n));
                    end
                }
                Some(counted) if key == counted => {
                    // A repeated key's last value counts.
                    obj.counted = None;
                    json::value_end(b, member.value_start)?
                }
                _ => json::value_end(b, member.value_start)?,
            };
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

    /// The object whose members a converter reports having written into
    /// `text` (see [`BodyLayout`](crate::adapter::BodyLayout)); `None` when
    /// a range does not lie on `text`'s characters (then parse it).
    /// `counted` is an element count the writer knows, as
    /// [`parse_counting`](Self::parse_counting) takes it.
    pub fn from_members(
        text: &'a str,
        members: &[(&'static str, Range<usize>)],
        counted: Option<(&'static str, usize)>,
    ) -> Option<Self> {
        let mut obj = RawObject {
            entries: Vec::with_capacity(members.len() + 4),
            counted,
            ..RawObject::default()
        };
        let mut index = None;
        for (key, range) in members {
            let value = text.get(range.clone())?;
            obj.insert(Cow::Borrowed(*key), value, &mut index);
        }
        Some(obj)
    }

    /// The object whose members a request transform reports having written
    /// into `text` (see
    /// [`ClientBodyLayout`](crate::prepare::ClientBodyLayout)): each a
    /// key's string token and its value, duplicates read as
    /// [`parse_str`](Self::parse_str) reads them, the member `count`
    /// counted as [`parse_counting`](Self::parse_counting) counts it.
    /// `None` when a range does not lie on `text`'s characters or a key is
    /// no string token.
    pub fn from_ranges(
        text: &'a str,
        members: &[(Range<usize>, Range<usize>)],
        count: Option<&'static str>,
    ) -> Option<Self> {
        let mut obj = RawObject {
            entries: Vec::with_capacity(members.len() + 4),
            ..RawObject::default()
        };
        let mut index = None;
        for (key, value) in members {
            let inner = text
                .get(key.clone())?
                .strip_prefix('"')?
                .strip_suffix('"')?;
            let key = if inner.contains('\\') {
                Cow::Owned(super::text::decode(inner.as_bytes())?.into_owned())
            } else {
                Cow::Borrowed(inner)
            };
            let value_text = text.get(value.clone())?;
            if let Some(counted) = count
                && key == counted
            {
                // A repeated key's last value counts.
                obj.counted = value_text
                    .starts_with('[')
                    .then(|| json::array_end(text.as_bytes(), value.start).ok())
                    .flatten()
                    .map(|(_, n)| (counted, n));
            }
            obj.insert(key, value_text, &mut index);
        }
        Some(obj)
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
    pub fn is_changed(&self) -> bool {
        self.changed
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.as_ref().is_some_and(|(k, _)| k == key))
    }

    /// The value text of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .flatten()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.text())
    }

    /// Whether the object has at least one key.
    pub fn has_entries(&self) -> bool {
        self.entries.iter().any(Option::is_some)
    }

    /// Whether `key` is present (even as `null`).
    pub fn contains(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// The string value of `key`, unescaped (`None` when absent or not a
    /// string).
    pub fn get_str(&self, key: &str) -> Option<Cow<'_, str>> {
        self.get(key).and_then(json_str)
    }

    /// Sets `key` to the JSON `text` (kept in place when present, appended
    /// otherwise). Setting a value to its current text is not a change.
    pub fn set(&mut self, key: &'a str, text: impl Into<Cow<'a, str>>) {
        self.put(key, Val::Text(text.into()));
    }

    /// Sets `key` to a value borrowed from configuration.
    pub fn set_raw(&mut self, key: &'a str, raw: &'a RawValue) {
        self.put(key, Val::Raw(raw.get()));
    }

    fn put(&mut self, key: &'a str, val: Val<'a>) {
        self.uncount(key);
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
    pub fn remove(&mut self, key: &str) {
        self.uncount(key);
        if let Some(slot) = self.position(key).and_then(|i| self.entries.get_mut(i)) {
            *slot = None;
            self.changed = true;
        }
    }

    /// The element count of the member counted while reading (`None` when
    /// `key` was not counted, or was set or removed since).
    pub fn counted(&self, key: &str) -> Option<usize> {
        self.counted.filter(|(k, _)| *k == key).map(|(_, n)| n)
    }

    fn uncount(&mut self, key: &str) {
        if self.counted.is_some_and(|(k, _)| k == key) {
            self.counted = None;
        }
    }

    /// Writes the object as compact JSON: keys re-escaped, values as they
    /// were.
    pub fn write(&self, out: &mut Vec<u8>) {
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
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(self.text_len() + 2);
        self.write(&mut out);
        // ok: every piece written is UTF-8 text (keys, `&str` values, ASCII
        // punctuation).
        #[allow(clippy::expect_used)]
        String::from_utf8(out).expect("RawObject writes UTF-8")
    }

    /// The written size when no key needs escaping (exact then; a lower
    /// bound otherwise), so the output buffer is allocated once and fits.
    pub fn text_len(&self) -> usize {
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

/// The string a JSON text holds, unescaped (borrowed when it has no
/// escapes); `None` for other types.
pub fn json_str(text: &str) -> Option<Cow<'_, str>> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    super::text::decode(inner.as_bytes())
}

/// Whether a JSON text is an object.
pub fn is_object(text: &str) -> bool {
    text.starts_with('{')
}

/// Whether a JSON text is an array or an object.
pub fn is_container(text: &str) -> bool {
    text.starts_with('{') || text.starts_with('[')
}

/// The number of elements of a JSON array text (0 for anything else).
pub fn array_len(text: &str) -> usize {
    if !text.starts_with('[') {
        return 0;
    }
    let mut n = 0usize;
    let counted = Scanner::new(text.as_bytes()).array(|s| {
        n += 1;
        s.skip()
    });
    if counted.is_ok() { n } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(obj: &RawObject<'_>) -> String {
        obj.to_json()
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
    fn the_counted_array_is_counted_until_it_changes() {
        let text = r#"{"tools":[{"a":[1,2]}, 2 ,"x"],"n":[1]}"#;
        let mut obj = RawObject::parse_counting(text, Some("tools")).unwrap();
        assert_eq!(obj.counted("tools"), Some(3));
        assert_eq!(obj.counted("n"), None);
        assert_eq!(array_len(obj.get("tools").unwrap()), 3);
        obj.set("tools", "[]");
        assert_eq!(obj.counted("tools"), None);
        let empty = RawObject::parse_counting(r#"{"tools":[ ]}"#, Some("tools")).unwrap();
        assert_eq!(empty.counted("tools"), Some(0));
        assert!(RawObject::parse_counting(r#"{"tools":[1,]}"#, Some("tools")).is_err());
        let repeated = RawObject::parse_counting(r#"{"tools":[1],"tools":{}}"#, Some("tools"));
        assert_eq!(repeated.unwrap().counted("tools"), None);
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
    fn array_len_counts_elements() {
        assert_eq!(array_len(r#"[{"a":[1,2]}, 2, "x"]"#), 3);
        assert_eq!(array_len("{}"), 0);
    }
}
