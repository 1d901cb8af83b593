//! One upstream attempt: the access token, `prepare`, the request, and the
//! response head through the exchange.

use std::time::{Duration, Instant, SystemTime};

use ai_proxy::core::exchange::{Exchange, ResponseHead};
use ai_proxy::{AiProxy, Prepared};
use bytes::Bytes;
use http::{Request, Response, StatusCode};

use crate::access_log::RequestLog;
use crate::error::{AttemptFailure, Rejection};
use crate::pool::UpstreamBody;
use crate::relay::RelayError;
use crate::routes::Upstream;
use crate::shared::Shared;
use crate::timer::{Deadline, UPSTREAM_HEAD, within};

/// An upstream response head the exchange accepted, ready to relay.
pub(crate) struct Answer {
    pub(crate) response: Response<UpstreamBody>,
    pub(crate) exchange: Box<Exchange>,
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
        // Boxed: only `auth.gcp` routes pay for the token fetch's room.
        Some(gcp) => Some(
            Box::pin(gcp.token(&inner.tokens))
                .await
                .map_err(Rejection::Token)?,
        ),
    };
    let started = Instant::now();
    let Prepared {
        upstream: mut up,
        context,
        hints,
        translator,
        ..
    } = if proxy.needs_wall_clock() {
        // The wall clock is for signed routes (bedrock's SigV4) only.
        proxy.prepare_at(request, started, SystemTime::now(), token.as_ref())
    } else {
        proxy.prepare(request, started, token.as_ref())
    }
    .map_err(Rejection::Prepare)?;
    log.context(&context);
    log.upstream(up.uri().authority().map_or("", |a| a.as_str()));
    let provider = context.provider;
    if let Some(traceparent) = log.traceparent() {
        up.headers_mut().insert(
            http::header::HeaderName::from_static("traceparent"),
            traceparent,
        );
    }
    // Pinned where it is: the deadline's future borrows it, not moves it.
    let sent = std::pin::pin!(upstream.client.send(up, started));
    // The deadline counts from before `prepare` (microseconds earlier
    // than after it), on a reused timer (see `crate::timer`).
    let deadline = Deadline::after(&UPSTREAM_HEAD, started, hints.timeout);
    let response = match within(deadline, sent).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(source)) => Err(AttemptFailure::Transport { source }),
        Err(()) => Err(AttemptFailure::Timeout {
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
    // Boxed where it is made (built in its allocation): it moves on
    // through the answer into the relay (~1 KB each time otherwise).
    let mut exchange =
        Exchange::boxed(context, translator, inner.settings.max_logged_payload_bytes);
    match exchange.on_head(response.status(), response.headers(), now) {
        Ok(head) => Ok(Answer {
            response,
            exchange,
            head,
            timeout: hints.timeout,
        }),
        Err(e) => {
            log.metrics(exchange.finish_boxed(now));
            Err(Rejection::Relay(RelayError::Exchange(e)))
        }
    }
}
