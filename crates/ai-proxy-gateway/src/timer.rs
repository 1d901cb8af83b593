//! Per-request deadlines on reused tokio timers.
//!
//! A fresh `tokio::time::Sleep` per request costs a timer-wheel insert on
//! its first wait and a removal (under the driver's lock) when dropped:
//! ~700 instructions a request for the upstream head's deadline alone, as
//! much again for a client head's header timeout. A timer kept after its
//! request and moved to a later deadline is re-armed with one atomic store
//! (tokio's `extend_expiration`): its wheel entry stays where it was and
//! is moved on when it comes due. So each worker thread keeps its idle
//! timers, per use (a kind's deadlines only grow, so they extend), and
//! hands them out again on the same runtime.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::LocalKey;
use std::time::{Duration, Instant};

use tokio::runtime::{Handle, Id};
use tokio::time::Sleep;

/// Idle timers kept per thread and kind; more are dropped.
const MAX_SPARE: usize = 256;

/// One kind's idle timers on this thread, all of one runtime's.
pub(crate) struct Spare {
    runtime: Option<Id>,
    timers: Vec<Pin<Box<Sleep>>>,
}

impl Spare {
    const fn new() -> Self {
        Self {
            runtime: None,
            timers: Vec::new(),
        }
    }
}

type Kind = &'static LocalKey<RefCell<Spare>>;

thread_local! {
    /// The upstream head's deadline (the route's `timeout`).
    pub(crate) static UPSTREAM_HEAD: RefCell<Spare> = const { RefCell::new(Spare::new()) };
    /// A client request head's deadline (the header timeout).
    pub(crate) static CLIENT_HEAD: RefCell<Spare> = const { RefCell::new(Spare::new()) };
    /// A stalled write to a client's deadline (the send timeout).
    pub(crate) static CLIENT_SEND: RefCell<Spare> = const { RefCell::new(Spare::new()) };
}

/// A timer armed for a deadline, from (and back to) its kind's spares.
pub(crate) struct Deadline {
    kind: Kind,
    runtime: Id,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl std::fmt::Debug for Deadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deadline").finish_non_exhaustive()
    }
}

impl Deadline {
    /// A timer of `kind` due at `at`, on the current runtime (`None`
    /// outside one, or when `at` is too far to represent: no deadline).
    pub(crate) fn at(kind: Kind, at: tokio::time::Instant) -> Option<Self> {
        let runtime = Handle::try_current().ok()?.id();
        let spare = kind
            .try_with(|spare| {
                let mut spare = spare.try_borrow_mut().ok()?;
                if spare.runtime != Some(runtime) {
                    // Another runtime's timers (one that ran on this
                    // thread before) cannot serve this one.
                    spare.timers.clear();
                    spare.runtime = Some(runtime);
                }
                spare.timers.pop()
            })
            .ok()
            .flatten();
        let sleep = match spare {
            Some(mut sleep) => {
                sleep.as_mut().reset(at);
                sleep
            }
            None => Box::pin(tokio::time::sleep_until(at)),
        };
        Some(Self {
            kind,
            runtime,
            sleep: Some(sleep),
        })
    }

    /// A timer of `kind` due `after` from `now` (`None`: the deadline is
    /// beyond what an `Instant` holds, i.e. none).
    pub(crate) fn after(kind: Kind, now: Instant, after: Duration) -> Option<Self> {
        let at = now.checked_add(after)?;
        Self::at(kind, at.into())
    }
}

impl Future for Deadline {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        let Some(sleep) = self.sleep.take() else {
            return;
        };
        let runtime = self.runtime;
        // At thread exit the spares may be gone: the timer is dropped.
        let _ = self.kind.try_with(|spare| {
            if let Ok(mut spare) = spare.try_borrow_mut()
                && spare.runtime == Some(runtime)
                && spare.timers.len() < MAX_SPARE
            {
                spare.timers.push(sleep);
            }
        });
    }
}

/// `future`'s output, unless `deadline` passes first (`Err(())`); no
/// deadline waits as long as it takes. `future` is `Unpin` (pass a pinned
/// reference): a large future is not moved into this one.
pub(crate) fn within<F: Future + Unpin>(deadline: Option<Deadline>, future: F) -> Within<F> {
    Within { future, deadline }
}

/// See [`within`].
pub(crate) struct Within<F> {
    future: F,
    deadline: Option<Deadline>,
}

impl<F: Future + Unpin> Future for Within<F> {
    type Output = Result<F::Output, ()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // The future first, as `tokio::time::timeout` does: an answer
        // that is there wins over a deadline that just passed.
        if let Poll::Ready(out) = Pin::new(&mut this.future).poll(cx) {
            return Poll::Ready(Ok(out));
        }
        match &mut this.deadline {
            Some(d) => Pin::new(d).poll(cx).map(Err),
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spare_count(kind: Kind) -> usize {
        kind.with(|s| s.borrow().timers.len())
    }

    #[tokio::test]
    async fn a_deadline_fires_when_due() {
        let now = tokio::time::Instant::now();
        let d = Deadline::at(&UPSTREAM_HEAD, now + Duration::from_millis(20));
        let r = within(d, std::future::pending::<()>()).await;
        assert_eq!(r, Err(()));
        assert!(now.elapsed() >= Duration::from_millis(20));
    }

    #[tokio::test]
    async fn a_ready_future_wins_over_a_passed_deadline() {
        let d = Deadline::at(&UPSTREAM_HEAD, tokio::time::Instant::now());
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(within(d, std::future::ready(7)).await, Ok(7));
    }

    #[tokio::test]
    async fn no_deadline_waits() {
        let far = Deadline::after(&UPSTREAM_HEAD, Instant::now(), Duration::MAX);
        assert!(far.is_none());
        assert_eq!(within(far, std::future::ready(1)).await, Ok(1));
    }

    #[tokio::test]
    async fn a_dropped_timer_is_reused_with_its_new_deadline() {
        let before = spare_count(&UPSTREAM_HEAD);
        let d = Deadline::at(
            &UPSTREAM_HEAD,
            tokio::time::Instant::now() + Duration::from_secs(60),
        );
        assert_eq!(within(d, std::future::ready(())).await, Ok(()));
        assert_eq!(spare_count(&UPSTREAM_HEAD), before + 1);
        // Reused, moved to a deadline in 20 ms: it fires then, not in 60 s.
        let now = tokio::time::Instant::now();
        let d = Deadline::at(&UPSTREAM_HEAD, now + Duration::from_millis(20));
        assert_eq!(spare_count(&UPSTREAM_HEAD), before);
        assert_eq!(within(d, std::future::pending::<()>()).await, Err(()));
        let waited = now.elapsed();
        assert!(waited >= Duration::from_millis(20) && waited < Duration::from_secs(5));
    }

    #[test]
    fn another_runtimes_timers_are_not_reused() {
        let first = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        first.block_on(async {
            let d = Deadline::at(
                &CLIENT_HEAD,
                tokio::time::Instant::now() + Duration::from_secs(60),
            );
            drop(d);
        });
        assert_eq!(spare_count(&CLIENT_HEAD), 1);
        drop(first);
        let second = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        second.block_on(async {
            let now = tokio::time::Instant::now();
            let d = Deadline::at(&CLIENT_HEAD, now + Duration::from_millis(10));
            // The first runtime's timer was dropped, not handed out.
            assert_eq!(spare_count(&CLIENT_HEAD), 0);
            assert_eq!(within(d, std::future::pending::<()>()).await, Err(()));
        });
    }
}
