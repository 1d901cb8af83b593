//! One upstream connection: its stream (TCP, or TLS over it) and its
//! buffers. It writes a request and reads the response's head and body on
//! the task that asks (the request's own), through the sans-IO [`h1`]
//! reader.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, Waker, ready};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method};
use hyper_rustls::MaybeHttpsStream;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWrite;
use tokio::net::TcpStream;

use super::h1::{self, BodyReader, Http1Error, head::ResponseHead};

/// What the pool's connector returns.
pub(crate) type Transport = MaybeHttpsStream<TokioIo<TcpStream>>;

/// Bytes read at a time at first (the read buffer's first size).
const READ_CHUNK: usize = 8 * 1024;
/// Bytes read at a time at most: a read that fills the buffer doubles the
/// next one (a large body comes in fewer, larger frames), up to this.
const MAX_READ_CHUNK: usize = 64 * 1024;
/// Room below which the read buffer is grown before a read.
const MIN_ROOM: usize = 1024;
/// Bodies up to this size are copied behind the head: one write.
const COPY_BODY: usize = 16 * 1024;
/// The write buffer kept between requests, at most.
const KEEP_WRITE: usize = 64 * 1024;

/// An open connection to an upstream.
pub(crate) struct Connection {
    io: TokioIo<Transport>,
    read: BytesMut,
    /// The room made in `read` before a read when it has little left.
    read_chunk: usize,
    write: Vec<u8>,
    /// The last request's map, emptied, for the next response head.
    kept: Option<HeaderMap>,
}

/// Why a request got no response head.
pub(crate) struct SendError {
    pub(crate) error: Http1Error,
    /// No byte of the request went out: it may be sent again elsewhere.
    pub(crate) unwritten: bool,
}

impl Connection {
    /// A connection over `transport`, boxed: it moves between the pool and
    /// response bodies, and a TLS stream is large.
    pub(crate) fn new(transport: Transport) -> Box<Self> {
        Box::new(Self {
            io: TokioIo::new(transport),
            read: BytesMut::with_capacity(READ_CHUNK),
            read_chunk: READ_CHUNK,
            write: Vec::new(),
            kept: None,
        })
    }

    /// Writes the request (origin-form `path`) and reads its response head.
    pub(crate) async fn send(
        &mut self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        host: Option<&HeaderValue>,
        body: &Bytes,
    ) -> Result<ResponseHead, SendError> {
        self.write.clear();
        h1::head::write_request(&mut self.write, method, path, headers, host, body.len());
        let rest: &[u8] = if body.len() <= COPY_BODY {
            self.write.extend_from_slice(body);
            &[]
        } else {
            body
        };
        self.write_all(rest).await?;
        if self.write.capacity() > KEEP_WRITE {
            self.write = Vec::new();
        }
        let head_request = *method == Method::HEAD;
        poll_fn(|cx| self.poll_head(cx, head_request))
            .await
            .map_err(|error| SendError {
                error,
                unwritten: false,
            })
    }

    /// Keeps `map` (a sent request's), emptied, for the next response head
    /// read on this connection.
    pub(crate) fn keep_map(&mut self, map: HeaderMap) {
        crate::h1::keep_map(map, &mut self.kept);
    }

    /// Writes the write buffer, then `rest`, and flushes.
    async fn write_all(&mut self, rest: &[u8]) -> Result<(), SendError> {
        let Connection { io, write, .. } = self;
        let head: &[u8] = write;
        let total = head.len() + rest.len();
        let mut written = 0;
        poll_fn(|cx| {
            while written < total {
                let result = match head.get(written..).filter(|h| !h.is_empty()) {
                    Some(head) if rest.is_empty() => {
                        ready!(Pin::new(&mut *io).poll_write(cx, head))
                    }
                    Some(head) => {
                        let both = [IoSlice::new(head), IoSlice::new(rest)];
                        ready!(Pin::new(&mut *io).poll_write_vectored(cx, &both))
                    }
                    None => {
                        let left = rest.get(written - head.len()..).unwrap_or_default();
                        ready!(Pin::new(&mut *io).poll_write(cx, left))
                    }
                };
                match result {
                    Ok(0) => return Poll::Ready(Err((io::ErrorKind::WriteZero.into(), written))),
                    Ok(n) => written += n,
                    Err(e) => return Poll::Ready(Err((e, written))),
                }
            }
            Pin::new(&mut *io).poll_flush(cx).map_err(|e| (e, written))
        })
        .await
        .map_err(|(e, written)| SendError {
            error: Http1Error::Io(e),
            unwritten: written == 0,
        })
    }

    fn poll_head(
        &mut self,
        cx: &mut Context<'_>,
        head_request: bool,
    ) -> Poll<Result<ResponseHead, Http1Error>> {
        loop {
            // The buffer is empty when a request is sent (a connection
            // with bytes left over is not reused): read first.
            match ready!(self.poll_fill(cx)) {
                Ok(0) => return Poll::Ready(Err(Http1Error::closed_before_head())),
                Ok(_) => {}
                Err(e) => return Poll::Ready(Err(Http1Error::Io(e))),
            }
            if let Some(head) =
                h1::head::read_response(&mut self.read, head_request, &mut self.kept)?
            {
                return Poll::Ready(Ok(head));
            }
        }
    }

    /// The body's next bytes, `None` at its end.
    pub(crate) fn poll_body(
        &mut self,
        cx: &mut Context<'_>,
        reader: &mut BodyReader,
    ) -> Poll<Result<Option<Bytes>, Http1Error>> {
        loop {
            if let Some(data) = reader.next(&mut self.read)? {
                return Poll::Ready(Ok(Some(data)));
            }
            if reader.is_done() {
                return Poll::Ready(Ok(None));
            }
            match ready!(self.poll_fill(cx)) {
                Ok(0) => {
                    reader.end_of_input()?;
                    return Poll::Ready(Ok(None));
                }
                Ok(_) => {}
                Err(e) => return Poll::Ready(Err(Http1Error::Io(e))),
            }
        }
    }

    /// Whether nothing was left over after a response (a connection with
    /// bytes past its response is not reused).
    pub(crate) fn is_clean(&self) -> bool {
        self.read.is_empty()
    }

    /// Whether an idle connection is still quiet: one read that must not
    /// complete (the upstream closed it, reset it or sent bytes
    /// unasked otherwise). No task watches idle connections.
    pub(crate) fn is_quiet(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        self.poll_fill(&mut cx).is_pending()
    }

    /// Reads what the stream has into the read buffer. Bounded: a head
    /// stops at [`h1::head::MAX_HEAD`], a body's bytes are split off as they
    /// come, so the buffer holds at most that plus a read.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.read.capacity() - self.read.len() < MIN_ROOM {
            self.read.reserve(self.read_chunk);
        }
        let room = self.read.capacity() - self.read.len();
        let polled = tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.read);
        if let Poll::Ready(Ok(n)) = polled
            && n == room
        {
            self.read_chunk = (self.read_chunk * 2).min(MAX_READ_CHUNK);
        }
        polled
    }
}
