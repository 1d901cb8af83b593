//! Instance health: passive ejection after consecutive failures, and the
//! verdicts of active probes the caller runs.
//!
//! Picks read one relaxed atomic per instance while it is healthy; the
//! mutex is taken only for instances that are flagged or on failure
//! transitions.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::Error;

/// Passive health (an SDK option; APISIX's `ai-proxy-multi` has only active
/// checks): after `consecutive_failures` failed attempts in a row
/// (transport errors and 5xx) an instance is ejected for a back-off window
/// that starts at `base_ejection_ms` and doubles with every ejection in a
/// row, up to `max_ejection_ms`. When the window is over the instance is
/// picked again; one more failure ejects it again (with the longer window),
/// one success clears its record. 429 neither counts as a failure nor
/// clears one.
///
/// ```
/// let ph: ai_proxy_multi::PassiveHealth =
///     serde_json::from_str(r#"{"consecutive_failures": 5}"#).unwrap();
/// assert_eq!(ph.consecutive_failures, 5);
/// assert_eq!(ph.base_ejection_ms, 10_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct PassiveHealth {
    /// Failures in a row that eject an instance (default 3, ≥ 1).
    pub consecutive_failures: u32,
    /// First ejection window in ms (default 10 000, ≥ 1).
    pub base_ejection_ms: u64,
    /// Longest ejection window in ms (default 300 000, ≥ base).
    pub max_ejection_ms: u64,
}

impl Default for PassiveHealth {
    fn default() -> Self {
        Self {
            consecutive_failures: 3,
            base_ejection_ms: 10_000,
            max_ejection_ms: 300_000,
        }
    }
}

impl PassiveHealth {
    /// These settings with `n` failures in a row ejecting.
    pub fn with_consecutive_failures(mut self, n: u32) -> Self {
        self.consecutive_failures = n;
        self
    }

    /// These settings with the given first and longest windows.
    pub fn with_ejection(mut self, base: Duration, max: Duration) -> Self {
        self.base_ejection_ms = u64::try_from(base.as_millis()).unwrap_or(u64::MAX);
        self.max_ejection_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.consecutive_failures == 0 {
            return Err(Error::InvalidPassiveHealth {
                field: "consecutive_failures",
                reason: "must be at least 1 (leave passive_health unset to turn it off)",
            });
        }
        if self.base_ejection_ms == 0 {
            return Err(Error::InvalidPassiveHealth {
                field: "base_ejection_ms",
                reason: "must be at least 1",
            });
        }
        if self.max_ejection_ms < self.base_ejection_ms {
            return Err(Error::InvalidPassiveHealth {
                field: "max_ejection_ms",
                reason: "must be at least base_ejection_ms",
            });
        }
        Ok(())
    }

    fn window(&self, ejections: u32) -> Duration {
        let shift = ejections.saturating_sub(1).min(63);
        let ms = self
            .base_ejection_ms
            .saturating_mul(1u64 << shift)
            .min(self.max_ejection_ms);
        Duration::from_millis(ms)
    }
}

/// Thresholds for active probe verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProbeThresholds {
    pub(crate) successes: u32,
    pub(crate) failures: u32,
}

impl Default for ProbeThresholds {
    fn default() -> Self {
        // APISIX's health checker defaults: healthy.successes 2,
        // unhealthy.http_failures 5.
        Self {
            successes: 2,
            failures: 5,
        }
    }
}

/// What a probe report changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthChange {
    /// The instance's active status stayed as it was.
    Unchanged,
    /// Enough successes in a row: the instance is healthy again.
    BecameHealthy,
    /// Enough failures in a row: the instance is taken out of rotation.
    BecameUnhealthy,
}

/// A snapshot of one instance's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthStatus {
    /// Whether picks may choose it (ignoring the all-unhealthy rule).
    pub healthy: bool,
    /// Passive ejection end, while ejected.
    pub ejected_until: Option<Instant>,
    /// Whether the last active verdict was unhealthy.
    pub active_unhealthy: bool,
    /// Passive failures in a row.
    pub consecutive_failures: u32,
    /// When the caller last reported a probe.
    pub last_probe: Option<Instant>,
}

#[derive(Debug, Default)]
struct State {
    ejected_until: Option<Instant>,
    ejections: u32,
    active_down: bool,
    probe_ok: u32,
    probe_failed: u32,
    last_probe: Option<Instant>,
}

