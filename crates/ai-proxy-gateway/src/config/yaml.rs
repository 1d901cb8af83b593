//! Config-sync YAML into a [`Value`], bounded in time and memory, with
//! every error at a real line and column.
//!
//! The YAML parser (libyaml, through `serde_norway`) reads the whole
//! document into events before anything can refuse it, and its scanner
//! re-checks every open flow level at each token: `a: ` + 100,000 × `[`
//! took 31 s. So [`scan`] first walks the text once, linearly, and refuses
//! what would be expensive — flow collections (`[`, `{`) nested more than
//! [`MAX_DEPTH`] deep, more than [`MAX_VALUES`] nodes — at the offending
//! line and column. It also notes where the first alias and a second
//! document start, to place the parser's own position-less errors
//! ("repetition limit exceeded", "more than one document").
//!
//! The walk tokenises as libyaml does where it matters (quoted and block
//! scalars, comments, flow indicators). Where it cannot tell — a quote or
//! `|` that may continue a plain scalar from the line before — it does not
//! skip anything, so it may over-count nesting but never under-counts it.
//! Alias expansion ("billion laughs") is bounded afterwards by
//! [`ValueReader`]'s value count and the parser's repetition limit.

use serde_json::Value;

use ai_proxy::config::{
    ConfigError, ConfigErrorKind, ConfigErrors, MAX_DEPTH, MAX_VALUES, ValueReader, check_size,
};

/// Parses config-sync YAML text into a [`Value`] (duplicate keys refused
/// at their JSON path, see [`ValueReader`]).
pub(crate) fn parse_yaml(text: &str) -> Result<Value, ConfigErrors> {
    check_size(text)?;
    let marks = scan(text)?;
    let mut reader = ValueReader::new();
    let value = reader.read(serde_norway::Deserializer::from_str(text));
    value.map_err(|e| {
        let location = e.location().map(|l| (l.line(), l.column()));
        let message = e.to_string();
        let (line, column) = match location {
            Some(at) if at != (0, 0) => at,
            // The parser knows no position for these: give the one that
            // explains them.
            _ if message.contains("repetition limit") => marks.first_alias.unwrap_or((1, 1)),
            _ if message.contains("more than one document") => {
                marks.second_document.unwrap_or((1, 1))
            }
            _ => marks.end,
        };
        let error = match reader.rejection() {
            Some(rejection) => rejection.at(line, column),
            None => ConfigError::syntax("YAML", line, column, &describe(&message)),
        };
        error.into()
    })
}

/// Clearer words for the parser's limits (its message may end with the
/// position, which [`ConfigError::syntax`] drops).
fn describe(message: &str) -> String {
    if message.contains("recursion limit exceeded") {
        format!("nested too deeply: more than {MAX_DEPTH} levels")
    } else if message.contains("repetition limit exceeded") {
        "aliases expand too far (repetition limit exceeded, starting at the first alias); \
         remove the repeated aliases"
            .to_owned()
    } else {
        message.to_owned()
    }
}

fn syntax(line: usize, column: usize, what: &str) -> ConfigError {
    ConfigError::new(
        "",
        ConfigErrorKind::Syntax { line, column },
        format!("invalid YAML: {what}"),
    )
}

/// Positions [`scan`] found (1-based line, column in characters).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Marks {
    /// The first alias (`*name`).
    pub first_alias: Option<(usize, usize)>,
    /// A document marker (`---`) after content: a second document.
    pub second_document: Option<(usize, usize)>,
    /// The end of the text.
    pub end: (usize, usize),
}

/// The linear pre-scan: refuses flow nesting over [`MAX_DEPTH`] and more
/// than [`MAX_VALUES`] nodes, and notes the [`Marks`].
pub(crate) fn scan(text: &str) -> Result<Marks, ConfigErrors> {
    Scanner::new(text).run()
}

