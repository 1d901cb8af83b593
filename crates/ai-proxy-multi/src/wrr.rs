//! Smooth weighted round robin (nginx's `ngx_http_upstream_get_peer`).
//!
//! Each pick adds every eligible member's weight to its current weight,
//! takes the member with the largest current weight (first on ties) and
//! subtracts the eligible total from it. With weights 8/2 every 10 picks
//! hold 8 and 2, interleaved (`a a b a a a a b a a`).
//!
//! The hot path must not lock: when every member is eligible the sequence
//! is periodic (its period is the sum of the GCD-reduced weights, after
//! which all current weights are back at zero), so it is precomputed once
//! and a pick is one atomic increment plus a table read. The position in
//! the cycle is sharded per thread ([`SHARDS`] counters, one cache line
//! each), so threads picking at once never write the same cache line. Each
//! shard runs nginx's sequence from its start, as each nginx worker process
//! runs its own: one thread sees it exactly (every prefix within ±1 of the
//! weights, every full cycle exact); with several threads each shard does,
//! so totals stay within one cycle per busy shard of the exact ratio.
//!
//! Picks that must skip members (retries, ejected or rate-limited
//! instances) run the algorithm for real over the eligible members under a
//! mutex; they are rare and are what nginx does for tried/down peers.

use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Cycle position counters per group.
pub(crate) const SHARDS: usize = 16;

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's shard, assigned round robin on first use.
fn shard() -> usize {
    SHARD.with(|s| {
        let mut i = s.get();
        if i == usize::MAX {
            i = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
            s.set(i);
        }
        i
    })
}

/// The longest precomputed cycle (entries); longer cycles (huge, coprime
/// weights) always take the locked path, which stays exact.
pub(crate) const MAX_TABLE: u64 = 16_384;

/// Keeps a cycle counter on its own cache line, so shards, groups and the
/// read-only tables around them do not bounce between cores.
#[repr(align(128))]
#[derive(Debug, Default)]
struct Padded(AtomicU64);

pub(crate) struct SmoothWrr {
    weights: Box<[u32]>,
    /// Member index per step of one full cycle; empty when the cycle is
    /// longer than [`MAX_TABLE`] or no member has weight.
    table: Box<[u16]>,
    /// [`fastmod`] constant for the table length.
    magic: u128,
    cursors: Box<[Padded]>,
    /// Current weights for the locked path.
    current: Mutex<Vec<i64>>,
}

/// `n % d` without a division (Lemire, Kaser & Kurz, "Faster remainder by
/// direct computation", 2019): `magic = u128::MAX / d + 1`, precomputed.
/// Exact for every `u64` `n` and `0 < d < 2^32`.
fn fastmod(n: u64, magic: u128, d: u32) -> u64 {
    let low = magic.wrapping_mul(u128::from(n));
    let hi = (low >> 64) * u128::from(d);
    let lo = (u128::from(low as u64) * u128::from(d)) >> 64;
    ((hi + lo) >> 64) as u64
}

fn magic(d: u32) -> u128 {
    (u128::MAX / u128::from(d.max(1))).wrapping_add(1)
}

pub(crate) fn gcd(a: u64, b: u64) -> u64 {
    let (mut a, mut b) = (a, b);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// One nginx step over `weights` for the members `eligible` accepts.
fn step(
    current: &mut [i64],
    weights: &[u32],
    mut eligible: impl FnMut(usize) -> bool,
) -> Option<usize> {
    let mut total: i64 = 0;
    let mut best: Option<(usize, i64)> = None;
    for (m, (cur, &w)) in current.iter_mut().zip(weights).enumerate() {
        if w == 0 || !eligible(m) {
            continue;
        }
        *cur += i64::from(w);
        total += i64::from(w);
        if best.is_none_or(|(_, b)| *cur > b) {
            best = Some((m, *cur));
        }
    }
    let (m, _) = best?;
    if let Some(cur) = current.get_mut(m) {
        *cur -= total;
    }
    Some(m)
}

impl std::fmt::Debug for SmoothWrr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The table can hold thousands of entries: summarise it.
        f.debug_struct("SmoothWrr")
            .field("weights", &self.weights)
            .field("cycle", &self.table.len())
            .finish_non_exhaustive()
    }
}

impl SmoothWrr {
    /// `weights` per member (at most `u16::MAX + 1` members).
    pub(crate) fn new(weights: Vec<u32>) -> Self {
        let g = weights.iter().fold(0u64, |g, &w| gcd(g, u64::from(w)));
        let cycle: u64 = if g == 0 {
            0
        } else {
            weights.iter().map(|&w| u64::from(w) / g).sum()
        };
        let mut table = Vec::new();
        if cycle > 0 && cycle <= MAX_TABLE && weights.len() <= usize::from(u16::MAX) + 1 {
            let reduced: Vec<u32> = weights
                .iter()
                .map(|&w| u32::try_from(u64::from(w) / g).unwrap_or(u32::MAX))
                .collect();
            let mut current = vec![0i64; weights.len()];
            table.reserve(usize::try_from(cycle).unwrap_or(0));
            for _ in 0..cycle {
                match step(&mut current, &reduced, |_| true).and_then(|m| u16::try_from(m).ok()) {
                    Some(m) => table.push(m),
                    None => break,
                }
            }
        }
        Self {
            current: Mutex::new(vec![0; weights.len()]),
            weights: weights.into_boxed_slice(),
            magic: magic(u32::try_from(table.len()).unwrap_or(1)),
            table: table.into_boxed_slice(),
            cursors: (0..SHARDS).map(|_| Padded::default()).collect(),
        }
    }