/// Health of one instance.
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// Set while passively ejected or actively down (the pick hint).
    flagged: AtomicBool,
    failures: AtomicU32,
    state: Mutex<State>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Health {
    fn set_flag(&self, state: &State, flagged_count: &AtomicU32) {
        let flag = state.active_down || state.ejected_until.is_some();
        if self.flagged.swap(flag, Ordering::AcqRel) != flag {
            if flag {
                flagged_count.fetch_add(1, Ordering::AcqRel);
            } else {
                flagged_count.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// Whether picks may choose this instance at `now`; an ejection whose
    /// window is over ends here (half-open: one failure re-ejects).
    pub(crate) fn is_healthy(
        &self,
        now: Instant,
        passive: Option<&PassiveHealth>,
        flagged_count: &AtomicU32,
    ) -> bool {
        if !self.flagged.load(Ordering::Acquire) {
            return true;
        }
        let mut state = lock(&self.state);
        if let Some(until) = state.ejected_until {
            if now < until {
                return false;
            }
            state.ejected_until = None;
            let rearm = passive.map_or(0, |p| p.consecutive_failures.saturating_sub(1));
            self.failures.store(rearm, Ordering::Release);
            self.set_flag(&state, flagged_count);
        }
        !state.active_down
    }

    pub(crate) fn on_failure(
        &self,
        now: Instant,
        passive: &PassiveHealth,
        flagged_count: &AtomicU32,
    ) {
        let n = self
            .failures
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        if n < passive.consecutive_failures {
            return;
        }
        let mut state = lock(&self.state);
        if state.ejected_until.is_some_and(|until| now < until) {
            return;
        }
        state.ejections = state.ejections.saturating_add(1);
        let window = passive.window(state.ejections);
        state.ejected_until = Some(now.checked_add(window).unwrap_or(now));
        tracing::warn!(
            failures = n,
            window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX),
            "ai instance ejected after consecutive failures"
        );
        self.set_flag(&state, flagged_count);
    }

    pub(crate) fn on_success(&self, flagged_count: &AtomicU32) {
        // Read first: successes are the common case and must not write a
        // cache line other threads read.
        if self.failures.load(Ordering::Acquire) == 0 && !self.flagged.load(Ordering::Acquire) {
            return;
        }
        self.failures.store(0, Ordering::Release);
        let mut state = lock(&self.state);
        if state.ejected_until.is_none() {
            state.ejections = 0;
            return;
        }
        state.ejected_until = None;
        state.ejections = 0;
        self.set_flag(&state, flagged_count);
    }

    pub(crate) fn on_probe(
        &self,
        healthy: bool,
        now: Instant,
        thresholds: ProbeThresholds,
        flagged_count: &AtomicU32,
    ) -> HealthChange {
        let mut state = lock(&self.state);
        state.last_probe = Some(now);
        let change = if healthy {
            state.probe_failed = 0;
            state.probe_ok = state.probe_ok.saturating_add(1);
            if state.active_down && state.probe_ok >= thresholds.successes {
                state.active_down = false;
                HealthChange::BecameHealthy
            } else {
                HealthChange::Unchanged
            }
        } else {
            state.probe_ok = 0;
            state.probe_failed = state.probe_failed.saturating_add(1);
            if !state.active_down && state.probe_failed >= thresholds.failures {
                state.active_down = true;
                HealthChange::BecameUnhealthy
            } else {
                HealthChange::Unchanged
            }
        };
        self.set_flag(&state, flagged_count);
        change
    }

    pub(crate) fn status(&self, now: Instant) -> HealthStatus {
        let state = lock(&self.state);
        let ejected_until = state.ejected_until.filter(|until| now < *until);
        HealthStatus {
            healthy: !state.active_down && ejected_until.is_none(),
            ejected_until,
            active_unhealthy: state.active_down,
            consecutive_failures: self.failures.load(Ordering::Acquire),
            last_probe: state.last_probe,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_double_up_to_the_maximum() {
        let p = PassiveHealth::default();
        assert_eq!(p.window(1), Duration::from_secs(10));
        assert_eq!(p.window(2), Duration::from_secs(20));
        assert_eq!(p.window(6), Duration::from_secs(300));
        assert_eq!(p.window(200), Duration::from_secs(300));
    }

    #[test]
    fn ejection_after_threshold_and_recovery_after_window() {
        let p = PassiveHealth::default();
        let count = AtomicU32::new(0);
        let h = Health::default();
        let t0 = Instant::now();
        h.on_failure(t0, &p, &count);
        h.on_failure(t0, &p, &count);
        assert!(h.is_healthy(t0, Some(&p), &count));
        h.on_failure(t0, &p, &count);
        assert!(!h.is_healthy(t0, Some(&p), &count));
        assert_eq!(count.load(Ordering::Relaxed), 1);
        let later = t0 + Duration::from_secs(10);
        assert!(h.is_healthy(later, Some(&p), &count));
        assert_eq!(count.load(Ordering::Relaxed), 0);
        // Half-open: one failure re-ejects, for twice as long.
        h.on_failure(later, &p, &count);
        assert!(!h.is_healthy(later + Duration::from_secs(19), Some(&p), &count));
        assert!(h.is_healthy(later + Duration::from_secs(20), Some(&p), &count));
    }

    #[test]
    fn success_clears_the_record() {
        let p = PassiveHealth::default();
        let count = AtomicU32::new(0);
        let h = Health::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            h.on_failure(t0, &p, &count);
        }
        h.on_success(&count);
        assert!(h.is_healthy(t0, Some(&p), &count));
        assert_eq!(count.load(Ordering::Relaxed), 0);
        h.on_failure(t0, &p, &count);
        assert!(h.is_healthy(t0, Some(&p), &count));
    }

    #[test]
    fn probes_flip_status_at_the_thresholds() {
        let count = AtomicU32::new(0);
        let h = Health::default();
        let t = ProbeThresholds {
            successes: 2,
            failures: 3,
        };
        let now = Instant::now();
        assert_eq!(h.on_probe(false, now, t, &count), HealthChange::Unchanged);
        assert_eq!(h.on_probe(false, now, t, &count), HealthChange::Unchanged);
        assert_eq!(
            h.on_probe(false, now, t, &count),
            HealthChange::BecameUnhealthy
        );
        assert!(!h.is_healthy(now, None, &count));
        assert_eq!(h.on_probe(true, now, t, &count), HealthChange::Unchanged);
        assert_eq!(
            h.on_probe(true, now, t, &count),
            HealthChange::BecameHealthy
        );
        assert!(h.is_healthy(now, None, &count));
        assert_eq!(count.load(Ordering::Relaxed), 0);
        assert_eq!(h.status(now).last_probe, Some(now));
    }

    #[test]
    fn invalid_settings_are_rejected() {
        assert!(
            PassiveHealth::default()
                .with_consecutive_failures(0)
                .validate()
                .is_err()
        );
        let p =
            PassiveHealth::default().with_ejection(Duration::from_secs(5), Duration::from_secs(1));
        assert!(p.validate().is_err());
    }
}
