//! The upstream side of one attempt: `prepare`, the peer (address, TLS,
//! SNI, timeouts from `ClientHints`), and the prepared head as Pingora's
//! request header.

use std::time::{Duration, Instant, SystemTime};

use ai_proxy::core::exchange::Exchange;
use ai_proxy::{ClientHints, Prepared};
use ai_proxy_gateway::embed::InstanceView;
use ai_proxy_gateway::{AttemptFailure, Gateway, Rejection, TransportCause};
use http::header::{self, HeaderValue};
use http::{Request, Uri};
use pingora::http::RequestHeader;
use pingora::upstreams::peer::HttpPeer;

use crate::ctx::{PreparedAttempt, RequestCtx};
use crate::failure::PingoraError;

/// Prepares the attempt at `instance` and returns its peer; the prepared
/// request and the exchange go into `ctx`.
pub(crate) async fn prepare(
    gateway: &Gateway,
    instance: InstanceView<'_>,
    ctx: &mut RequestCtx,
) -> Result<HttpPeer, Rejection> {
    if let Some(log) = ctx.log.as_mut() {
        log.attempt(instance.name());
    }
    let token = gateway.access_token(instance).await?;
    let Some((parts, body)) = ctx.client.as_ref() else {
        return Err(Rejection::BodyRead("no client request to prepare".into()));
    };
    let mut request = Request::new(body.clone());
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.version_mut() = parts.version;
    *request.headers_mut() = parts.headers.clone();
    let Prepared {
        upstream,
        context,
        hints,
        translator,
        ..
    } = instance
        .proxy()
        // The wall clock is for signed routes (bedrock's SigV4).
        .prepare_at(request, Instant::now(), SystemTime::now(), token.as_ref())
        .map_err(Rejection::Prepare)?;
    if let Some(log) = ctx.log.as_mut() {
        log.context(&context);
        log.upstream(upstream.uri().authority().map_or("", |a| a.as_str()));
    }
    let provider = context.provider;
    let peer = peer(upstream.uri(), &hints)
        .await
        .map_err(|failure| Rejection::Attempt {
            failure,
            provider,
            timeout: hints.timeout,
        })?;
    let (head, body) = upstream.into_parts();
    ctx.set_exchange(
        Exchange::new(context, translator)
            .with_text_limit(gateway.settings().max_logged_payload_bytes),
    );
    ctx.prepared = Some(PreparedAttempt {
        head,
        body,
        provider,
        timeout: hints.timeout,
    });
    Ok(peer)
}

/// The peer for `uri`: resolved here (asynchronously; Pingora's own
/// constructor would block), TLS with SNI for `https`, the route's
/// `timeout` for connecting and each read and write, keep-alive and
/// certificate checks as configured.
async fn peer(uri: &Uri, hints: &ClientHints) -> Result<HttpPeer, AttemptFailure> {
    let tls = uri.scheme_str() == Some("https");
    let host = uri.host().unwrap_or_default();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let unreachable = |cause, message: String| AttemptFailure::Connection {
        cause,
        source: Box::new(PingoraError::new(message)),
    };
    // IPv6 literals come bracketed in URIs.
    let name = host.trim_start_matches('[').trim_end_matches(']');
    let resolved = tokio::time::timeout(hints.timeout, tokio::net::lookup_host((name, port)))
        .await
        .map_err(|_| {
            unreachable(
                TransportCause::ConnectTimeout,
                format!("resolving {host} timed out"),
            )
        })?
        .map_err(|e| unreachable(TransportCause::Network, format!("resolving {host}: {e}")))?
        .next()
        .ok_or_else(|| {
            unreachable(
                TransportCause::Network,
                format!("{host} resolves to no address"),
            )
        })?;
    let mut peer = HttpPeer::new(resolved, tls, name.to_owned());
    let options = &mut peer.options;
    options.connection_timeout = Some(hints.timeout);
    options.read_timeout = Some(hints.timeout);
    options.write_timeout = Some(hints.timeout);
    // Zero: the connection is not kept for another request.
    options.idle_timeout = Some(if hints.keepalive {
        hints.keepalive_timeout
    } else {
        Duration::ZERO
    });
    options.verify_cert = hints.ssl_verify;
    options.verify_hostname = hints.ssl_verify;
    Ok(peer)
}

/// Pingora's request header for the prepared head: its method, path,
/// and exactly its headers (the client's are not carried over), with
/// `Host` and the body's length.
pub(crate) fn request_header(
    prepared: &PreparedAttempt,
) -> Result<RequestHeader, Box<pingora::Error>> {
    let head = &prepared.head;
    let path = head.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut header = RequestHeader::build(head.method.clone(), path.as_bytes(), None)?;
    for (name, value) in &head.headers {
        header.append_header(name.clone(), value.clone())?;
    }
    if !head.headers.contains_key(header::HOST)
        && let Some(authority) = head.uri.authority()
    {
        header.insert_header(header::HOST, authority.as_str())?;
    }
    header.insert_header(
        header::CONTENT_LENGTH,
        HeaderValue::from(prepared.body.len()),
    )?;
    header.remove_header(&header::TRANSFER_ENCODING);
    Ok(header)
}
