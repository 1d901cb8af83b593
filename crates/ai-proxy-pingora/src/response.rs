//! The response side: the balancer's verdict on an upstream status, the
//! head and body through the SDK's `Exchange`, and the access record.

use std::time::Instant;

use ai_proxy::multi::{Decision, Outcome, Report, RequestKeys};
use ai_proxy_gateway::embed::{self, MultiView};
use ai_proxy_gateway::{RelayEnd, RelayError};
use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderValue};
use pingora::http::ResponseHeader;
use pingora::{Error, ErrorSource, ErrorType};

use crate::ctx::RequestCtx;

/// What the balancer makes of an attempt's outcome.
pub(crate) enum Verdict {
    /// Relay this response (its status replaced when set: 502 once every
    /// instance failed).
    Deliver,
    /// Try the next instance; this response is dropped.
    Retry,
}

/// Reports an attempt's outcome to the balancer; `delivered` when its
/// response goes to the client whatever the decision.
pub(crate) fn judge(
    multi: MultiView<'_>,
    ctx: &mut RequestCtx,
    outcome: Outcome,
    fall_back: bool,
) -> Verdict {
    let (Some(attempt), Some((parts, _)), Some(remote)) =
        (ctx.attempt.take(), ctx.client.as_ref(), ctx.remote)
    else {
        return Verdict::Deliver;
    };
    let ip = remote.ip().to_string();
    let keys = RequestKeys::new().with_parts(parts).with_remote_addr(&ip);
    let report = Report {
        outcome,
        delivered: !fall_back,
    };
    let balancer = multi.multi().balancer();
    match balancer.on_outcome(attempt, report, &keys, Instant::now()) {
        // A delivered attempt is never retried.
        Decision::Retry(next) if fall_back => {
            ctx.attempt = Some(next);
            Verdict::Retry
        }
        Decision::Retry(_) => Verdict::Deliver,
        Decision::Return(finish) => {
            if !finish.passes_response_through() {
                ctx.status_override = Some(finish.status);
            }
            Verdict::Deliver
        }
    }
}

/// Closes the exchange of an attempt whose response is dropped (the
/// record keeps its metrics, as for the last failure).
pub(crate) fn drop_attempt(ctx: &mut RequestCtx, header: &ResponseHeader) {
    if let Some(mut exchange) = ctx.take_exchange() {
        let now = Instant::now();
        let _ = exchange.on_head(header.status, &header.headers, now);
        if let Some(log) = ctx.log.as_mut() {
            log.metrics(exchange.finish(now));
        }
    }
}

