//! [`VarTemplate`]: text with `$variables`, resolved per request exactly as
//! APISIX's `core.utils.resolve_var` does.
//!
//! APISIX matches `(?<!\\)\$(\{\s*([^}]+?)\s*\}|([\w\.]+))` (apache/apisix
//! master `apisix/core/utils.lua`): `$name` (name = ASCII letters, digits,
//! `_` and `.`) or `${ name }` (anything up to the first `}`, trimmed), not
//! preceded by a backslash. Inside braces `name ?? default` gives a default
//! for an unset variable. An unset variable without a default becomes the
//! empty string and does not count as resolved; rules keyed on a template
//! that resolved nothing do not apply.

use std::borrow::Cow;

/// A template parsed once (at configuration time) and resolved per request.
///
/// ```
/// use std::borrow::Cow;
/// use ai_proxy_core::config::VarTemplate;
///
/// let t = VarTemplate::parse("${http_count ?? 10}");
/// assert!(t.has_vars());
/// let unset = t.resolve(|_| None);
/// assert_eq!((unset.text.as_str(), unset.resolved), ("10", 1));
/// let set = t.resolve(|name| (name == "http_count").then_some(Cow::Borrowed("25")));
/// assert_eq!(set.text, "25");
///
/// let key = VarTemplate::parse("$consumer_name:$http_x_team");
/// let r = key.resolve(|name| (name == "consumer_name").then_some(Cow::Borrowed("jack")));
/// assert_eq!((r.text.as_str(), r.resolved), ("jack:", 1));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarTemplate {
    source: String,
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Var {
        name: String,
        default: Option<String>,
    },
}

/// A resolved template.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resolved {
    /// The text with every variable replaced.
    pub text: String,
    /// How many variables had a value (their own or their default).
    pub resolved: usize,
}

impl VarTemplate {
    /// Parses `text`. Every text is a valid template: whatever does not
    /// form a variable stays literal, as in APISIX.
    pub fn parse(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut segments = Vec::new();
        let mut literal_start = 0;
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            let escaped = i > 0 && bytes.get(i - 1) == Some(&b'\\');
            let found = if b == b'$' && !escaped {
                variable_at(text, i)
            } else {
                None
            };
            let Some((segment, end)) = found else {
                i += 1;
                continue;
            };
            if let Some(lit) = text.get(literal_start..i).filter(|l| !l.is_empty()) {
                segments.push(Segment::Literal(lit.to_owned()));
            }
            segments.push(segment);
            literal_start = end;
            i = end;
        }
        if let Some(lit) = text.get(literal_start..).filter(|l| !l.is_empty()) {
            segments.push(Segment::Literal(lit.to_owned()));
        }
        Self {
            source: text.to_owned(),
            segments,
        }
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the template holds at least one variable.
    pub fn has_vars(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Var { .. }))
    }

    /// The variable names, in order (with repeats).
    pub fn var_names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Var { name, .. } => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// The `??` defaults, in order.
    pub fn defaults(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Var {
                default: Some(d), ..
            } => Some(d.as_str()),
            _ => None,
        })
    }

    /// Resolves every variable through `var` (`None` = unset).
    pub fn resolve<'v>(&self, mut var: impl FnMut(&str) -> Option<Cow<'v, str>>) -> Resolved {
        let mut out = Resolved::default();
        for segment in &self.segments {
            match segment {
                Segment::Literal(s) => out.text.push_str(s),
                Segment::Var { name, default } => match (var(name), default) {
                    (Some(v), _) => {
                        out.text.push_str(&v);
                        out.resolved += 1;
                    }
                    (None, Some(d)) => {
                        out.text.push_str(d);
                        out.resolved += 1;
                    }
                    (None, None) => {}
                },
            }
        }
        out
    }
}

/// The variable starting at the `$` at `at`, and where it ends.
fn variable_at(text: &str, at: usize) -> Option<(Segment, usize)> {
    let rest = text.get(at + 1..)?;
    if let Some(inner) = rest.strip_prefix('{') {
        // `\{\s*([^}]+?)\s*\}`: up to the first `}`, at least one character
        // that is not blank.
        let close = inner.find('}')?;
        let body = inner.get(..close)?.trim_matches(is_pcre_space);
        if body.is_empty() {
            return None;
        }
        return Some((braced(body), at + 2 + close + 1));
    }
    let len = rest
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
        .count();
    let name = rest.get(..len).filter(|n| !n.is_empty())?;
    Some((
        Segment::Var {
            name: name.to_owned(),
            default: None,
        },
        at + 1 + len,
    ))
}

