//! The relay driver: an upstream body pulled through the SDK's
//! [`Exchange`] under deadlines, as the client's response body.
//!
//! [`relay`] turns an upstream body, the attempt's exchange and its
//! [`Deadlines`] into a [`Relay`], itself an [`http_body::Body`]: whatever
//! serves the client polls it, and each poll reads the upstream, feeds the
//! exchange and hands out what the exchange releases. Nothing is spawned
//! and nothing is buffered beyond the exchange's own state; a client that
//! stops reading stops the upstream read too (back-pressure), and dropping
//! the relay drops the upstream body, which cancels the upstream request.
//!
//! A response cut short — the upstream fails or goes silent past
//! [`Deadlines::read`], `max_response_bytes` or `max_stream_duration_ms` is
//! hit — ends with a [`RelayError`] instead of a clean end, so hyper aborts
//! the client connection (HTTP/1.1: no terminating chunk; HTTP/2:
//! `RST_STREAM`) and the client sees an error rather than a short answer.
//! A stream cut by `max_stream_duration_ms` first gets an error event in
//! the client's protocol.
//!
//! When the relay ends, however it ends (the client going away included),
//! the callback given to [`Relay::on_end`] gets a [`RelayReport`] with the
//! exchange's metrics.
//!
//! ```no_run
//! # async fn demo(upstream: http::Response<hyper::body::Incoming>, prepared: ai_proxy::Prepared)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::{Duration, Instant};
//! use ai_proxy::Exchange;
//! use ai_proxy_gateway::relay::{relay, Deadlines};
//!
//! let mut exchange = Exchange::new(prepared.context, prepared.translator);
//! let head = exchange.on_head(upstream.status(), upstream.headers(), Instant::now())?;
//! let body = relay(upstream.into_body(), exchange, Deadlines::read(Duration::from_secs(30)))
//!     .on_end(|report| println!("{:?}", report.metrics.var("llm_total_tokens")));
//! let response = http::Response::builder().status(head.status).body(body)?;
//! # drop(response); Ok(()) }
//! ```

mod report;

use std::error::Error as StdError;
use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use ai_proxy::core::Protocol;
use ai_proxy::{Exchange, ExchangeError};
use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

pub use report::{ObserveError, RelayEnd, RelayError, RelayReport, UpstreamError};

/// A record the relay ends itself when it ends: the gateway's request
/// record (`access_log::RequestLog`), which finishes the exchange's metrics
/// straight into itself. A trait so the relay does not depend on the
/// access log (which depends on the relay's [`RelayEnd`]).
pub(crate) trait EndRecord: Send {
    /// The relay ended with `end` at `now`; `exchange` is finished here.
    fn relayed(self: Box<Self>, exchange: Box<Exchange>, end: RelayEnd, now: Instant);
}

/// The deadlines a relay keeps besides the exchange's own
/// (`max_stream_duration_ms`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Deadlines {
    /// Longest wait for the next upstream chunk (the route's `timeout`:
    /// per read, not for the whole body); `None` waits forever.
    pub read: Option<Duration>,
}

impl Deadlines {
    /// No deadline but the exchange's own.
    pub fn none() -> Self {
        Self::default()
    }

    /// Reads time out after `timeout` without a chunk.
    pub fn read(timeout: Duration) -> Self {
        Self {
            read: Some(timeout),
        }
    }
}

/// Who hears how the relay ended.
enum OnEnd {
    /// A callback ([`Relay::on_end`]) given a [`RelayReport`].
    Call(Box<dyn FnOnce(RelayReport) + Send>),
    /// The gateway's own request record: the exchange's metrics go
    /// straight into it (no report built and moved, no callback boxed).
    Log(Box<dyn EndRecord>),
}

#[derive(Debug)]
enum State {
    Streaming,
    /// The body ended; hand out `pending`, then report.
    Ending,
    /// Stopped early: hand out `pending` (an error event), then fail.
    Failing(RelayError),
    /// Stopped before the client got anything (see [`Relay::start`]).
    Refused(RelayError),
    Done,
}

/// An upstream body relayed through an [`Exchange`]; see the [module
/// docs](self).
pub struct Relay<B> {
    body: B,
    /// Boxed: an exchange is ~1 KB, and a relay moves (into the response
    /// body) while the exchange stays put.
    exchange: Option<Box<Exchange>>,
    deadlines: Deadlines,
    /// When the last upstream chunk arrived (read deadline base); `None`
    /// until a chunk came or a read had to wait (then the wait's start):
    /// a body already there costs no clock read for it.
    last_read: Option<Instant>,
    /// Armed lazily at the earliest deadline; re-armed when it fires early.
    timer: Option<Pin<Box<Sleep>>>,
    /// Bytes to hand out before reading on.
    pending: Option<Bytes>,
    /// Bytes handed out to the client.
    sent: u64,
    /// Output went out: yield once before failing, so the server flushes it
    /// before it aborts the connection.
    flush_before_failing: bool,
    state: State,
    on_end: Option<OnEnd>,
}

