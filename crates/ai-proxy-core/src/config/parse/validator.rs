//! [`Validator`]: collects every error, with its JSON path, while a plugin
//! object is walked.

use serde_json::{Map, Value};

use super::suggest::closest;
use crate::config::error::{ConfigError, ConfigErrorKind, join_path as join};

/// Collects errors while walking one plugin object.
#[derive(Default)]
pub(crate) struct Validator {
    pub(crate) errors: Vec<ConfigError>,
}

impl Validator {
    pub(super) fn push(&mut self, path: &str, kind: ConfigErrorKind, message: impl Into<String>) {
        self.errors.push(ConfigError::new(path, kind, message));
    }

    pub(super) fn type_error(&mut self, path: &str, expected: &str, got: &Value) {
        self.push(
            path,
            ConfigErrorKind::Type,
            format!("must be {expected}, got {}", type_name(got)),
        );
    }

    pub(super) fn invalid(&mut self, path: &str, message: impl Into<String>) {
        self.push(path, ConfigErrorKind::Invalid, message);
    }

    /// Reports every key of `map` not in `allowed`, suggesting the closest
    /// allowed name for likely typos.
    pub(super) fn unknown_fields(
        &mut self,
        map: &Map<String, Value>,
        path: &str,
        allowed: &[&str],
    ) {
        for key in map.keys() {
            if allowed.contains(&key.as_str()) {
                continue;
            }
            let message = match closest(key, allowed.iter().copied()) {
                Some(best) => format!("unknown field `{key}`, did you mean `{best}`?"),
                None => format!(
                    "unknown field `{key}`, expected one of: {}",
                    allowed
                        .iter()
                        .filter(|f| !f.starts_with('_'))
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.push(&join(path, key), ConfigErrorKind::UnknownField, message);
        }
    }

    pub(super) fn object<'a>(
        &mut self,
        value: &'a Value,
        path: &str,
    ) -> Option<&'a Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            other => {
                self.type_error(path, "an object", other);
                None
            }
        }
    }

    /// An optional object field.
    pub(super) fn opt_object<'a>(
        &mut self,
        map: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a Map<String, Value>> {
        map.get(key).and_then(|v| self.object(v, &join(path, key)))
    }

    pub(super) fn bool_field(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        path: &str,
        default: bool,
    ) -> bool {
        match map.get(key) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.type_error(&join(path, key), "a boolean", other);
                default
            }
        }
    }

    /// An optional integer in `min..=max`.
    pub(super) fn int_field(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        path: &str,
        min: u64,
        max: u64,
    ) -> Option<u64> {
        let value = map.get(key)?;
        let path = join(path, key);
        let n = self.integer(value, &path)?;
        if n < i128::from(min) {
            self.invalid(&path, format!("must be ≥ {min}, got {n}"));
            return None;
        }
        if n > i128::from(max) {
            self.invalid(&path, format!("must be ≤ {max}, got {n}"));
            return None;
        }
        u64::try_from(n).ok()
    }

    /// Any JSON integer (also `3.0`, which JSON Schema counts as one).
    pub(super) fn integer(&mut self, value: &Value, path: &str) -> Option<i128> {
        if let Value::Number(n) = value {
            if let Some(i) = n.as_i64() {
                return Some(i128::from(i));
            }
            if let Some(u) = n.as_u64() {
                return Some(i128::from(u));
            }
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                // Exact: |f| < 2^53.
                #[allow(clippy::cast_possible_truncation)]
                return Some(f as i128);
            }
        }
        self.type_error(path, "an integer", value);
        None
    }

    pub(super) fn string<'a>(&mut self, value: &'a Value, path: &str) -> Option<&'a str> {
        match value {
            Value::String(s) => Some(s),
            other => {
                self.type_error(path, "a string", other);
                None
            }
        }
    }

    /// An optional non-empty string field.
    pub(super) fn nonempty_string_field<'a>(
        &mut self,
        map: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a str> {
        let path = join(path, key);
        let s = self.string(map.get(key)?, &path)?;
        if s.is_empty() {
            self.invalid(&path, "must not be empty");
            return None;
        }
        Some(s)
    }
    /// A cloud region name, which becomes part of a host name.
    pub(super) fn region(&mut self, region: &str, path: &str) {
        if !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            self.invalid(
                path,
                "must be a region name such as us-central1 or us-east-1 (letters, digits and `-`); it becomes part of the host name",
            );
        }
    }

    /// An optional number in `min..=max`.
    pub(super) fn number_field(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        path: &str,
        min: f64,
        max: f64,
    ) -> Option<f64> {
        let value = map.get(key)?;
        let path = join(path, key);
        let Some(n) = value.as_f64() else {
            self.type_error(&path, "a number", value);
            return None;
        };
        if n < min || n > max {
            self.invalid(&path, format!("must be between {min} and {max}, got {n}"));
            return None;
        }
        Some(n)
    }

    /// A string that must be one of `names`; `None` when it is not.
    pub(super) fn one_of<'n>(
        &mut self,
        value: &Value,
        path: &str,
        names: &[&'n str],
    ) -> Option<&'n str> {
        let s = self.string(value, path)?;
        let found = names.iter().find(|n| **n == s).copied();
        if found.is_none() {
            self.invalid(
                path,
                format!("must be one of: {}, got `{s}`", names.join(", ")),
            );
        }
        found
    }

    /// An optional string field that must be one of `names`.
    pub(super) fn one_of_field<'n>(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        path: &str,
        names: &[&'n str],
    ) -> Option<&'n str> {
        let value = map.get(key)?;
        self.one_of(value, &join(path, key), names)
    }

    /// An optional array of strings (`None` when absent or malformed).
    pub(super) fn string_array_field<'a>(
        &mut self,
        map: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<Vec<&'a str>> {
        let value = map.get(key)?;
        let path = join(path, key);
        let Value::Array(items) = value else {
            self.type_error(&path, "an array of strings", value);
            return None;
        };
        let before = self.errors.len();
        let out: Vec<&str> = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.string(item, &format!("{path}[{i}]")))
            .collect();
        (self.errors.len() == before).then_some(out)
    }
}

/// The JSON type name of a value, for messages (never its content).
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
