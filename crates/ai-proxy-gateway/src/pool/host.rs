//! The `Host` header the pool writes when a request has none.

/// `Host` for `uri`: its authority without user info or the scheme's
/// default port — what hyper-util's client added, from the text as it is
/// (hyper-util parsed the port and formatted a string, ~3k instructions a
/// request).
pub(super) fn host_header(uri: &http::Uri) -> Option<http::HeaderValue> {
    let authority = uri.authority()?.as_str();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let default_port = match uri.scheme_str() {
        Some("https") => ":443",
        Some("http") => ":80",
        _ => "",
    };
    let host = match host.strip_suffix(default_port) {
        Some(bare) if !default_port.is_empty() => bare,
        _ => host,
    };
    http::HeaderValue::from_str(host).ok()
}

#[cfg(test)]
mod tests {
    use super::host_header;

    fn host(uri: &str) -> Option<String> {
        host_header(&uri.parse().unwrap()).map(|h| h.to_str().unwrap().to_owned())
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
