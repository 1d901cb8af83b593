//! What closes an HTTP/1.1 connection between requests: its idle
//! keep-alive timer and the gateway's stop signal.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::time::Sleep;

/// The connection's idle keep-alive timer and the gateway's stop signal,
/// watched while the connection waits for a request with nothing
/// buffered. Both keep the task's waker from their last poll, so they are
/// polled again only when they say they are due (an atomic read each).
pub(super) struct Guard {
    keepalive: Duration,
    idle: Pin<Box<Sleep>>,
    /// When the last response was written.
    pub(super) last_done: Instant,
    watch_idle: bool,
    stop: watch::Receiver<bool>,
    stopped: Pin<Box<dyn Future<Output = ()> + Send>>,
    watch_stop: bool,
}

impl Guard {
    pub(super) fn new(keepalive: Duration, stop: watch::Receiver<bool>) -> Self {
        let mut signal = stop.clone();
        Self {
            keepalive,
            idle: Box::pin(tokio::time::sleep(keepalive)),
            last_done: Instant::now(),
            watch_idle: true,
            stop,
            stopped: Box::pin(async move {
                loop {
                    if signal.changed().await.is_err() || *signal.borrow() {
                        return;
                    }
                }
            }),
            watch_stop: true,
        }
    }

    /// Whether the gateway is stopping.
    pub(super) fn stopping(&self) -> bool {
        !matches!(self.stop.has_changed(), Ok(false))
    }

    /// Ready when an idle connection must close: idle past the keep-alive
    /// timeout, or the gateway stopping.
    pub(super) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.watch_stop || self.stopping() {
            self.watch_stop = false;
            if self.stopped.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
        }
        while self.watch_idle || self.idle.is_elapsed() {
            self.watch_idle = false;
            if self.idle.as_mut().poll(cx).is_pending() {
                break;
            }
            let due = self.last_done + self.keepalive;
            if Instant::now() >= due {
                return Poll::Ready(());
            }
            self.idle.as_mut().reset(due.into());
            // Re-armed: polled again to register.
            self.watch_idle = true;
        }
        Poll::Pending
    }
}
