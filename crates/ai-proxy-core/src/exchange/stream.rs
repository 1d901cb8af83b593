//! A streamed response: events observed on the side of a passthrough, or
//! decoded, observed and translated.

use std::time::Instant;

use bytes::Bytes;

use super::Exchange;
use super::error::ExchangeError;
use crate::sse::SseError;
use crate::translate::TranslateError;

impl Exchange {
    pub(super) fn stream_chunk(
        &mut self,
        chunk: Bytes,
        now: Instant,
    ) -> Result<Bytes, ExchangeError> {
        if self.frames.is_some() {
            return self.frame_chunk(chunk, now);
        }
        if !self.translating {
            if self.observe_error.is_none() {
                self.decoder.feed(chunk.clone());
                if let Err(error) = self.drain_events(now) {
                    tracing::warn!("stopped observing the AI stream: {error}");
                    self.observe_error = Some(error);
                }
            }
            return Ok(chunk);
        }
        self.decoder.feed(chunk);
        loop {
            let event = match self.decoder.poll_event() {
                Ok(Some(event)) => event,
                Ok(None) => break,
                Err(source) => {
                    let truncated = self.sent > 0;
                    return Err(self.fail(ExchangeError::Sse { source, truncated }, now));
                }
            };
            if self.observer.on_event(&event) {
                self.first_content_at.get_or_insert(now);
            }
            let result = match &mut self.translator {
                Some(translator) => {
                    translator.translate_event(event.event_type(), &event.data(), &mut self.out)
                }
                None => Ok(()),
            };
            if let Err(source) = result {
                return Err(self.translate_failed(source, now));
            }
        }
        Ok(self.out.split().freeze())
    }

    pub(super) fn drain_events(&mut self, now: Instant) -> Result<(), SseError> {
        loop {
            // Skip what the observer can do without, then decode one event.
            self.observer.skim(&mut self.decoder);
            let Some(event) = self.decoder.poll_event()? else {
                return Ok(());
            };
            if self.observer.on_event(&event) {
                self.first_content_at.get_or_insert(now);
            }
        }
    }

    pub(super) fn end_stream(&mut self, now: Instant) -> Result<Bytes, ExchangeError> {
        if self.frames.is_some() {
            self.end_frames(now)?;
            if !self.translating {
                return Ok(Bytes::new());
            }
        } else if !self.translating {
            if self.observe_error.is_none() {
                let _ = self.decoder.finish();
            }
            return Ok(Bytes::new());
        } else if let Err(source) = self.decoder.finish() {
            let truncated = self.sent > 0;
            return Err(self.fail(ExchangeError::Sse { source, truncated }, now));
        }
        let result = match &mut self.translator {
            Some(translator) => translator.finish(&mut self.out),
            None => Ok(()),
        };
        if let Err(source) = result {
            let truncated = self.sent > 0;
            self.out.clear();
            return Err(self.fail(ExchangeError::Translate { source, truncated }, now));
        }
        if self.sent == 0 && self.out.is_empty() {
            return Err(self.fail(
                ExchangeError::Translate {
                    source: TranslateError::EmptyStream,
                    truncated: false,
                },
                now,
            ));
        }
        Ok(self.out.split().freeze())
    }
}
