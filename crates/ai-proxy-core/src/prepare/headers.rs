//! Which client headers reach the upstream, and what `prepare` reads from
//! them on the way ([`ClientHeaders`]: one pass for every question).
//!
//! Differs from APISIX on purpose: APISIX forwards every client header but
//! `host`, `content-length` and `accept-encoding`. Here the client's own
//! credentials and hop-by-hop headers never reach the provider either
//! (unless the embedder turns credential forwarding on for a passthrough
//! set-up), so a key meant for the gateway cannot leak to a third party.

use http::HeaderMap;
use http::header::{self, HeaderName, HeaderValue};

use crate::json::write::decimal;

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

/// What a client header is to `prepare`: one string match per name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Forwarded as it is.
    Forwarded,
    /// Forwarded, checked first, replaced unless plain JSON.
    ContentType,
    /// Dropped (`prepare` sets its own).
    ContentLength,
    /// Dropped, with the names it lists.
    Connection,
    /// Always dropped: hop-by-hop, `host`, `accept-encoding`.
    Dropped,
    /// A client credential: dropped unless forwarding is switched on.
    Credential,
}

fn class(name: &str) -> Class {
    match name {
        "content-type" => Class::ContentType,
        "content-length" => Class::ContentLength,
        "connection" => Class::Connection,
        "keep-alive" | "te" | "trailer" | "transfer-encoding" | "upgrade" | "proxy-connection"
        | "host" | "accept-encoding" => Class::Dropped,
        "authorization"
        | "proxy-authorization"
        | "api-key"
        | "x-api-key"
        | "x-goog-api-key"
        | "cookie" => Class::Credential,
        _ => Class::Forwarded,
    }
}

/// `Some(true)` for a client credential, `Some(false)` for a header that
/// is always dropped (hop-by-hop, `host`, `content-length`,
/// `accept-encoding`), `None` for a header that is forwarded.
fn classify(name: &str) -> Option<bool> {
    match class(name) {
        Class::Credential => Some(true),
        Class::ContentLength | Class::Connection | Class::Dropped => Some(false),
        Class::Forwarded | Class::ContentType => None,
    }
}

/// At most this many client header names are listed for removal while the
/// headers are read; more (rare) and the strip scans for them instead.
const LISTED: usize = 4;

/// The client's headers as `prepare` reads them: one pass over the few
/// entries instead of a hash lookup per question (`Content-Type`,
/// `Content-Length`, `connection`, what the strip removes).
pub(crate) struct ClientHeaders {
    /// The first `Content-Type` value when [`check_content_type`]
    /// refuses it (`None`: accepted or absent).
    ///
    /// [`check_content_type`]: Self::check_content_type
    refused_content_type: Option<HeaderValue>,
    /// `Content-Type` is exactly one `application/json` value.
    pub(crate) json_content_type: bool,
    /// The first `Content-Length` value as a number (`None`: absent or
    /// not a number).
    pub(crate) announced_length: Option<u64>,
    /// `Content-Length` is exactly one value spelling the body's length.
    pub(crate) exact_length: bool,
    /// A `connection` header is present (it may list more names to drop).
    pub(crate) connection: bool,
    /// The names the strip removes, unless there were more than [`LISTED`].
    dropped: [Option<HeaderName>; LISTED],
    overflowed: bool,
}

impl ClientHeaders {
    /// Reads `headers` once. `length` is the body's length;
    /// `forward_credentials` and `overwritten` decide what the strip
    /// drops, as in [`strip_client_headers`].
    pub(crate) fn read(
        headers: &HeaderMap,
        length: u64,
        forward_credentials: bool,
        overwritten: &[HeaderName],
    ) -> Self {
        let mut digits = [0u8; 20];
        let length_text = decimal(length, &mut digits);
        let mut read = ClientHeaders {
            refused_content_type: None,
            json_content_type: false,
            announced_length: None,
            exact_length: false,
            connection: false,
            dropped: [const { None }; LISTED],
            overflowed: false,
        };
        let (mut types, mut lengths, mut listed) = (0usize, 0usize, 0usize);
        for (name, value) in headers {
            let drop = match class(name.as_str()) {
                Class::Forwarded => continue,
                Class::ContentType => {
                    types += 1;
                    if types == 1 {
                        read.json_content_type = value.as_bytes() == JSON.as_bytes();
                        if !read.json_content_type && !accepted_content_type(value) {
                            read.refused_content_type = Some(value.clone());
                        }
                    }
                    continue;
                }
                Class::ContentLength => {
                    lengths += 1;
                    if lengths == 1 {
                        read.exact_length = value.as_bytes() == length_text;
                        read.announced_length = if read.exact_length {
                            Some(length)
                        } else {
                            value.to_str().ok().and_then(|v| v.trim().parse().ok())
                        };
                    }
                    true
                }
                Class::Connection => {
                    read.connection = true;
                    true
                }
                Class::Dropped => true,
                Class::Credential => !forward_credentials,
            };
            // `iter` yields every value; the values of one name come
            // together, so a repeated name is the one listed last.
            let repeated = listed > 0
                && read
                    .dropped
                    .get(listed - 1)
                    .is_some_and(|last| last.as_ref() == Some(name));
            if drop && !repeated && !overwritten.contains(name) {
                match read.dropped.get_mut(listed) {
                    Some(slot) => *slot = Some(name.clone()),
                    None => read.overflowed = true,
                }
                listed += 1;
            }
        }
        read.json_content_type &= types == 1;
        read.exact_length &= lengths == 1;
        read
    }

