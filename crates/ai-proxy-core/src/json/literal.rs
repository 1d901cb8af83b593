//! Reading a body laid out as expected by its bytes: the compact readers
//! of the converters match whole literals (`{"role":"user","content":`)
//! and take the strings between them, declining (`None`) anything else to
//! the general reader. The string readers check the opening quote here,
//! once: [`string_end`] and [`long_string_end`] assume it.

use super::Raw;
use super::syntax::{long_string_end_inlined, string_end};

/// The literal `lit` at `i`: the offset after it.
#[inline(always)]
pub fn expect(b: &[u8], i: usize, lit: &[u8]) -> Option<usize> {
    (b.get(i..i + lit.len())? == lit).then_some(i + lit.len())
}

/// The string at `i` (checked; short ones expected): its token, whether it
/// has escapes, and the offset after it. Not a string: `None`.
#[inline(always)]
pub fn string(b: &[u8], i: usize) -> Option<(Raw<'_>, bool, usize)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let (end, escaped) = string_end(b, i).ok()?;
    Some((Raw(b.get(i..end)?), escaped, end))
}

/// The string at `i` (checked), expected long (the short-string case
/// skipped): its token and the offset after it. Not a string: `None`.
#[inline(always)]
pub fn long_string(b: &[u8], i: usize) -> Option<(Raw<'_>, usize)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let end = long_string_end_inlined(b, i).ok()?.0;
    Some((Raw(b.get(i..end)?), end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expect_gives_the_offset_after_the_literal() {
        assert_eq!(expect(br#"{"role":"user"}"#, 1, br#""role":"#), Some(8));
        assert_eq!(expect(br#"{"role":"user"}"#, 1, br#""rule":"#), None);
        assert_eq!(expect(b"{\"ro", 1, br#""role":"#), None);
    }

    #[test]
    fn string_readers_decline_what_does_not_start_with_a_quote() {
        assert_eq!(string(br#"+5ser""#, 0), None);
        assert_eq!(long_string(br#"+5ser""#, 0), None);
    }

    #[test]
    fn string_readers_give_the_token_and_the_offset_after_it() {
        let b = br#""a \"quoted\" text that is long enough","#;
        let (raw, escaped, end) = string(b, 0).unwrap();
        assert_eq!((raw.bytes(), escaped, end), (&b[..39], true, 39));
        let (raw, end) = long_string(b, 0).unwrap();
        assert_eq!((raw.bytes(), end), (&b[..39], 39));
        assert_eq!(string(br#""cut"#, 0), None);
    }
}
