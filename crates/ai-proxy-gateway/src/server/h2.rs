//! HTTP/2 with prior knowledge on hyper's `http2` server: the connection's
//! first bytes (read while looking for a request head) are replayed to it,
//! then the stream is its. hyper's own protections apply (stream and
//! header list limits); the gateway adds the idle keep-alive watchdog, the
//! graceful-shutdown stop, the send timeout (a client that makes no room
//! for its responses), and a bound on the graceful close itself: an idle
//! connection whose client has not finished the close one keep-alive
//! timeout after GOAWAY is dropped.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Sleep;

use super::guard::Guard;
use super::request::MAX_HEAD;
use crate::activity::Activity;
use crate::shared::Shared;

/// The client connection preface of HTTP/2 (RFC 9113 §3.4).
pub(crate) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// HTTP/2 streams per connection (nginx's `http2_max_concurrent_streams`).
const MAX_CONCURRENT_STREAMS: u32 = 128;

/// What the first bytes of a connection say it speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// HTTP/2's preface.
    Http2,
    /// Anything else: read as HTTP/1.
    Http1,
    /// A prefix of the preface: more bytes tell.
    Unsure,
}

/// Whether `first`, a connection's first bytes, open HTTP/2's preface.
pub(crate) fn sniff(first: &[u8]) -> Sniffed {
    let n = first.len().min(PREFACE.len());
    match (first.get(..n), PREFACE.get(..n)) {
        (Some(a), Some(b)) if a == b && n == PREFACE.len() => Sniffed::Http2,
        (Some(a), Some(b)) if a == b => Sniffed::Unsure,
        _ => Sniffed::Http1,
    }
}

/// The stream with the bytes already read from it in front.
struct Replay {
    first: Bytes,
    stream: TcpStream,
}

impl AsyncRead for Replay {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.first.is_empty() {
            let n = self.first.len().min(buf.remaining());
            if let Some(part) = self.first.get(..n) {
                buf.put_slice(part);
            }
            self.first.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Replay {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Serves an HTTP/2 connection whose first bytes, `first`, were read off
/// `stream` already, until it closes, goes idle past the keep-alive
/// timeout, or the gateway stops.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    first: Bytes,
    remote: SocketAddr,
    stop: watch::Receiver<bool>,
) {
    let keepalive = shared.settings.keepalive_timeout;
    let send_timeout = shared.settings.client_send_timeout;
    let activity = Activity::new();
    let requests = Arc::clone(&activity);
    let service = service_fn(move |request: http::Request<Incoming>| {
        let busy = requests.begin();
        let shared = Arc::clone(&shared);
        async move {
            let (parts, body) = request.into_parts();
            let mut response = crate::proxy::handle(&shared, parts, body, remote).await;
            response.body_mut().hold(busy);
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let conn = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .max_header_list_size(u32::try_from(MAX_HEAD).unwrap_or(u32::MAX))
        .serve_connection(TokioIo::new(Replay { first, stream }), service);
    tokio::pin!(conn);
    let mut guard = Guard::new(keepalive, stop);
    // Armed by the graceful close (GOAWAY, then a PING whose answer ends
    // the connection): a client that neither answers nor closes would
    // otherwise keep an idle connection until the gateway stops.
    let mut closing: Option<Pin<Box<Sleep>>> = None;
    let mut send_watch = Box::pin(tokio::time::sleep(send_timeout));
    std::future::poll_fn(|cx| {
        loop {
            if conn.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            if send_watch.as_mut().poll(cx).is_ready() {
                // nginx's send_timeout: no response moved for it while one
                // waits for the client to make room. Dropping the
                // connection ends its streams (logged as the client's
                // leaving).
                let now = tokio::time::Instant::now();
                let next = match activity.stalled_since().map(tokio::time::Instant::from_std) {
                    Some(since) if now >= since + send_timeout => return Poll::Ready(()),
                    Some(since) => since + send_timeout,
                    None => now + send_timeout,
                };
                send_watch.as_mut().reset(next);
                continue;
            }
            if let Some(grace) = closing.as_mut() {
                if grace.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                if activity.idle_since().is_some() {
                    // Dropping the connection closes the socket.
                    return Poll::Ready(());
                }
                // Streams still run (a stop while busy): they finish
                // first, bounded by the shutdown timeout.
                grace
                    .as_mut()
                    .reset(tokio::time::Instant::now() + keepalive);
                continue;
            }
            if guard.poll_close(cx, activity.idle_since()).is_ready() {
                conn.as_mut().graceful_shutdown();
                closing = Some(Box::pin(tokio::time::sleep(keepalive)));
                continue;
            }
            return Poll::Pending;
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preface_is_http2_its_prefixes_unsure_anything_else_http1() {
        assert_eq!(sniff(PREFACE), Sniffed::Http2);
        assert_eq!(
            sniff(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0"),
            Sniffed::Http2
        );
        assert_eq!(sniff(b"PRI * HT"), Sniffed::Unsure);
        assert_eq!(sniff(b""), Sniffed::Unsure);
        assert_eq!(sniff(b"POST / HTTP/1.1\r\n"), Sniffed::Http1);
        assert_eq!(sniff(b"PRI * HTTP/1.1\r\n"), Sniffed::Http1);
    }
}
