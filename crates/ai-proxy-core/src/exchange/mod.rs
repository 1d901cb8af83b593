//! [`Exchange`]: observing one upstream response — passthrough or
//! translated — and reporting [`Metrics`](crate::metrics::Metrics).
//!
//! The exchange is a sans-IO state machine: the caller feeds the response
//! head, body chunks and end of body, each with the caller's `now`, and
//! sends what comes back to the client. Streaming is decided by the
//! response `Content-Type` (`text/event-stream`, or the content type of
//! the adapter's [`StreamFraming`](crate::framing::StreamFraming) such as
//! `application/vnd.amazon.eventstream`), as in APISIX.
//!
//! One module per protocol reads usage, model, text and completion
//! (`openai_chat`, `openai_responses`, `anthropic`, `gemini`,
//! `embeddings`); [`Observer`] drives them and is usable on its own.

mod anthropic;
mod bedrock;
mod body;
mod chat_body;
mod cursor;
mod diff;
mod embeddings;
pub(crate) mod error;
mod framed;
mod gemini;
mod observation;
mod observe;
mod openai_chat;
mod openai_responses;
mod report;
mod stream;
mod window;

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::context::RequestContext;
use crate::framing::{FrameDecoder, FramingError};
use crate::metrics::millis;
use crate::sse::{SseDecoder, SseError};
use crate::translate::{ResponseTranslator, TranslateError};

pub use error::ExchangeError;
pub use observation::Observation;
pub use observe::{DEFAULT_TEXT_LIMIT, Observer};
pub use window::BODY_WINDOW;

pub use crate::metrics::UsageGap;

/// The most body bytes kept to read usage from a non-streaming response
/// (and to hold a body a translator needs whole) when `max_response_bytes`
/// does not bound it: 64 MiB.
pub const DEFAULT_MAX_BUFFERED_BODY: usize = 64 * 1024 * 1024;

/// How to answer the client, decided from the upstream response head.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct ResponseHead {
    /// The status to send (always the upstream's).
    pub status: StatusCode,
    /// Whether the response streams (upstream `Content-Type` is
    /// `text/event-stream` or the framing's).
    pub streaming: bool,
    /// `Content-Type` replacing the upstream's when the body is translated.
    pub content_type: Option<HeaderValue>,
    /// The body sent differs from the upstream's (translated): drop the
    /// upstream `Content-Length`.
    pub rewritten: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Head,
    Body,
    Ended,
}