struct Scanner<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    line: usize,
    line_start: usize,
    /// Open flow collections.
    flow: usize,
    /// Tokens that make a parser event (scalars, aliases, flow collection
    /// starts and ends).
    nodes: usize,
    /// The previous line ended inside a plain scalar, which may continue
    /// on this one: its first token is not trusted to open anything.
    continued: bool,
    /// The current line has had a token already.
    line_has_token: bool,
    /// Content has been seen (for the second-document mark).
    content: bool,
    first_alias: Option<(usize, usize)>,
    second_document: Option<(usize, usize)>,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            b: text.as_bytes(),
            i: 0,
            line: 1,
            line_start: 0,
            flow: 0,
            nodes: 0,
            continued: false,
            line_has_token: false,
            content: false,
            first_alias: None,
            second_document: None,
        }
    }

    fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    fn blank(c: u8) -> bool {
        matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 0)
    }

    fn flow_indicator(c: u8) -> bool {
        matches!(c, b',' | b'[' | b']' | b'{' | b'}')
    }

    /// (line, column) of byte `i`, the column in characters.
    fn position(&self, i: usize) -> (usize, usize) {
        let column = self
            .text
            .get(self.line_start..i)
            .map_or(i - self.line_start, |s| s.chars().count());
        (self.line, column + 1)
    }

    /// Steps over one byte, counting lines (`\r\n`, `\r` and `\n` end one).
    fn bump(&mut self) {
        let c = self.at(self.i);
        self.i += 1;
        if c == b'\n' || (c == b'\r' && self.at(self.i) != b'\n') {
            self.line += 1;
            self.line_start = self.i;
            self.line_has_token = false;
        }
    }

    fn node(&mut self) -> Result<(), ConfigErrors> {
        self.nodes += 1;
        self.content = true;
        if self.nodes > MAX_VALUES {
            let (line, column) = self.position(self.i);
            return Err(syntax(
                line,
                column,
                &format!("document too large: more than {MAX_VALUES} values; split it"),
            )
            .into());
        }
        Ok(())
    }

    fn run(mut self) -> Result<Marks, ConfigErrors> {
        while self.i < self.b.len() {
            let c = self.at(self.i);
            if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
                self.bump();
                continue;
            }
            let line_start = !self.line_has_token;
            let trusted = !(line_start && self.continued);
            self.line_has_token = true;
            self.continued = false;
            self.token(c, line_start, trusted)?;
        }
        Ok(Marks {
            first_alias: self.first_alias,
            second_document: self.second_document,
            end: self.position(self.i),
        })
    }

    fn token(&mut self, c: u8, line_start: bool, trusted: bool) -> Result<(), ConfigErrors> {
        let next = self.at(self.i + 1);
        let column0 = self.i == self.line_start;
        match c {
            b'#' => self.skip_line(),
            b'%' if column0 => self.skip_line(),
            b'-' | b'.'
                if column0
                    && self
                        .b
                        .get(self.i..self.i + 3)
                        .is_some_and(|m| m == b"---" || m == b"...")
                    && Self::blank(self.at(self.i + 3)) =>
            {
                if c == b'-' && self.content && self.second_document.is_none() {
                    self.second_document = Some(self.position(self.i));
                }
                self.i += 3;
            }
            b'[' | b'{' => {
                self.node()?;
                self.flow += 1;
                if self.flow > MAX_DEPTH {
                    let (line, column) = self.position(self.i);
                    return Err(syntax(
                        line,
                        column,
                        &format!("nested too deeply: more than {MAX_DEPTH} levels of `[` / `{{`"),
                    )
                    .into());
                }
                self.i += 1;
            }
            b']' | b'}' => {
                // The parser holds an event for each end too.
                self.node()?;
                self.flow = self.flow.saturating_sub(1);
                self.i += 1;
            }
            b',' => self.i += 1,
            b'-' | b'?' | b':' if Self::blank(next) => self.i += 1,
            b':' if self.flow > 0 && Self::flow_indicator(next) => self.i += 1,
            b'*' => {
                self.node()?;
                self.first_alias.get_or_insert(self.position(self.i));
                self.skip_name();
            }
            b'&' | b'!' => self.skip_name(),
            b'\'' | b'"' if trusted => {
                self.node()?;
                self.skip_quoted(c);
            }
            b'|' | b'>' if trusted && self.flow == 0 => {
                self.node()?;
                self.skip_block_scalar(line_start);
            }
            _ => {
                self.node()?;
                self.skip_plain();
            }
        }
        Ok(())
    }

    fn skip_line(&mut self) {
        while self.i < self.b.len() && !matches!(self.at(self.i), b'\n' | b'\r') {
            self.i += 1;
        }
    }

    /// An anchor, alias or tag name: up to a blank or, so that nothing is
    /// hidden, any flow indicator.
    fn skip_name(&mut self) {
        self.i += 1;
        while self.i < self.b.len() {
            let c = self.at(self.i);
            if Self::blank(c) || Self::flow_indicator(c) {
                break;
            }
            self.i += 1;
        }
    }

    /// A quoted scalar, possibly over several lines: `''` escapes a single
    /// quote, `\` the next character of a double-quoted one.
    fn skip_quoted(&mut self, quote: u8) {
        self.i += 1;
        while self.i < self.b.len() {
            let c = self.at(self.i);
            if quote == b'"' && c == b'\\' {
                self.i += 1;
                if matches!(self.at(self.i), b'\n' | b'\r') {
                    self.bump();
                } else {
                    self.i += 1;
                }
            } else if c == quote {
                self.i += 1;
                if quote == b'\'' && self.at(self.i) == b'\'' {
                    self.i += 1;
                } else {
                    return;
                }
            } else {
                self.bump();
            }
        }
    }

    /// A plain scalar on this line: up to `: `, ` #`, the line end, and in
    /// flow context a flow indicator. A line end leaves it open.
    fn skip_plain(&mut self) {
        self.i += 1;
        while self.i < self.b.len() {
            let c = self.at(self.i);
            let next = self.at(self.i + 1);
            let ends = match c {
                b'\n' | b'\r' => {
                    self.continued = true;
                    true
                }
                b':' => Self::blank(next) || (self.flow > 0 && Self::flow_indicator(next)),
                b' ' | b'\t' => next == b'#',
                _ => self.flow > 0 && Self::flow_indicator(c),
            };
            if ends {
                return;
            }
            self.i += 1;
        }
    }

    /// A literal or folded block scalar: its header line, then every line
    /// indented at least as much as its first non-empty line, which must be
    /// indented more than the node that owns the scalar.
    fn skip_block_scalar(&mut self, line_start: bool) {
        let owner = self.owner_indent(line_start);
        let mut explicit = None;
        self.i += 1;
        while self.i < self.b.len() && !matches!(self.at(self.i), b'\n' | b'\r') {
            let c = self.at(self.i);
            if c.is_ascii_digit() && explicit.is_none() {
                explicit = Some(usize::from(c - b'0'));
            }
            self.i += 1;
        }
        let mut content_indent = explicit.map(|k| owner + k);
        loop {
            if self.i >= self.b.len() {
                return;
            }
            // At a line end: look at the next line.
            let line_end = self.i;
            self.bump();
            if self.at(line_end) == b'\r' && self.at(self.i) == b'\n' {
                self.bump();
            }
            let start = self.i;
            let mut indent = 0;
            while self.at(start + indent) == b' ' {
                indent += 1;
            }
            let rest = self.at(start + indent);
            let empty = matches!(rest, b'\n' | b'\r') || start + indent >= self.b.len();
            if !empty {
                let needed = *content_indent.get_or_insert(indent.max(owner + 1));
                if indent < needed || indent <= owner {
                    // Not part of the scalar: scan this line normally.
                    self.i = start;
                    return;
                }
            }
            self.i = start;
            self.skip_line();
        }
    }

    /// The indentation of the node a block scalar belongs to: the column
    /// of the last `- ` entry or key on its line (an over-estimate is safe:
    /// fewer lines are skipped).
    fn owner_indent(&self, line_start: bool) -> usize {
        let line = self.b.get(self.line_start..self.i).unwrap_or_default();
        if line_start {
            return line.iter().take_while(|&&c| c == b' ').count();
        }
        let mut owner = 0;
        let mut j = 0;
        while j < line.len() {
            let c = line.get(j).copied().unwrap_or(0);
            if c == b' ' {
                j += 1;
                continue;
            }
            owner = j;
            if matches!(c, b'-' | b'?') && line.get(j + 1).is_none_or(|n| *n == b' ') {
                j += 1;
                continue;
            }
            break;
        }
        owner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> ConfigError {
        let errors = parse_yaml(text).unwrap_err();
        assert_eq!(errors.errors().len(), 1, "{errors}");
        errors.errors()[0].clone()
    }

    #[test]
    fn deep_flow_nesting_is_refused_at_the_opener_in_linear_time() {
        let text = format!("a: {}", "[".repeat(100_000));
        let e = refused(&text);
        assert_eq!(
            e.kind,
            ConfigErrorKind::Syntax {
                line: 1,
                column: 132
            }
        );
        assert!(e.message.contains("nested too deeply"), "{e}");
    }

    #[test]
    fn nesting_within_the_limit_still_parses() {
        let text = format!(
            "a: {}1{}",
            "[".repeat(MAX_DEPTH - 2),
            "]".repeat(MAX_DEPTH - 2)
        );
        assert!(parse_yaml(&text).is_ok());
    }

    #[test]
    fn brackets_in_quoted_block_and_comment_text_do_not_count() {
        let many = "[".repeat(500);
        let text = format!(
            "a: '{many}'\nb: \"{many} \\\" {many}\"\nc: |\n  {many}\n    {many}\n\n  x\n# {many}\nd: x{many}\ne: 1\n"
        );
        let value = parse_yaml(&text).unwrap();
        assert_eq!(value["e"], 1);
        assert!(value["c"].as_str().unwrap().ends_with("\nx\n"));
    }

    #[test]
    fn a_dedented_line_ends_a_block_scalar_and_is_scanned() {
        // libyaml ends the scalar at the less-indented line and reads the
        // brackets as flow: so does the scan.
        let text = format!("k: |\n      text\n  {}", "[".repeat(1000));
        assert!(refused(&text).message.contains("nested too deeply"));
    }

    #[test]
    fn a_quote_continuing_a_plain_scalar_hides_nothing() {
        let text = format!("a: [x\n'y, {}", "[".repeat(1000));
        assert!(refused(&text).message.contains("nested too deeply"));
    }

    #[test]
    fn block_nesting_past_the_limit_is_located() {
        let text = format!("{}x", "- ".repeat(5000));
        let e = refused(&text);
        assert!(
            matches!(e.kind, ConfigErrorKind::Syntax { line: 1, .. }),
            "{e:?}"
        );
        assert!(e.message.contains("nested too deeply"), "{e}");
    }

    #[test]
    fn an_alias_bomb_is_refused_at_its_first_alias() {
        let mut text = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
        for (i, name) in ('b'..='i').enumerate() {
            let prev = (b'a' + u8::try_from(i).unwrap()) as char;
            text.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{prev}"); 10].join(",")
            ));
        }
        let e = refused(&text);
        assert_eq!(e.kind, ConfigErrorKind::Syntax { line: 2, column: 8 });
        assert!(e.message.contains("aliases expand too far"), "{e}");
    }

    #[test]
    fn a_second_document_is_located() {
        let e = refused("a: 1\n---\nb: 2\n");
        assert_eq!(e.kind, ConfigErrorKind::Syntax { line: 2, column: 1 });
    }

    #[test]
    fn duplicate_keys_are_located_by_path() {
        let e = refused("routes:\n  - id: r\n    id: s\n");
        assert_eq!(e.path, "routes[0].id");
        assert_eq!(e.kind, ConfigErrorKind::Duplicate);
        assert!(
            e.message
                .starts_with("duplicate key `id` (line 2, column 5)"),
            "{e}"
        );
    }

    #[test]
    fn too_many_nodes_are_refused_before_parsing() {
        let text = format!("[{}]", "1,".repeat(MAX_VALUES));
        assert!(refused(&text).message.contains("more than 250000 values"));
    }

    /// YAML-ish text: indicators, quotes, block scalars, anchors, noise.
    fn yamlish() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            Just("a: ".to_owned()),
            Just("- ".to_owned()),
            Just("\n".to_owned()),
            Just("\n  ".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just(", ".to_owned()),
            Just("'q''x'".to_owned()),
            Just("\"d\\\"x\"".to_owned()),
            Just("|\n  text [\n".to_owned()),
            Just("# c [\n".to_owned()),
            Just("&a ".to_owned()),
            Just("*a".to_owned()),
            Just("---\n".to_owned()),
            Just("? ".to_owned()),
            "[a-z:#'\"|>&*!%@` \t\r\n\\-]{0,8}",
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #[test]
        fn every_error_has_a_real_line_and_column(text in yamlish()) {
            if let Err(errors) = parse_yaml(&text) {
                for e in errors.errors() {
                    if let ConfigErrorKind::Syntax { line, column } = e.kind {
                        proptest::prop_assert!(line >= 1 && column >= 1, "{e:?} for {text:?}");
                    }
                    proptest::prop_assert!(!e.to_string().contains("line 0"), "{e} for {text:?}");
                }
            }
        }
    }
}
