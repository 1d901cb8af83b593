//! The pieces of SigV4's canonical request: URI path, query string and
//! headers, each written the one way AWS recomputes them server-side.

/// Whether `b` is an RFC 3986 unreserved byte (never percent-encoded).
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Appends `bytes` percent-encoded the SigV4 way: unreserved bytes as
/// they are, `/` too when `keep_slash`, everything else `%XX` (upper-case).
pub(crate) fn uri_encode(out: &mut String, bytes: &[u8], keep_slash: bool) {
    const UPPER: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            for nibble in [b >> 4, b & 0x0f] {
                let digit = UPPER.get(usize::from(nibble)).copied().unwrap_or(b'0');
                out.push(char::from(digit));
            }
        }
    }
}

/// The canonical URI of `path`: with `normalize`, dot segments resolved
/// and empty segments dropped (RFC 3986 §5.2.4 plus slash merging, as
/// every AWS service but S3 expects); then encoded once. An HTTP path is
/// already percent-encoded, so its `%` become `%25`: the "double
/// encoding" AWS requires (`%3A` in a Bedrock model id signs as `%253A`).
pub(crate) fn canonical_path(path: &str, normalize: bool) -> String {
    let mut out = String::with_capacity(path.len() + 16);
    if !normalize {
        if path.is_empty() {
            out.push('/');
        }
        uri_encode(&mut out, path.as_bytes(), true);
        return out;
    }
    let mut segments: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    for segment in path.split('/') {
        trailing_slash = false;
        match segment {
            "" => trailing_slash = true,
            "." => trailing_slash = true,
            ".." => {
                segments.pop();
                trailing_slash = true;
            }
            s => segments.push(s),
        }
    }
    for segment in &segments {
        out.push('/');
        uri_encode(&mut out, segment.as_bytes(), false);
    }
    if segments.is_empty() || trailing_slash {
        out.push('/');
    }
    out
}

/// Percent-decodes `s` as a form component (`+` is a space, as the AWS
/// SDKs read query strings); invalid escapes stay as they are.
fn decode_component(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex_value(h).zip(hex_value(l)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match (b, escaped) {
            (_, Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (b, None) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The canonical query string: each `key=value` decoded then re-encoded,
/// sorted by key then value (a key without `=` has an empty value).
pub(crate) fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
            let mut k = String::with_capacity(key.len());
            uri_encode(&mut k, &decode_component(key), false);
            let mut v = String::with_capacity(value.len());
            uri_encode(&mut v, &decode_component(value), false);
            (k, v)
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(query.len() + 8);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// A header value as signed: surrounding whitespace trimmed, each inner
/// run of whitespace (including obsolete line folding) one space.
pub(crate) fn push_header_value(out: &mut Vec<u8>, value: &[u8]) {
    let mut pending_space = false;
    for &b in value.trim_ascii() {
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            pending_space = true;
            continue;
        }
        if pending_space {
            out.push(b' ');
            pending_space = false;
        }
        out.push(b);
    }
}

/// Canonical headers and the signed-header list, from `(name, value)`
/// pairs in request order. Names are lower-cased and sorted (stable, so
/// repeated names keep their order and are joined with `,`).
pub(crate) struct CanonicalHeaders {
    /// `name:value\n` lines.
    pub text: Vec<u8>,
    /// `name;name;…`.
    pub signed: String,
}

impl CanonicalHeaders {
    pub(crate) fn new<'a>(headers: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        let mut list: Vec<(String, &[u8])> = headers
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value))
            .collect();
        list.sort_by(|a, b| a.0.cmp(&b.0));
        let mut text = Vec::with_capacity(list.iter().map(|(n, v)| n.len() + v.len() + 2).sum());
        let mut signed = String::new();
        let mut previous: Option<&str> = None;
        for (name, value) in &list {
            if previous == Some(name.as_str()) {
                text.push(b',');
            } else {
                if previous.is_some() {
                    text.push(b'\n');
                    signed.push(';');
                }
                text.extend_from_slice(name.as_bytes());
                text.push(b':');
                signed.push_str(name);
            }
            push_header_value(&mut text, value);
            previous = Some(name.as_str());
        }
        if previous.is_some() {
            text.push(b'\n');
        }
        Self { text, signed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalized_paths_drop_dots_and_empty_segments() {
        for (raw, canonical) in [
            ("/", "/"),
            ("", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/example space/", "/example%20space/"),
        ] {
            assert_eq!(canonical_path(raw, true), canonical, "{raw}");
        }
    }

    #[test]
    fn unnormalized_paths_are_only_encoded() {
        assert_eq!(canonical_path("//example//", false), "//example//");
        assert_eq!(canonical_path("/./", false), "/./");
    }

    #[test]
    fn encoded_bedrock_model_ids_are_encoded_again() {
        assert_eq!(
            canonical_path(
                "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse",
                true
            ),
            "/model/anthropic.claude-3-5-sonnet-20241022-v2%253A0/converse"
        );
    }

    #[test]
    fn query_pairs_are_reencoded_and_sorted() {
        assert_eq!(
            canonical_query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1"),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
        );
        assert_eq!(canonical_query("b&a=1&&a=0"), "a=0&a=1&b=");
        assert_eq!(canonical_query("x=a+b%2"), "x=a%20b%252");
    }

    #[test]
    fn header_values_are_trimmed_and_runs_collapsed() {
        let mut out = Vec::new();
        push_header_value(&mut out, b"  \"a   b   c\" ");
        assert_eq!(out, b"\"a b c\"");
        out.clear();
        push_header_value(&mut out, b"value1\n  value2\n     value3");
        assert_eq!(out, b"value1 value2 value3");
    }

    #[test]
    fn repeated_headers_join_in_order() {
        let h = CanonicalHeaders::new([
            ("My-Header1", &b"value2"[..]),
            ("Host", b"example.amazonaws.com"),
            ("my-header1", b"value1"),
        ]);
        assert_eq!(
            String::from_utf8(h.text).unwrap(),
            "host:example.amazonaws.com\nmy-header1:value2,value1\n"
        );
        assert_eq!(h.signed, "host;my-header1");
    }
}
