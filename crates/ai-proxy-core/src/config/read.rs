//! Configuration text into a [`Value`] the validators walk: bounded, and
//! strict where serde's own `Value` is lax.
//!
//! `serde_json::from_str::<Value>` (and YAML parsers feeding the same
//! visitor) keep the *last* of two equal keys, so
//! `{"auth":{"header":{"Authorization":"Bearer A","Authorization":"Bearer B"}}}`
//! silently loses a credential. [`ValueReader`] builds the same tree in the
//! same single pass, but refuses a repeated key with the JSON path of its
//! second occurrence, and bounds what one document may cost: nesting depth
//! ([`MAX_DEPTH`]) and the number of values ([`MAX_VALUES`], which is what
//! stops YAML alias "billion laughs" expansion). [`parse_json`] also caps the
//! text ([`MAX_DOCUMENT_BYTES`]).
//!
//! ```
//! use ai_proxy_core::config::parse_json;
//!
//! let errors = parse_json(r#"{"auth":{"header":{"X":"a","X":"b"}}}"#).unwrap_err();
//! assert_eq!(
//!     errors.to_string(),
//!     "auth.header.X: duplicate key `X` (line 1, column 35): a key may appear once per \
//!      object; remove one of them"
//! );
//! ```

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

use super::error::{ConfigError, ConfigErrorKind, ConfigErrors, join_path as join};

/// The largest configuration document accepted: 16 MiB (an APISIX
/// config-sync file with thousands of routes is a few MiB).
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// The deepest nesting of objects and arrays accepted (serde_json's and the
/// YAML parser's own recursion limit).
pub const MAX_DEPTH: usize = 128;

/// The most values (objects, arrays and scalars, counted after YAML aliases
/// are expanded) one document may hold: 250,000, some 4,000 routes of
/// five-instance `ai-proxy-multi` plugins, and about 75 MB as a tree.
pub const MAX_VALUES: usize = 250_000;

/// A problem [`ValueReader`] found beyond the format's own syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// JSON path of the offending value (for a duplicate: the second
    /// occurrence).
    pub path: String,
    /// [`ConfigErrorKind::Duplicate`] or [`ConfigErrorKind::Invalid`].
    pub kind: ConfigErrorKind,
    /// What is wrong (no position: the format's error carries it).
    pub what: String,
    /// How to fix it.
    pub fix: &'static str,
}

impl Rejection {
    /// The [`ConfigError`] for this rejection, found at `line`, `column`
    /// (1-based) of the text.
    pub fn at(self, line: usize, column: usize) -> ConfigError {
        let message = format!("{} (line {line}, column {column}): {}", self.what, self.fix);
        ConfigError::new(self.path, self.kind, message)
    }
}

/// Reads one configuration value from any serde format, rejecting
/// duplicate keys and bounding depth and size.
///
/// The format's own errors (syntax, its recursion limit) come back as they
/// are; when the reader itself refused the input,
/// [`rejection`](Self::rejection) says where and why: the JSON path is
/// exact; the line and column are where the format was when the problem
/// showed — for a repeated key, just after its value in JSON and the start
/// of its object in YAML. (Checking each key as it is read would place it
/// better but hash every key twice; this costs what serde_json's own
/// `Value` costs, see `benches/config.rs`.)
#[derive(Debug)]
pub struct ValueReader {
    values: usize,
    max_values: usize,
    rejection: Option<Rejection>,
}

impl Default for ValueReader {
    fn default() -> Self {
        Self::new()
    }
}

impl ValueReader {
    /// A reader allowing [`MAX_VALUES`] values.
    pub fn new() -> Self {
        Self::with_max_values(MAX_VALUES)
    }

    /// A reader allowing `max_values` values.
    pub fn with_max_values(max_values: usize) -> Self {
        Self {
            values: 0,
            max_values,
            rejection: None,
        }
    }

    /// Reads one value from `deserializer`.
    pub fn read<'de, D: Deserializer<'de>>(&mut self, deserializer: D) -> Result<Value, D::Error> {
        self.values = 0;
        self.rejection = None;
        Node {
            reader: self,
            path: Path::Root,
            depth: 0,
        }
        .deserialize(deserializer)
    }

