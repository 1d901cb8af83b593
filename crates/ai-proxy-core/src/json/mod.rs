//! The JSON toolkit: reading and writing JSON without a `Value` tree.
//!
//! - [`scan`]: a cursor over one JSON text that hands out the raw bytes of
//!   values (strings skipped eight bytes at a time, not decoded), for
//!   converters that read a few members and copy the rest.
//! - [`raw`]: raw JSON tokens (`RawValue`) inspected without decoding,
//!   lenient token counts, and writers appending JSON to a `Vec<u8>` or a
//!   `BytesMut`.
//! - [`chat`]: OpenAI chat requests read in place (messages, text parts,
//!   tool calls, `tool_choice`, data URLs), for converters from OpenAI chat.
//!
//! Request preparation itself uses a validating scanner (crate-private):
//! it must validate every byte it forwards, but only ever looks inside a
//! few top-level fields. `serde_json` validates by driving a visitor over
//! every token; this walks the bytes directly, which is what makes
//! `prepare` cheaper than a plain serde validation of the same body. Its
//! input is `&str` (UTF-8 already checked by the caller), so it only checks
//! grammar. It accepts exactly what `serde_json` accepts when skipping a
//! value (`IgnoredAny`): unpaired `\uD8xx` escapes are syntactically valid
//! JSON and pass, as there. Nesting depth is limited only by the input's
//! size (an explicit bit stack, no recursion).

pub mod chat;
pub mod raw;
pub mod scan;

use std::fmt;

/// Where and why a JSON text is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Byte offset of the offending byte (the input's length at EOF).
    pub offset: usize,
    /// What was wrong.
    pub what: &'static str,
}

impl SyntaxError {
    pub(crate) fn at(offset: usize, what: &'static str) -> Self {
        Self { offset, what }
    }

    /// `"<what> at line L column C"` (1-based, columns in bytes), the form
    /// `serde_json` uses, for the text the offset points into.
    pub fn describe(&self, text: &str) -> String {
        let before = text
            .as_bytes()
            .get(..self.offset)
            .unwrap_or(text.as_bytes());
        let line = 1 + memchr::memchr_iter(b'\n', before).count();
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        let column = self.offset.saturating_sub(line_start) + 1;
        format!("{} at line {line} column {column}", self.what)
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

const EOF_VALUE: &str = "EOF while parsing a value";
const EOF_STRING: &str = "EOF while parsing a string";
pub(crate) const EOF_OBJECT: &str = "EOF while parsing an object";
const EOF_LIST: &str = "EOF while parsing a list";

/// The index of the first non-whitespace byte at or after `i`.
#[inline]
pub(crate) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(c) = b.get(i) {
        if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
            i += 1;
        } else {
            break;
        }
    }
    i
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Flags (the high bit of each byte) the bytes of the word `x` that equal
/// `byte`, eight at a time (SWAR). The lowest flag is exact; flags above a
/// true one may be false (a borrow), so callers take the lowest or check.
#[inline(always)]
pub(crate) fn byte_flags(x: u64, byte: u8) -> u64 {
    let y = x ^ (LO * u64::from(byte));
    y.wrapping_sub(LO) & !y & HI
}

/// The string whose opening quote is at `i`: the index after its closing
/// quote, and whether it contains escapes (so it cannot be borrowed as
/// is).
#[inline]
pub(crate) fn string_end(b: &[u8], i: usize) -> Result<(usize, bool), SyntaxError> {
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        // Eight bytes at a time: flag `"`, `\` and control characters.
        // For each test the lowest flagged byte is exact (a borrow only
        // flags bytes above a true hit), so the lowest flag overall is a
        // true hit. Bytes ≥ 0x80 (UTF-8, already validated) never flag.
        while let Some(word) = b.get(j..j + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
            let x = u64::from_le_bytes(word);
            let special =
                byte_flags(x, b'"') | byte_flags(x, b'\\') | x.wrapping_sub(LO * 0x20) & !x & HI;
            if special != 0 {
                j += (special.trailing_zeros() / 8) as usize;
                break;
            }
            j += 8;
        }
        let Some(&c) = b.get(j) else {
            return Err(SyntaxError::at(b.len(), EOF_STRING));
        };
        match c {
            b'"' => return Ok((j + 1, escaped)),
            b'\\' => {
                escaped = true;
                match b.get(j + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => j += 2,
                    Some(b'u') => {
                        let hex = b.get(j + 2..j + 6);
                        match hex {
                            Some(h) if h.iter().all(u8::is_ascii_hexdigit) => j += 6,
                            Some(_) => {
                                return Err(SyntaxError::at(j + 2, "invalid escape"));
                            }
                            None => return Err(SyntaxError::at(b.len(), EOF_STRING)),
                        }
                    }
                    Some(_) => return Err(SyntaxError::at(j + 1, "invalid escape")),
                    None => return Err(SyntaxError::at(b.len(), EOF_STRING)),
                }
            }
            0x00..=0x1f => {
                return Err(SyntaxError::at(
                    j,
                    "control character (\\u0000-\\u001F) found while parsing a string",
                ));
            }
            _ => j += 1,
        }
    }
}