impl<B> fmt::Debug for Relay<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay")
            .field("deadlines", &self.deadlines)
            .field("state", &self.state)
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

/// Relays `body` through `exchange` (whose `on_head` was already called)
/// under `deadlines`. See the [module docs](self).
pub fn relay<B>(body: B, exchange: Exchange, deadlines: Deadlines) -> Relay<B> {
    relay_boxed(body, Box::new(exchange), deadlines)
}

/// [`relay`] for an exchange already on the heap (boxed where it was
/// made, it is not moved again).
pub(crate) fn relay_boxed<B>(body: B, exchange: Box<Exchange>, deadlines: Deadlines) -> Relay<B> {
    Relay {
        body,
        exchange: Some(exchange),
        deadlines,
        last_read: None,
        timer: None,
        pending: None,
        sent: 0,
        flush_before_failing: false,
        state: State::Streaming,
        on_end: None,
    }
}

/// The output of [`Relay::collect`]: the first piece as it came, later
/// ones joined into one buffer.
#[derive(Default)]
enum Collected {
    #[default]
    Empty,
    One(Bytes),
    Joined(BytesMut),
}

impl Collected {
    fn push(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        *self = match std::mem::take(self) {
            Self::Empty => Self::One(bytes),
            Self::One(first) => {
                let mut joined = BytesMut::with_capacity(first.len() + bytes.len());
                joined.extend_from_slice(&first);
                joined.extend_from_slice(&bytes);
                Self::Joined(joined)
            }
            Self::Joined(mut joined) => {
                joined.extend_from_slice(&bytes);
                Self::Joined(joined)
            }
        };
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Self::Empty => Bytes::new(),
            Self::One(bytes) => bytes,
            Self::Joined(joined) => joined.freeze(),
        }
    }
}

/// What one step of reading produced.
enum Step {
    Output(Bytes),
    Eof(Bytes),
    Fail(RelayError),
}

