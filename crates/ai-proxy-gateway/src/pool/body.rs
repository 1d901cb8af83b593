//! [`UpstreamBody`]: an upstream response body that hands its connection
//! back to the pool once read to the end.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use super::Checkin;

/// An upstream response body. Read to the end, its connection goes back
/// to the gateway's pool for the next request; dropped before the end,
/// the connection is closed (its response is unfinished).
pub struct UpstreamBody {
    inner: Incoming,
    checkin: Option<Checkin>,
}

impl UpstreamBody {
    pub(crate) fn new(inner: Incoming, checkin: Option<Checkin>) -> Self {
        let mut body = Self { inner, checkin };
        // No body at all (`Content-Length: 0`, `HEAD`, 204): done now.
        body.check_in_if_done();
        body
    }

    fn check_in_if_done(&mut self) {
        if self.inner.is_end_stream()
            && let Some(checkin) = self.checkin.take()
        {
            checkin.done();
        }
    }
}

/// A body that is not the pool's (its connection is someone else's).
impl From<Incoming> for UpstreamBody {
    fn from(inner: Incoming) -> Self {
        Self {
            inner,
            checkin: None,
        }
    }
}

impl std::fmt::Debug for UpstreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamBody")
            .field("pooled", &self.checkin.is_some())
            .finish_non_exhaustive()
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            // A reader may stop at `is_end_stream` without asking again.
            Poll::Ready(Some(Ok(_))) => this.check_in_if_done(),
            Poll::Ready(None) => {
                if let Some(checkin) = this.checkin.take() {
                    checkin.done();
                }
            }
            // A failed body's connection is not reused.
            Poll::Ready(Some(Err(_))) => this.checkin = None,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