    /// Why the last [`read`](Self::read) was refused by the reader itself
    /// (`None`: the format's own error).
    pub fn rejection(&mut self) -> Option<Rejection> {
        self.rejection.take()
    }

    fn count<E: de::Error>(&mut self, path: &Path<'_>) -> Result<(), E> {
        self.values += 1;
        if self.values > self.max_values {
            return Err(self.reject(
                path,
                ConfigErrorKind::Invalid,
                format!("document too large: more than {} values", self.max_values),
                "YAML aliases can expand a small file into a huge one; remove the repetition \
                 or split the document",
            ));
        }
        Ok(())
    }

    fn reject<E: de::Error>(
        &mut self,
        path: &Path<'_>,
        kind: ConfigErrorKind,
        what: String,
        fix: &'static str,
    ) -> E {
        let error = E::custom(format_args!("{what}: {fix}"));
        self.rejection = Some(Rejection {
            path: path.render(),
            kind,
            what,
            fix,
        });
        error
    }
}

/// Parses configuration JSON text into a [`Value`]: the text at most
/// [`MAX_DOCUMENT_BYTES`], no duplicate key (located by its JSON path, line
/// and column), at most [`MAX_DEPTH`] levels and [`MAX_VALUES`] values.
/// Syntax errors carry their line and column.
pub fn parse_json(text: &str) -> Result<Value, ConfigErrors> {
    check_size(text)?;
    let mut reader = ValueReader::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let value = reader
        .read(&mut de)
        .and_then(|value| de.end().map(|()| value));
    value.map_err(|e| {
        let error = match reader.rejection() {
            Some(rejection) => rejection.at(e.line(), e.column()),
            None => ConfigError::syntax("JSON", e.line(), e.column(), &e.to_string()),
        };
        error.into()
    })
}

/// Refuses a document over [`MAX_DOCUMENT_BYTES`].
pub fn check_size(text: &str) -> Result<(), ConfigErrors> {
    if text.len() <= MAX_DOCUMENT_BYTES {
        return Ok(());
    }
    Err(ConfigError::new(
        "",
        ConfigErrorKind::Invalid,
        format!(
            "document too large: {} bytes, the limit is {MAX_DOCUMENT_BYTES} (16 MiB); split it",
            text.len()
        ),
    )
    .into())
}

/// Where a value sits, as a linked list up the stack (no allocation until
/// an error renders it).
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Key(parent, key) => join(&parent.render(), key),
            Path::Index(parent, i) => format!("{}[{i}]", parent.render()),
        }
    }
}

/// The seed and visitor for one value.
struct Node<'r, 'p> {
    reader: &'r mut ValueReader,
    path: Path<'p>,
    depth: usize,
}

impl Node<'_, '_> {
    fn scalar<E: de::Error>(self, value: Value) -> Result<Value, E> {
        self.reader.count(&self.path)?;
        Ok(value)
    }