    /// Whether some member has weight.
    #[cfg(test)]
    pub(crate) fn has_weight(&self) -> bool {
        self.weights.iter().any(|&w| w > 0)
    }

    /// Member `member`'s weight.
    #[allow(clippy::indexing_slicing)] // ok: callers pass a position in the group this was built from
    pub(crate) fn weight(&self, member: usize) -> u32 {
        self.weights[member]
    }

    /// A pick over all members, lock-free when the cycle is precomputed.
    pub(crate) fn pick_all(&self) -> Option<usize> {
        let Ok(len) = u32::try_from(self.table.len()) else {
            return None;
        };
        if len == 0 {
            return self.pick_where(|_| true);
        }
        let n = self.cursors.get(shard())?.0.fetch_add(1, Ordering::Relaxed);
        let i = usize::try_from(fastmod(n, self.magic, len)).ok()?;
        self.table.get(i).map(|&m| usize::from(m))
    }

    /// A pick over the members `eligible` accepts (nginx's loop skipping
    /// tried and down peers).
    pub(crate) fn pick_where(&self, eligible: impl FnMut(usize) -> bool) -> Option<usize> {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        step(&mut current, &self.weights, eligible)
    }

    #[cfg(test)]
    pub(crate) fn table_len(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(w: &SmoothWrr, n: usize, labels: &[char]) -> String {
        (0..n).map(|_| labels[w.pick_all().unwrap()]).collect()
    }

    #[test]
    fn weights_8_2_interleave_like_nginx() {
        let w = SmoothWrr::new(vec![8, 2]);
        // Reduced to 4/1, nginx yields a a b a a per 5 picks.
        assert_eq!(names(&w, 20, &['a', 'b']), "aabaaaabaaaabaaaabaa");
    }

    #[test]
    fn weights_5_1_1_match_the_nginx_documentation_order() {
        // The sequence from nginx's commit introducing smooth WRR.
        let w = SmoothWrr::new(vec![5, 1, 1]);
        assert_eq!(names(&w, 7, &['a', 'b', 'c']), "aabacaa");
    }

    #[test]
    fn table_is_reduced_by_the_gcd() {
        assert_eq!(SmoothWrr::new(vec![800, 200]).table_len(), 5);
        assert_eq!(SmoothWrr::new(vec![4, 1]).table_len(), 5);
    }

    proptest::proptest! {
        #[test]
        fn fastmod_equals_the_remainder(n in proptest::prelude::any::<u64>(), d in 1u32..=u32::MAX) {
            proptest::prop_assert_eq!(fastmod(n, magic(d), d), n % u64::from(d));
        }
    }

    #[test]
    fn fastmod_edges() {
        for d in [1u32, 2, 3, 5, 7, 16_384, u32::MAX] {
            for n in [
                0u64,
                1,
                u64::from(d) - 1,
                u64::from(d),
                u64::MAX - 1,
                u64::MAX,
            ] {
                assert_eq!(fastmod(n, magic(d), d), n % u64::from(d), "{n} % {d}");
            }
        }
    }

    #[test]
    fn weight_zero_members_never_come_up() {
        let w = SmoothWrr::new(vec![0, 3, 0, 1]);
        for _ in 0..100 {
            let m = w.pick_all().unwrap();
            assert!(m == 1 || m == 3);
        }
        assert!(!SmoothWrr::new(vec![0, 0]).has_weight());
        assert_eq!(SmoothWrr::new(vec![0, 0]).pick_all(), None);
    }

    #[test]
    fn huge_coprime_weights_use_the_locked_path_and_stay_exact() {
        let w = SmoothWrr::new(vec![1_000_000, 999_999]);
        assert_eq!(w.table_len(), 0);
        let mut counts = [0u32; 2];
        for _ in 0..1000 {
            counts[w.pick_all().unwrap()] += 1;
        }
        assert_eq!(counts, [500, 500]);
    }

    #[test]
    fn locked_path_skips_ineligible_members_keeping_ratios() {
        let w = SmoothWrr::new(vec![6, 3, 1]);
        let mut counts = [0u32; 3];
        for _ in 0..40 {
            counts[w.pick_where(|m| m != 0).unwrap()] += 1;
        }
        assert_eq!(counts, [0, 30, 10]);
        assert_eq!(w.pick_where(|_| false), None);
    }
}
