//! The response header fields that concern only the connection they came
//! on (RFC 9110 §7.6.1, plus the proxy ones): they never reach the client.

/// Whether a response field named `name` (a token, any case: see
/// [`is_named`] for why one OR lowers it) is hop-by-hop. Names of other
/// lengths (most) are answered by the length alone.
#[inline]
pub(crate) fn is_hop_by_hop(name: &[u8]) -> bool {
    if !matches!(name.len(), 2 | 7 | 10 | 16 | 17 | 18) {
        return false;
    }
    let mut lower = [0u8; 18];
    let Some(folded) = lower.get_mut(..name.len()) else {
        return false;
    };
    for (to, from) in folded.iter_mut().zip(name) {
        *to = from | 0x20;
    }
    matches!(
        &*folded,
        b"connection"
            | b"keep-alive"
            | b"proxy-connection"
            | b"te"
            | b"trailer"
            | b"transfer-encoding"
            | b"upgrade"
            | b"proxy-authenticate"
    )
}

/// Whether the field name `name` — a token (RFC 9110 §5.6.2), as
/// `httparse` and `HeaderName` guarantee — is `lower` in any case, `lower`
/// being lowercase letters and `-`. Setting bit 5 of a token byte lowers a
/// letter and lands on a letter or `-` from no other token byte (only CR
/// would reach `-`), so eight bytes compare at a time: a tenth of
/// `eq_ignore_ascii_case`'s instructions on a response head's names.
#[inline]
pub(crate) fn is_named(name: &[u8], lower: &str) -> bool {
    const FOLD: u64 = 0x2020_2020_2020_2020;
    let lower = lower.as_bytes();
    name.len() == lower.len()
        && name
            .chunks(8)
            .zip(lower.chunks(8))
            .all(|(a, b)| word(a) | FOLD == word(b) | FOLD)
}

/// Up to eight bytes as one word (zero-padded).
#[inline]
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    if let Some(w) = w.get_mut(..bytes.len()) {
        w.copy_from_slice(bytes);
    }
    u64::from_le_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_matched_in_any_case_and_only_whole() {
        for (name, known) in [
            ("Content-Length", "content-length"),
            ("PROXY-AUTHENTICATE", "proxy-authenticate"),
            ("te", "te"),
            ("Date", "date"),
            ("x-a-name-of-24-bytes-xyz", "x-a-name-of-24-bytes-xyz"),
        ] {
            assert!(is_named(name.as_bytes(), known), "{name}");
        }
        for (name, known) in [
            ("content-lengtx", "content-length"),
            ("content-length-", "content-length"),
            ("content_length", "content-length"),
            ("dat", "date"),
            ("", "te"),
        ] {
            assert!(!is_named(name.as_bytes(), known), "{name}");
        }
    }

    #[test]
    fn no_other_token_byte_folds_onto_a_letter_or_dash() {
        let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        for b in (0..=255u8).filter(|&b| tchar(b)) {
            for known in (b'a'..=b'z').chain([b'-']) {
                let same = b.to_ascii_lowercase() == known;
                assert_eq!(b | 0x20 == known, same, "{b:#x} vs {known:#x}");
            }
        }
    }

    #[test]
    fn hop_by_hop_names_are_known_in_any_case() {
        for name in [
            "connection",
            "Keep-Alive",
            "proxy-connection",
            "TE",
            "trailer",
            "Transfer-Encoding",
            "upgrade",
            "proxy-authenticate",
        ] {
            assert!(is_hop_by_hop(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn end_to_end_names_are_not_hop_by_hop() {
        for name in [
            "content-length",
            "content-type",
            "server",
            "x-connection",
            "tee",
            "trailers",
            "upgrade-insecure-requests",
            "proxy-authorization",
        ] {
            assert!(!is_hop_by_hop(name.as_bytes()), "{name}");
        }
    }
}
