//! The in-flight request-body budget: how many body bytes all requests
//! may hold at once. Reservations never wait — over budget, the request
//! is refused (503) instead of growing memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Request-body bytes held by every request together, and the cap.
#[derive(Debug)]
pub(crate) struct BodyBudget {
    used: AtomicU64,
    limit: u64,
}

/// Bytes held against the budget; given back when dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Arc<BodyBudget>,
    bytes: u64,
}

impl BodyBudget {
    pub(crate) fn new(limit: u64) -> Arc<Self> {
        Arc::new(Self {
            used: AtomicU64::new(0),
            limit,
        })
    }

    /// The cap, in bytes.
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// Reserves `bytes`, or `None` when that would go over the cap.
    pub(crate) fn try_reserve(self: &Arc<Self>, bytes: u64) -> Option<Reservation> {
        self.take(bytes).then(|| Reservation {
            budget: Arc::clone(self),
            bytes,
        })
    }

    /// Adds `bytes` to `held` (reserved on first use); `false` (nothing
    /// changed) when that would go over the cap.
    pub(crate) fn hold(self: &Arc<Self>, held: &mut Option<Reservation>, bytes: u64) -> bool {
        match held {
            Some(reservation) => reservation.try_grow(bytes),
            None => {
                *held = self.try_reserve(bytes);
                held.is_some()
            }
        }
    }

    fn take(&self, bytes: u64) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }
}

impl Reservation {
    /// Reserves `more` bytes on top; `false` (nothing changed) when that
    /// would go over the cap.
    pub(crate) fn try_grow(&mut self, more: u64) -> bool {
        let grown = self.budget.take(more);
        if grown {
            self.bytes += more;
        }
        grown
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_fail_past_the_cap_and_give_back_when_dropped() {
        let budget = BodyBudget::new(100);
        let a = budget.try_reserve(60).unwrap();
        assert!(budget.try_reserve(41).is_none());
        let mut b = budget.try_reserve(40).unwrap();
        assert!(!b.try_grow(1));
        drop(a);
        assert!(b.try_grow(60));
        assert!(budget.try_reserve(1).is_none());
        drop(b);
        assert!(budget.try_reserve(100).is_some());
    }

    #[test]
    fn overflowing_sizes_are_refused() {
        let budget = BodyBudget::new(u64::MAX);
        let _a = budget.try_reserve(u64::MAX - 1).unwrap();
        assert!(budget.try_reserve(2).is_none());
    }
}