    /// APISIX accepts a missing `Content-Type` and anything starting with
    /// `application/json`; `Err` holds the refused value.
    pub(crate) fn check_content_type(&self) -> Result<(), &HeaderValue> {
        self.refused_content_type.as_ref().map_or(Ok(()), Err)
    }

    /// [`strip_client_headers`] for the headers just read (unchanged
    /// since, with the same `forward_credentials` and `overwritten`): the
    /// listed names are removed without scanning again.
    pub(crate) fn strip(
        &self,
        headers: &mut HeaderMap,
        forward_credentials: bool,
        overwritten: &[HeaderName],
    ) {
        if self.connection || self.overflowed {
            strip_client_headers(headers, forward_credentials, overwritten);
            return;
        }
        for name in self.dropped.iter().flatten() {
            headers.remove(name);
        }
        if forward_credentials {
            mark_credentials(headers);
        }
    }
}

/// The media type `prepare` sends, and accepts (as a prefix) from clients.
pub(crate) const JSON: &str = "application/json";

/// Whether a client's `Content-Type` starts with `application/json`
/// (case-insensitive, as media types are).
fn accepted_content_type(value: &HeaderValue) -> bool {
    value
        .as_bytes()
        .get(..JSON.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(JSON.as_bytes()))
}

/// Whether the strip removes `name` (hop-by-hop, `host`,
/// `content-length`, `accept-encoding`, credentials unless forwarded),
/// names in `overwritten` excepted.
fn dropped(name: &HeaderName, forward_credentials: bool, overwritten: &[HeaderName]) -> bool {
    let forwarded = match classify(name.as_str()) {
        Some(credential) => credential && forward_credentials,
        None => true,
    };
    !(forwarded || overwritten.contains(name))
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
    while let Some(name) = headers
        .keys()
        .find(|name| dropped(name, forward_credentials, overwritten))
        .cloned()
    {
        headers.remove(name);
    }
    if forward_credentials {
        mark_credentials(headers);
    }
}

/// Marks forwarded client credentials sensitive.
fn mark_credentials(headers: &mut HeaderMap) {
    for (name, value) in headers.iter_mut() {
        if classify(name.as_str()) == Some(true) {
            value.set_sensitive(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The map's entries as comparable text, in a fixed order.
    fn entries(h: &HeaderMap) -> Vec<(String, String, bool)> {
        let mut all: Vec<_> = h
            .iter()
            .map(|(k, v)| {
                let text = v.to_str().unwrap().to_owned();
                (k.as_str().to_owned(), text, v.is_sensitive())
            })
            .collect();
        all.sort();
        all
    }

    #[test]
    fn the_listed_strip_removes_what_the_full_strip_removes() {
        let all: Vec<_> = client_headers().into_iter().collect();
        let overwritten = [header::CONTENT_LENGTH, header::AUTHORIZATION];
        for width in 1..=all.len() {
            for window in all.windows(width) {
                for forward in [false, true] {
                    let mut h = HeaderMap::new();
                    for (k, v) in window {
                        h.append(k.clone().unwrap(), v.clone());
                    }
                    h.append("x-request-id", HeaderValue::from_static("again"));
                    let mut full = h.clone();
                    strip_client_headers(&mut full, forward, &overwritten);
                    let read = ClientHeaders::read(&h, 12, forward, &overwritten);
                    read.strip(&mut h, forward, &overwritten);
                    assert_eq!(entries(&h), entries(&full), "{window:?} {forward}");
                }
            }
        }
    }

    fn read(pairs: &[(&'static str, &'static str)], length: u64) -> ClientHeaders {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        ClientHeaders::read(&h, length, false, &[header::CONTENT_LENGTH])
    }

    #[test]
    fn one_content_length_spelling_the_body_length_is_exact() {
        let h = read(&[("content-length", "12")], 12);
        assert!(h.exact_length);
        assert_eq!(h.announced_length, Some(12));
        let h = read(&[("content-length", " 13 ")], 12);
        assert!(!h.exact_length);
        assert_eq!(h.announced_length, Some(13));
        let h = read(&[("content-length", "12"), ("content-length", "12")], 12);
        assert!(!h.exact_length);
        assert_eq!(h.announced_length, Some(12));
        let h = read(&[("content-length", "x")], 12);
        assert_eq!(h.announced_length, None);
        assert_eq!(read(&[], 12).announced_length, None);
    }

    #[test]
    fn the_first_content_type_decides_acceptance_and_only_one_plain_json_is_kept() {
        let h = read(&[("content-type", "application/json")], 1);
        assert!(h.json_content_type && h.check_content_type().is_ok());
        let h = read(&[("content-type", "Application/JSON; charset=utf-8")], 1);
        assert!(!h.json_content_type && h.check_content_type().is_ok());
        let h = read(
            &[
                ("content-type", "application/json"),
                ("content-type", "text/plain"),
            ],
            1,
        );
        assert!(!h.json_content_type && h.check_content_type().is_ok());
        let h = read(&[("content-type", "text/plain")], 1);
        assert_eq!(
            h.check_content_type(),
            Err(&HeaderValue::from_static("text/plain"))
        );
        assert!(read(&[], 1).check_content_type().is_ok());
    }
}
