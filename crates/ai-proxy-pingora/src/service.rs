//! [`AiProxyService`]: the gateway's routes served through Pingora's
//! `ProxyHttp` hooks.

use std::net::SocketAddr;

use ai_proxy::multi::Outcome;
use ai_proxy_gateway::embed::{InstanceView, TargetView};
use ai_proxy_gateway::{AttemptFailure, Gateway, Rejection, RelayError};
use async_trait::async_trait;
use bytes::Bytes;
use http::StatusCode;
use http::header;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorSource, ErrorType, Result};

use crate::ctx::RequestCtx;
use crate::failure::{self, PingoraError};
use crate::response::{self, Verdict};
use crate::{bodiless, request, upstream};

/// The routes of a [`Gateway`] as a Pingora proxy (see the
/// [crate docs](crate) for what each hook does).
#[derive(Debug, Clone)]
pub struct AiProxyService {
    gateway: Gateway,
}

/// Why a gateway cannot be served through Pingora.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// A route carries plugins the Pingora service does not run: serving
    /// it without them would drop what its author asked for.
    #[error(
        "route {route}: plugins besides ai-proxy / ai-proxy-multi are not run by the Pingora \
         service; remove them or serve the route with `ai-proxy serve`"
    )]
    OtherPlugins {
        /// The route's id.
        route: String,
    },
}

impl AiProxyService {
    /// Serves `gateway`'s routes; refuses routes with other plugins.
    pub fn new(gateway: Gateway) -> Result<Self, ServiceError> {
        if let Some((_, route)) = gateway.routes().find(|(_, r)| r.has_other_plugins()) {
            return Err(ServiceError::OtherPlugins {
                route: route.id().to_owned(),
            });
        }
        Ok(Self { gateway })
    }

    /// The gateway it serves.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The instance of the attempt in flight.
    fn instance(&self, ctx: &RequestCtx) -> Option<InstanceView<'_>> {
        match self.gateway.route(ctx.route?)?.target() {
            TargetView::Single(instance) => Some(instance),
            TargetView::Multi(multi) => multi.instance(ctx.attempt.as_ref()?),
            _ => None,
        }
    }

    /// Goes on to the upstream: through Pingora's proxy phases when it can
    /// replay the body to each attempt, else as a bodiless subrequest
    /// (answered here).
    async fn proxy(session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        if bodiless::replayable(session) {
            return Ok(false);
        }
        bodiless::proxy(session, ctx).await?;
        Ok(true)
    }

    /// Keeps the gateway's answer for `fail_to_proxy`.
    fn refuse(ctx: &mut RequestCtx, rejection: Rejection) -> Box<Error> {
        let e = failure::answered(&rejection);
        ctx.rejection = Some(rejection);
        e
    }

    /// An attempt got no response head: the balancer decides whether the
    /// next instance is tried (`e` retried); else it is the answer.
    fn attempt_failed(
        &self,
        ctx: &mut RequestCtx,
        failure: AttemptFailure,
        mut e: Box<Error>,
    ) -> Box<Error> {
        let timeout = failure.is_timeout();
        let (provider, after) = match &ctx.prepared {
            Some(p) => (p.provider, p.timeout),
            None => return e,
        };
        // No response: nothing for the record but the failure.
        drop(ctx.take_exchange());
        ctx.rejection = Some(Rejection::Attempt {
            failure,
            provider,
            timeout: after,
        });
        let retry = match ctx.route.and_then(|k| request::multi_of(&self.gateway, k)) {
            Some(multi) => matches!(
                response::judge(multi, ctx, Outcome::Transport { timeout }, true),
                Verdict::Retry
            ),
            None => false,
        };
        e.set_retry(retry);
        e
    }
}