/// The number starting at `i` (`-` or a digit): the index after it.
#[inline]
fn number_end(b: &[u8], mut i: usize) -> Result<usize, SyntaxError> {
    let digits = |b: &[u8], mut i: usize| {
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i, i - start)
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(b, i).0,
        Some(_) => return Err(SyntaxError::at(i, "invalid number")),
        None => return Err(SyntaxError::at(b.len(), EOF_VALUE)),
    }
    if b.get(i) == Some(&b'.') {
        let (end, n) = digits(b, i + 1);
        if n == 0 {
            return Err(SyntaxError::at(end, "invalid number"));
        }
        i = end;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let (end, n) = digits(b, i);
        if n == 0 {
            return Err(SyntaxError::at(end, "invalid number"));
        }
        i = end;
    }
    Ok(i)
}

/// The literal `word` at `i`: the index after it.
#[inline]
fn literal_end(b: &[u8], i: usize, word: &'static [u8]) -> Result<usize, SyntaxError> {
    match b.get(i..i + word.len()) {
        Some(w) if w == word => Ok(i + word.len()),
        Some(_) => Err(SyntaxError::at(i, "expected value")),
        None => {
            // A prefix of the literal then EOF reads as EOF, anything else
            // as a wrong value.
            // ok: callers pass the index of the literal's first letter.
            #[allow(clippy::indexing_slicing)]
            let rest = &b[i..];
            if word.starts_with(rest) {
                Err(SyntaxError::at(b.len(), EOF_VALUE))
            } else {
                Err(SyntaxError::at(i, "expected value"))
            }
        }
    }
}

/// Which containers are open: one bit per level (set: object).
struct Nesting {
    inline: u64,
    spill: Vec<u64>,
    depth: usize,
}

impl Nesting {
    fn new() -> Self {
        Self {
            inline: 0,
            spill: Vec::new(),
            depth: 0,
        }
    }

    fn push(&mut self, object: bool) {
        let (word, bit) = (self.depth / 64, 1u64 << (self.depth % 64));
        // ok: depth grows by one, so `spill` grows to `word` words just in
        // time.
        #[allow(clippy::indexing_slicing)]
        let slot = if word == 0 {
            &mut self.inline
        } else {
            if self.spill.len() < word {
                self.spill.push(0);
            }
            &mut self.spill[word - 1]
        };
        if object {
            *slot |= bit;
        } else {
            *slot &= !bit;
        }
        self.depth += 1;
    }

    /// Whether the innermost open container is an object.
    fn top_is_object(&self) -> bool {
        let Some(top) = self.depth.checked_sub(1) else {
            return false;
        };
        let (word, bit) = (top / 64, 1u64 << (top % 64));
        // ok: `push` made a word for every open level.
        #[allow(clippy::indexing_slicing)]
        let bits = if word == 0 {
            self.inline
        } else {
            self.spill[word - 1]
        };
        bits & bit != 0
    }
}

