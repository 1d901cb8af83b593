//! A client's TCP stream, shared by the connection's driver and the
//! request body it hands to the handler: tokio's `TcpStream` reads and
//! writes through `&self`, so both use it on the connection's one task,
//! without a lock. The driver never reads while a request body may still
//! be on the wire ([`Socket::wire_done`]).

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use tokio::io::Interest;
use tokio::net::TcpStream;

use crate::timer::{CLIENT_SEND, Deadline};

/// Bytes made room for in a read buffer that has little left.
pub(crate) const READ_CHUNK: usize = 8 * 1024;
/// Room below which a read buffer is grown before a read.
const MIN_ROOM: usize = 1024;

/// The stream, and what the request body tells the driver.
#[derive(Debug)]
pub(crate) struct Socket {
    pub(crate) stream: TcpStream,
    /// Whether the current request's body has been read off the wire to
    /// its end (or had nothing left there): until then only the body reads.
    wire_done: AtomicBool,
    /// Bytes a chunked body read past its end (the next request's), handed
    /// back to the driver. Touched once per chunked request, never on the
    /// usual `Content-Length` path.
    spill: Mutex<Option<BytesMut>>,
}

impl Socket {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            wire_done: AtomicBool::new(true),
            spill: Mutex::new(None),
        }
    }

    /// Whether the current request's body is off the wire.
    pub(crate) fn wire_done(&self) -> bool {
        // One task reads and writes it: ordering is the task's.
        self.wire_done.load(Ordering::Relaxed)
    }

    pub(crate) fn set_wire_done(&self, done: bool) {
        self.wire_done.store(done, Ordering::Relaxed);
    }

    /// A chunked body's end: what it read past itself goes back to the
    /// driver, then the wire is the driver's again.
    pub(crate) fn hand_back(&self, rest: BytesMut) {
        if let Ok(mut spill) = self.spill.lock() {
            *spill = Some(rest);
        }
        self.set_wire_done(true);
    }

    /// What a chunked body handed back, if anything.
    pub(crate) fn take_spill(&self) -> Option<BytesMut> {
        self.spill.lock().ok().and_then(|mut s| s.take())
    }

    /// Reads what the stream has into `buf` (at most `limit` bytes, `limit` > 0;
    /// room is made when the buffer has little). A read that returns less than asked drained the
    /// socket: its readiness is cleared then (as tokio's `AsyncRead` does),
    /// so the next poll waits instead of costing a `recv` that would
    /// block.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        limit: usize,
    ) -> Poll<io::Result<usize>> {
        if buf.capacity() - buf.len() < MIN_ROOM {
            buf.reserve(READ_CHUNK);
        }
        loop {
            ready!(self.stream.poll_read_ready(cx))?;
            // Never 0 (a 0-byte read would read as the client's EOF):
            // callers ask for at least one byte, and there is room.
            let asked = (buf.capacity() - buf.len()).min(limit);
            let mut got = 0;
            let read = self.stream.try_io(Interest::READABLE, || {
                got = self.stream.try_read_buf(&mut (&mut *buf).limit(asked))?;
                if got > 0 && got < asked {
                    // Drained: readiness cleared by `try_io`.
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(got)
            });
            match read {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if got > 0 {
                        return Poll::Ready(Ok(got));
                    }
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Writes `slices` whole, vectored; `*written` counts the bytes out so
    /// far (for a write resumed after `Pending`).
    pub(crate) fn poll_write_all(
        &self,
        cx: &mut Context<'_>,
        slices: &[&[u8]],
        written: &mut usize,
    ) -> Poll<io::Result<()>> {
        let total: usize = slices.iter().map(|s| s.len()).sum();
        while *written < total {
            ready!(self.stream.poll_write_ready(cx))?;
            let mut skip = *written;
            let mut io = [IoSlice::new(&[]); 4];
            let mut n = 0;
            for slice in slices {
                if skip >= slice.len() {
                    skip -= slice.len();
                    continue;
                }
                if let (Some(at), Some(rest)) = (io.get_mut(n), slice.get(skip..)) {
                    *at = IoSlice::new(rest);
                    n += 1;
                }
                skip = 0;
            }
            match self
                .stream
                .try_write_vectored(io.get(..n).unwrap_or_default())
            {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => *written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// Writes `slices` whole on `socket`; `TimedOut` when the client takes
/// nothing for `timeout` (nginx's `send_timeout`: a client that stops
/// reading is not kept). The timer is armed only once a write would block,
/// and again after each write that made progress.
pub(crate) async fn write_all(
    socket: &Socket,
    slices: &[&[u8]],
    timeout: Duration,
) -> io::Result<()> {
    let mut written = 0;
    // The bytes written when the timer was armed, and the timer.
    let mut stalled: Option<(usize, Option<Deadline>)> = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(done) = socket.poll_write_all(cx, slices, &mut written) {
            return Poll::Ready(done);
        }
        if stalled.as_ref().is_none_or(|(at, _)| *at != written) {
            stalled = Some((
                written,
                Deadline::after(&CLIENT_SEND, Instant::now(), timeout),
            ));
        }
        if let Some((_, Some(deadline))) = &mut stalled
            && Pin::new(deadline).poll(cx).is_ready()
        {
            return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
        }
        Poll::Pending
    })
    .await
}