/// `name ?? default` split on `\s*\?\?\s*`; only the first two pieces
/// count, and an empty default is no default (ngx.re.split drops it).
fn braced(body: &str) -> Segment {
    let mut pieces = body.split("??").map(|p| p.trim_matches(is_pcre_space));
    let name = pieces.next().unwrap_or_default().to_owned();
    let default = pieces.next().filter(|d| !d.is_empty()).map(str::to_owned);
    Segment::Var { name, default }
}

/// PCRE's `\s`: space, \t, \n, \v, \f, \r.
fn is_pcre_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl FnMut(&str) -> Option<Cow<'a, str>> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| Cow::Borrowed(*v))
        }
    }

    #[test]
    fn plain_and_braced_names_are_substituted() {
        let t = VarTemplate::parse("$remote_addr-${http_x_user}!");
        let r = t.resolve(vars(&[("remote_addr", "1.2.3.4"), ("http_x_user", "bob")]));
        assert_eq!(r.text, "1.2.3.4-bob!");
        assert_eq!(r.resolved, 2);
    }

    #[test]
    fn plain_names_may_contain_dots() {
        let t = VarTemplate::parse("$post_arg.model/x");
        let r = t.resolve(vars(&[("post_arg.model", "gpt-4")]));
        assert_eq!(r.text, "gpt-4/x");
    }

    #[test]
    fn unset_variables_become_empty_and_do_not_count() {
        let t = VarTemplate::parse("$a:$b");
        let r = t.resolve(vars(&[("b", "2")]));
        assert_eq!((r.text.as_str(), r.resolved), (":2", 1));
        let none = t.resolve(vars(&[]));
        assert_eq!((none.text.as_str(), none.resolved), (":", 0));
    }

    #[test]
    fn defaults_apply_to_unset_variables_and_count_as_resolved() {
        let t = VarTemplate::parse("${ http_count ?? 10 }");
        assert_eq!(t.var_names().collect::<Vec<_>>(), ["http_count"]);
        assert_eq!(t.defaults().collect::<Vec<_>>(), ["10"]);
        let r = t.resolve(vars(&[]));
        assert_eq!((r.text.as_str(), r.resolved), ("10", 1));
        assert_eq!(t.resolve(vars(&[("http_count", "7")])).text, "7");
    }

    #[test]
    fn an_empty_default_is_no_default() {
        let t = VarTemplate::parse("${a ??}");
        assert_eq!(t.defaults().count(), 0);
        assert_eq!(t.resolve(vars(&[])).resolved, 0);
    }

    #[test]
    fn escaped_dollar_stays_literal_with_its_backslash() {
        let t = VarTemplate::parse(r"\$a-$a");
        assert_eq!(t.resolve(vars(&[("a", "x")])).text, r"\$a-x");
    }

    #[test]
    fn unclosed_or_empty_braces_stay_literal() {
        let t = VarTemplate::parse("${a-$b");
        assert_eq!(t.resolve(vars(&[("b", "y")])).text, "${a-y");
        let t = VarTemplate::parse("${ }$");
        assert!(!t.has_vars());
        assert_eq!(t.resolve(vars(&[])).text, "${ }$");
    }

    #[test]
    fn text_without_variables_resolves_to_itself_with_nothing_resolved() {
        let t = VarTemplate::parse("global");
        assert!(!t.has_vars());
        let r = t.resolve(vars(&[]));
        assert_eq!((r.text.as_str(), r.resolved), ("global", 0));
        assert_eq!(t.as_str(), "global");
    }

    #[test]
    fn non_ascii_text_around_variables_is_kept() {
        let t = VarTemplate::parse("é$a€${b}ü");
        let r = t.resolve(vars(&[("a", "1"), ("b", "2")]));
        assert_eq!(r.text, "é1€2ü");
    }
}
