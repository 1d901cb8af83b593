//! `ai-prompt-template`: the client names a configured request body and
//! sends the values of its `{{var}}` placeholders
//! (`apisix/plugins/ai-prompt-template.lua`, which renders through
//! `body-transformer.lua` and lua-resty-template).
//!
//! The client body is `{"template_name": "…", "<var>": …}`; the upstream
//! body is the template with every placeholder filled: the whole request
//! becomes the template (other client members are not sent, as in APISIX).
//! `{{ name }}` reads the top-level member `name`, `{{ a.b }}` a member of
//! an object; a missing or `null` value is empty, numbers and booleans are
//! their JSON text, objects and arrays their JSON text as a string.
//!
//! **JSON-safe, unlike APISIX.** APISIX renders the template's JSON text
//! with lua-resty-template, whose `{{ }}` escapes values for HTML: a value
//! `the "borrow" checker` reaches the upstream as `the &quot;borrow&quot;
//! checker`, and characters JSON must escape (a newline, a backslash) break
//! the body. Here placeholders are filled inside the JSON strings they
//! stand in, with JSON escaping: the upstream receives exactly the text the
//! client sent. Only `{{ path }}` placeholders are supported (`\{{`
//! writes a literal `{{`); lua-resty-template's code tags (`{% %}`,
//! `{* *}`, `{# #}`) and expressions are refused when the route is loaded.

use ai_proxy_core::config::{ConfigError, ConfigErrorKind, ConfigErrors, PromptTemplateConfig};
use ai_proxy_core::json::scan::{Raw, fields};
use ai_proxy_core::json::write::write_str;
use bytes::Bytes;
use serde_json::Value;

use crate::body::ClientBody;
use crate::error::PromptError;

/// Deepest `{{ a.b.c }}` path.
const MAX_PATH_DEPTH: usize = 16;

/// A piece of a compiled template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    /// JSON text written as is.
    Literal(Vec<u8>),
    /// A value from the client body, written inside a JSON string.
    Var(Vec<String>),
}

/// One compiled template.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Compiled {
    name: String,
    pieces: Vec<Piece>,
}

/// A compiled `ai-prompt-template`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptTemplate {
    templates: Vec<Compiled>,
    max_req_body_size: u64,
}

impl PromptTemplate {
    /// Validates and compiles an `ai-prompt-template` plugin object.
    pub fn from_value(value: &Value) -> Result<Self, ConfigErrors> {
        Self::compile(&PromptTemplateConfig::from_value(value)?)
    }

    /// Compiles a validated config; a placeholder it cannot fill is refused
    /// with its path (`templates[0].template.messages[1].content: …`).
    pub fn compile(config: &PromptTemplateConfig) -> Result<Self, ConfigErrors> {
        let mut errors = Vec::new();
        let mut templates = Vec::with_capacity(config.templates.len());
        for (i, t) in config.templates.iter().enumerate() {
            let mut writer = Writer {
                pieces: Vec::new(),
                errors: &mut errors,
            };
            let path = format!("templates[{i}].template");
            writer.object(&t.template, &path);
            let pieces = writer.pieces;
            templates.push(Compiled {
                name: t.name.clone(),
                pieces,
            });
        }
        if !errors.is_empty() {
            return Err(ConfigErrors::new(errors));
        }
        Ok(Self {
            templates,
            max_req_body_size: config.max_req_body_size,
        })
    }

    /// The body the template named by the client's `template_name` renders
    /// to, filled from the client's `body`.
    pub fn apply(&self, body: &[u8]) -> Result<Bytes, PromptError> {
        let read = ClientBody::read(body, self.max_req_body_size)?;
        let name = match read.get("template_name") {
            None => return Err(PromptError::TemplateNameMissing),
            Some(n) if n.is_null() || n.bytes() == b"false" => {
                return Err(PromptError::TemplateNameMissing);
            }
            Some(n) => n,
        };
        let template = match name.str() {
            Some(s) => self
                .templates
                .iter()
                .find(|t| t.name == s)
                .ok_or_else(|| PromptError::not_configured(&s)),
            None => Err(PromptError::not_configured(&String::from_utf8_lossy(
                name.bytes(),
            ))),
        }?;
        let mut out = Vec::with_capacity(256);
        for piece in &template.pieces {
            match piece {
                Piece::Literal(text) => out.extend_from_slice(text),
                Piece::Var(path) => fill(&mut out, lookup(&read, path)),
            }
        }
        Ok(Bytes::from(out))
    }
}