impl<B> Relay<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    /// Calls `f` once, when the relay ends (completed, failed or dropped).
    pub fn on_end(mut self, f: impl FnOnce(RelayReport) + Send + 'static) -> Self {
        self.set_on_end(f);
        self
    }

    /// [`on_end`](Self::on_end) in place (the relay, ~1.3 KB, is not
    /// moved).
    pub(crate) fn set_on_end(&mut self, f: impl FnOnce(RelayReport) + Send + 'static) {
        self.on_end = Some(OnEnd::Call(Box::new(f)));
    }

    /// Ends `log` when the relay ends ([`EndRecord::relayed`]: what an
    /// `on_end` callback ending the record with a report would do).
    pub(crate) fn end_log(&mut self, log: Box<dyn EndRecord>) {
        self.on_end = Some(OnEnd::Log(log));
    }

    /// The exchange, until the relay ends.
    pub fn exchange(&self) -> Option<&Exchange> {
        self.exchange.as_deref()
    }

    /// The exchange, mutably, until the relay ends: between frames, e.g.
    /// to take the text observed so far
    /// ([`Exchange::take_text`](ai_proxy::Exchange::take_text)).
    pub fn exchange_mut(&mut self) -> Option<&mut Exchange> {
        self.exchange.as_deref_mut()
    }

    /// Reads until the exchange releases its first bytes or the body ends,
    /// so that a failure before any output can still be answered with a
    /// status ([`RelayError::status`] and [`RelayError::client_body`])
    /// instead of a cut response. On `Err`, drop the relay (it reports the
    /// failure).
    pub async fn start(&mut self) -> Result<(), RelayError> {
        if !matches!(self.state, State::Streaming) {
            return Ok(());
        }
        loop {
            match poll_fn(|cx| self.poll_step(cx)).await {
                Step::Output(bytes) if bytes.is_empty() => continue,
                Step::Output(bytes) => {
                    self.pending = Some(bytes);
                    return Ok(());
                }
                Step::Eof(last) => {
                    self.pending = (!last.is_empty()).then_some(last);
                    self.state = State::Ending;
                    return Ok(());
                }
                Step::Fail(error) => {
                    self.state = State::Refused(error.clone());
                    return Err(error);
                }
            }
        }
    }

    /// Reads the whole body through the exchange and returns what the
    /// client gets, for answering with one write (or, on `Err`, with the
    /// error's status: the report says [`RelayEnd::Refused`]).
    pub async fn collect(mut self) -> Result<Bytes, RelayError> {
        self.collect_in_place().await
    }

    /// [`collect`](Self::collect) in place (the relay is not moved into
    /// the future); the relay is done afterwards.
    pub(crate) async fn collect_in_place(&mut self) -> Result<Bytes, RelayError> {
        // A body that comes out in one piece (a length-delimited body read
        // whole by the exchange) is handed on as it is: no buffer, no copy.
        let mut out = Collected::default();
        if let Some(pending) = self.pending.take() {
            out.push(pending);
        }
        loop {
            if !matches!(self.state, State::Streaming) {
                break;
            }
            match poll_fn(|cx| self.poll_step(cx)).await {
                Step::Output(bytes) => out.push(bytes),
                Step::Eof(last) => {
                    out.push(last);
                    break;
                }
                Step::Fail(error) => {
                    self.state = State::Done;
                    self.report(RelayEnd::Refused(error.clone()));
                    return Err(error);
                }
            }
        }
        if let State::Refused(error) = std::mem::replace(&mut self.state, State::Done) {
            self.report(RelayEnd::Refused(error.clone()));
            return Err(error);
        }
        let out = out.into_bytes();
        self.sent = out.len() as u64;
        // The body was read whole a moment ago, at `last_read`: the
        // exchange ends then (no clock read of its own).
        let at = self.last_read.unwrap_or_else(Instant::now);
        self.report_at(RelayEnd::Complete, at);
        Ok(out)
    }

    /// Reads one upstream frame (or a deadline) and feeds it to the
    /// exchange.
    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Step> {
        loop {
            let Some(exchange) = self.exchange.as_mut() else {
                return Poll::Ready(Step::Eof(Bytes::new()));
            };
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else {
                        continue; // trailers
                    };
                    let now = Instant::now();
                    self.last_read = Some(now);
                    let out = match exchange.on_body(data, now) {
                        Ok(out) => out,
                        Err(e) => return Poll::Ready(Step::Fail(RelayError::Exchange(e))),
                    };
                    if !self.body.is_end_stream() {
                        return Poll::Ready(Step::Output(out));
                    }
                    // A length-delimited body is whole with its last frame:
                    // end the exchange now, so its usage is read even when
                    // the client leaves (or the server stops polling) once
                    // it has every byte.
                    return Poll::Ready(match exchange.on_eof(now) {
                        Ok(last) if out.is_empty() => Step::Eof(last),
                        Ok(last) if last.is_empty() => Step::Eof(out),
                        Ok(last) => Step::Eof([out, last].concat().into()),
                        Err(e) => Step::Fail(RelayError::Exchange(e)),
                    });
                }
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Step::Fail(RelayError::Upstream(Arc::from(e.into()))));
                }
                Poll::Ready(None) => {
                    let now = Instant::now();
                    self.last_read = Some(now);
                    return Poll::Ready(match exchange.on_eof(now) {
                        Ok(last) => Step::Eof(last),
                        Err(e) => Step::Fail(RelayError::Exchange(e)),
                    });
                }
                Poll::Pending => return self.poll_deadlines(cx),
            }
        }
    }

    /// While the upstream is silent: fires the earliest deadline.
    fn poll_deadlines(&mut self, cx: &mut Context<'_>) -> Poll<Step> {
        loop {
            let Some(exchange) = self.exchange.as_mut() else {
                return Poll::Pending;
            };
            let read_at = match self.deadlines.read {
                Some(d) => Some(*self.last_read.get_or_insert_with(Instant::now) + d),
                None => None,
            };
            let stream_at = exchange.poll_timeout();
            let Some(at) = earliest(read_at, stream_at) else {
                return Poll::Pending;
            };
            // An armed timer due before `at` is left alone (progress moves
            // the read deadline on every chunk; the timer catches up when
            // it fires), so a flowing stream costs no timer work.
            match &mut self.timer {
                Some(timer) if !timer.is_elapsed() && timer.deadline() <= at.into() => {}
                Some(timer) => timer.as_mut().reset(at.into()),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(at.into()))),
            }
            if let Some(timer) = &mut self.timer {
                ready!(timer.as_mut().poll(cx));
            }
            let now = Instant::now();
            if stream_at.is_some_and(|t| now >= t)
                && let Err(e) = exchange.on_timeout(now)
            {
                return Poll::Ready(Step::Fail(RelayError::Exchange(e)));
            }
            if let (Some(after), Some(t)) = (self.deadlines.read, read_at)
                && now >= t
            {
                return Poll::Ready(Step::Fail(RelayError::ReadTimeout { after }));
            }
            // Fired before a deadline that moved: re-arm and wait again.
        }
    }

    /// Moves a failure into place: the client's protocol's error event
    /// first when a stream is cut by its duration limit; a pause before the
    /// error when bytes went out, so the server flushes what the client
    /// was given before it aborts the connection.
    fn fail(&mut self, error: RelayError) {
        if self.sent > 0
            && let Some(exchange) = &self.exchange
        {
            self.pending = cut_event(exchange.context().client_protocol, &error);
        }
        self.flush_before_failing = self.sent > 0 || self.pending.is_some();
        self.state = State::Failing(error);
    }
}

