//! `sse` and `response` observe a saved response the way the gateway
//! observes a live one: the input becomes a body, and the gateway's relay
//! driver pulls it through the exchange (output dropped: only what the
//! exchange observes on the side matters).

use std::error::Error as StdError;
use std::io::{self, Read};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use ai_proxy::Exchange;
use ai_proxy::core::Metrics;
use ai_proxy_gateway::{Deadlines, RelayError, RelayReport, relay};
use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame};
use http_body_util::BodyExt;

use crate::{input, stdio};

/// How much is read from the input at a time (small enough to stay in
/// cache while it is zeroed, read and scanned).
const READ_CHUNK: usize = 128 * 1024;

/// How much of the input's start is kept for the diagnosis (a stream's
/// first event must fit to be checked).
const PREFIX: usize = 1024 * 1024;

/// Why a command stopped: its input could not be read, or its output could
/// not be written.
#[derive(Debug)]
pub enum Broken {
    /// Reading the input failed.
    Input(io::Error),
    /// Writing stdout failed.
    Output(io::Error),
}

impl Broken {
    /// Reports the failure; the exit code: 2 for input, 1 for output.
    pub fn exit(self, command: &str, file: &str) -> ExitCode {
        match self {
            Broken::Input(e) => {
                stdio::err(format_args!(
                    "ai-proxy {command}: cannot read {}: {e}",
                    input::name(file)
                ));
                ExitCode::from(2)
            }
            Broken::Output(e) => stdio::closed(&e).into(),
        }
    }
}

/// How reading a response ended: `Ok` (exit 0), or what is wrong with it,
/// in one line (exit 1).
pub type Verdict = Result<(), String>;

/// The input in [`READ_CHUNK`]-sized chunks, remembering its size, its
/// first [`PREFIX`] bytes and why reading it failed. Also a body: reads
/// block, which is what a command wants (nothing else runs meanwhile).
pub struct Input {
    reader: Box<dyn Read>,
    buf: BytesMut,
    /// The first [`PREFIX`] bytes read.
    pub prefix: Vec<u8>,
    /// Bytes read so far.
    pub total: u64,
    failed: Option<io::Error>,
}

impl Input {
    /// Reads `reader` from its start.
    pub fn new(reader: Box<dyn Read>) -> Self {
        Self {
            reader,
            buf: BytesMut::new(),
            prefix: Vec::new(),
            total: 0,
            failed: None,
        }
    }

    /// The next chunk (`None` at end of input), reusing the buffer's
    /// storage once the previous chunk is dropped.
    pub fn next_chunk(&mut self) -> Result<Option<Bytes>, Broken> {
        self.buf.clear();
        self.buf.resize(READ_CHUNK, 0);
        loop {
            match self.reader.read(&mut self.buf[..]) {
                Ok(0) => return Ok(None),
                Ok(n) => {
                    self.buf.truncate(n);
                    let chunk = self.buf.split().freeze();
                    self.total += chunk.len() as u64;
                    let room = PREFIX.saturating_sub(self.prefix.len());
                    self.prefix
                        .extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
                    return Ok(Some(chunk));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Broken::Input(e)),
            }
        }
    }
}

impl Body for Input {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        Poll::Ready(match this.next_chunk() {
            Ok(chunk) => chunk.map(|c| Ok(Frame::data(c))),
            Err(Broken::Input(e) | Broken::Output(e)) => {
                // The relay gets a copy; the command reports the original.
                let copy = io::Error::new(e.kind(), e.to_string());
                this.failed = Some(e);
                Some(Err(copy))
            }
        })
    }
}

/// Relays `body` through `exchange` (its head already taken) with the
/// gateway's driver, calling `between` with the exchange after each frame;
/// the metrics, or the relay's error when the exchange stopped the
/// response. A failing `input` is [`Broken::Input`].
pub fn observe<B>(
    body: B,
    exchange: Exchange,
    mut between: impl FnMut(&mut Exchange) -> Result<(), Broken>,
) -> Result<Result<Metrics, RelayError>, Broken>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(Broken::Input)?;
    let slot: Arc<Mutex<Option<RelayReport>>> = Arc::default();
    let stopped = runtime.block_on(async {
        let report = Arc::clone(&slot);
        let mut relay = relay(body, exchange, Deadlines::none()).on_end(move |r| {
            *report.lock().unwrap_or_else(PoisonError::into_inner) = Some(r);
        });
        while let Some(frame) = relay.frame().await {
            if let Err(e) = frame {
                return Ok(Some(e));
            }
            if let Some(exchange) = relay.exchange_mut() {
                between(exchange)?;
            }
        }
        Ok(None)
    })?;
    if let Some(error) = stopped {
        return Ok(Err(error));
    }
    let report = slot
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .ok_or_else(|| Broken::Input(io::Error::other("the relay ended without a report")))?;
    Ok(Ok(report.metrics))
}

/// [`observe`] over `input`: its read failure is [`Broken::Input`], not a
/// verdict.
pub fn observe_input(
    input: &mut Input,
    exchange: Exchange,
    between: impl FnMut(&mut Exchange) -> Result<(), Broken>,
) -> Result<Result<Metrics, String>, Broken> {
    let outcome = observe(&mut *input, exchange, between)?;
    if let Some(e) = input.failed.take() {
        return Err(Broken::Input(e));
    }
    Ok(outcome.map_err(|e| stopped(&e)))
}

/// One line for a relay the exchange stopped.
pub fn stopped(error: &RelayError) -> String {
    match error {
        RelayError::Exchange(e) => e.to_string(),
        other => other.to_string(),
    }
}
