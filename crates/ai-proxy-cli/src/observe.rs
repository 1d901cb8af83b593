//! `sse` and `response` observe a saved response the way the gateway
//! observes a live one: the file (or standard input) becomes a body, and
//! the gateway's relay driver pulls it through the exchange.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use ai_proxy::Exchange;
use ai_proxy_gateway::{Deadlines, RelayEnd, RelayReport, relay};
use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tokio::io::AsyncRead;

/// How much is read from the input at a time (small enough to stay in
/// cache while it is read and scanned).
const READ_CHUNK: usize = 128 * 1024;

/// A file or standard input as a body of [`READ_CHUNK`]-sized frames.
struct Input {
    reader: Pin<Box<dyn AsyncRead + Send>>,
    buf: BytesMut,
}

impl Body for Input {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        this.buf.reserve(READ_CHUNK);
        match tokio_util::io::poll_read_buf(this.reader.as_mut(), cx, &mut this.buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(0)) => Poll::Ready(None),
            Poll::Ready(Ok(_)) => Poll::Ready(Some(Ok(Frame::data(this.buf.split().freeze())))),
        }
    }
}

/// Relays `file` (`-`: standard input) through `exchange` (its head
/// already taken), dropping the output; the relay's report.
pub(crate) fn observe(file: &str, exchange: Exchange) -> io::Result<RelayReport> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    runtime.block_on(async {
        let reader: Pin<Box<dyn AsyncRead + Send>> = if file == "-" {
            Box::pin(tokio::io::stdin())
        } else {
            Box::pin(tokio::fs::File::open(file).await?)
        };
        let input = Input {
            reader,
            buf: BytesMut::new(),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let mut relay = relay(input, exchange, Deadlines::none()).on_end(move |report| {
            let _ = tx.send(report);
        });
        // The summary needs only what the exchange observes on the side.
        while let Some(frame) = relay.frame().await {
            if let Err(e) = frame {
                drop(relay);
                return Err(io::Error::other(e));
            }
        }
        drop(relay);
        let report = rx
            .recv()
            .map_err(|_| io::Error::other("the relay ended without a report"))?;
        match &report.end {
            RelayEnd::Failed(e) | RelayEnd::Refused(e) => Err(io::Error::other(e.clone())),
            _ => Ok(report),
        }
    })
}