    fn open<E: de::Error>(&mut self) -> Result<(), E> {
        self.reader.count(&self.path)?;
        if self.depth >= MAX_DEPTH {
            return Err(self.reader.reject(
                &self.path,
                ConfigErrorKind::Invalid,
                format!("nested too deeply: more than {MAX_DEPTH} levels"),
                "flatten the objects and arrays",
            ));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.scalar(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.scalar(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.scalar(Value::Number(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(i), _) => self.visit_i64(i),
            (_, Ok(u)) => self.visit_u64(u),
            // As serde_json's `Value` does for integers past 64 bits.
            #[allow(clippy::cast_precision_loss)]
            _ => self.visit_f64(v as f64),
        }
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        match u64::try_from(v) {
            Ok(u) => self.visit_u64(u),
            #[allow(clippy::cast_precision_loss)]
            Err(_) => self.visit_f64(v as f64),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.scalar(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.scalar(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.scalar(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.scalar(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.scalar(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Value, A::Error> {
        self.open()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        loop {
            let child = Node {
                reader: &mut *self.reader,
                path: Path::Index(&self.path, items.len()),
                depth: self.depth + 1,
            };
            match seq.next_element_seed(child)? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut access: A) -> Result<Value, A::Error> {
        self.open()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key_seed(Key)? {
            let child = Node {
                reader: &mut *self.reader,
                path: Path::Key(&self.path, &key),
                depth: self.depth + 1,
            };
            let value = access.next_value_seed(child)?;
            // One hash per key, as serde_json's own `Value` spends: the
            // repeat is found when it is inserted, after its value.
            match map.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(first) => {
                    return Err(self.reader.reject(
                        &Path::Key(&self.path, first.key()),
                        ConfigErrorKind::Duplicate,
                        format!("duplicate key `{}`", shown(first.key())),
                        "a key may appear once per object; remove one of them",
                    ));
                }
            }
        }
        Ok(Value::Object(map))
    }
}

/// A key as messages show it: escaped, and cut after 64 characters.
fn shown(key: &str) -> String {
    let mut out: String = key.chars().take(64).flat_map(char::escape_debug).collect();
    if key.chars().nth(64).is_some() {
        out.push('…');
    }
    out
}

/// An object key: a string (YAML scalars such as `1` or `true` arrive as
/// their text).
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for Key {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> ConfigError {
        let errors = parse_json(text).unwrap_err();
        assert_eq!(errors.errors().len(), 1);
        errors.errors()[0].clone()
    }

    #[test]
    fn same_tree_as_serde_json() {
        let text =
            r#"{"a":[1,-2,3.5,1e300,"x\u00e9",true,null,{}],"b":{"c":18446744073709551615}}"#;
        assert_eq!(
            parse_json(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn duplicate_key_is_located_at_its_second_occurrence() {
        let e = error(
            r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer A","Authorization":"Bearer B"}}}"#,
        );
        assert_eq!(e.path, "auth.header.Authorization");
        assert_eq!(e.kind, ConfigErrorKind::Duplicate);
        assert!(
            e.message
                .starts_with("duplicate key `Authorization` (line 1, column 93)"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("Bearer"));
    }

    #[test]
    fn duplicate_keys_are_found_at_every_depth_and_in_arrays() {
        assert_eq!(error(r#"{"a":1,"a":2}"#).path, "a");
        assert_eq!(
            error(r#"{"instances":[{},{"name":"x","name":"y"}]}"#).path,
            "instances[1].name"
        );
        assert_eq!(error(r#"[[{"k":{"k":1,"k":2}}]]"#).path, "[0][0].k.k");
    }

    #[test]
    fn escaped_spellings_of_one_key_are_duplicates() {
        assert_eq!(error(r#"{"model":1,"mod\u0065l":2}"#).path, "model");
    }

    #[test]
    fn equal_keys_in_different_objects_are_fine() {
        assert!(parse_json(r#"{"a":{"k":1},"b":{"k":1},"k":[{"k":1},{"k":2}]}"#).is_ok());
    }

    #[test]
    fn value_count_is_bounded() {
        let mut reader = ValueReader::with_max_values(3);
        let mut de = serde_json::Deserializer::from_str("[1,[2,3]]");
        let e = reader.read(&mut de).unwrap_err();
        let rejection = reader.rejection().unwrap();
        assert_eq!(rejection.path, "[1][0]");
        assert!(
            e.to_string()
                .starts_with("document too large: more than 3 values")
        );
    }

    #[test]
    fn deep_nesting_is_a_located_syntax_error() {
        let text = "[".repeat(100_000);
        let e = error(&text);
        assert_eq!(
            e.kind,
            ConfigErrorKind::Syntax {
                line: 1,
                column: 128
            }
        );
        assert!(
            e.message.contains("recursion limit exceeded"),
            "{}",
            e.message
        );
    }

    #[test]
    fn oversized_documents_are_refused_before_parsing() {
        let text = format!("\"{}\"", "a".repeat(MAX_DOCUMENT_BYTES));
        assert!(error(&text).message.starts_with("document too large"));
    }
}