/// One upstream attempt's response, observed.
///
/// Calling contract:
/// 1. [`on_head`](Self::on_head) once with the upstream status and headers;
///    it says whether the response streams and how to answer the client.
/// 2. [`on_body`](Self::on_body) for every body chunk, in order; send the
///    returned bytes (possibly empty) to the client. For a stream, arm a
///    timer at [`poll_timeout`](Self::poll_timeout) and call
///    [`on_timeout`](Self::on_timeout) when it fires.
/// 3. [`on_eof`](Self::on_eof) at the end of the body; send what it returns.
/// 4. [`finish`](Self::finish) (also after an error or a client
///    disconnect) for the [`Metrics`](crate::metrics::Metrics).
///
/// An [`ExchangeError`] from steps 1–3 is sticky: stop reading the
/// upstream; if [`ExchangeError::truncated`] end the client response,
/// otherwise answer its status and body. Limits are hard: a chunk that
/// would exceed `max_response_bytes`, or arrives after
/// `max_stream_duration_ms`, is not forwarded (APISIX forwards that one
/// chunk, then cuts).
///
/// Without a translator, bytes pass through unchanged, chunk for chunk
/// (the same `Bytes`, no copy); usage, model, first-token time and
/// completion are read on the side in O(1) memory per stream (only the
/// partial event is buffered). A non-streaming body is held back until its
/// end only when `max_response_bytes` is set and `Content-Length` is absent
/// (so an oversized body can still become a 502), or when it is translated.
/// Upstream 429 and 5xx responses are forwarded untouched (APISIX's error
/// path). Usage is always read from the upstream's protocol.
///
/// ```
/// use std::time::{Duration, Instant};
/// use ai_proxy_core::context::RequestContext;
/// use ai_proxy_core::exchange::Exchange;
/// use ai_proxy_core::Protocol;
/// use bytes::Bytes;
/// use http::{HeaderMap, HeaderValue, StatusCode, header};
///
/// let start = Instant::now();
/// let ctx = RequestContext::new(Protocol::OpenAiChat, Protocol::OpenAiChat, start);
/// let mut exchange = Exchange::new(ctx, None);
/// let mut headers = HeaderMap::new();
/// headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
/// let head = exchange.on_head(StatusCode::OK, &headers, start).unwrap();
/// assert!(head.streaming);
/// let chunk = Bytes::from_static(
///     b"data: {\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n",
/// );
/// let out = exchange.on_body(chunk.clone(), start + Duration::from_millis(40)).unwrap();
/// assert_eq!(out, chunk); // passthrough: the same bytes
/// let _ = exchange.on_eof(start + Duration::from_millis(50)).unwrap();
/// let metrics = exchange.finish(start + Duration::from_millis(50));
/// assert_eq!(metrics.var("llm_total_tokens").as_deref(), Some("7"));
/// assert_eq!(metrics.var("llm_time_to_first_token").as_deref(), Some("40"));
/// assert_eq!(metrics.var("llm_model").as_deref(), Some("gpt-4o"));
/// ```
#[derive(Debug)]
pub struct Exchange {
    ctx: RequestContext,
    translator: Option<Box<dyn ResponseTranslator>>,
    observer: Observer,
    decoder: SseDecoder,
    /// The adapter's framing decoder, when the response uses it.
    frames: Option<Box<dyn FrameDecoder>>,
    phase: Phase,
    status: Option<StatusCode>,
    streaming: bool,
    error_path: bool,
    translating: bool,
    hold_body: bool,
    body: body::Held,
    /// The ends of a body past the observation cap (`None`: not past it).
    /// Boxed, as is `framing_error`: both are rare, and the exchange (boxed
    /// by the gateway) stays under 1 KiB, an allocation glibc serves from
    /// its per-thread cache.
    ends: Option<Box<window::Ends>>,
    usage_gap: Option<UsageGap>,
    received: u64,
    sent: u64,
    first_byte_at: Option<Instant>,
    first_content_at: Option<Instant>,
    body_end_at: Option<Instant>,
    ended_at: Option<Instant>,
    error: Option<ExchangeError>,
    observe_error: Option<SseError>,
    framing_error: Option<Box<FramingError>>,
    out: BytesMut,
}

impl Exchange {
    /// An exchange for the attempt described by `ctx`; `translator` is the
    /// adapter's response translator when request preparation converted
    /// the request (`None`: passthrough).
    ///
    /// Text is collected (every event parsed) when `ctx.logging.payloads`
    /// is on; otherwise the fast path reads only what usage needs.
    pub fn new(ctx: RequestContext, translator: Option<Box<dyn ResponseTranslator>>) -> Self {
        Self::build(ctx, translator)
    }

    /// [`new`](Self::new)'s body, always inlined: [`boxed`](Self::boxed)
    /// then writes the fields straight into the allocation.
    #[inline(always)]
    fn build(ctx: RequestContext, translator: Option<Box<dyn ResponseTranslator>>) -> Self {
        let observer = Observer::new(ctx.target_protocol, ctx.logging.payloads);
        Self {
            ctx,
            translator,
            observer,
            decoder: SseDecoder::new(),
            frames: None,
            phase: Phase::Head,
            status: None,
            streaming: false,
            error_path: false,
            translating: false,
            hold_body: false,
            body: body::Held::default(),
            ends: None,
            usage_gap: None,
            received: 0,
            sent: 0,
            first_byte_at: None,
            first_content_at: None,
            body_end_at: None,
            ended_at: None,
            error: None,
            observe_error: None,
            framing_error: None,
            out: BytesMut::new(),
        }
    }

    /// [`new`](Self::new) with [`with_text_limit`](Self::with_text_limit),
    /// on the heap: the exchange (~1 KB) is written into its allocation,
    /// not built on the stack and copied there (twice, with the limit set
    /// by value) — for a caller that boxes it anyway.
    pub fn boxed(
        ctx: RequestContext,
        translator: Option<Box<dyn ResponseTranslator>>,
        text_limit: usize,
    ) -> Box<Self> {
        let mut exchange = Box::write(Box::new_uninit(), Self::build(ctx, translator));
        exchange.observer.set_text_limit(text_limit);
        exchange
    }

