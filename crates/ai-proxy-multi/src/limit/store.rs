//! [`Store`]: where token counters live, and [`MemoryStore`], the
//! in-process one (`policy: local`).
//!
//! A counter is a fixed window, as limit-count's: it starts when a charge
//! first touches the key and lasts `time_window`; charges add to it; when
//! the window is over the next charge starts a new one. This is what
//! APISIX's Redis script does (`apisix/plugins/limit-count/util.lua`:
//! `PTTL < 0` → `SET key cost EX window`, else `INCRBY`), so every store
//! answers alike.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hashbrown::HashTable;

/// One counter's state: tokens charged in the current window (may exceed
/// the limit: the real cost is charged after the response) and the time
/// until the window resets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counter {
    /// Tokens charged in the current window.
    pub consumed: u64,
    /// Time until the window ends (the whole window when no charge opened
    /// one yet).
    pub reset: Duration,
}

impl Counter {
    /// A counter no charge has touched (or whose window is over).
    pub fn fresh(window: Duration) -> Self {
        Self {
            consumed: 0,
            reset: window,
        }
    }
}

/// Why a counter could not be read or written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A remote store (Redis) did not answer, or answered an error. The
    /// reason names the cause, never a credential.
    #[error("rate-limit counters unavailable: {reason}")]
    Unavailable {
        /// What went wrong.
        reason: String,
    },
}

/// Where counters live. Keys come from [`Quota::key`](super::Quota::key);
/// windows are whole seconds.
///
/// The in-process [`MemoryStore`] implements it; a store that does I/O
/// (Redis in the gateway) performs the same two operations asynchronously
/// on the keys and windows [`RequestQuotas`](super::RequestQuotas) lists,
/// and reports the [`Counter`]s back.
pub trait Store: Send + Sync {
    /// The counter as it is, without changing anything: a missing or
    /// expired key reads [`Counter::fresh`]. Admission checks only read.
    fn peek(&self, key: &str, window: Duration, now: Instant) -> Result<Counter, StoreError>;

    /// Adds `cost` to the counter (opening a window of `window` when there
    /// is none) and returns it after the charge.
    fn charge(
        &self,
        key: &str,
        cost: u64,
        window: Duration,
        now: Instant,
    ) -> Result<Counter, StoreError>;
}

/// Windows longer than this are cut to it for `Instant` arithmetic (a
/// hundred years).
const MAX_WINDOW: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
const SHARDS: usize = 16;

#[derive(Clone, Copy, Debug)]
struct Window {
    consumed: u64,
    ends: Instant,
    length: Duration,
}

/// A key and its window.
#[derive(Debug)]
struct Entry {
    key: Box<str>,
    window: Window,
}

/// One shard's counters, found by the key's hash computed once per
/// operation (the shard and the table use the same keyed hash; a
/// `HashMap` in the shard hashed the key a second time).
type Shard = HashTable<Entry>;

/// Counters in this process (`policy: local`): one budget per gateway.
///
/// Bounded: at most `capacity` keys. A full shard first drops windows
/// that are over; if none is, it evicts the eighth of its keys whose
/// windows end soonest (nginx's shared dict evicts under pressure too),
/// counted in [`evictions`](Self::evictions). Sharded so concurrent
/// requests rarely wait on one another.
///
/// ```
/// use std::time::{Duration, Instant};
/// use ai_proxy_multi::limit::{MemoryStore, Store};
///
/// let store = MemoryStore::new(1000);
/// let t0 = Instant::now();
/// let minute = Duration::from_secs(60);
/// assert_eq!(store.charge("k", 40, minute, t0)?.consumed, 40);
/// let later = store.peek("k", minute, t0 + Duration::from_secs(15))?;
/// assert_eq!((later.consumed, later.reset), (40, Duration::from_secs(45)));
/// // The window is over: a fresh one.
/// assert_eq!(store.peek("k", minute, t0 + minute)?.consumed, 0);
/// # Ok::<(), ai_proxy_multi::limit::StoreError>(())
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    shards: [Mutex<Shard>; SHARDS],
    /// Keyed (SipHash, random keys): counter keys can come from clients.
    hasher: RandomState,
    per_shard: usize,
    evictions: AtomicU64,
}

/// Default [`MemoryStore`] capacity: keys across all routes.
pub const DEFAULT_MEMORY_CAPACITY: usize = 100_000;

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(DEFAULT_MEMORY_CAPACITY)
    }
}

impl MemoryStore {
    /// A store holding at most `capacity` keys (at least one per shard).
    pub fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        Self {
            shards: std::array::from_fn(|_| Mutex::new(HashTable::new())),
            hasher: RandomState::new(),
            per_shard,
            evictions: AtomicU64::new(0),
        }
    }

    /// Live windows evicted to make room so far.
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }

    /// Keys held (including windows that are over but not yet dropped).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `key`'s hash and its shard. The shard comes from bits the table
    /// does not use for a bucket (low bits) or its tag (top 7).
    fn shard(&self, key: &str) -> (u64, &Mutex<Shard>) {
        let hash = self.hasher.hash_one(key);
        let i = usize::try_from((hash >> 48) % SHARDS as u64).unwrap_or(0);
        #[allow(clippy::indexing_slicing)] // ok: `i < SHARDS`, the array's length
        (hash, &self.shards[i])
    }

    fn rehash(&self) -> impl Fn(&Entry) -> u64 + '_ {
        |e| self.hasher.hash_one(&*e.key)
    }

    fn make_room(&self, map: &mut Shard, now: Instant) {
        if map.len() < self.per_shard {
            return;
        }
        map.retain(|e| e.window.ends > now);
        if map.len() < self.per_shard {
            return;
        }
        let mut ends: Vec<Instant> = map.iter().map(|e| e.window.ends).collect();
        let cut = (map.len() / 8).max(1);
        let (_, &mut threshold, _) = ends.select_nth_unstable(cut - 1);
        let before = map.len();
        map.retain(|e| e.window.ends > threshold);
        let evicted = before - map.len();
        self.evictions.fetch_add(evicted as u64, Ordering::Relaxed);
        tracing::warn!(
            evicted,
            capacity = self.per_shard * SHARDS,
            "ai-rate-limiting local counters full: evicted the windows ending soonest"
        );
    }
}

