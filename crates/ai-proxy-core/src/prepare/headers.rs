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

/// Headers about the client's own connection or body, never forwarded:
/// the upstream client sets `host`, the body length is recomputed and the
/// body must be readable, so no `accept-encoding`.
const CLIENT_ONLY_HEADERS: [&str; 3] = ["host", "content-length", "accept-encoding"];

/// Removes what must not be forwarded from the client's headers.
pub(crate) fn strip_client_headers(headers: &mut HeaderMap, forward_credentials: bool) {
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
    for name in HOP_BY_HOP_HEADERS.iter().chain(&CLIENT_ONLY_HEADERS) {
        headers.remove(*name);
    }
    for name in CLIENT_CREDENTIAL_HEADERS {
        if forward_credentials {
            if let http::header::Entry::Occupied(mut entry) = headers.entry(name) {
                for value in entry.iter_mut() {
                    value.set_sensitive(true);
                }
            }
        } else {
            headers.remove(name);
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
        strip_client_headers(&mut h, false);
        let mut names: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["anthropic-version", "x-request-id"]);
    }

    #[test]
    fn forwarding_credentials_keeps_them_marked_sensitive() {
        let mut h = client_headers();
        strip_client_headers(&mut h, true);
        for name in CLIENT_CREDENTIAL_HEADERS {
            let v = h.get(name).unwrap();
            assert!(v.is_sensitive(), "{name}");
        }
        assert!(h.get("connection").is_none());
        assert!(h.get("host").is_none());
    }
}
