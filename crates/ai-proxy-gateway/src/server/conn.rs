//! One client connection over HTTP/1.1 (or 1.0), driven on its own task:
//! read a request head, call the handler ([`crate::proxy::handle`]) with a
//! body that reads the socket itself, write the response, loop. A
//! connection that opens with HTTP/2's preface goes to [`super::h2`].
//!
//! Hand-written instead of hyper's HTTP/1 server because the benchmark
//! justifies it: hyper's dispatcher, its head parsing and encoding, its
//! buffered reader and the auto builder's preface sniffing cost ~13k
//! instructions a proxied request. Measured when it replaced them: 43.8k
//! -> 37.6k instructions a proxied request (callgrind, one keep-alive
//! connection), user CPU ~10.8 -> ~8.7 µs a request at 32 connections;
//! the same system calls (two reads, two writes a request).
//!
//! Protections: a request head within the header timeout from its first
//! byte, under 64 KiB and 100 fields; bodies framed without ambiguity
//! (see [`super::request`]); a connection idle between requests past the
//! keep-alive timeout closed; shutdown closes a connection after its
//! current response. A client that leaves while its request is handled
//! (its EOF seen once its request body is off the wire) drops the handler
//! (the access log says 499). A response body that fails aborts the
//! connection without the body's end. A request body the handler did not
//! read to its end closes the connection after the response (what the
//! client still sends is read and dropped for a moment, bounded, so that
//! the close does not reset the answer away: [`linger`]).

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method};
use http_body::Body;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::body::ClientBody;
use super::date;
use super::guard::Guard;
use super::h2::{self, Sniffed};
use super::request::{
    Framing as RequestFraming, HeadError, LastTarget, MAX_HEAD, RequestHead, read_request,
};
use super::response::{Answering, Framing, write_chunk_size, write_head, write_refusal};
use super::socket::{READ_CHUNK, Socket, write_all};
use crate::body::GatewayBody;
use crate::h1::keep_map;
use crate::shared::Shared;
use crate::timer::{CLIENT_HEAD, Deadline};

/// What waiting for a request head gave.
// Not boxed: it is returned once a request, straight into its fields.
#[allow(clippy::large_enum_variant)]
enum Next {
    Head(RequestHead),
    Http2,
    Refused(HeadError),
    Closed,
}

/// The connection's stream and buffers.
struct Conn {
    socket: Arc<Socket>,
    /// Bytes read and not yet consumed: a head, or the next requests'.
    read: BytesMut,
    write: Vec<u8>,
    /// [`crate::Settings::client_send_timeout`].
    send_timeout: Duration,
    target: LastTarget,
    /// The last response's map, emptied, for the next request head.
    kept: Option<HeaderMap>,
}

