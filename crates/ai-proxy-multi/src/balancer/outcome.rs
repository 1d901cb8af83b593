//! After an attempt: passive health, and `Return` or `Retry` per
//! `fallback_strategy`, `fallback_http_statuses`, `max_retries` and
//! `retry_on_failure_within_ms`.

use std::time::{Duration, Instant};

use http::StatusCode;

use super::Balancer;
use super::pool::index;
use crate::keys::KeyLookup;
use crate::plan::{Attempt, Decision, Finish, FinishReason, InstanceId, Outcome, Report};

impl Balancer {
    /// Reports how `attempt` ended and decides what comes next.
    ///
    /// The attempt ran from its [`started`](Attempt::started) instant to
    /// `now`; that duration is checked against
    /// `retry_on_failure_within_ms`. A [`Report::delivered`] attempt is
    /// never retried: the answer is always [`Decision::Return`]. `keys` are
    /// the request's, as given to [`pick`](Self::pick), for the retry's
    /// pick. The outcome also feeds passive health. A retry never goes to
    /// an instance this request already tried; when none is left the answer
    /// is [`FinishReason::Exhausted`] with status 502.
    pub fn on_outcome(
        &self,
        attempt: Attempt,
        report: Report,
        keys: &dyn KeyLookup,
        now: Instant,
    ) -> Decision {
        let Report { outcome, delivered } = report;
        let elapsed = now.saturating_duration_since(attempt.started);
        let Attempt {
            instance,
            number,
            mut plan,
            started: _,
        } = attempt;
        let code = outcome.status();
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
        let finish = |reason, status| {
            Decision::Return(Finish {
                instance,
                status,
                reason,
                attempts: number,
            })
        };
        if self.instances.len() > 1 {
            self.record_health(instance, outcome, now);
        }
        let single = self
            .pools
            .get(index(plan.pool))
            .is_none_or(|p| p.members.len() <= 1);
        if single {
            return finish(FinishReason::SingleInstance, status);
        }
        plan.tried.insert(instance.0);
        if !self.falls_back(code) {
            return finish(FinishReason::Delivered, status);
        }
        if delivered {
            return finish(FinishReason::ClientStarted, status);
        }
        if let Some(within_ms) = self.retry_within_ms
            && elapsed > Duration::from_millis(within_ms)
        {
            tracing::warn!(
                instance = self.name_of(instance),
                status = code,
                "exceeding retry_on_failure_within_ms {within_ms}"
            );
            return finish(FinishReason::RetryWindowExceeded { within_ms }, status);
        }
        if let Some(max_retries) = self.max_retries
            && plan.retries.saturating_add(1) > max_retries
        {
            tracing::warn!(
                instance = self.name_of(instance),
                status = code,
                "reached max_retries {max_retries}"
            );
            return finish(FinishReason::MaxRetries { max_retries }, status);
        }
        plan.retries = plan.retries.saturating_add(1);
        match self.select(&mut plan, keys, now) {
            Ok(next) => {
                tracing::warn!(
                    "ai instance {} returned status {code}, falling back to {}",
                    self.name_of(instance),
                    self.name_of(InstanceId(next))
                );
                Decision::Retry(Attempt {
                    instance: InstanceId(next),
                    number: number.saturating_add(1),
                    plan,
                    started: now,
                })
            }
            Err(err) => {
                tracing::warn!(
                    instance = self.name_of(instance),
                    status = code,
                    "no ai instance left to fall back to: {err}"
                );
                finish(FinishReason::Exhausted, StatusCode::BAD_GATEWAY)
            }
        }
    }

    /// Whether [`on_outcome`](Self::on_outcome) may retry `attempt` if it
    /// ends with `status` (before any byte reached the client): the status
    /// falls back, the request has more than one instance to go to, and
    /// `max_retries` is not used up. A gateway reads such an error body
    /// whole (to answer with it if no retry happens) instead of streaming
    /// it. `retry_on_failure_within_ms` and whether an untried instance is
    /// left are only known at `on_outcome`.
    pub fn may_fall_back(&self, attempt: &Attempt, status: u16) -> bool {
        let pooled = self
            .pools
            .get(index(attempt.plan.pool))
            .is_some_and(|p| p.members.len() > 1);
        pooled
            && self.falls_back(status)
            && self
                .max_retries
                .is_none_or(|max| attempt.plan.retries < max)
    }

    fn falls_back(&self, code: u16) -> bool {
        (code == 429 && self.fallback.http_429)
            || ((500..=599).contains(&code) && self.fallback.http_5xx)
            || self.fallback_statuses.contains(&code)
    }

    fn record_health(&self, id: InstanceId, outcome: Outcome, now: Instant) {
        let (Some(passive), Some(instance)) = (&self.passive, self.instances.get(id.index()))
        else {
            return;
        };
        if outcome.is_failure() {
            instance.health.on_failure(now, passive, &self.flagged);
        } else if outcome.status() != 429 {
            instance.health.on_success(&self.flagged);
        }
    }
}
