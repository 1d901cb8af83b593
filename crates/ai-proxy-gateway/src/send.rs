//! One upstream attempt: the access token, `prepare`, the request, and the
//! response head through the exchange.

use std::time::{Duration, Instant, SystemTime};

use ai_proxy::core::exchange::{Exchange, ResponseHead};
use ai_proxy::{AiProxy, Prepared};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

use crate::access_log::RequestLog;
use crate::error::{AttemptFailure, Rejection};
use crate::relay::RelayError;
use crate::routes::Upstream;
use crate::shared::Shared;

/// An upstream response head the exchange accepted, ready to relay.
pub(crate) struct Answer {
    pub(crate) response: Response<Incoming>,
    pub(crate) exchange: Exchange,
    pub(crate) head: ResponseHead,
    /// The route's `timeout`: also the relay's read deadline.
    pub(crate) timeout: Duration,
}

/// Prepares `request` for `proxy`, sends it, and waits (within the route's
/// `timeout`) for the head.
pub(crate) async fn attempt(
    inner: &Shared,
    proxy: &AiProxy,
    upstream: &Upstream,
    request: Request<Bytes>,
    log: &mut RequestLog,
) -> Result<Answer, Rejection> {
    log.attempt(&upstream.name);
    let token = match &upstream.gcp {
        None => None,
        Some(gcp) => Some(gcp.token(&inner.tokens).await.map_err(Rejection::Token)?),
    };
    let Prepared {
        upstream: up,
        context,
        hints,
        translator,
        ..
    } = proxy
        // The wall clock is for signed routes (bedrock's SigV4).
        .prepare_at(request, Instant::now(), SystemTime::now(), token.as_ref())
        .map_err(Rejection::Prepare)?;
    log.context(&context);
    log.upstream(up.uri().authority().map_or("", |a| a.as_str()));
    let provider = context.provider;
    let (mut parts, body) = up.into_parts();
    if !parts.headers.contains_key(http::header::HOST)
        && let Some(host) = host_header(&parts.uri)
    {
        parts.headers.insert(http::header::HOST, host);
    }
    if let Some(traceparent) = log.traceparent() {
        parts.headers.insert(
            http::header::HeaderName::from_static("traceparent"),
            traceparent,
        );
    }
    let sent = upstream
        .client
        .request(Request::from_parts(parts, Full::new(body)));
    let response = match tokio::time::timeout(hints.timeout, sent).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(source)) => Err(AttemptFailure::Transport { source }),
        Err(_) => Err(AttemptFailure::Timeout {
            after: hints.timeout,
        }),
    }
    .map_err(|failure| Rejection::Attempt {
        failure,
        provider,
        timeout: hints.timeout,
    })?;
    if response.status() == StatusCode::UNAUTHORIZED
        && let Some(gcp) = &upstream.gcp
    {
        gcp.evict(&inner.tokens);
    }
    let now = Instant::now();
    let mut exchange =
        Exchange::new(context, translator).with_text_limit(inner.settings.max_logged_payload_bytes);
    match exchange.on_head(response.status(), response.headers(), now) {
        Ok(head) => Ok(Answer {
            response,
            exchange,
            head,
            timeout: hints.timeout,
        }),
        Err(e) => {
            log.metrics(exchange.finish(now));
            Err(Rejection::Relay(RelayError::Exchange(e)))
        }
    }
}

/// `Host` for `uri`: its authority without user info or the scheme's
/// default port — what hyper-util's client would add, from the text
/// as it is (the client's version parses the port and formats a string,
/// ~3k instructions a request).
fn host_header(uri: &http::Uri) -> Option<http::HeaderValue> {
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
