//! Field-value pieces of HTTP/1.1 heads (RFC 9110 §5.5–5.6), for the
//! heads the gateway reads from upstreams and from clients.

/// `bytes` without leading and trailing spaces and tabs (OWS).
pub(crate) fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// A decimal number of 1 to 19 digits (no sign, no overflow).
pub(crate) fn digits(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 19 {
        return None;
    }
    bytes.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}
