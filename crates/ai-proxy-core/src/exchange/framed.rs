//! A streamed response in the adapter's framing (see
//! [`framing`](crate::framing)): frames observed on the side of a
//! passthrough, or observed and translated.

use std::time::Instant;

use bytes::Bytes;

use super::Exchange;
use super::error::ExchangeError;

impl Exchange {
    /// A chunk of a stream in the adapter's framing: frames go to the
    /// observer and, when translating, the translator.
    pub(super) fn frame_chunk(
        &mut self,
        chunk: Bytes,
        now: Instant,
    ) -> Result<Bytes, ExchangeError> {
        let Some(frames) = self.frames.as_mut() else {
            return Ok(chunk);
        };
        if !self.translating {
            if self.framing_error.is_none() {
                frames.feed(chunk.clone());
                loop {
                    match frames.next_frame() {
                        Ok(Some(frame)) => {
                            if self.observer.on_frame(&frame) {
                                self.first_content_at.get_or_insert(now);
                            }
                        }
                        Ok(None) => break,
                        Err(error) => {
                            tracing::warn!("stopped observing the AI stream: {error}");
                            self.framing_error = Some(Box::new(error));
                            break;
                        }
                    }
                }
            }
            return Ok(chunk);
        }
        frames.feed(chunk);
        loop {
            let frame = match frames.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(source) => {
                    let truncated = self.sent > 0;
                    self.out.clear();
                    return Err(self.fail(ExchangeError::Framing { source, truncated }, now));
                }
            };
            if self.observer.on_frame(&frame) {
                self.first_content_at.get_or_insert(now);
            }
            let result = match &mut self.translator {
                Some(translator) => translator.translate_frame(&frame, &mut self.out),
                None => Ok(()),
            };
            if let Err(source) = result {
                return Err(self.translate_failed(source, now));
            }
        }
        Ok(self.out.split().freeze())
    }

    /// The framed stream ended: an unfinished frame stops observation of a
    /// passthrough, and fails a translated stream.
    pub(super) fn end_frames(&mut self, now: Instant) -> Result<(), ExchangeError> {
        let Some(frames) = self.frames.as_mut() else {
            return Ok(());
        };
        let result = frames.finish();
        match result {
            Ok(()) => Ok(()),
            Err(error) if !self.translating => {
                if self.framing_error.is_none() {
                    tracing::warn!("AI stream ended inside a frame: {error}");
                    self.framing_error = Some(Box::new(error));
                }
                Ok(())
            }
            Err(source) => {
                let truncated = self.sent > 0;
                Err(self.fail(ExchangeError::Framing { source, truncated }, now))
            }
        }
    }
}
