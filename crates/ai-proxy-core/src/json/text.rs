//! JSON string contents: decoding escapes, and telling whether escaped
//! text is already in the one form [`escape`](super::write::escape) writes
//! (so it can be copied instead of decoded and escaped again).

use std::borrow::Cow;

use super::swar::byte_flags;

/// `bytes` as text: UTF-8 checked with SIMD (JSON text must be UTF-8, RFC
/// 8259 §8.1); the error is the offset of the first invalid byte.
pub fn from_utf8(bytes: &[u8]) -> Result<&str, usize> {
    simdutf8::basic::from_utf8(bytes).map_err(|_| {
        // The fast check only says "invalid"; the slow one says where.
        std::str::from_utf8(bytes)
            .err()
            .map_or(0, |e| e.valid_up_to())
    })
}

/// Decodes the contents of a JSON string (the bytes between its quotes)
/// onto `out`: `None` for an invalid escape or an unpaired surrogate (what
/// `serde_json` rejects when reading a `String`). Other bytes are copied.
pub fn unescape_into(inner: &[u8], out: &mut Vec<u8>) -> Option<()> {
    // Decoded text is never longer than its escapes.
    out.reserve(inner.len());
    let mut i = 0;
    loop {
        let k = copy_to_backslash(inner, i, out);
        if k == inner.len() {
            return Some(());
        }
        i = k;
        let simple = match inner.get(i + 1)? {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let (c, len) = unicode_escape(inner, i)?;
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                i += len;
                continue;
            }
            _ => return None,
        };
        out.push(simple);
        i += 2;
    }
}

/// Copies `inner[i..]` onto `out` up to the next backslash; returns its
/// index (`inner.len()` when there is none). Escapes in JSON text are a
/// few bytes apart: each word is stored whole and the bytes from the
/// backslash on dropped again, instead of a copy call per run.
#[inline(always)]
fn copy_to_backslash(inner: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
    while let Some(word) = inner
        .get(i..i + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
    {
        let flags = byte_flags(u64::from_le_bytes(word), b'\\');
        let len = out.len();
        out.extend_from_slice(&word);
        if flags != 0 {
            let n = (flags.trailing_zeros() / 8) as usize;
            out.truncate(len + n);
            return i + n;
        }
        i += 8;
    }
    let rest = inner.get(i..).unwrap_or_default();
    let n = rest.iter().position(|&c| c == b'\\').unwrap_or(rest.len());
    out.extend_from_slice(rest.get(..n).unwrap_or_default());
    i + n
}

/// The character of the `\uXXXX` escape (or surrogate pair) at `i`, and
/// how many bytes it took.
fn unicode_escape(inner: &[u8], i: usize) -> Option<(char, usize)> {
    let unit = hex4(inner, i + 2)?;
    match unit {
        0xD800..=0xDBFF => {
            if inner.get(i + 6..i + 8)? != b"\\u" {
                return None;
            }
            let low = hex4(inner, i + 8)?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return None;
            }
            let c = 0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
            Some((char::from_u32(c)?, 12))
        }
        0xDC00..=0xDFFF => None,
        _ => Some((char::from_u32(u32::from(unit))?, 6)),
    }
}

fn hex4(b: &[u8], at: usize) -> Option<u16> {
    let digits = b.get(at..at + 4)?;
    let text = std::str::from_utf8(digits).ok()?;
    // `from_str_radix` accepts a sign; JSON does not.
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u16::from_str_radix(text, 16).ok()
}

/// The text of a JSON string's contents: borrowed when it has no escapes;
/// `None` when it is not UTF-8 or an escape is invalid.
pub fn decode(inner: &[u8]) -> Option<Cow<'_, str>> {
    if !inner.contains(&b'\\') {
        return std::str::from_utf8(inner).ok().map(Cow::Borrowed);
    }
    let mut out = Vec::with_capacity(inner.len());
    unescape_into(inner, &mut out)?;
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// Whether every escape in the string contents `inner` is the one
/// [`escape`](super::write::escape) (and `serde_json`) writes for its
/// character: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, and `\u00xx` (lower
/// case) for the other control characters. Such contents decode and
/// escape back to themselves, so they can be copied as they are.
pub fn is_canonical(inner: &[u8]) -> bool {
    let mut i = 0;
    while let Some(rest) = inner.get(i..) {
        let Some(k) = memchr::memchr(b'\\', rest) else {
            return true;
        };
        i += k;
        match inner.get(i + 1) {
            Some(b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
            Some(b'u') => {
                let Some([b'0', b'0', hi @ (b'0' | b'1'), lo]) = inner
                    .get(i + 2..i + 6)
                    .and_then(|h| <[u8; 4]>::try_from(h).ok())
                else {
                    return false;
                };
                let Some(low) = (lo as char)
                    .to_digit(16)
                    .filter(|_| !lo.is_ascii_uppercase())
                else {
                    return false;
                };
                let c = (u32::from(hi - b'0') << 4) | low;
                if matches!(c, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                    return false;
                }
                i += 6;
            }
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::write::write_str;
    use proptest::prelude::*;

    fn serde_decodes(inner: &str) -> Option<String> {
        serde_json::from_str::<String>(&format!("\"{inner}\"")).ok()
    }

    #[test]
    fn decodes_every_escape_and_surrogate_pairs() {
        let inner = r#"a\"b\\c\/d\be\ff\ng\rh\ti\u00e9\ud83d\ude80"#;
        assert_eq!(
            decode(inner.as_bytes()).unwrap(),
            serde_decodes(inner).unwrap()
        );
        assert!(matches!(decode(b"plain"), Some(Cow::Borrowed("plain"))));
    }

    #[test]
    fn rejects_what_serde_json_rejects_in_a_string() {
        for bad in [
            r"\x",
            r"\u12",
            r"\ud800",
            r"\udc00",
            r"\ud800\u0041",
            r"\u+123",
            r"\",
        ] {
            assert_eq!(decode(bad.as_bytes()), None, "{bad}");
            assert_eq!(serde_decodes(bad), None, "{bad}");
        }
    }

    #[test]
    fn canonical_contents_are_what_the_writer_writes() {
        for ok in [r"plain é", r#"q\"b\\n\n\t\r\b\f"#, r"\u0001\u001f"] {
            assert!(is_canonical(ok.as_bytes()), "{ok}");
        }
        for not in [r"\/", r"\u0041", r"\u000a", r"\u001F", r"\u00e9", r"\x"] {
            assert!(!is_canonical(not.as_bytes()), "{not}");
        }
    }

    proptest! {
        #[test]
        fn decodes_like_serde_json(text in any::<String>()) {
            let quoted = serde_json::to_string(&text).unwrap();
            let inner = &quoted[1..quoted.len() - 1];
            prop_assert_eq!(decode(inner.as_bytes()).unwrap(), text.as_str());
            // serde_json writes the canonical form.
            prop_assert!(is_canonical(inner.as_bytes()));
        }

        #[test]
        fn canonical_means_it_escapes_back_to_itself(inner in r#"([a-z é]|\\["\\/bfnrtu]|\\u00[0-9a-fA-F]{2}|\\u[0-9a-f]{4})*"#) {
            let Some(text) = decode(inner.as_bytes()) else { return Ok(()) };
            let mut again = Vec::new();
            write_str(&mut again, &text);
            let again = &again[1..again.len() - 1];
            prop_assert_eq!(is_canonical(inner.as_bytes()), again == inner.as_bytes(), "{}", inner);
        }
    }
}
