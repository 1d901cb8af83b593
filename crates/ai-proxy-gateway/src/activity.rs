//! A client connection's activity (HTTP/2): requests in flight and since
//! when it is idle, read by the keep-alive watchdog; streams waiting for
//! the client to take more of their response, read by the send timeout. A
//! response body holds its connection [`Busy`] until it is done.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Requests in flight on one connection, and since when it is idle: what
/// the keep-alive watchdog reads.
#[derive(Debug)]
pub(crate) struct Activity {
    base: Instant,
    active: AtomicU32,
    /// Nanoseconds after `base` when the last request finished.
    idle_since: AtomicU64,
    /// Streams that handed out a frame and have not been asked for the
    /// next one: the client has not made room for more (flow control).
    waiting: AtomicU32,
    /// Nanoseconds after `base` when a response body last handed out a
    /// frame or was asked for one.
    progress: AtomicU64,
}

impl Activity {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            active: AtomicU32::new(0),
            idle_since: AtomicU64::new(0),
            waiting: AtomicU32::new(0),
            progress: AtomicU64::new(0),
        })
    }

    pub(crate) fn begin(self: &Arc<Self>) -> Busy {
        self.active.fetch_add(1, Ordering::AcqRel);
        Busy {
            activity: Arc::clone(self),
            waiting: false,
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// When the connection went idle; `None` while a request is in flight.
    pub(crate) fn idle_since(&self) -> Option<Instant> {
        if self.active.load(Ordering::Acquire) > 0 {
            return None;
        }
        let nanos = self.idle_since.load(Ordering::Acquire);
        Some(self.base + Duration::from_nanos(nanos))
    }

    /// Since when no response body has moved while one waits for the
    /// client; `None` when none waits.
    pub(crate) fn stalled_since(&self) -> Option<Instant> {
        if self.waiting.load(Ordering::Acquire) == 0 {
            return None;
        }
        let nanos = self.progress.load(Ordering::Acquire);
        Some(self.base + Duration::from_nanos(nanos))
    }
}

/// Marks its connection busy until dropped (when the response body is
/// done or abandoned), and tells it whether the body waits for the client.
#[derive(Debug)]
pub(crate) struct Busy {
    activity: Arc<Activity>,
    /// Whether this body counts in [`Activity::waiting`].
    waiting: bool,
}

impl Busy {
    /// The server asks the body for its next frame: the client took the
    /// last one.
    pub(crate) fn asked(&mut self) {
        let a = &self.activity;
        if std::mem::take(&mut self.waiting) {
            a.waiting.fetch_sub(1, Ordering::AcqRel);
        }
        a.progress.store(a.now(), Ordering::Release);
    }

    /// The body handed out a frame with more to come: until it is asked
    /// again, the client is what it waits for.
    pub(crate) fn handed_out(&mut self) {
        let a = &self.activity;
        a.progress.store(a.now(), Ordering::Release);
        if !std::mem::replace(&mut self.waiting, true) {
            a.waiting.fetch_add(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let a = &self.activity;
        if self.waiting {
            a.waiting.fetch_sub(1, Ordering::AcqRel);
        }
        a.idle_since.store(a.now(), Ordering::Release);
        a.active.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_idle_only_without_requests_in_flight() {
        let activity = Activity::new();
        assert!(activity.idle_since().is_some());
        let busy = activity.begin();
        let also = activity.begin();
        assert!(activity.idle_since().is_none());
        drop(busy);
        assert!(activity.idle_since().is_none());
        let before = Instant::now();
        drop(also);
        assert!(activity.idle_since().unwrap() >= before - Duration::from_millis(1));
    }

    #[test]
    fn a_body_stalls_its_connection_from_handing_out_a_frame_until_asked_again() {
        let activity = Activity::new();
        let mut busy = activity.begin();
        assert!(activity.stalled_since().is_none());
        let before = Instant::now();
        busy.handed_out();
        let since = activity.stalled_since().expect("waits for the client");
        assert!(since >= before - Duration::from_millis(1));
        busy.asked();
        assert!(activity.stalled_since().is_none());
    }

    #[test]
    fn a_waiting_body_dropped_no_longer_stalls_its_connection() {
        let activity = Activity::new();
        let mut busy = activity.begin();
        busy.handed_out();
        busy.handed_out();
        drop(busy);
        assert!(activity.stalled_since().is_none());
        assert!(activity.idle_since().is_some());
    }
}
