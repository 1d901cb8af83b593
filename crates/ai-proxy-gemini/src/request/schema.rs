//! JSON Schema → the subset Gemini's `Schema` accepts (OpenAPI 3.0 style),
//! for `functionDeclarations[].parameters` and `responseSchema`.
//!
//! Kept: `type`, `format` (the values Gemini documents per type), `title`,
//! `description`, `nullable`, `enum`, `properties`, `required`, `items`,
//! `anyOf`, `minItems`, `maxItems`, `minLength`, `maxLength`, `pattern`,
//! `minProperties`, `maxProperties`, `minimum`, `maximum`, `example`,
//! `default`, `propertyOrdering`. Rewritten: a `type` array
//! (`["string", "null"]` → `type` + `nullable`), `{"type": "null"}` members
//! of `anyOf` (→ `nullable`), `oneOf` and a one-member `allOf` (→ `anyOf`),
//! a string `const` (→ one-value `enum`), local `$ref`s to `$defs` /
//! `definitions` (inlined; a recursive reference becomes `{"type":
//! "object"}`). Everything else (`additionalProperties`, `$schema`,
//! `exclusiveMinimum`, `not`, …) is removed, and an object schema with no
//! properties loses its empty `properties` (Gemini rejects them).

use std::borrow::Cow;

use ai_proxy_core::json::scan::{Raw, Scanner, SyntaxError, elements, fields};
use ai_proxy_core::json::write::write_str;

/// Deepest schema nesting converted.
const MAX_DEPTH: usize = 64;
/// Most `$ref` expansions per schema (inlining can grow a schema
/// exponentially; this bounds the output).
const MAX_REF_EXPANSIONS: usize = 256;

/// What a written schema turned out to hold.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Info {
    /// A non-empty `properties` was written.
    pub has_properties: bool,
}

/// Writes `,"parameters":<schema>` unless the schema declares no
/// properties (a function without arguments: Gemini wants no
/// `parameters` then).
pub(crate) fn write_parameters(out: &mut Vec<u8>, raw: Raw<'_>) -> Result<(), String> {
    let mut buf = Vec::with_capacity(raw.bytes().len());
    let info = write_schema_root(&mut buf, raw)?;
    if info.has_properties {
        out.extend_from_slice(b",\"parameters\":");
        out.extend_from_slice(&buf);
    }
    Ok(())
}

/// Writes the converted schema of `raw` (a root: its `$defs` resolve refs).
pub(super) fn write_schema_root(out: &mut Vec<u8>, raw: Raw<'_>) -> Result<Info, String> {
    if !raw.is_object() {
        return Err("must be a JSON Schema object".to_owned());
    }
    let mut writer = Writer {
        defs: definitions(raw)?,
        expansions: 0,
        expanding: Vec::new(),
    };
    writer.schema(out, raw, 0, None)
}

/// A definition: which section it is in (`$defs` or `definitions`), its
/// name and its schema.
type Definition<'a> = (&'static str, Cow<'a, str>, Raw<'a>);

fn definitions(root: Raw<'_>) -> Result<Vec<Definition<'_>>, String> {
    let [defs, definitions] = fields(root, ["$defs", "definitions"]).map_err(scan_error)?;
    let mut out = Vec::new();
    for (section, raw) in [("$defs", defs), ("definitions", definitions)] {
        let Some(raw) = raw.filter(|d| d.is_object()) else {
            continue;
        };
        for (key, value) in members(raw)? {
            out.push((section, key.str().unwrap_or_default(), value));
        }
    }
    Ok(out)
}

fn scan_error(e: SyntaxError) -> String {
    format!("malformed JSON at byte {}", e.offset)
}

/// The `(key, value)` members of an object.
fn members(raw: Raw<'_>) -> Result<Vec<(Raw<'_>, Raw<'_>)>, String> {
    let mut out = Vec::new();
    let mut s = Scanner::new(raw.bytes());
    s.object(|key, s| {
        out.push((key.raw(), s.value()?));
        Ok::<(), SyntaxError>(())
    })
    .map_err(scan_error)?;
    Ok(out)
}

/// The keywords read from a schema; from `minItems` on, they are copied
/// as they are, in this order (`title` last).
const KEYS: [&str; 26] = [
    "type",
    "format",
    "description",
    "nullable",
    "enum",
    "const",
    "properties",
    "required",
    "items",
    "anyOf",
    "oneOf",
    "allOf",
    "$ref",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "minProperties",
    "maxProperties",
    "minimum",
    "maximum",
    "example",
    "default",
    "propertyOrdering",
    "title",
];

/// Whether Gemini documents `format` for a type.
fn format_allowed(ty: &str, format: &str) -> bool {
    matches!(
        (ty, format),
        ("string", "enum" | "date-time")
            | ("number", "float" | "double")
            | ("integer", "int32" | "int64")
    )
}

fn key(out: &mut Vec<u8>, first: &mut bool, name: &[u8]) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    out.push(b'"');
    out.extend_from_slice(name);
    out.extend_from_slice(b"\":");
}

