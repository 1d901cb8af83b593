//! [`UpstreamBody`]: an upstream response body, read off its connection by
//! the task that polls it, which hands the connection back to the pool
//! once read to the end.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::uri::{Authority, Scheme};
use http_body::{Body, Frame, SizeHint};

use super::Pool;
use super::connection::Connection;
use super::h1::{BodyReader, Http1Error};

/// An upstream response body. Read to the end, its connection goes back
/// to the gateway's pool for the next request (when the response allows
/// it); dropped before the end, the connection is closed (its response is
/// unfinished).
pub struct UpstreamBody {
    /// `None` once the body has ended (or failed).
    connection: Option<Box<Connection>>,
    reader: BodyReader,
    home: Option<Home>,
}

/// Where a connection goes back when its response has been read.
pub(crate) struct Home {
    pub(crate) pool: Arc<Pool>,
    pub(crate) scheme: Scheme,
    pub(crate) authority: Authority,
}

impl UpstreamBody {
    /// The body of a response on `connection`, read by `reader`; `home`
    /// where the connection goes afterwards, if it may carry another
    /// request.
    pub(crate) fn new(connection: Box<Connection>, reader: BodyReader, home: Option<Home>) -> Self {
        let mut body = Self {
            connection: Some(connection),
            reader,
            home,
        };
        // No body at all (`Content-Length: 0`, `HEAD`, 204): done now.
        body.finish_if_done();
        body
    }

    /// At the end, the connection goes home if nothing was left over, else
    /// it is closed.
    fn finish_if_done(&mut self) {
        if !self.reader.is_done() {
            return;
        }
        if let Some(connection) = self.connection.take()
            && let Some(Home {
                pool,
                scheme,
                authority,
            }) = self.home.take()
            && connection.is_clean()
        {
            pool.checkin(scheme, authority, connection, Instant::now());
        }
    }
}

impl std::fmt::Debug for UpstreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamBody")
            .field("pooled", &self.home.is_some())
            .field("done", &self.reader.is_done())
            .finish_non_exhaustive()
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = Http1Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Http1Error>>> {
        let this = self.get_mut();
        let Some(connection) = this.connection.as_mut() else {
            return Poll::Ready(None);
        };
        match connection.poll_body(cx, &mut this.reader) {
            Poll::Ready(Ok(data)) => {
                // A reader may stop at `is_end_stream` without asking
                // again: the connection goes home with the last bytes.
                this.finish_if_done();
                Poll::Ready(data.map(|data| Ok(Frame::data(data))))
            }
            Poll::Ready(Err(e)) => {
                // A failed body's connection is not reused.
                this.connection = None;
                this.home = None;
                this.reader = BodyReader::Done;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.reader.is_done()
    }

    fn size_hint(&self) -> SizeHint {
        self.reader
            .remaining()
            .map_or_else(SizeHint::default, SizeHint::with_exact)
    }
}