/// The response head through the exchange: `Content-Type` replaced and
/// the length dropped when the body is rewritten, the status replaced when
/// every instance failed.
pub(crate) fn head(ctx: &mut RequestCtx, header: &mut ResponseHeader) -> Result<(), RelayError> {
    let Some(exchange) = ctx.exchange() else {
        return Ok(());
    };
    let head = exchange
        .on_head(header.status, &header.headers, Instant::now())
        .map_err(RelayError::Exchange)?;
    if head.rewritten {
        header.remove_header(&header::CONTENT_LENGTH);
        // Pingora frames the rewritten body itself (chunked on HTTP/1.1).
        header.remove_header(&header::TRANSFER_ENCODING);
    }
    if let Some(ct) = &head.content_type {
        header
            .insert_header(header::CONTENT_TYPE, ct.clone())
            .map_err(|e| RelayError::Upstream(std::sync::Arc::new(e)))?;
    }
    if let Some(status) = ctx.status_override {
        header
            .set_status(status)
            .map_err(|e| RelayError::Upstream(std::sync::Arc::new(e)))?;
    }
    if head.rewritten && header.version != http::Version::HTTP_10 {
        let _ = header.insert_header(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
    }
    ctx.head_sent = true;
    Ok(())
}

/// One body chunk through the exchange (the bytes for the client replace
/// it); at the end, the exchange's tail and metrics.
pub(crate) fn body(
    ctx: &mut RequestCtx,
    body: &mut Option<Bytes>,
    end_of_stream: bool,
) -> Result<(), RelayError> {
    let Some(exchange) = ctx.exchange() else {
        return Ok(());
    };
    let now = Instant::now();
    let mut out = match body.take() {
        Some(chunk) if !chunk.is_empty() => {
            exchange.on_body(chunk, now).map_err(RelayError::Exchange)?
        }
        _ => Bytes::new(),
    };
    if end_of_stream {
        let tail = exchange.on_eof(now).map_err(RelayError::Exchange)?;
        out = concat(out, tail);
        if let Some(exchange) = ctx.take_exchange() {
            ctx.metrics = Some(exchange.finish(now));
        }
    }
    // An empty chunk would end a chunked response early.
    *body = (!out.is_empty()).then_some(out);
    Ok(())
}

/// A stream cut by its duration limit: the client protocol's error event
/// (the gateway's) replaces the chunk, so the client learns why before the
/// connection drops. `false` when there is no event to send.
pub(crate) fn announce_cut(
    ctx: &mut RequestCtx,
    body: &mut Option<Bytes>,
    error: &RelayError,
) -> bool {
    if !ctx.head_sent {
        return false;
    }
    let Some(protocol) = ctx.exchange().map(|e| e.context().client_protocol) else {
        return false;
    };
    match embed::stream_cut_event(protocol, error) {
        Some(event) => {
            *body = Some(event);
            true
        }
        None => false,
    }
}

fn concat(a: Bytes, b: Bytes) -> Bytes {
    if a.is_empty() {
        return b;
    }
    if b.is_empty() {
        return a;
    }
    let mut both = BytesMut::with_capacity(a.len() + b.len());
    both.extend_from_slice(&a);
    both.extend_from_slice(&b);
    both.freeze()
}

/// Ends the access record: the gateway's answer, a relayed response, or
/// one cut short (by the upstream, a limit, or the client leaving).
pub(crate) fn log(ctx: &mut RequestCtx, error: Option<&Error>, answered_status: u16) {
    let Some(mut log) = ctx.log.take() else {
        return;
    };
    if let Some(rejection) = &ctx.rejection
        && !ctx.head_sent
    {
        let status = http::StatusCode::from_u16(answered_status).unwrap_or(rejection.status());
        log.answered(status, rejection.log_message());
        return;
    }
    let now = Instant::now();
    let metrics = match (ctx.metrics.take(), ctx.take_exchange()) {
        (Some(m), _) => m,
        (None, Some(exchange)) => exchange.finish(now),
        // Nothing was attempted and nothing answered: the client left.
        (None, None) => return drop(log),
    };
    let end = relay_end(ctx, error);
    match (ctx.status_override, &end) {
        // Every instance failed: the last answer went out as 502, which
        // is what the client got (the record keeps the upstream's status).
        (Some(status), RelayEnd::Complete) => {
            let upstream = metrics.upstream_status.map_or(0, |s| s.as_u16());
            log.metrics(metrics);
            log.answered(
                status,
                format!("every instance failed; the last answer ({upstream}) was relayed"),
            );
        }
        _ => log.ended(metrics, end),
    }
}

fn relay_end(ctx: &mut RequestCtx, error: Option<&Error>) -> RelayEnd {
    let Some(e) = error else {
        return RelayEnd::Complete;
    };
    if let Some(relay) = ctx.relay_error.take() {
        return RelayEnd::Failed(relay);
    }
    if *e.esource() == ErrorSource::Downstream
        || matches!(
            e.etype(),
            ErrorType::WriteError | ErrorType::ConnectionClosed
        ) && *e.esource() != ErrorSource::Upstream
    {
        return RelayEnd::ClientGone;
    }
    let cause = crate::failure::PingoraError::from_error(e);
    RelayEnd::Failed(match e.etype() {
        ErrorType::ReadTimedout => RelayError::ReadTimeout {
            after: ctx
                .prepared
                .as_ref()
                .map_or(std::time::Duration::ZERO, |p| p.timeout),
        },
        _ => RelayError::Upstream(std::sync::Arc::new(cause)),
    })
}