struct Writer<'a> {
    defs: Vec<Definition<'a>>,
    expansions: usize,
    /// Definitions being inlined on the current path (cycle detection).
    expanding: Vec<usize>,
}

impl<'a> Writer<'a> {
    fn schema(
        &mut self,
        out: &mut Vec<u8>,
        raw: Raw<'a>,
        depth: usize,
        description: Option<Raw<'a>>,
    ) -> Result<Info, String> {
        if depth > MAX_DEPTH {
            return Err(format!("schema nests deeper than {MAX_DEPTH} levels"));
        }
        if raw.bytes() == b"true" {
            // The boolean schema `true` accepts anything.
            out.extend_from_slice(b"{}");
            return Ok(Info::default());
        }
        if !raw.is_object() {
            return Err("a schema must be a JSON object".to_owned());
        }
        let [
            ty,
            format,
            own_description,
            nullable,
            enumeration,
            constant,
            properties,
            required,
            items,
            any_of,
            one_of,
            all_of,
            reference,
            copied @ ..,
        ] = fields(raw, KEYS).map_err(scan_error)?;
        let description = description.or(own_description.filter(|d| d.is_string()));
        if let Some(reference) = reference {
            return self.reference(out, reference, depth, description);
        }
        let mut info = Info::default();
        let mut first = true;
        let mut nullable = nullable.is_some_and(|n| n.bytes() == b"true");
        out.push(b'{');

        // `type`: a string, or an array (`null` in it → `nullable`).
        let mut primary: Option<Cow<'a, str>> = None;
        let mut alternatives: Vec<Cow<'a, str>> = Vec::new();
        match ty {
            Some(t) if t.is_string() => {
                key(out, &mut first, b"type");
                out.extend_from_slice(t.bytes());
                primary = t.str();
            }
            Some(t) if t.is_array() => {
                for el in elements(t).map_err(scan_error)? {
                    match el.str() {
                        Some(s) if s == "null" => nullable = true,
                        Some(s) => alternatives.push(s),
                        None => {}
                    }
                }
                if alternatives.len() == 1 {
                    let only = alternatives.remove(0);
                    key(out, &mut first, b"type");
                    write_str(out, &only);
                    primary = Some(only);
                }
            }
            _ => {}
        }
        if let (Some(ty), Some(format)) = (&primary, format.and_then(Raw::str))
            && format_allowed(ty, &format)
        {
            key(out, &mut first, b"format");
            write_str(out, &format);
        }
        if let Some(d) = description {
            key(out, &mut first, b"description");
            out.extend_from_slice(d.bytes());
        }
        if let Some(e) = enumeration.filter(|e| e.is_array()) {
            key(out, &mut first, b"enum");
            out.extend_from_slice(e.bytes());
        } else if let Some(c) = constant.filter(|c| c.is_string()) {
            key(out, &mut first, b"enum");
            out.push(b'[');
            out.extend_from_slice(c.bytes());
            out.push(b']');
        }
        if let Some(props) = properties.filter(|p| p.is_object()) {
            let props = members(props)?;
            if !props.is_empty() {
                key(out, &mut first, b"properties");
                out.push(b'{');
                for (n, (name, value)) in props.into_iter().enumerate() {
                    if n > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(name.bytes());
                    out.push(b':');
                    self.schema(out, value, depth + 1, None)?;
                }
                out.push(b'}');
                info.has_properties = true;
                if let Some(r) = required.filter(|r| r.is_array()) {
                    key(out, &mut first, b"required");
                    out.extend_from_slice(r.bytes());
                }
            }
        }
        if let Some(items) = items.filter(|i| i.is_object() || i.bytes() == b"true") {
            key(out, &mut first, b"items");
            self.schema(out, items, depth + 1, None)?;
        }
        // `anyOf`, else `oneOf`, else a one-member `allOf`; else a type
        // array with several types.
        let single_all_of = all_of
            .filter(|a| a.is_array())
            .map(|a| elements(a).map_err(scan_error))
            .transpose()?
            .filter(|a| a.len() == 1);
        let variants = match any_of.or(one_of).filter(|a| a.is_array()) {
            Some(a) => Some(elements(a).map_err(scan_error)?),
            None => single_all_of,
        };
        if let Some(variants) = variants {
            let mut written = 0;
            for variant in variants {
                if is_null_schema(variant)? {
                    nullable = true;
                    continue;
                }
                if written == 0 {
                    key(out, &mut first, b"anyOf");
                    out.push(b'[');
                } else {
                    out.push(b',');
                }
                written += 1;
                self.schema(out, variant, depth + 1, None)?;
            }
            if written > 0 {
                out.push(b']');
            }
        } else if alternatives.len() > 1 {
            key(out, &mut first, b"anyOf");
            out.push(b'[');
            for (n, t) in alternatives.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"type\":");
                write_str(out, t);
                out.push(b'}');
            }
            out.push(b']');
        }
        let copied_names = KEYS.iter().skip(KEYS.len() - copied.len());
        for (name, value) in copied_names.zip(copied) {
            if let Some(v) = value.filter(|v| !v.is_null()) {
                key(out, &mut first, name.as_bytes());
                out.extend_from_slice(v.bytes());
            }
        }
        if nullable {
            key(out, &mut first, b"nullable");
            out.extend_from_slice(b"true");
        }
        out.push(b'}');
        Ok(info)
    }

    /// Inlines a local `$ref`.
    fn reference(
        &mut self,
        out: &mut Vec<u8>,
        reference: Raw<'a>,
        depth: usize,
        description: Option<Raw<'a>>,
    ) -> Result<Info, String> {
        let target = reference
            .str()
            .ok_or_else(|| "$ref must be a string".to_owned())?;
        let unsupported = || {
            format!(
                "$ref `{target}` cannot be inlined for Gemini (only local #/$defs/… and \
                 #/definitions/… references are)"
            )
        };
        let (section, name) = if let Some(n) = target.strip_prefix("#/$defs/") {
            ("$defs", n)
        } else if let Some(n) = target.strip_prefix("#/definitions/") {
            ("definitions", n)
        } else {
            return Err(unsupported());
        };
        // JSON Pointer escapes.
        let name = name.replace("~1", "/").replace("~0", "~");
        let index = self
            .defs
            .iter()
            .position(|(s, n, _)| *s == section && *n == name)
            .ok_or_else(unsupported)?;
        if self.expanding.contains(&index) {
            // A recursive type: cut the cycle with an open object.
            out.extend_from_slice(b"{\"type\":\"object\"");
            if let Some(d) = description {
                out.extend_from_slice(b",\"description\":");
                out.extend_from_slice(d.bytes());
            }
            out.push(b'}');
            return Ok(Info::default());
        }
        self.expansions += 1;
        if self.expansions > MAX_REF_EXPANSIONS {
            return Err(format!(
                "more than {MAX_REF_EXPANSIONS} $ref expansions; flatten the schema"
            ));
        }
        let Some(&(_, _, raw)) = self.defs.get(index) else {
            return Err(unsupported());
        };
        self.expanding.push(index);
        let info = self.schema(out, raw, depth + 1, description);
        self.expanding.pop();
        info
    }
}

/// `{"type": "null"}` (what `Optional[X]` becomes in an `anyOf`).
fn is_null_schema(raw: Raw<'_>) -> Result<bool, String> {
    if !raw.is_object() {
        return Ok(false);
    }
    let [ty] = fields(raw, ["type"]).map_err(scan_error)?;
    Ok(ty.is_some_and(|t| t.str_is("null")))
}
