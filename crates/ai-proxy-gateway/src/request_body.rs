//! Reading a client body: under the route's limit (a declared
//! `Content-Length` over it is refused before any byte is read), within
//! the in-flight budget (reserved before reading), with a deadline
//! between two reads.

use std::error::Error as StdError;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body::Body;
use http_body_util::BodyExt;

use crate::budget::{BodyBudget, Reservation};
use crate::error::Rejection;

/// The body's declared length, when there is a valid one: the exact size
/// the body knows (hyper's, from the `Content-Length` it parsed and
/// checked), else the header's.
pub(crate) fn declared_length<B: Body>(headers: &HeaderMap, body: &B) -> Option<u64> {
    // The header lookup and its parse cost as much as reading a short
    // body's bytes; hyper already did both.
    body.size_hint().exact().or_else(|| {
        headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
    })
}

type Polled = Option<Result<http_body::Frame<Bytes>, Box<dyn StdError + Send + Sync>>>;

/// The next frame if it is already there (`None`: the body must be waited
/// for; `cx` is registered).
fn ready_frame<B>(body: &mut B, cx: &mut Context<'_>) -> Option<Polled>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    match Pin::new(body).poll_frame(cx) {
        Poll::Ready(frame) => Some(frame.map(|f| f.map_err(Into::into))),
        Poll::Pending => None,
    }
}

/// Reads the whole body: at most `limit` bytes, held against `budget`,
/// each read within `timeout`. The reservation must live as long as the
/// bytes do.
pub(crate) async fn read<B>(
    mut body: B,
    headers: &HeaderMap,
    limit: u64,
    budget: &Arc<BodyBudget>,
    timeout: Duration,
) -> Result<(Bytes, Option<Reservation>), Rejection>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let declared = declared_length(headers, &body);
    if declared.is_some_and(|n| n > limit) {
        return Err(Rejection::BodyTooLarge { limit });
    }
    if declared == Some(0) || body.is_end_stream() {
        return Ok((Bytes::new(), None));
    }
    let over_budget = || Rejection::BodyBudget {
        budget: budget.limit(),
    };
    let mut reservation = match declared {
        Some(n) => Some(budget.try_reserve(n).ok_or_else(over_budget)?),
        None => None,
    };
    let capacity = declared.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    // One frame stays as it came (no copy); from the second on, frames are
    // appended to one buffer, so a large body is held once, not twice.
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut received: u64 = 0;
    loop {
        // A frame already there needs no timer; the deadline is armed only
        // when the body makes the request wait.
        let ready = poll_fn(|cx| Poll::Ready(ready_frame(&mut body, cx))).await;
        let frame = match ready {
            Some(frame) => frame,
            None => match tokio::time::timeout(timeout, body.frame()).await {
                Ok(frame) => frame.map(|f| f.map_err(Into::into)),
                Err(_) => return Err(Rejection::BodyTimeout { after: timeout }),
            },
        };
        let frame = match frame {
            None => break,
            Some(Err(e)) => return Err(Rejection::BodyRead(e)),
            Some(Ok(frame)) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        received = received.saturating_add(data.len() as u64);
        if received > limit {
            return Err(Rejection::BodyTooLarge { limit });
        }
        // Undeclared lengths are reserved as they arrive.
        if declared.is_none() && !budget.hold(&mut reservation, data.len() as u64) {
            return Err(over_budget());
        }
        match (&mut joined, first.take()) {
            (Some(buf), _) => buf.extend_from_slice(&data),
            (None, None) => first = Some(data),
            (None, Some(head)) => {
                let mut buf = BytesMut::with_capacity(capacity.max(head.len() + data.len()));
                buf.extend_from_slice(&head);
                buf.extend_from_slice(&data);
                joined = Some(buf);
            }
        }
        // All declared bytes are in (hyper counts them down): no poll
        // just to see the end.
        if body.is_end_stream() {
            break;
        }
    }
    let bytes = match (joined, first) {
        (Some(buf), _) => buf.freeze(),
        (None, first) => first.unwrap_or_default(),
    };
    Ok((bytes, reservation))
}