    /// Keeps at most `limit` bytes of assistant text for
    /// `logging.payloads` (default [`DEFAULT_TEXT_LIMIT`]); the rest is
    /// dropped and the metrics say
    /// [`response_text_truncated`](crate::metrics::Metrics::response_text_truncated).
    pub fn with_text_limit(mut self, limit: usize) -> Self {
        self.observer = self.observer.with_text_limit(limit);
        self
    }

    /// Takes the response text collected so far (with text collection on),
    /// for a caller that writes it out as it arrives.
    pub fn take_text(&mut self) -> Option<String> {
        self.observer.take_text()
    }

    /// Replaces the SSE decoder (e.g. one with a different event cap).
    pub fn with_decoder(mut self, decoder: SseDecoder) -> Self {
        self.decoder = decoder;
        self
    }

    /// The request context this exchange observes.
    pub fn context(&self) -> &RequestContext {
        &self.ctx
    }

    /// Whether the response streams (known after `on_head`).
    pub fn is_streaming(&self) -> bool {
        self.streaming
    }

    /// What has been observed so far.
    pub fn observation(&self) -> &Observation {
        self.observer.observation()
    }

    /// Body bytes received from the upstream so far.
    pub fn bytes_received(&self) -> u64 {
        self.received
    }

    /// Body bytes handed out for the client so far.
    pub fn bytes_sent(&self) -> u64 {
        self.sent
    }

    /// Why observation of a passthrough stream stopped early (an event
    /// over the decoder's cap); bytes kept flowing.
    pub fn observe_error(&self) -> Option<&SseError> {
        self.observe_error.as_ref()
    }

    /// Why observation of a passthrough stream in the adapter's framing
    /// stopped early (a corrupt or oversized message); bytes kept flowing.
    pub fn observe_framing_error(&self) -> Option<&FramingError> {
        self.framing_error.as_deref()
    }

    /// Takes the upstream response head.
    pub fn on_head(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        now: Instant,
    ) -> Result<ResponseHead, ExchangeError> {
        self.check()?;
        if self.phase != Phase::Head {
            return Err(ExchangeError::Misuse("on_head called twice"));
        }
        self.phase = Phase::Body;
        self.status = Some(status);
        let content_types = headers.get_all(header::CONTENT_TYPE);
        let framed = self.ctx.framing.as_ref().filter(|f| {
            content_types
                .iter()
                .any(|v| f.matches_content_type(v.as_bytes()))
        });
        self.frames = framed.map(|f| f.decoder());
        self.streaming = self.frames.is_some()
            || content_types
                .iter()
                .any(|v| contains_ignore_case(v.as_bytes(), b"text/event-stream"));
        self.error_path = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
        self.translating = self
            .translator
            .as_ref()
            .is_some_and(|t| !self.error_path || t.translates_error_responses());
        if self.translating && self.error_path {
            self.hold_body = true;
        }
        if !self.streaming && !self.error_path {
            if let Some(limit) = self.ctx.limits.max_response_bytes {
                let length = headers
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                match length {
                    Some(length) if length > limit => {
                        tracing::warn!(
                            "aborting AI response: Content-Length {length} exceeds \
                             max_response_bytes {limit}"
                        );
                        return Err(self.fail(
                            ExchangeError::ResponseTooLarge {
                                limit,
                                truncated: false,
                            },
                            now,
                        ));
                    }
                    Some(_) => {}
                    None => self.hold_body = true,
                }
            }
            if self.translating {
                self.hold_body = true;
            }
        }
        let content_type = match &self.translator {
            Some(translator) if self.translating => Some(HeaderValue::from_static(
                translator.content_type(self.streaming && !self.error_path),
            )),
            _ => None,
        };
        Ok(ResponseHead {
            status,
            streaming: self.streaming,
            content_type,
            rewritten: self.translating,
        })
    }