fn remaining(ends: Instant, length: Duration, now: Instant) -> Duration {
    ends.saturating_duration_since(now).min(length)
}

impl Store for MemoryStore {
    fn peek(&self, key: &str, window: Duration, now: Instant) -> Result<Counter, StoreError> {
        let (hash, shard) = self.shard(key);
        let map = shard.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(
            match map.find(hash, |e| *e.key == *key).map(|e| &e.window) {
                Some(w) if w.ends > now => Counter {
                    consumed: w.consumed,
                    reset: remaining(w.ends, w.length, now),
                },
                _ => Counter::fresh(window),
            },
        )
    }

    fn charge(
        &self,
        key: &str,
        cost: u64,
        window: Duration,
        now: Instant,
    ) -> Result<Counter, StoreError> {
        let (hash, shard) = self.shard(key);
        let mut map = shard.lock().unwrap_or_else(PoisonError::into_inner);
        let length = window.min(MAX_WINDOW);
        let fresh = Window {
            consumed: cost,
            ends: now.checked_add(length).unwrap_or(now),
            length,
        };
        if let Some(e) = map.find_mut(hash, |e| *e.key == *key) {
            let w = &mut e.window;
            if w.ends <= now {
                // The window is over: the charge opens a new one.
                *w = fresh;
                return Ok(Counter {
                    consumed: cost,
                    reset: length,
                });
            }
            w.consumed = w.consumed.saturating_add(cost);
            return Ok(Counter {
                consumed: w.consumed,
                reset: remaining(w.ends, w.length, now),
            });
        }
        self.make_room(&mut map, now);
        let entry = Entry {
            key: key.into(),
            window: fresh,
        };
        map.insert_unique(hash, entry, self.rehash());
        Ok(Counter {
            consumed: cost,
            reset: length,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_charge_opens_a_window_that_later_charges_add_to() {
        let s = MemoryStore::new(10);
        let t0 = Instant::now();
        assert_eq!(
            s.charge("k", 10, MINUTE, t0),
            Ok(Counter {
                consumed: 10,
                reset: MINUTE
            })
        );
        let c = s
            .charge("k", 5, MINUTE, t0 + Duration::from_millis(1500))
            .unwrap();
        assert_eq!(c.consumed, 15);
        assert_eq!(c.reset, Duration::from_millis(58_500));
    }

    #[test]
    fn peeking_never_creates_a_key() {
        let s = MemoryStore::new(10);
        let t0 = Instant::now();
        assert_eq!(s.peek("k", MINUTE, t0), Ok(Counter::fresh(MINUTE)));
        assert!(s.is_empty());
    }

    #[test]
    fn a_window_ends_exactly_after_its_length() {
        let s = MemoryStore::new(10);
        let t0 = Instant::now();
        s.charge("k", 7, MINUTE, t0).unwrap();
        let just_before = t0 + MINUTE - Duration::from_nanos(1);
        assert_eq!(s.peek("k", MINUTE, just_before).unwrap().consumed, 7);
        assert_eq!(s.peek("k", MINUTE, t0 + MINUTE), Ok(Counter::fresh(MINUTE)));
        let next = s.charge("k", 3, MINUTE, t0 + MINUTE).unwrap();
        assert_eq!(
            next,
            Counter {
                consumed: 3,
                reset: MINUTE
            }
        );
    }

    #[test]
    fn an_earlier_now_never_reports_more_than_the_window() {
        let s = MemoryStore::new(10);
        let t0 = Instant::now() + Duration::from_secs(5);
        s.charge("k", 1, MINUTE, t0).unwrap();
        let c = s.peek("k", MINUTE, t0 - Duration::from_secs(5)).unwrap();
        assert_eq!(c.reset, MINUTE);
    }

    #[test]
    fn costs_saturate_instead_of_wrapping() {
        let s = MemoryStore::new(10);
        let t0 = Instant::now();
        s.charge("k", u64::MAX - 1, MINUTE, t0).unwrap();
        assert_eq!(s.charge("k", 5, MINUTE, t0).unwrap().consumed, u64::MAX);
    }

    #[test]
    fn a_full_store_drops_ended_windows_first_then_counts_evictions() {
        let s = MemoryStore::new(SHARDS); // one key per shard
        let t0 = Instant::now();
        for i in 0..200 {
            s.charge(&format!("old{i}"), 1, Duration::from_secs(1), t0)
                .unwrap();
        }
        assert!(s.len() <= SHARDS);
        let evicted_while_live = s.evictions();
        assert!(evicted_while_live > 0);
        // All of those windows are over: room is made without evicting.
        let later = t0 + Duration::from_secs(2);
        for i in 0..SHARDS {
            s.charge(&format!("new{i}"), 1, MINUTE, later).unwrap();
        }
        assert!(s.len() <= SHARDS);
    }

    #[test]
    fn huge_windows_do_not_overflow_instants() {
        let s = MemoryStore::new(10);
        let t0 = Instant::now();
        let c = s
            .charge("k", 1, Duration::from_secs(u64::MAX / 2), t0)
            .unwrap();
        assert_eq!(c.reset, MAX_WINDOW);
    }
}