#[async_trait]
impl ProxyHttp for AiProxyService {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::default()
    }

    fn allow_spawning_subrequest(&self, session: &Session, _ctx: &RequestCtx) -> bool {
        // Only requests spawn (bodiless) subrequests; those never do.
        session.subrequest_ctx.is_none()
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        if let Some(parent) = bodiless::take_parent_ctx(session) {
            *ctx = parent;
            return Ok(false);
        }
        let remote = session
            .client_addr()
            .and_then(|a| a.as_inet())
            .copied()
            .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
        let parts = session.req_header().as_owned_parts();
        ctx.remote = Some(remote);
        ctx.log = Some(self.gateway.request_log(&parts, remote));
        let rejection = match request::admit(&self.gateway, session, &parts, remote).await {
            Err(rejection) => rejection,
            Ok(request::Admitted { key, body, hold }) => {
                ctx.route = Some(key);
                ctx.body_hold = hold;
                if let (Some(log), Some(route)) = (ctx.log.as_mut(), self.gateway.route(key)) {
                    log.route(route.id());
                }
                let picked = request::multi_of(&self.gateway, key)
                    .map(|multi| request::pick(multi, &parts, remote));
                ctx.client = Some((parts, body));
                match picked {
                    Some(Err(e)) => Rejection::Pick(e),
                    Some(Ok(attempt)) => {
                        ctx.attempt = Some(attempt);
                        return Self::proxy(session, ctx).await;
                    }
                    None => return Self::proxy(session, ctx).await,
                }
            }
        };
        write_answer(session, &rejection, None).await;
        ctx.rejection = Some(rejection);
        Ok(true)
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        let Some(instance) = self.instance(ctx) else {
            let reason = "the request has no instance to attempt".to_owned();
            let rejection = Rejection::Prepare(ai_proxy::PrepareError::Upstream { reason });
            return Err(Self::refuse(ctx, rejection));
        };
        match upstream::prepare(&self.gateway, instance, ctx).await {
            Ok(peer) => Ok(Box::new(peer)),
            Err(Rejection::Attempt { failure, .. }) => {
                let e = Error::explain(ErrorType::ConnectError, "cannot resolve the upstream");
                Err(self.attempt_failed(ctx, failure, e))
            }
            Err(rejection) => Err(Self::refuse(ctx, rejection)),
        }
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        if let Some(prepared) = &ctx.prepared {
            *upstream_request = upstream::request_header(prepared)?;
        }
        Ok(())
    }

    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        // The client's body went into `prepare`; the prepared one goes
        // out whole, at the end (an empty chunk sends nothing).
        *body = Some(match (&ctx.prepared, end_of_stream) {
            (Some(prepared), true) => prepared.body.clone(),
            _ => Bytes::new(),
        });
        Ok(())
    }

    async fn upstream_response_filter(
        &self,
        _session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        let status = upstream_response.status;
        if status == StatusCode::UNAUTHORIZED
            && let Some(instance) = self.instance(ctx)
        {
            self.gateway.token_refused(instance);
        }
        let Some(multi) = ctx.route.and_then(|k| request::multi_of(&self.gateway, k)) else {
            return Ok(());
        };
        let fall_back = ctx
            .attempt
            .as_ref()
            .is_some_and(|a| multi.multi().balancer().may_fall_back(a, status.as_u16()));
        let outcome = Outcome::Status(status.as_u16());
        match response::judge(multi, ctx, outcome, fall_back) {
            Verdict::Deliver => Ok(()),
            Verdict::Retry => {
                response::drop_attempt(ctx, upstream_response);
                ctx.falling_back = true;
                Err(Error::explain(
                    ErrorType::HTTPStatus(status.as_u16()),
                    "ai-proxy-multi falls back to the next instance",
                ))
            }
        }
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        response::head(ctx, upstream_response)
            .map_err(|relay| Self::refuse(ctx, Rejection::Relay(relay)))
    }

    fn response_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut RequestCtx,
    ) -> Result<Option<std::time::Duration>> {
        // The cut announced at the previous chunk happens now.
        if let Some(relay) = &ctx.relay_error {
            return Err(Error::explain(ErrorType::InternalError, relay.to_string()));
        }
        match response::body(ctx, body, end_of_stream) {
            Ok(()) => Ok(None),
            Err(relay) => {
                let e = Error::explain(ErrorType::InternalError, relay.to_string());
                let announced = response::announce_cut(ctx, body, &relay);
                ctx.relay_error = Some(relay);
                if announced { Ok(None) } else { Err(e) }
            }
        }
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut RequestCtx,
        e: Box<Error>,
    ) -> Box<Error> {
        let after = ctx.prepared.as_ref().map(|p| p.timeout).unwrap_or_default();
        let failure = failure::attempt_failure(&e, after);
        self.attempt_failed(ctx, failure, e)
    }

    fn error_while_proxy(
        &self,
        _peer: &HttpPeer,
        _session: &mut Session,
        mut e: Box<Error>,
        ctx: &mut RequestCtx,
        client_reused: bool,
    ) -> Box<Error> {
        if std::mem::take(&mut ctx.falling_back) {
            e.set_retry(true);
            return e;
        }
        // Our own answers, and failures after the head went out, end here.
        if ctx.head_sent || matches!(e.etype(), ErrorType::HTTPStatus(_)) {
            e.set_retry(false);
            return e;
        }
        // A pooled connection the upstream had closed: Pingora retries the
        // same instance on a fresh one.
        e.retry.decide_reuse(client_reused);
        if e.retry() {
            return e;
        }
        let after = ctx.prepared.as_ref().map(|p| p.timeout).unwrap_or_default();
        let failure = failure::attempt_failure(&e, after);
        self.attempt_failed(ctx, failure, e)
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut RequestCtx,
    ) -> FailToProxy {
        let unanswered = FailToProxy {
            error_code: 0,
            can_reuse_downstream: false,
        };
        if let Some(head) = session.response_written() {
            // Mid-response: the client's connection is aborted, so the
            // cut is visible to it.
            return FailToProxy {
                error_code: head.status.as_u16(),
                ..unanswered
            };
        }
        let rejection = match ctx.rejection.take() {
            Some(r) => r,
            None if *e.esource() == ErrorSource::Downstream => return unanswered,
            None => match &ctx.prepared {
                Some(p) => Rejection::Attempt {
                    failure: failure::attempt_failure(e, p.timeout),
                    provider: p.provider,
                    timeout: p.timeout,
                },
                None => Rejection::Relay(RelayError::Upstream(std::sync::Arc::new(
                    PingoraError::from_error(e),
                ))),
            },
        };
        let error_code = write_answer(session, &rejection, ctx.status_override).await;
        ctx.rejection = Some(rejection);
        FailToProxy {
            error_code,
            ..unanswered
        }
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        let status = session.response_written().map_or(0, |h| h.status.as_u16());
        response::log(ctx, e, status);
    }
}

/// Writes the gateway's answer (its status replaced by `status`, when
/// set); the status sent, or 0 when the client is gone.
async fn write_answer(
    session: &mut Session,
    rejection: &Rejection,
    status: Option<StatusCode>,
) -> u16 {
    let (parts, body) = rejection.answer().into_parts();
    let status = status.unwrap_or(parts.status);
    let Ok(mut header) = ResponseHeader::build(status, Some(parts.headers.len() + 1)) else {
        return 0;
    };
    for (name, value) in &parts.headers {
        let _ = header.append_header(name.clone(), value.clone());
    }
    let _ = header.insert_header(header::CONTENT_LENGTH, body.len());
    if session
        .write_response_header(Box::new(header), false)
        .await
        .is_err()
    {
        return 0;
    }
    match session.write_response_body(Some(body), true).await {
        Ok(()) => status.as_u16(),
        Err(_) => 0,
    }
}