    /// When the stream's `max_stream_duration_ms` deadline falls (for the
    /// caller's timer).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase != Phase::Body || !self.streaming || self.error.is_some() {
            return None;
        }
        self.deadline()
    }

    /// The timer armed from [`poll_timeout`](Self::poll_timeout) fired.
    pub fn on_timeout(&mut self, now: Instant) -> Result<(), ExchangeError> {
        self.check()?;
        self.check_deadline(now)
    }

    /// Takes one body chunk; returns the bytes to send to the client now
    /// (the same chunk for passthrough; possibly empty).
    pub fn on_body(&mut self, chunk: Bytes, now: Instant) -> Result<Bytes, ExchangeError> {
        self.check()?;
        if self.phase != Phase::Body {
            return Err(ExchangeError::Misuse(
                "on_body called before on_head or after on_eof",
            ));
        }
        if chunk.is_empty() {
            return Ok(Bytes::new());
        }
        if !self.error_path {
            self.check_deadline(now)?;
            if let Some(limit) = self.ctx.limits.max_response_bytes
                && self.received.saturating_add(chunk.len() as u64) > limit
            {
                let truncated = self.sent > 0;
                tracing::warn!(
                    "aborting AI {}: max_response_bytes exceeded; bytes={} duration_ms={}",
                    if self.streaming { "stream" } else { "response" },
                    self.received,
                    millis(now.saturating_duration_since(self.ctx.started)),
                );
                return Err(self.fail(ExchangeError::ResponseTooLarge { limit, truncated }, now));
            }
        }
        self.received = self.received.saturating_add(chunk.len() as u64);
        self.first_byte_at.get_or_insert(now);
        let output = if self.streaming && !self.error_path {
            self.stream_chunk(chunk, now)?
        } else {
            self.body_chunk(chunk, now)?
        };
        self.sent = self.sent.saturating_add(output.len() as u64);
        Ok(output)
    }

    /// The body ended; returns the last bytes to send (a held or
    /// translated body, a translator's closing events).
    pub fn on_eof(&mut self, now: Instant) -> Result<Bytes, ExchangeError> {
        self.check()?;
        if self.phase != Phase::Body {
            return Err(ExchangeError::Misuse(
                "on_eof called before on_head or twice",
            ));
        }
        self.phase = Phase::Ended;
        self.ended_at = Some(now);
        let output = if self.streaming && !self.error_path {
            self.end_stream(now)?
        } else {
            self.end_body(now)?
        };
        self.sent = self.sent.saturating_add(output.len() as u64);
        Ok(output)
    }

    fn check(&self) -> Result<(), ExchangeError> {
        match &self.error {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    fn fail(&mut self, error: ExchangeError, now: Instant) -> ExchangeError {
        self.ended_at.get_or_insert(now);
        self.error = Some(error.clone());
        error
    }

    /// The translator refused an event or frame mid-stream: what it wrote
    /// for this chunk is dropped, and the stream counts as truncated when
    /// output was sent or written.
    fn translate_failed(&mut self, source: TranslateError, now: Instant) -> ExchangeError {
        let truncated = self.sent > 0 || !self.out.is_empty();
        self.out.clear();
        self.fail(ExchangeError::Translate { source, truncated }, now)
    }

    fn deadline(&self) -> Option<Instant> {
        let ms = self.ctx.limits.max_stream_duration_ms?;
        self.ctx.started.checked_add(Duration::from_millis(ms))
    }

    fn check_deadline(&mut self, now: Instant) -> Result<(), ExchangeError> {
        if !self.streaming || self.error_path {
            return Ok(());
        }
        let (Some(deadline), Some(limit_ms)) =
            (self.deadline(), self.ctx.limits.max_stream_duration_ms)
        else {
            return Ok(());
        };
        if now <= deadline {
            return Ok(());
        }
        tracing::warn!(
            "aborting AI stream: max_stream_duration_ms exceeded; bytes={} duration_ms={}",
            self.received,
            millis(now.saturating_duration_since(self.ctx.started)),
        );
        let truncated = self.sent > 0;
        Err(self.fail(
            ExchangeError::StreamDurationExceeded {
                limit_ms,
                truncated,
            },
            now,
        ))
    }
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::Exchange;

    /// glibc serves allocations up to 1,024 bytes from a per-thread cache;
    /// larger ones take its slower general path (the gateway boxes an
    /// exchange per request).
    #[test]
    fn an_exchange_fits_the_allocators_thread_cache() {
        assert!(size_of::<Exchange>() <= 1024, "{}", size_of::<Exchange>());
    }
}