/// An object member's `"key" :`, read from its opening quote.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MemberKey {
    /// The index after the key's closing quote.
    pub key_end: usize,
    /// Whether the key has escapes.
    pub escaped: bool,
    /// The index of the value's first byte (whitespace skipped).
    pub value_start: usize,
}

/// Reads `"key" :` at `i` (after whitespace).
#[inline]
pub(crate) fn member_key(b: &[u8], i: usize) -> Result<MemberKey, SyntaxError> {
    match b.get(i) {
        Some(b'"') => {}
        Some(_) => return Err(SyntaxError::at(i, "key must be a string")),
        None => return Err(SyntaxError::at(b.len(), EOF_OBJECT)),
    }
    let (key_end, escaped) = string_end(b, i)?;
    let colon = skip_ws(b, key_end);
    match b.get(colon) {
        Some(b':') => Ok(MemberKey {
            key_end,
            escaped,
            value_start: skip_ws(b, colon + 1),
        }),
        Some(_) => Err(SyntaxError::at(colon, "expected `:`")),
        None => Err(SyntaxError::at(b.len(), EOF_OBJECT)),
    }
}

/// The value whose first byte is at `i` (whitespace already skipped): the
/// index after it. Validates everything inside.
pub(crate) fn value_end(b: &[u8], mut i: usize) -> Result<usize, SyntaxError> {
    let mut nesting = Nesting::new();
    loop {
        // One value (or the opening of a container).
        match b.get(i) {
            Some(b'"') => i = string_end(b, i)?.0,
            Some(b'{') => {
                let next = skip_ws(b, i + 1);
                if b.get(next) == Some(&b'}') {
                    i = next + 1;
                } else {
                    nesting.push(true);
                    i = member_key(b, next)?.value_start;
                    continue;
                }
            }
            Some(b'[') => {
                let next = skip_ws(b, i + 1);
                if b.get(next) == Some(&b']') {
                    i = next + 1;
                } else {
                    nesting.push(false);
                    i = next;
                    continue;
                }
            }
            Some(b't') => i = literal_end(b, i, b"true")?,
            Some(b'f') => i = literal_end(b, i, b"false")?,
            Some(b'n') => i = literal_end(b, i, b"null")?,
            Some(b'-' | b'0'..=b'9') => i = number_end(b, i)?,
            Some(_) => return Err(SyntaxError::at(i, "expected value")),
            None => return Err(SyntaxError::at(b.len(), EOF_VALUE)),
        }
        // After a value: close what ends here, or go on to the next one.
        loop {
            if nesting.depth == 0 {
                return Ok(i);
            }
            let object = nesting.top_is_object();
            i = skip_ws(b, i);
            match (b.get(i), object) {
                (Some(b','), true) => {
                    i = member_key(b, skip_ws(b, i + 1))?.value_start;
                    break;
                }
                (Some(b','), false) => {
                    i = skip_ws(b, i + 1);
                    break;
                }
                (Some(b'}'), true) | (Some(b']'), false) => {
                    nesting.depth -= 1;
                    i += 1;
                }
                (Some(_), true) => {
                    return Err(SyntaxError::at(i, "expected `,` or `}`"));
                }
                (Some(_), false) => {
                    return Err(SyntaxError::at(i, "expected `,` or `]`"));
                }
                (None, true) => return Err(SyntaxError::at(b.len(), EOF_OBJECT)),
                (None, false) => return Err(SyntaxError::at(b.len(), EOF_LIST)),
            }
        }
    }
}

/// Requires only whitespace from `i` on.
pub(crate) fn end(b: &[u8], i: usize) -> Result<(), SyntaxError> {
    let i = skip_ws(b, i);
    if i < b.len() {
        return Err(SyntaxError::at(i, "trailing characters"));
    }
    Ok(())
}