impl<B> Body for Relay<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    type Data = Bytes;
    type Error = RelayError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, RelayError>>> {
        let this = self.get_mut();
        loop {
            if let Some(bytes) = this.pending.take() {
                this.sent += bytes.len() as u64;
                return Poll::Ready(Some(Ok(Frame::data(bytes))));
            }
            match std::mem::replace(&mut this.state, State::Done) {
                State::Streaming => this.state = State::Streaming,
                State::Ending => {
                    this.report(RelayEnd::Complete);
                    return Poll::Ready(None);
                }
                State::Failing(error) if this.flush_before_failing => {
                    this.flush_before_failing = false;
                    this.state = State::Failing(error);
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                State::Failing(error) => {
                    this.report(RelayEnd::Failed(error.clone()));
                    return Poll::Ready(Some(Err(error)));
                }
                State::Refused(error) => {
                    this.report(RelayEnd::Refused(error.clone()));
                    return Poll::Ready(Some(Err(error)));
                }
                State::Done => return Poll::Ready(None),
            }
            match ready!(this.poll_step(cx)) {
                Step::Output(bytes) => {
                    if !bytes.is_empty() {
                        this.pending = Some(bytes);
                    }
                }
                Step::Eof(last) => {
                    this.pending = (!last.is_empty()).then_some(last);
                    this.state = State::Ending;
                }
                Step::Fail(error) => this.fail(error),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Done) && self.pending.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl<B> Relay<B> {
    /// Finishes the exchange and calls the `on_end` callback (once).
    fn report(&mut self, end: RelayEnd) {
        // Reported once: a relay that already reported reads no clock.
        if self.exchange.is_some() {
            self.report_at(end, Instant::now());
        }
    }

    /// [`report`](Self::report) at `now`, an instant the caller has.
    fn report_at(&mut self, end: RelayEnd, now: Instant) {
        let Some(exchange) = self.exchange.take() else {
            return;
        };
        match self.on_end.take() {
            Some(OnEnd::Log(log)) => log.relayed(exchange, end, now),
            Some(OnEnd::Call(on_end)) => {
                let observe_error = ObserveError::of(&exchange);
                on_end(RelayReport {
                    metrics: exchange.finish_boxed(now),
                    end,
                    observe_error,
                    ended_at: now,
                });
            }
            None => drop(exchange.finish_boxed(now)),
        }
    }
}

impl<B> Drop for Relay<B> {
    fn drop(&mut self) {
        let end = match std::mem::replace(&mut self.state, State::Done) {
            State::Refused(error) => RelayEnd::Refused(error),
            State::Failing(error) => RelayEnd::Failed(error),
            // The body ended and the client was handed every byte.
            State::Ending if self.pending.is_none() => RelayEnd::Complete,
            _ => RelayEnd::ClientGone,
        };
        self.report(end);
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The event a client of `protocol` understands as "the stream failed",
/// so SDKs surface the reason before the connection drops: for a cut by
/// the stream's duration limit. `None` for other errors and for protocols
/// without an in-stream error event.
pub(crate) fn cut_event(protocol: Protocol, error: &RelayError) -> Option<Bytes> {
    if !matches!(
        error,
        RelayError::Exchange(ExchangeError::StreamDurationExceeded { .. })
    ) {
        return None;
    }
    let message = serde_json::Value::from(error.to_string());
    let event = match protocol {
        Protocol::OpenAiChat => format!(
            "data: {{\"error\":{{\"message\":{message},\"type\":\"timeout_error\",\"code\":\"max_stream_duration_exceeded\"}}}}\n\n"
        ),
        Protocol::OpenAiResponses => format!(
            "event: error\ndata: {{\"type\":\"error\",\"code\":\"max_stream_duration_exceeded\",\"message\":{message}}}\n\n"
        ),
        Protocol::AnthropicMessages => format!(
            "event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"timeout_error\",\"message\":{message}}}}}\n\n"
        ),
        _ => return None,
    };
    Some(Bytes::from(event))
}
