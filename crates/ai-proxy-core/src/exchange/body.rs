//! A non-streaming response: forwarded or held, read for usage at its
//! end, translated whole.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http::StatusCode;

use super::error::ExchangeError;
use super::window::{BODY_WINDOW, Ends};
use super::{DEFAULT_MAX_BUFFERED_BODY, Exchange, UsageGap};

impl Exchange {
    /// How much of a body is held to read usage from.
    fn body_cap(&self) -> usize {
        self.ctx
            .limits
            .max_response_bytes
            .and_then(|limit| usize::try_from(limit).ok())
            .unwrap_or(DEFAULT_MAX_BUFFERED_BODY)
            .max(DEFAULT_MAX_BUFFERED_BODY)
    }

    pub(super) fn body_chunk(
        &mut self,
        chunk: Bytes,
        now: Instant,
    ) -> Result<Bytes, ExchangeError> {
        let cap = self.body_cap();
        if let Some(ends) = &mut self.ends {
            ends.push(chunk.clone());
        } else if self.body.len.saturating_add(chunk.len()) > cap {
            if self.hold_body {
                return Err(self.fail(ExchangeError::BodyTooLarge { limit: cap }, now));
            }
            // Too big to hold: keep forwarding, and keep both ends for usage.
            let mut ends = Ends::default();
            for held in std::mem::take(&mut self.body).chunks() {
                ends.push(held);
            }
            ends.push(chunk.clone());
            self.ends = Some(Box::new(ends));
        } else {
            self.body.push(chunk.clone());
        }
        Ok(if self.hold_body { Bytes::new() } else { chunk })
    }

    pub(super) fn end_body(&mut self, now: Instant) -> Result<Bytes, ExchangeError> {
        self.body_end_at = Some(now);
        let body = std::mem::take(&mut self.body).joined();
        if let Some(ends) = self.ends.take() {
            let (head, tail) = ends.head_and_tail();
            if !self.observer.on_body_ends(head, &tail) {
                self.usage_gap = Some(UsageGap::BodyOverCap {
                    bytes: self.received,
                    cap: self.body_cap(),
                    window: BODY_WINDOW,
                });
            }
        } else if !body.is_empty() {
            self.observer.on_body(&body);
        }
        if !self.hold_body {
            return Ok(Bytes::new());
        }
        if !self.translating {
            return Ok(body);
        }
        let status = self.status.unwrap_or(StatusCode::OK);
        let result = match &mut self.translator {
            Some(translator) => translator.translate_body(status, &body, &mut self.out),
            None => Ok(()),
        };
        if let Err(source) = result {
            self.out.clear();
            return Err(self.fail(
                ExchangeError::Translate {
                    source,
                    truncated: false,
                },
                now,
            ));
        }
        Ok(self.out.split().freeze())
    }
}

/// A body held so far: its first chunk on its own (a length-delimited body
/// usually comes in one frame), later ones in a list — one chunk costs no
/// allocation and is handed on uncopied.
#[derive(Debug, Default)]
pub(super) struct Held {
    first: Option<Bytes>,
    rest: Vec<Bytes>,
    /// Bytes held.
    pub(super) len: usize,
}

impl Held {
    fn push(&mut self, chunk: Bytes) {
        self.len += chunk.len();
        match self.first {
            None => self.first = Some(chunk),
            Some(_) => self.rest.push(chunk),
        }
    }

    /// The chunks, in order.
    fn chunks(self) -> impl Iterator<Item = Bytes> {
        self.first.into_iter().chain(self.rest)
    }

    /// The body as one buffer (the first chunk itself when it is all).
    fn joined(self) -> Bytes {
        if self.rest.is_empty() {
            return self.first.unwrap_or_default();
        }
        let mut joined = BytesMut::with_capacity(self.len);
        for chunk in self.chunks() {
            joined.extend_from_slice(&chunk);
        }
        joined.freeze()
    }
}