/// The value at `path` in the body.
fn lookup<'a>(body: &ClientBody<'a>, path: &[String]) -> Option<Raw<'a>> {
    let (first, rest) = path.split_first()?;
    let mut value = body.get(first)?;
    for key in rest {
        if !value.is_object() {
            return None;
        }
        let [member] = fields(value, [key.as_str()]).ok()?;
        value = member?;
    }
    Some(value)
}

/// Writes `value` as the contents of a JSON string.
fn fill(out: &mut Vec<u8>, value: Option<Raw<'_>>) {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return;
    };
    if value.is_string() {
        // Already escaped as JSON wants it: copied as sent.
        out.extend_from_slice(value.inner());
    } else if value.is_array() || value.is_object() {
        let mut quoted = Vec::with_capacity(value.bytes().len() + 8);
        write_str(&mut quoted, &String::from_utf8_lossy(value.bytes()));
        out.extend_from_slice(
            quoted
                .get(1..quoted.len().saturating_sub(1))
                .unwrap_or_default(),
        );
    } else {
        // Numbers and booleans: their JSON text needs no escaping.
        out.extend_from_slice(value.bytes());
    }
}

/// Writes a template's JSON, splitting its strings at placeholders.
struct Writer<'e> {
    pieces: Vec<Piece>,
    errors: &'e mut Vec<ConfigError>,
}

impl Writer<'_> {
    fn literal(&mut self, bytes: &[u8]) {
        if let Some(Piece::Literal(last)) = self.pieces.last_mut() {
            last.extend_from_slice(bytes);
        } else {
            self.pieces.push(Piece::Literal(bytes.to_vec()));
        }
    }

    fn value(&mut self, value: &Value, path: &str) {
        match value {
            Value::Object(map) => self.object(map, path),
            Value::Array(items) => {
                self.literal(b"[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.literal(b",");
                    }
                    self.value(item, &format!("{path}[{i}]"));
                }
                self.literal(b"]");
            }
            Value::String(s) => self.string(s, path),
            scalar => self.literal(scalar.to_string().as_bytes()),
        }
    }

    fn object(&mut self, map: &serde_json::Map<String, Value>, path: &str) {
        self.literal(b"{");
        for (i, (key, value)) in map.iter().enumerate() {
            if i > 0 {
                self.literal(b",");
            }
            self.string(key, path);
            self.literal(b":");
            self.value(value, &format!("{path}.{key}"));
        }
        self.literal(b"}");
    }

    /// A JSON string whose `{{ path }}` placeholders become [`Piece::Var`].
    fn string(&mut self, text: &str, path: &str) {
        if let Some(tag) = ["{%", "{*", "{#"].into_iter().find(|t| text.contains(t)) {
            self.errors.push(ConfigError::new(
                path,
                ConfigErrorKind::Unsupported,
                format!(
                    "lua-resty-template's `{tag}` tags are not supported in templates; only \
                     {{{{ name }}}} placeholders are filled"
                ),
            ));
        }
        self.literal(b"\"");
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            let (before, tail) = rest.split_at(open);
            if let Some(kept) = before.strip_suffix('\\') {
                // `\{{`: a literal `{{`.
                self.escaped(kept);
                self.escaped("{{");
                rest = tail.get(2..).unwrap_or_default();
                continue;
            }
            self.escaped(before);
            let Some(close) = tail.find("}}") else {
                // lua-resty-template: an unclosed tag is text.
                rest = tail;
                break;
            };
            let expression = tail.get(2..close).unwrap_or_default().trim();
            match var_path(expression) {
                Some(var) => self.pieces.push(Piece::Var(var)),
                None => self.errors.push(ConfigError::new(
                    path,
                    ConfigErrorKind::Unsupported,
                    format!(
                        "unsupported placeholder `{{{{{expression}}}}}`: only {{{{ name }}}} or \
                         {{{{ name.field }}}} (a member of the client's body) can be filled; \
                         write \\{{{{ for a literal {{{{"
                    ),
                )),
            }
            rest = tail.get(close + 2..).unwrap_or_default();
        }
        self.escaped(rest);
        self.literal(b"\"");
    }

    /// `text` escaped as string contents.
    fn escaped(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let mut quoted = Vec::with_capacity(text.len() + 2);
        write_str(&mut quoted, text);
        self.literal(
            quoted
                .get(1..quoted.len().saturating_sub(1))
                .unwrap_or_default(),
        );
    }
}

/// `name` or `name.field…`: Lua identifiers joined by dots.
fn var_path(expression: &str) -> Option<Vec<String>> {
    let parts: Vec<String> = expression.split('.').map(str::to_owned).collect();
    let identifier = |s: &String| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    (parts.len() <= MAX_PATH_DEPTH && parts.iter().all(identifier)).then_some(parts)
}
