//! [`ConfigError`] and [`ConfigErrors`]: what is wrong with a configuration,
//! and where.

use std::fmt;

use http::StatusCode;

/// One problem in a configuration, located by its JSON path.
///
/// The path is dotted with `[i]` indices, as a user would write it:
/// `instances[1].auth.gcp.max_ttl`. It is empty for problems with the
/// document as a whole (syntax errors, which carry line and column in
/// [`ConfigErrorKind::Syntax`]). Messages never contain credential values.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// JSON path of the offending value (empty for the whole document).
    pub path: String,
    /// What kind of problem this is.
    pub kind: ConfigErrorKind,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

/// The kind of a [`ConfigError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The text is not valid JSON / YAML (1-based line and column).
    Syntax {
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
    },
    /// A field this configuration does not have (often a typo).
    UnknownField,
    /// A required field is absent.
    Missing,
    /// A value has the wrong JSON type.
    Type,
    /// A value is out of its allowed range or set.
    Invalid,
    /// Valid for APISIX, but not supported by this library.
    Unsupported,
    /// A key given twice in one object (the path is the second one). JSON
    /// parsers disagree on which copy wins; APISIX's keeps the last.
    Duplicate,
    /// Accepted, but likely to fail at request time (reported by
    /// `warnings()`, never as an error).
    Warning,
}

impl ConfigError {
    /// A new error.
    pub fn new(path: impl Into<String>, kind: ConfigErrorKind, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            kind,
            message: message.into(),
        }
    }

    /// A syntax error in `language` (`JSON`, `YAML`) text at `line` and
    /// `column`; `parser_message` is the parser's own text, whose trailing
    /// " at line L column C" the kind already says.
    pub fn syntax(language: &str, line: usize, column: usize, parser_message: &str) -> Self {
        let message = parser_message
            .rfind(" at line ")
            .and_then(|i| parser_message.get(..i))
            .unwrap_or(parser_message);
        Self::new(
            "",
            ConfigErrorKind::Syntax { line, column },
            format!("invalid {language}: {message}"),
        )
    }

    /// This error with `prefix` put in front of its path
    /// (`routes[0].plugins.ai-proxy` + `timeout`).
    pub fn prefixed(mut self, prefix: &str) -> Self {
        if !prefix.is_empty() {
            self.path = join_path(prefix, &self.path);
        }
        self
    }
}

/// Joins a path prefix and a relative path with a dot, unless the relative
/// path is empty or starts with an index (`routes[0]` + `plugins` →
/// `routes[0].plugins`; `uris` + `[1]` → `uris[1]`).
pub fn join_path(prefix: &str, rest: &str) -> String {
    match (prefix.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if rest.starts_with('[') => format!("{prefix}{rest}"),
        (false, false) => format!("{prefix}.{rest}"),
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.kind, self.path.is_empty()) {
            (ConfigErrorKind::Syntax { line, column }, true) => {
                write!(f, "line {line}, column {column}: {}", self.message)
            }
            (_, true) => f.write_str(&self.message),
            (_, false) => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The most problems a [`ConfigErrors`] lists.
pub const MAX_LISTED_ERRORS: usize = 100;

/// Every problem found in one configuration (never empty when returned as
/// an error). `Display` prints one `PATH: message` line per problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    /// Wraps a list of errors: the first [`MAX_LISTED_ERRORS`], then one
    /// entry saying how many more there were (a document of a million bad
    /// routes must not print a million lines).
    pub fn new(mut errors: Vec<ConfigError>) -> Self {
        if errors.len() > MAX_LISTED_ERRORS {
            let more = errors.len() - MAX_LISTED_ERRORS;
            errors.truncate(MAX_LISTED_ERRORS);
            errors.push(ConfigError::new(
                "",
                ConfigErrorKind::Invalid,
                format!("… and {more} more problems (the first {MAX_LISTED_ERRORS} are listed)"),
            ));
        }
        Self(errors)
    }

    /// The errors, in document order.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    /// Consumes the list.
    pub fn into_errors(self) -> Vec<ConfigError> {
        self.0
    }

    /// Always 400: an admin API answers a bad configuration this way.
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        Self(vec![error])
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_keep_the_first_problems_and_count_the_rest() {
        let errors: Vec<ConfigError> = (0..MAX_LISTED_ERRORS + 7)
            .map(|i| ConfigError::new(format!("[{i}]"), ConfigErrorKind::Type, "bad"))
            .collect();
        let listed = ConfigErrors::new(errors);
        assert_eq!(listed.errors().len(), MAX_LISTED_ERRORS + 1);
        assert_eq!(
            listed.errors().last().map(ToString::to_string).as_deref(),
            Some("… and 7 more problems (the first 100 are listed)")
        );
    }
}
