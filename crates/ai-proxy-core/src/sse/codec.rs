//! `tokio_util::codec::Decoder` over [`SseDecoder`] (feature `codec`).

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use super::{OwnedSseEvent, SseDecoder, SseError};

/// A [`Decoder`] yielding [`OwnedSseEvent`]s, for `FramedRead`.
///
/// ```
/// use ai_proxy_core::sse::SseCodec;
/// use tokio_util::codec::Decoder;
///
/// let mut codec = SseCodec::default();
/// let mut buf = bytes::BytesMut::from(&b"data: hi\n\n"[..]);
/// let event = codec.decode(&mut buf).unwrap().unwrap();
/// assert_eq!(event.data, "hi");
/// ```
#[derive(Debug, Default)]
pub struct SseCodec {
    decoder: SseDecoder,
}

impl SseCodec {
    /// A codec around a configured decoder.
    pub fn new(decoder: SseDecoder) -> Self {
        Self { decoder }
    }

    fn next(&mut self, src: &mut BytesMut) -> Result<Option<OwnedSseEvent>, SseError> {
        if !src.is_empty() {
            self.decoder.feed(src.split().freeze());
        }
        Ok(self.decoder.poll_event()?.map(|e| e.to_owned_event()))
    }
}

/// A codec failure: the decoder's, or the underlying reader's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SseCodecError {
    /// The stream broke an SSE limit.
    #[error(transparent)]
    Sse(#[from] SseError),
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Decoder for SseCodec {
    type Item = OwnedSseEvent;
    type Error = SseCodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        Ok(self.next(src)?)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        match self.next(src)? {
            Some(event) => Ok(Some(event)),
            None => {
                self.decoder.finish()?;
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_across_buffers_and_drops_the_tail_at_eof() {
        let mut codec = SseCodec::default();
        let mut buf = BytesMut::from(&b"data: a\n\ndata: b"[..]);
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap().data, "a");
        assert!(codec.decode(&mut buf).unwrap().is_none());
        buf.extend_from_slice(b"\n\ndata: c");
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap().data, "b");
        assert!(codec.decode_eof(&mut buf).unwrap().is_none());
    }
}
