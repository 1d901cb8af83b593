//! The response header fields that concern only the connection they came
//! on (RFC 9110 §7.6.1, plus the proxy ones): they never reach the client.

/// Whether a response field named `name` (any case) is hop-by-hop. By
/// length first: one comparison per name, none for most.
#[inline]
pub(crate) fn is_hop_by_hop(name: &[u8]) -> bool {
    let is = |known: &str| name.eq_ignore_ascii_case(known.as_bytes());
    match name.len() {
        2 => is("te"),
        7 => is("trailer") || is("upgrade"),
        10 => is("connection") || is("keep-alive"),
        16 => is("proxy-connection"),
        17 => is("transfer-encoding"),
        18 => is("proxy-authenticate"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