impl Conn {
    /// Reads while a request is handled or its response waits for its
    /// body, once the request's body is off the wire: ready when the
    /// client has gone (EOF or error). Bytes that come meanwhile (a
    /// pipelined request) are kept, up to the head cap.
    fn poll_gone(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.socket.wire_done() {
            return Poll::Pending;
        }
        loop {
            let room = MAX_HEAD.saturating_sub(self.read.len());
            if room == 0 {
                return Poll::Pending;
            }
            match self.socket.poll_read(cx, &mut self.read, room) {
                Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(()),
                Poll::Ready(Ok(_)) => {}
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Takes back what a chunked body read past its end.
    fn take_spill(&mut self) {
        if let Some(mut spill) = self.socket.take_spill() {
            spill.extend_from_slice(&self.read);
            self.read = spill;
        }
    }

    /// Waits for the next request head (or the connection's end): the
    /// header timeout from a head's first byte, the idle guard while
    /// nothing is buffered. `first`: the connection's first head, which
    /// may be HTTP/2's preface instead.
    async fn next_head(
        &mut self,
        guard: &mut Guard,
        header_timeout: Duration,
        first: bool,
    ) -> Next {
        // The connection's first head counts from its start (nginx's
        // `client_header_timeout` for a new connection): a client that
        // connects and says nothing is not kept for the keep-alive
        // timeout. Later heads count from their first byte.
        let mut deadline: Option<Deadline> = if first {
            Deadline::after(&CLIENT_HEAD, Instant::now(), header_timeout)
        } else {
            None
        };
        let mut sniffing = first;
        poll_fn(|cx| {
            loop {
                if !self.read.is_empty() {
                    let sniffed = if sniffing {
                        h2::sniff(&self.read)
                    } else {
                        Sniffed::Http1
                    };
                    match sniffed {
                        Sniffed::Http2 => return Poll::Ready(Next::Http2),
                        Sniffed::Unsure => {}
                        Sniffed::Http1 => {
                            sniffing = false;
                            match read_request(&mut self.read, &mut self.target, &mut self.kept) {
                                Ok(Some(head)) => return Poll::Ready(Next::Head(head)),
                                Ok(None) => {}
                                Err(e) => return Poll::Ready(Next::Refused(e)),
                            }
                        }
                    }
                    if deadline.is_none() {
                        deadline = Deadline::after(&CLIENT_HEAD, Instant::now(), header_timeout);
                    }
                }
                // One byte past the cap tells a head too large.
                let room = (MAX_HEAD + 1).saturating_sub(self.read.len()).max(1);
                match self.socket.poll_read(cx, &mut self.read, room) {
                    Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(Next::Closed),
                    Poll::Ready(Ok(_)) => continue,
                    Poll::Pending => {}
                }
                if let Some(d) = &mut deadline
                    && Pin::new(d).poll(cx).is_ready()
                {
                    return Poll::Ready(Next::Closed);
                }
                if self.read.is_empty() && guard.poll_close(cx, Some(guard.last_done)).is_ready() {
                    return Poll::Ready(Next::Closed);
                }
                return Poll::Pending;
            }
        })
        .await
    }

    /// Writes the response: its head, then its body frame by frame as the
    /// frames come. `Err(())`: the connection must close now (the client
    /// went away, or the body failed: its end is never written).
    async fn respond(
        &mut self,
        response: http::Response<GatewayBody>,
        answering: Answering,
    ) -> Result<bool, ()> {
        let (parts, mut body) = response.into_parts();
        self.write.clear();
        let (framing, keep_alive) = write_head(
            &mut self.write,
            parts.status,
            &parts.headers,
            body.size_hint().exact(),
            answering,
            &date::now(),
        );
        keep_map(parts.headers, &mut self.kept);
        if framing == Framing::None || body.is_end_stream() {
            if framing == Framing::Chunked {
                self.write.extend_from_slice(b"0\r\n\r\n");
            }
            write_all(&self.socket, &[&self.write], self.send_timeout)
                .await
                .map_err(drop)?;
            return match framing {
                Framing::Length(n) if n > 0 => Err(()),
                _ => Ok(keep_alive),
            };
        }
        let mut sent: u64 = 0;
        loop {
            let step = poll_fn(|cx| {
                if let Poll::Ready(frame) = Pin::new(&mut body).poll_frame(cx) {
                    return Poll::Ready(Step::Frame(frame));
                }
                // Nothing more now: what waits goes out (a streamed head is
                // never held for its first event).
                if !self.write.is_empty() {
                    return Poll::Ready(Step::Flush);
                }
                if self.poll_gone(cx).is_ready() {
                    return Poll::Ready(Step::Gone);
                }
                Poll::Pending
            })
            .await;
            let data = match step {
                Step::Flush => {
                    write_all(&self.socket, &[&self.write], self.send_timeout)
                        .await
                        .map_err(drop)?;
                    self.write.clear();
                    continue;
                }
                Step::Gone | Step::Frame(Some(Err(_))) => return Err(()),
                Step::Frame(None) => Bytes::new(),
                Step::Frame(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) if !data.is_empty() => data,
                    // Trailers are not sent; empty data says nothing.
                    _ => continue,
                },
            };
            let end = data.is_empty() || body.is_end_stream();
            sent += data.len() as u64;
            let tail: &[u8] = match framing {
                Framing::Chunked if data.is_empty() => b"0\r\n\r\n",
                Framing::Chunked => {
                    write_chunk_size(&mut self.write, data.len());
                    if end { b"\r\n0\r\n\r\n" } else { b"\r\n" }
                }
                Framing::Length(n) if sent > n || (end && sent < n) => return Err(()),
                _ => b"",
            };
            write_all(&self.socket, &[&self.write, &data, tail], self.send_timeout)
                .await
                .map_err(drop)?;
            self.write.clear();
            if end {
                return Ok(keep_alive);
            }
        }
    }
}

/// How long a connection closed under a client still sending is read
/// (and what it sends dropped) before it is closed.
const LINGER_TIME: Duration = Duration::from_secs(1);
/// The most bytes read and dropped so.
const LINGER_BYTES: usize = 1024 * 1024;

/// Closes a connection answered before its request was read whole (a
/// refused head, a body the handler did not read): the write side first,
/// then what the client still sends is read and dropped (up to
/// [`LINGER_BYTES`], for [`LINGER_TIME`]) — closing with unread bytes
/// would reset the connection, and the client could lose the answer
/// before reading it (nginx's lingering close).
async fn linger(socket: Arc<Socket>) {
    // The request body, the only other holder, is gone with its handler.
    let Ok(socket) = Arc::try_unwrap(socket) else {
        return;
    };
    let mut stream = socket.stream;
    if tokio::io::AsyncWriteExt::shutdown(&mut stream)
        .await
        .is_err()
    {
        return;
    }
    let drain = async {
        let mut buf = [0u8; 8192];
        let mut total = 0;
        while total < LINGER_BYTES {
            match tokio::io::AsyncReadExt::read(&mut stream, &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}

/// What the response body's next poll gave.
enum Step {
    Frame(Option<Result<http_body::Frame<Bytes>, crate::relay::RelayError>>),
    Flush,
    Gone,
}

/// Serves one client connection until it closes, goes idle past the
/// keep-alive timeout, or the gateway stops.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    remote: SocketAddr,
    stop: watch::Receiver<bool>,
) {
    // Responses (streamed ones above all) go out as written, not held back
    // by Nagle's algorithm waiting for an ACK.
    let _ = stream.set_nodelay(true);
    let header_timeout = shared.settings.client_header_timeout;
    let mut guard = Guard::new(shared.settings.keepalive_timeout, stop.clone());
    let mut conn = Conn {
        socket: Arc::new(Socket::new(stream)),
        read: BytesMut::with_capacity(READ_CHUNK),
        write: Vec::with_capacity(1024),
        send_timeout: shared.settings.client_send_timeout,
        target: LastTarget::default(),
        kept: None,
    };
    let mut first = true;
    loop {
        let head = match conn.next_head(&mut guard, header_timeout, first).await {
            Next::Head(head) => head,
            Next::Http2 => {
                let Conn { socket, read, .. } = conn;
                if let Ok(socket) = Arc::try_unwrap(socket) {
                    h2::serve(shared, socket.stream, read.freeze(), remote, stop).await;
                }
                return;
            }
            Next::Refused(e) => {
                conn.write.clear();
                write_refusal(&mut conn.write, e.status(), &date::now());
                if write_all(&conn.socket, &[&conn.write], conn.send_timeout)
                    .await
                    .is_ok()
                {
                    linger(conn.socket).await;
                }
                return;
            }
            Next::Closed => return,
        };
        first = false;
        let RequestHead {
            request,
            framing,
            keep_alive,
            expect_continue,
        } = head;
        let answering = Answering {
            head: request.method() == Method::HEAD,
            version: request.version(),
            keep_alive,
        };
        let socket = Arc::clone(&conn.socket);
        let body = match framing {
            RequestFraming::Empty => {
                socket.set_wire_done(true);
                ClientBody::empty(socket)
            }
            RequestFraming::Length(n) => {
                let have = usize::try_from(n).map_or(conn.read.len(), |n| n.min(conn.read.len()));
                let prefix = conn.read.split_to(have).freeze();
                ClientBody::length(socket, prefix, n, expect_continue)
            }
            RequestFraming::Chunked => {
                ClientBody::chunked(socket, conn.read.split(), expect_continue)
            }
        };
        let chunked = framing == RequestFraming::Chunked;
        let (parts, ()) = request.into_parts();
        let handler = crate::proxy::handle(&shared, parts, body, remote);
        tokio::pin!(handler);
        let response = poll_fn(|cx| {
            if let Poll::Ready(response) = handler.as_mut().poll(cx) {
                return Poll::Ready(Some(response));
            }
            if chunked && conn.socket.wire_done() {
                conn.take_spill();
            }
            if conn.poll_gone(cx).is_ready() {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await;
        // The client left: the handler is dropped unfinished (499).
        let Some(response) = response else {
            return;
        };
        if chunked {
            conn.take_spill();
        }
        let answering = Answering {
            keep_alive: answering.keep_alive && conn.socket.wire_done() && !guard.stopping(),
            ..answering
        };
        match conn.respond(response, answering).await {
            Ok(true) if !guard.stopping() => guard.last_done = Instant::now(),
            // Answered before the request body was read: the client may
            // still be sending it.
            Ok(_) if !conn.socket.wire_done() => return linger(conn.socket).await,
            _ => return,
        }
    }
}
