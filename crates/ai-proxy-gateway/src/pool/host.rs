//! The `Host` header the pool writes when a request has none.

use http::HeaderValue;
use http::uri::{Authority, Scheme};

/// `Host` for an upstream: its authority without user info or the
/// scheme's default port — what hyper-util's client added, from the text
/// as it is (hyper-util parsed the port and formatted a string, ~3k
/// instructions a request).
pub(super) fn host_header(scheme: &Scheme, authority: &Authority) -> Option<HeaderValue> {
    let authority = authority.as_str();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => "",
    };
    let host = match host.strip_suffix(default_port) {
        Some(bare) if !default_port.is_empty() => bare,
        _ => host,
    };
    HeaderValue::from_str(host).ok()
}

#[cfg(test)]
mod tests {
    use super::host_header;

    fn host(uri: &str) -> Option<String> {
        let uri: http::Uri = uri.parse().unwrap();
        host_header(uri.scheme()?, uri.authority()?).map(|h| h.to_str().unwrap().to_owned())
    }

    #[test]
    fn host_is_the_authority_without_user_info_or_the_default_port() {
        assert_eq!(
            host("https://api.openai.com/v1/x").as_deref(),
            Some("api.openai.com")
        );
        assert_eq!(
            host("https://api.openai.com:443/v1").as_deref(),
            Some("api.openai.com")
        );
        assert_eq!(host("http://127.0.0.1:80/v1").as_deref(), Some("127.0.0.1"));
        assert_eq!(
            host("http://127.0.0.1:8080/v1").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(host("https://h:80/v1").as_deref(), Some("h:80"));
        assert_eq!(
            host("http://u:p@[::1]:9000/").as_deref(),
            Some("[::1]:9000")
        );
        assert_eq!(host("/relative"), None);
    }
}
