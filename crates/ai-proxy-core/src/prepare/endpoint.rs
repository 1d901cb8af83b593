//! Upstream URL resolution (spec §2): `override.endpoint` parts first, then
//! the provider's defaults; `auth.query`, endpoint query and (passthrough
//! only) client query merged.

use url::{Url, form_urlencoded};

use crate::secret::Secret;

/// One `key=value` query piece, percent-encoded, with its decoded key.
#[derive(Clone, Debug)]
pub(crate) struct QueryPiece {
    key: String,
    piece: Secret,
}

impl QueryPiece {
    /// An `auth.query` entry, encoded once at compile time.
    pub(crate) fn from_auth(key: &str, value: &Secret) -> Self {
        let mut piece = form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>();
        piece.push('=');
        piece.extend(form_urlencoded::byte_serialize(value.expose().as_bytes()));
        Self {
            key: key.to_owned(),
            piece: Secret::new(piece),
        }
    }

    /// The decoded key.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }
}

/// Splits a raw query string into pieces, keeping each piece's encoding.
fn raw_pieces(query: &str) -> impl Iterator<Item = (String, &str)> {
    query.split('&').filter(|p| !p.is_empty()).map(|piece| {
        let raw_key = piece.split('=').next().unwrap_or(piece);
        let key = form_urlencoded::parse(raw_key.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default();
        (key, piece)
    })
}

/// The upstream query: `auth.query`, then the endpoint's query on top
/// (same key replaces), then, for passthrough, the client's query on top
/// except for keys `auth.query` owns. `None` when empty.
pub(crate) fn merge_query(
    auth: &[QueryPiece],
    endpoint: Option<&str>,
    client: Option<&str>,
) -> Option<String> {
    let mut pieces: Vec<(String, String)> = auth
        .iter()
        .map(|p| (p.key.clone(), p.piece.expose().to_owned()))
        .collect();
    let mut overlay = |key: String, piece: &str| match pieces.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = piece.to_owned(),
        None => pieces.push((key, piece.to_owned())),
    };
    for (key, piece) in endpoint.into_iter().flat_map(raw_pieces) {
        overlay(key, piece);
    }
    for (key, piece) in client.into_iter().flat_map(raw_pieces) {
        if !auth.iter().any(|a| a.key == key) {
            overlay(key, piece);
        }
    }
    if pieces.is_empty() {
        return None;
    }
    let mut query = String::new();
    for (i, (_, piece)) in pieces.iter().enumerate() {
        if i > 0 {
            query.push('&');
        }
        query.push_str(piece);
    }
    Some(query)
}

/// `scheme://authority` of a configured endpoint (userinfo and default
/// port dropped, as `url` normalises them).
pub(crate) fn endpoint_origin(url: &Url) -> (&str, String) {
    let host = url.host_str().unwrap_or("");
    let authority = match url.port() {
        Some(port) if !host.is_empty() => format!("{host}:{port}"),
        _ => host.to_owned(),
    };
    (url.scheme(), authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(pairs: &[(&str, &str)]) -> Vec<QueryPiece> {
        pairs
            .iter()
            .map(|(k, v)| QueryPiece::from_auth(k, &Secret::new(*v)))
            .collect()
    }

    #[test]
    fn auth_query_is_encoded() {
        let q = merge_query(&auth(&[("api_key", "a b&c")]), None, None);
        assert_eq!(q.as_deref(), Some("api_key=a+b%26c"));
    }

    #[test]
    fn endpoint_query_overrides_auth_query_and_appends() {
        let q = merge_query(
            &auth(&[("api_key", "k"), ("v", "1")]),
            Some("some_query=yes&v=2"),
            None,
        );
        assert_eq!(q.as_deref(), Some("api_key=k&v=2&some_query=yes"));
    }

    #[test]
    fn endpoint_query_keeps_its_encoding() {
        let q = merge_query(&[], Some("api-version=2024-02-15-preview&x=%2F"), None);
        assert_eq!(q.as_deref(), Some("api-version=2024-02-15-preview&x=%2F"));
    }

    #[test]
    fn client_query_cannot_override_auth_query() {
        let q = merge_query(
            &auth(&[("key", "secret")]),
            Some("a=1"),
            Some("key=evil&a=2&b=3"),
        );
        assert_eq!(q.as_deref(), Some("key=secret&a=2&b=3"));
    }

    #[test]
    fn empty_is_none() {
        assert_eq!(merge_query(&[], Some(""), None), None);
    }

    #[test]
    fn origin_keeps_explicit_ports_only() {
        let u = Url::parse("http://user:pw@127.0.0.1:1980/x?y").unwrap();
        assert_eq!(endpoint_origin(&u), ("http", "127.0.0.1:1980".to_owned()));
        let u = Url::parse("https://h.example:443").unwrap();
        assert_eq!(endpoint_origin(&u), ("https", "h.example".to_owned()));
    }
}
