//! Bodies Pingora cannot replay. Pingora 0.9 hands a body read before
//! `upstream_peer` to `request_body_filter` only from its retry buffer
//! (64 KiB), or when the request has no body at all. A request whose body
//! outgrew that buffer is therefore proxied as a *bodiless* Pingora
//! subrequest of itself: the request's context moves into the subrequest,
//! whose hooks run as usual — its `request_body_filter` is called once per
//! attempt (fallbacks included) with nothing to replay and emits the
//! prepared body — and the subrequest's response is piped to the client.

use pingora::proxy::Session;
use pingora::proxy::subrequest::pipe::{InputBody, InputBodyType, pipe_subrequest};
use pingora::proxy::subrequest::{BodyMode, Ctx as SubrequestCtx};
use pingora::{Error, ErrorType, Result};

use crate::ctx::RequestCtx;

/// Whether Pingora can replay the body read in `request_filter` to each
/// attempt itself (the direct path).
pub(crate) fn replayable(session: &Session) -> bool {
    !session.as_ref().retry_buffer_truncated()
}

/// The context a parent request moved into `session`, when `session` is
/// its bodiless subrequest (taken once).
pub(crate) fn take_parent_ctx(session: &mut Session) -> Option<RequestCtx> {
    session
        .subrequest_ctx
        .as_mut()?
        .user_ctx_mut()?
        .downcast_mut::<Option<RequestCtx>>()?
        .take()
}

/// Proxies the request as a bodiless subrequest carrying `ctx` (which is
/// left empty: the subrequest logs the request) and pipes its response to
/// the client.
pub(crate) async fn proxy(session: &mut Session, ctx: &mut RequestCtx) -> Result<()> {
    let Some(spawner) = session.subrequest_spawner.as_ref() else {
        return Err(Error::explain(
            ErrorType::InternalError,
            "the request body outgrew Pingora's retry buffer and no subrequest can carry it",
        ));
    };
    let carried = SubrequestCtx::builder()
        .body_mode(BodyMode::NoBody)
        .user_ctx(Box::new(Some(std::mem::take(ctx))))
        .build();
    let (subrequest, handle) = spawner.create_subrequest(session.as_downstream(), carried);
    let relay = |task| Ok(Some(task));
    let no_body = InputBodyType::Preset(InputBody::NoBody);
    match pipe_subrequest(session, subrequest, handle, relay, no_body).await {
        Ok(mut state) => {
            // The subrequest's `logging` ends after its last response task.
            if let Some(task) = state.join_handle.take() {
                let _ = task.await;
            }
            Ok(())
        }
        Err(mut failed) => {
            // The subrequest reports its failure as soon as its answer is
            // queued: relay what is queued (e.g. the 502 it wrote), then
            // end the client's connection with the error. Otherwise the
            // client is gone: dropping the pipe ends the subrequest.
            if let Some(mut rx) = failed.state.pipe_rx.take()
                && failed.from_subreq
            {
                let mut tasks = Vec::new();
                while let Some(task) = rx.recv().await {
                    tasks.push(task);
                }
                if !tasks.is_empty() {
                    let _ = session.write_response_tasks(tasks).await;
                }
            }
            if let Some(task) = failed.state.join_handle.take() {
                let _ = task.await;
            }
            Err(failed.error)
        }
    }
}