/// Whether `text` is one valid JSON value with optional surrounding
/// whitespace.
#[cfg(test)]
pub(crate) fn validate(text: &str) -> Result<(), SyntaxError> {
    let b = text.as_bytes();
    let i = value_end(b, skip_ws(b, 0))?;
    end(b, i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn serde_accepts(text: &str) -> bool {
        serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
    }

    #[test]
    fn accepts_every_value_kind() {
        for ok in [
            "0",
            "-0",
            "12.5e-3",
            "1E+9",
            "true",
            "false",
            "null",
            r#""a\"b\\c\/\b\f\n\r\t\u00e9 ✓""#,
            "[]",
            "{}",
            " [1, [2, [3, {}]], {\"a\": {\"b\": []}}] ",
            r#"{"k":"\ud800"}"#,
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
            assert!(serde_accepts(ok), "{ok}");
        }
    }

    #[test]
    fn rejects_what_serde_json_rejects() {
        for bad in [
            "",
            " ",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "+1",
            "tru",
            "nul",
            "truex",
            "[1,]",
            "[,1]",
            "{,}",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{1:2}",
            "[1 2]",
            "[",
            "]",
            "{",
            "}",
            "\"abc",
            "\"\\x\"",
            "\"\\u12G4\"",
            "\"\\u12\"",
            "\"a\u{1}\"",
            "[1]]",
            "{}}",
            "[}",
            "{]",
            "nan",
            "'a'",
        ] {
            assert!(validate(bad).is_err(), "{bad:?}");
            assert!(!serde_accepts(bad), "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_spills_past_the_inline_word() {
        let deep = format!("{}1{}", "[{\"a\":".repeat(300), "}]".repeat(300));
        assert_eq!(validate(&deep), Ok(()));
        let mismatched = format!("{}1{}", "[".repeat(100), "}".repeat(100));
        assert!(validate(&mismatched).is_err());
    }

    #[test]
    fn errors_name_line_and_column() {
        let text = "{\n  \"a\": x}";
        let e = validate(text).unwrap_err();
        assert_eq!(e.describe(text), "expected value at line 2 column 8");
        let e = validate("{}x").unwrap_err();
        assert_eq!(e.describe("{}x"), "trailing characters at line 1 column 3");
    }

    #[test]
    fn string_end_reports_escapes() {
        assert_eq!(string_end(br#""plain text here!""#, 0), Ok((18, false)));
        assert_eq!(
            string_end(br#""a long \"escaped\" one""#, 0),
            Ok((24, true))
        );
    }

    /// JSON-ish text: fragments that stress every branch of the grammar.
    fn jsonish() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just(",".to_owned()),
            Just(":".to_owned()),
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just(" ".to_owned()),
            Just("\n".to_owned()),
            Just("true".to_owned()),
            Just("nul".to_owned()),
            Just("-".to_owned()),
            Just("0".to_owned()),
            Just("e".to_owned()),
            Just(".".to_owned()),
            Just("u".to_owned()),
            "[0-9a-fA-F]{1,4}",
            "\"[a-z\\\\\"é\u{1}]{0,12}\"",
            "[ -~]{1,3}",
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| serde_json::json!(f)),
            ".{0,20}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(6, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map(".{0,8}", inner, 0..8)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn agrees_with_serde_on_jsonish_text(text in jsonish()) {
            prop_assert_eq!(validate(&text).is_ok(), serde_accepts(&text), "{:?}", text);
        }

        #[test]
        fn agrees_with_serde_on_arbitrary_text(text in ".{0,64}") {
            prop_assert_eq!(validate(&text).is_ok(), serde_accepts(&text), "{:?}", text);
        }

        #[test]
        fn accepts_all_serialized_values(value in json_value(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&value)
            } else {
                serde_json::to_string(&value)
            }
            .unwrap();
            prop_assert_eq!(validate(&text), Ok(()));
            // Any strict prefix of a compact container is incomplete.
            if text.len() > 1 && (text.starts_with('{') || text.starts_with('[')) {
                prop_assert!(validate(&text[..text.len() - 1]).is_err());
            }
        }
    }
}
