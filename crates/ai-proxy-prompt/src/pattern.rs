//! A guard pattern as `ngx.re` reads it, written for the `regex` crate.
//!
//! APISIX matches with `ngx.re.find(text, pattern, "jou")`: PCRE in UTF-8
//! mode without `PCRE_UCP`, where `\d`, `\w`, `\s` and `\b` are ASCII
//! (`\w` is `[0-9A-Za-z_]`; `é` is no word character). The `regex` crate
//! makes them Unicode-aware by default; written ASCII they are both what
//! APISIX does and what keeps matching on the lazy DFA: a Unicode `\b`
//! makes the DFA give up at the first non-ASCII byte of the text and the
//! whole search fall back to the PikeVM, about a hundred times slower on
//! a long prompt.

/// `pattern` with the Perl classes spelled as PCRE's ASCII ones. Each
/// class becomes a bracketed class, which reads the same at the top level
/// and nested inside a class (`[\w-]` becomes `[[0-9A-Za-z_]-]`); word
/// boundaries become ASCII ones.
pub(crate) fn pcre_ascii(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(escaped) = chars.next() else {
            // A trailing `\`: left for the parser to refuse.
            out.push(c);
            break;
        };
        out.push_str(match escaped {
            'd' => "[0-9]",
            'D' => "[^0-9]",
            'w' => "[0-9A-Za-z_]",
            'W' => "[^0-9A-Za-z_]",
            's' => r"[\t\n\x0B\x0C\r ]",
            'S' => r"[^\t\n\x0B\x0C\r ]",
            'b' => r"(?-u:\b)",
            'B' => r"(?-u:\B)",
            _ => {
                out.push(c);
                out.push(escaped);
                continue;
            }
        });
    }
    out
}
