//! [`ClientBody`]: a client's request body, read off the connection by the
//! task that polls it (the handler's, which is the connection's): bytes
//! that came with the head first, then the socket — a `Content-Length`
//! body never reads past its end, so the next request stays on the wire
//! for the driver; a chunked body hands back what it read past its end.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};

use super::socket::{READ_CHUNK, Socket};
use crate::h1::chunked::{Chunked, ChunkedError};

/// The interim response `Expect: 100-continue` asks for.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
/// The most bytes of a `Content-Length` body read at a time.
const MAX_READ: usize = 64 * 1024;

/// Why a request body could not be read: the request is answered 400 (or
/// not at all, when the client left) and the connection closes.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientBodyError {
    /// Reading from (or writing `100 Continue` to) the client failed.
    #[error("reading the request body from the client failed")]
    Io(#[source] io::Error),
    /// The client closed the connection before the body's end, as its
    /// framing announced it: the body is cut, not short.
    #[error("the client closed the connection before the request body was complete")]
    Closed,
    /// The chunked body is malformed.
    #[error("the request's chunked body is malformed ({0}); send valid chunked framing")]
    Chunked(#[source] ChunkedError),
}

/// What is left of the body on the wire.
#[derive(Debug)]
enum Wire {
    /// This many bytes (`Content-Length`), more than zero, read into a
    /// buffer kept between reads.
    Length(u64, BytesMut),
    /// Chunked: the decoder and its buffer (the connection's, from the
    /// head's end on).
    Chunked(Chunked, BytesMut),
    /// Nothing: read to its end.
    Done,
}

/// A client's request body (HTTP/1.1).
#[derive(Debug)]
pub(crate) struct ClientBody {
    socket: Arc<Socket>,
    /// Bytes that came with the head, not handed out yet.
    prefix: Option<Bytes>,
    wire: Wire,
    /// `Expect: 100-continue`: bytes of [`CONTINUE`] written so far, until
    /// all are.
    expect: Option<usize>,
}

impl ClientBody {
    /// No body.
    pub(crate) fn empty(socket: Arc<Socket>) -> Self {
        Self {
            socket,
            prefix: None,
            wire: Wire::Done,
            expect: None,
        }
    }

    /// A body of `length` bytes, of which `prefix` came with the head.
    pub(crate) fn length(socket: Arc<Socket>, prefix: Bytes, length: u64, expect: bool) -> Self {
        let left = length.saturating_sub(prefix.len() as u64);
        let wire = if left == 0 {
            Wire::Done
        } else {
            Wire::Length(left, BytesMut::new())
        };
        socket.set_wire_done(left == 0);
        Self {
            socket,
            prefix: (!prefix.is_empty()).then_some(prefix),
            expect: (expect && left > 0).then_some(0),
            wire,
        }
    }

    /// A chunked body, `buf` holding what came after the head.
    pub(crate) fn chunked(socket: Arc<Socket>, buf: BytesMut, expect: bool) -> Self {
        socket.set_wire_done(false);
        Self {
            socket,
            prefix: None,
            expect: expect.then_some(0),
            wire: Wire::Chunked(Chunked::default(), buf),
        }
    }

    /// Writes what is left of `100 Continue`.
    fn poll_continue(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ClientBodyError>> {
        if let Some(written) = &mut self.expect {
            ready!(self.socket.poll_write_all(cx, &[CONTINUE], written))
                .map_err(ClientBodyError::Io)?;
            self.expect = None;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_wire(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, ClientBodyError>> {
        loop {
            match &mut self.wire {
                Wire::Done => return Poll::Ready(Ok(None)),
                Wire::Length(..) => {
                    ready!(self.poll_continue(cx))?;
                    let Wire::Length(left, buf) = &mut self.wire else {
                        continue;
                    };
                    let want = usize::try_from(*left).unwrap_or(MAX_READ).min(MAX_READ);
                    if buf.capacity() - buf.len() < want.min(READ_CHUNK) {
                        buf.reserve(want);
                    }
                    let n = ready!(self.socket.poll_read(cx, buf, want))
                        .map_err(ClientBodyError::Io)?;
                    if n == 0 {
                        self.wire = Wire::Done;
                        return Poll::Ready(Err(ClientBodyError::Closed));
                    }
                    *left -= n as u64;
                    let data = buf.split().freeze();
                    if *left == 0 {
                        self.wire = Wire::Done;
                        self.socket.set_wire_done(true);
                    }
                    return Poll::Ready(Ok(Some(data)));
                }
                Wire::Chunked(decoder, buf) => {
                    let data = decoder.next(buf).map_err(ClientBodyError::Chunked)?;
                    if decoder.is_done() {
                        let rest = std::mem::take(buf);
                        self.wire = Wire::Done;
                        self.socket.hand_back(rest);
                    }
                    if let Some(data) = data {
                        return Poll::Ready(Ok(Some(data)));
                    }
                    if matches!(self.wire, Wire::Done) {
                        return Poll::Ready(Ok(None));
                    }
                    ready!(self.poll_continue(cx))?;
                    let Wire::Chunked(_, buf) = &mut self.wire else {
                        continue;
                    };
                    let n = ready!(self.socket.poll_read(cx, buf, MAX_READ))
                        .map_err(ClientBodyError::Io)?;
                    if n == 0 {
                        self.wire = Wire::Done;
                        return Poll::Ready(Err(ClientBodyError::Closed));
                    }
                }
            }
        }
    }
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = ClientBodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ClientBodyError>>> {
        let this = self.get_mut();
        if let Some(prefix) = this.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        match ready!(this.poll_wire(cx)) {
            Ok(data) => Poll::Ready(data.map(|d| Ok(Frame::data(d)))),
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && matches!(self.wire, Wire::Done)
    }

    fn size_hint(&self) -> SizeHint {
        let prefix = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        match self.wire {
            Wire::Length(left, _) => SizeHint::with_exact(prefix + left),
            Wire::Done => SizeHint::with_exact(prefix),
            Wire::Chunked(..) => SizeHint::default(),
        }
    }
}
