//! Which client headers reach the upstream.
//!
//! Differs from APISIX on purpose: APISIX forwards every client header but
//! `host`, `content-length` and `accept-encoding`. Here the client's own
//! credentials and hop-by-hop headers never reach the provider either
//! (unless the embedder turns credential forwarding on for a passthrough
//! set-up), so a key meant for the gateway cannot leak to a third party.

use http::HeaderMap;
use http::header::{self, HeaderName};

/// Client credential headers, dropped unless forwarding is switched on.
pub const CLIENT_CREDENTIAL_HEADERS: [&str; 6] = [
    "authorization",
    "proxy-authorization",
    "api-key",
    "x-api-key",
    "x-goog-api-key",
    "cookie",
];

/// Hop-by-hop headers (RFC 9110 §7.6.1, plus `proxy-connection`), never
/// forwarded; the names a `connection` header lists go too.
pub const HOP_BY_HOP_HEADERS: [&str; 7] = [
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-connection",
];

/// `Some(true)` for a client credential, `Some(false)` for a header that
/// is always dropped (hop-by-hop, `host`, `content-length`,
/// `accept-encoding`), `None` for a header that is forwarded.
fn classify(name: &str) -> Option<bool> {
    match name {
        "connection" | "keep-alive" | "te" | "trailer" | "transfer-encoding" | "upgrade"
        | "proxy-connection" | "host" | "content-length" | "accept-encoding" => Some(false),
        "authorization"
        | "proxy-authorization"
        | "api-key"
        | "x-api-key"
        | "x-goog-api-key"
        | "cookie" => Some(true),
        _ => None,
    }
}

/// Removes what must not be forwarded from the client's headers.
///
/// Names in `overwritten` are left in place: the caller inserts its own
/// value for each right after (`content-length`, the configured auth
/// headers), and `insert` replaces every client value of the name in one
/// lookup, where removing first would cost a second one.
pub(crate) fn strip_client_headers(
    headers: &mut HeaderMap,
    forward_credentials: bool,
    overwritten: &[HeaderName],
) {
    if headers.is_empty() {
        return;
    }
    // A scan of the few names, not a hash lookup: most clients send no
    // `connection` header.
    if headers.keys().any(|name| name == header::CONNECTION) {
        let listed: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .collect();
        for name in listed {
            headers.remove(name);
        }
    }
    // Client headers are few and usually only one or two must go: scan
    // (a string match per name), remove the first hit, scan again (a
    // removal may reorder the map). No buffer, no hashing for misses.
    let dropped = |name: &HeaderName| {
        let forwarded = match classify(name.as_str()) {
            Some(credential) => credential && forward_credentials,
            None => true,
        };
        !(forwarded || overwritten.contains(name))
    };
    while let Some(name) = headers.keys().find(|name| dropped(name)).cloned() {
        headers.remove(name);
    }
    if forward_credentials {
        for (name, value) in headers.iter_mut() {
            if classify(name.as_str()) == Some(true) {
                value.set_sensitive(true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn client_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("authorization", "Bearer client"),
            ("proxy-authorization", "Basic x"),
            ("api-key", "k"),
            ("x-api-key", "k"),
            ("x-goog-api-key", "k"),
            ("cookie", "session=1"),
            ("connection", "keep-alive, x-hop"),
            ("x-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("trailer", "x"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("proxy-connection", "close"),
            ("host", "gateway.local"),
            ("content-length", "12"),
            ("accept-encoding", "gzip"),
            ("x-request-id", "r-1"),
            ("anthropic-version", "2023-06-01"),
        ] {
            h.append(k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn credentials_hop_by_hop_and_connection_listed_headers_are_dropped() {
        let mut h = client_headers();
        strip_client_headers(&mut h, false, &[]);
        let mut names: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["anthropic-version", "x-request-id"]);
    }

    #[test]
    fn classification_matches_the_documented_lists() {
        for name in CLIENT_CREDENTIAL_HEADERS {
            assert_eq!(classify(name), Some(true), "{name}");
        }
        for name in HOP_BY_HOP_HEADERS
            .iter()
            .chain(&["host", "content-length", "accept-encoding"])
        {
            assert_eq!(classify(name), Some(false), "{name}");
        }
        assert_eq!(classify("x-request-id"), None);
    }

    #[test]
    fn overwritten_names_are_left_for_the_caller_to_replace() {
        let mut h = client_headers();
        strip_client_headers(
            &mut h,
            false,
            &[header::AUTHORIZATION, header::CONTENT_LENGTH],
        );
        let mut names: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "anthropic-version",
                "authorization",
                "content-length",
                "x-request-id"
            ]
        );
    }

    #[test]
    fn forwarding_credentials_keeps_them_marked_sensitive() {
        let mut h = client_headers();
        strip_client_headers(&mut h, true, &[]);
        for name in CLIENT_CREDENTIAL_HEADERS {
            let v = h.get(name).unwrap();
            assert!(v.is_sensitive(), "{name}");
        }
        assert!(h.get("connection").is_none());
        assert!(h.get("host").is_none());
    }
}
