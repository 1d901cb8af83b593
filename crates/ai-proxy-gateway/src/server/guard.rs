//! What closes a client connection between requests: its idle keep-alive
//! timer and the gateway's stop signal (HTTP/1.1 and HTTP/2 alike).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::time::Sleep;

/// The connection's idle keep-alive timer and the gateway's stop signal,
/// watched while the connection may be idle. Both keep the task's waker from their last poll, so they are
/// polled again only when they say they are due (an atomic read each).
pub(super) struct Guard {
    keepalive: Duration,
    idle: Pin<Box<Sleep>>,
    /// When the last response was written (HTTP/1.1; HTTP/2 asks its
    /// streams' [`crate::activity::Activity`]).
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

    /// Ready when the connection must close: idle since `idle_since` past
    /// the keep-alive timeout (`None`: busy now, the timeout counts from
    /// now), or the gateway stopping.
    pub(super) fn poll_close(
        &mut self,
        cx: &mut Context<'_>,
        idle_since: Option<Instant>,
    ) -> Poll<()> {
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
            let now = Instant::now();
            let due = idle_since.unwrap_or(now) + self.keepalive;
            if idle_since.is_some() && now >= due {
                return Poll::Ready(());
            }
            self.idle.as_mut().reset(due.into());
            // Re-armed: polled again to register.
            self.watch_idle = true;
        }
        Poll::Pending
    }
}
