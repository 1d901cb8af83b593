//! `futures_core::Stream` adapter over [`SseDecoder`] (feature `stream`).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use super::{OwnedSseEvent, SseDecoder, SseError};

/// Turns a stream of body chunks into a stream of [`OwnedSseEvent`]s.
#[derive(Debug)]
pub struct SseStream<S> {
    inner: S,
    decoder: SseDecoder,
    ended: bool,
}

impl<S> SseStream<S> {
    /// Wraps a chunk stream with a default decoder.
    pub fn new(inner: S) -> Self {
        Self::with_decoder(inner, SseDecoder::new())
    }

    /// Wraps a chunk stream with a configured decoder.
    pub fn with_decoder(inner: S, decoder: SseDecoder) -> Self {
        Self {
            inner,
            decoder,
            ended: false,
        }
    }
}

/// A failure of the chunk stream or of decoding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SseStreamError<E> {
    /// The chunk stream failed.
    #[error("reading the event stream failed: {0}")]
    Body(E),
    /// The stream broke an SSE limit.
    #[error(transparent)]
    Sse(#[from] SseError),
}

impl<S, E> Stream for SseStream<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<OwnedSseEvent, SseStreamError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.ended {
                return Poll::Ready(None);
            }
            match this.decoder.poll_event() {
                Err(error) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(error.into())));
                }
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event.to_owned_event()))),
                Ok(None) => {}
            }
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => this.decoder.feed(chunk),
                Poll::Ready(Some(Err(error))) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(SseStreamError::Body(error))));
                }
                Poll::Ready(None) => {
                    this.ended = true;
                    if let Err(error) = this.decoder.finish() {
                        return Poll::Ready(Some(Err(error.into())));
                    }
                    return Poll::Ready(None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields its chunks one per poll, then ends.
    struct Chunks(Vec<Result<Bytes, &'static str>>);

    impl Stream for Chunks {
        type Item = Result<Bytes, &'static str>;
        fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            let this = self.get_mut();
            Poll::Ready(if this.0.is_empty() {
                None
            } else {
                Some(this.0.remove(0))
            })
        }
    }

    fn collect(chunks: Vec<Result<Bytes, &'static str>>) -> Vec<Result<String, String>> {
        let mut stream = SseStream::new(Chunks(chunks));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut out = Vec::new();
        while let Poll::Ready(Some(item)) = Pin::new(&mut stream).poll_next(&mut cx) {
            out.push(item.map(|e| e.data).map_err(|e| e.to_string()));
        }
        out
    }

    #[test]
    fn events_across_chunks_then_end() {
        let got = collect(vec![
            Ok(Bytes::from_static(b"data: a\r")),
            Ok(Bytes::from_static(b"\n\ndata: b\n\ndata: cut")),
        ]);
        assert_eq!(got, [Ok("a".to_owned()), Ok("b".to_owned())]);
    }

    #[test]
    fn a_body_error_ends_the_stream() {
        let got = collect(vec![Ok(Bytes::from_static(b"data: a\n\n")), Err("reset")]);
        assert_eq!(
            got,
            [
                Ok("a".to_owned()),
                Err("reading the event stream failed: reset".to_owned())
            ]
        );
    }
}
