//! A non-streaming response: forwarded or held, read for usage at its
//! end, translated whole.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http::StatusCode;

use super::error::ExchangeError;
use super::{DEFAULT_MAX_BUFFERED_BODY, Exchange};

impl Exchange {
    pub(super) fn body_chunk(
        &mut self,
        chunk: Bytes,
        now: Instant,
    ) -> Result<Bytes, ExchangeError> {
        let cap = self
            .ctx
            .limits
            .max_response_bytes
            .and_then(|limit| usize::try_from(limit).ok())
            .unwrap_or(DEFAULT_MAX_BUFFERED_BODY)
            .max(DEFAULT_MAX_BUFFERED_BODY);
        if !self.body_overflow {
            if self.body_len.saturating_add(chunk.len()) > cap {
                if self.hold_body {
                    return Err(self.fail(ExchangeError::BodyTooLarge { limit: cap }, now));
                }
                // Too big to read usage from; keep forwarding.
                self.body_overflow = true;
                self.body = Vec::new();
            } else {
                self.body_len += chunk.len();
                self.body.push(chunk.clone());
            }
        }
        Ok(if self.hold_body { Bytes::new() } else { chunk })
    }

    pub(super) fn end_body(&mut self, now: Instant) -> Result<Bytes, ExchangeError> {
        self.body_end_at = Some(now);
        let body = match self.body.as_slice() {
            [one] => one.clone(),
            chunks => {
                let mut joined = BytesMut::with_capacity(self.body_len);
                for chunk in chunks {
                    joined.extend_from_slice(chunk);
                }
                joined.freeze()
            }
        };
        self.body = Vec::new();
        if !self.body_overflow && !body.is_empty() {
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
