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

/// Every name that is always dropped, prebuilt (removing by `&str` would
/// parse the name on every request).
static ALWAYS_DROPPED: [HeaderName; 10] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    HeaderName::from_static("proxy-connection"),
    header::HOST,
    header::CONTENT_LENGTH,
    header::ACCEPT_ENCODING,
];

/// [`CLIENT_CREDENTIAL_HEADERS`], prebuilt.
static CREDENTIALS: [HeaderName; 6] = [
    header::AUTHORIZATION,
    header::PROXY_AUTHORIZATION,
    HeaderName::from_static("api-key"),
    HeaderName::from_static("x-api-key"),
    HeaderName::from_static("x-goog-api-key"),
    header::COOKIE,
];

/// Removes what must not be forwarded from the client's headers.
pub(crate) fn strip_client_headers(headers: &mut HeaderMap, forward_credentials: bool) {
    if headers.is_empty() {
        return;
    }
    if headers.contains_key(header::CONNECTION) {
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
    // One pass over the (few) client headers finds which listed names are
    // present; only those are looked up again.
    let mut present = [false; 16];
    for name in headers.keys() {
        let listed = ALWAYS_DROPPED
            .iter()
            .chain(&CREDENTIALS)
            .position(|n| n == name);
        if let Some(slot) = listed.and_then(|i| present.get_mut(i)) {
            *slot = true;
        }
    }
    for (name, _) in ALWAYS_DROPPED
        .iter()
        .chain(&CREDENTIALS)
        .zip(present)
        .filter(|(_, p)| *p)
    {
        let credential = CREDENTIALS.contains(name);
        if credential && forward_credentials {
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
    fn prebuilt_names_match_the_documented_lists() {
        let creds: Vec<&str> = CREDENTIALS.iter().map(HeaderName::as_str).collect();
        assert_eq!(creds, CLIENT_CREDENTIAL_HEADERS);
        for name in HOP_BY_HOP_HEADERS
            .iter()
            .chain(&["host", "content-length", "accept-encoding"])
        {
            assert!(ALWAYS_DROPPED.iter().any(|n| n == name), "{name}");
        }
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
