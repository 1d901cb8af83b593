//! A client connection's activity: requests in flight and since when it
//! is idle, kept by the server's keep-alive watchdog; a response body
//! holds its connection [`Busy`] until it is done.

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
}

impl Activity {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            active: AtomicU32::new(0),
            idle_since: AtomicU64::new(0),
        })
    }

    pub(crate) fn begin(self: &Arc<Self>) -> Busy {
        self.active.fetch_add(1, Ordering::AcqRel);
        Busy(Arc::clone(self))
    }

    /// When the connection went idle; `None` while a request is in flight.
    pub(crate) fn idle_since(&self) -> Option<Instant> {
        if self.active.load(Ordering::Acquire) > 0 {
            return None;
        }
        let nanos = self.idle_since.load(Ordering::Acquire);
        Some(self.base + Duration::from_nanos(nanos))
    }
}

/// Marks its connection busy until dropped (when the response body is
/// done or abandoned).
#[derive(Debug)]
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let nanos = u64::try_from(self.0.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.0.idle_since.store(nanos, Ordering::Release);
        self.0.active.fetch_sub(1, Ordering::AcqRel);
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
}
