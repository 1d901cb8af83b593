//! Per-request state the caller owns: [`Attempt`], [`Outcome`] and
//! [`Report`], [`Decision`], [`Finish`].

use std::time::Instant;

use http::StatusCode;

/// An instance's position in the config's `instances` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(pub(crate) u32);

impl InstanceId {
    /// The 0-based index in `instances`.
    pub fn index(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

/// A set of instance indexes; no allocation up to 128 instances.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TriedSet {
    inline: [u64; 2],
    spill: Vec<u64>,
}

impl TriedSet {
    fn word(&self, i: u32) -> Option<&u64> {
        let w = usize::try_from(i / 64).ok()?;
        match w {
            0 | 1 => self.inline.get(w),
            _ => self.spill.get(w - 2),
        }
    }

    pub(crate) fn contains(&self, i: u32) -> bool {
        self.word(i).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    pub(crate) fn insert(&mut self, i: u32) {
        let Ok(w) = usize::try_from(i / 64) else {
            return;
        };
        let slot = match w {
            0 | 1 => self.inline.get_mut(w),
            _ => {
                if self.spill.len() < w - 1 {
                    self.spill.resize(w - 1, 0);
                }
                self.spill.get_mut(w - 2)
            }
        };
        if let Some(slot) = slot {
            *slot |= 1 << (i % 64);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.inline == [0, 0] && self.spill.iter().all(|&w| w == 0)
    }

    pub(crate) fn len(&self) -> u32 {
        self.inline
            .iter()
            .chain(&self.spill)
            .map(|w| w.count_ones())
            .sum()
    }
}

/// The per-request plan: which pool the request balances over, what it
/// tried, how many retries it used, where a chash walk stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RequestPlan {
    pub(crate) pool: u32,
    pub(crate) tried: TriedSet,
    pub(crate) retries: u32,
    pub(crate) key_hash: Option<u32>,
    /// `(group, point)` of the last chash pick.
    pub(crate) ring_at: Option<(u32, u32)>,
}

/// One attempt at one instance, and the request's plan so far.
///
/// Returned by [`crate::Balancer::pick`] and [`Decision::Retry`]; hand it
/// back to [`crate::Balancer::on_outcome`] once the attempt has an outcome.
/// The caller owns it, so the shared balancer stays `Send + Sync` and
/// lock-free on the hot path.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "send the attempt to its instance and report the outcome"]
pub struct Attempt {
    pub(crate) instance: InstanceId,
    pub(crate) number: u32,
    pub(crate) plan: RequestPlan,
    pub(crate) started: Instant,
}

impl Attempt {
    /// When the attempt started: the `now` of the [`pick`] or of the
    /// [`on_outcome`] that returned it. Its duration, up to the `now` of its
    /// own `on_outcome`, is checked against `retry_on_failure_within_ms`.
    ///
    /// [`pick`]: crate::Balancer::pick
    /// [`on_outcome`]: crate::Balancer::on_outcome
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The instance to send this attempt to.
    pub fn instance(&self) -> InstanceId {
        self.instance
    }

    /// 1 for the first attempt, 2 for the first retry, …
    pub fn number(&self) -> u32 {
        self.number
    }

    /// Retries used so far (`number() - 1`).
    pub fn retries(&self) -> u32 {
        self.plan.retries
    }

    /// Whether `instance` was already tried (or skipped as rate limited)
    /// by this request.
    pub fn has_tried(&self, instance: InstanceId) -> bool {
        self.plan.tried.contains(instance.0)
    }

    /// How many instances this request has tried or skipped, this one
    /// excluded.
    pub fn tried_count(&self) -> u32 {
        self.plan.tried.len()
    }
}

/// How an attempt ended, as the caller saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The upstream answered with this status (or the caller generated one
    /// for the attempt: stream limits 502/504, a converter's 502, …).
    Status(u16),
    /// No response: connect/send/read failed. Counts as 504 when it timed
    /// out, else 500 (APISIX's transport error mapping).
    Transport {
        /// Whether the failure was a timeout.
        timeout: bool,
    },
}

impl Outcome {
    /// The status this outcome stands for.
    pub fn status(self) -> u16 {
        match self {
            Outcome::Status(s) => s,
            Outcome::Transport { timeout: true } => 504,
            Outcome::Transport { timeout: false } => 500,
        }
    }

    /// Whether passive health counts this as a failure (transport error or
    /// 5xx).
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Transport { .. }) || self.status() >= 500
    }
}

/// What the caller reports about a finished attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// How the attempt ended.
    pub outcome: Outcome,
    /// Whether its response goes to the client as is: a byte was already
    /// forwarded, or the caller relays it whatever the decision. A
    /// delivered attempt is never retried.
    pub delivered: bool,
}

/// What to do after an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "either answer the client or send the retry"]
pub enum Decision {
    /// Answer the client; the request is over.
    Return(Finish),
    /// Send the request again, from the ORIGINAL client body, to the next
    /// instance (attempt timers reset).
    Retry(Attempt),
}

/// How a request ends.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finish {
    /// The instance of the last attempt.
    pub instance: InstanceId,
    /// The status for the client: the last attempt's status, or 502 when
    /// no instance was left to fall back to ([`FinishReason::Exhausted`]).
    pub status: StatusCode,
    /// Why there is no (further) retry.
    pub reason: FinishReason,
    /// Attempts made, this one included.
    pub attempts: u32,
}

impl Finish {
    /// Whether the client gets the last attempt's response as is (status,
    /// headers, body). When `false` ([`FinishReason::Exhausted`]) the
    /// client gets [`status`](Self::status) (502) with the last attempt's
    /// upstream error body, as APISIX does.
    pub fn passes_response_through(&self) -> bool {
        !matches!(self.reason, FinishReason::Exhausted)
    }
}

/// Why a request ends where it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FinishReason {
    /// The status is not one that falls back (success, or a status neither
    /// `fallback_strategy` nor `fallback_http_statuses` names).
    Delivered,
    /// The route (or model route) has one instance: no balancer, no retry.
    SingleInstance,
    /// A byte already reached the client; retrying would corrupt the
    /// response.
    ClientStarted,
    /// The attempt took longer than `retry_on_failure_within_ms`.
    RetryWindowExceeded {
        /// The configured window (ms).
        within_ms: u64,
    },
    /// `max_retries` retries were already made.
    MaxRetries {
        /// The configured maximum.
        max_retries: u32,
    },
    /// Every instance was tried or is unpickable: 502.
    Exhausted,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tried_set_spills_past_128() {
        let mut s = TriedSet::default();
        assert!(s.is_empty());
        for i in [0u32, 63, 64, 127, 128, 1000] {
            assert!(!s.contains(i));
            s.insert(i);
            assert!(s.contains(i));
        }
        assert!(!s.contains(999));
        assert_eq!(s.len(), 6);
        assert!(!s.is_empty());
    }

    #[test]
    fn transport_outcomes_map_to_500_and_504() {
        assert_eq!(Outcome::Transport { timeout: true }.status(), 504);
        assert_eq!(Outcome::Transport { timeout: false }.status(), 500);
        assert!(Outcome::Transport { timeout: false }.is_failure());
        assert!(Outcome::Status(503).is_failure());
        assert!(!Outcome::Status(429).is_failure());
    }
}
