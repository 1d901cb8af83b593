//! One request's budgets ([`RequestQuotas`]) and what the limiter answers
//! about them ([`Verdict`], [`Rejection`], [`LimitError`]).

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::quota::Quota;
use super::store::{Counter, Store, StoreError};

/// Why a request's budgets could not be judged. Without
/// `allow_degradation` the request is answered 500, as APISIX does.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// Under `rules`, no rule's key has a variable with a value in this
    /// request (APISIX: "failed to get rate limit rules").
    #[error(
        "failed to get rate limit rules: no rule's key has a value in this request; add a rule \
         keyed on a variable every request has (e.g. $remote_addr)"
    )]
    NoRuleApplies,
    /// A `limit`, `count` or `time_window` template resolved to something
    /// that is not an integer in 1..=2^53 - 1.
    #[error("{field}: the resolved value is not an integer in 1..=9007199254740991")]
    InvalidValue {
        /// `limit`, `count` or `time_window`.
        field: &'static str,
    },
    /// The counter store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The answer instead of the upstream's.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// `rejected_code` (default 503), or 500 when counters failed.
    pub status: StatusCode,
    /// `{"error_msg": "<rejected_msg>"}` (a default message when unset).
    pub body: Bytes,
}

impl Rejection {
    /// The body's media type.
    pub const CONTENT_TYPE: &'static str = "application/json";
}

/// What [`TokenLimiter::admit`](super::TokenLimiter::admit) decided.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verdict {
    /// Quota headers for the client response (also on a rejection).
    pub headers: HeaderMap,
    /// Set when the request must not go upstream.
    pub rejection: Option<Rejection>,
    /// A failure the verdict is based on: served anyway under
    /// `allow_degradation`, else the cause of a 500.
    pub error: Option<LimitError>,
}

impl Verdict {
    /// Whether the request may go upstream.
    pub fn is_admitted(&self) -> bool {
        self.rejection.is_none()
    }
}

#[derive(Clone, Debug)]
pub(super) struct Slot {
    quota: Result<Quota, LimitError>,
    counter: Option<Result<Counter, StoreError>>,
}

impl Slot {
    pub(super) fn new(quota: Result<Quota, LimitError>) -> Self {
        Self {
            quota,
            counter: None,
        }
    }

    pub(super) fn quota(&self) -> Option<&Quota> {
        self.quota.as_ref().ok()
    }

    /// The quota and its counter; `Ok(None)` when not read yet.
    pub(super) fn state(&self) -> Result<Option<(&Quota, Counter)>, LimitError> {
        let quota = self.quota.as_ref().map_err(Clone::clone)?;
        match &self.counter {
            None => Ok(None),
            Some(Ok(counter)) => Ok(Some((quota, *counter))),
            Some(Err(e)) => Err(LimitError::Store(e.clone())),
        }
    }
}

/// A request's slots. Most requests draw on one budget (a route's
/// instance): it is held inline, without an allocation per request.
#[derive(Clone, Debug, Default)]
pub(super) struct Slots {
    first: Option<Slot>,
    rest: Vec<Slot>,
}

impl Slots {
    pub(super) fn push(&mut self, slot: Slot) {
        if self.first.is_none() {
            self.first = Some(slot);
        } else {
            self.rest.push(slot);
        }
    }

    pub(super) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    pub(super) fn get(&self, index: usize) -> Option<&Slot> {
        match index.checked_sub(1) {
            None => self.first.as_ref(),
            Some(i) => self.rest.get(i),
        }
    }

    pub(super) fn get_mut(&mut self, index: usize) -> Option<&mut Slot> {
        match index.checked_sub(1) {
            None => self.first.as_mut(),
            Some(i) => self.rest.get_mut(i),
        }
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Slot> {
        self.first.iter_mut().chain(self.rest.iter_mut())
    }
}

impl FromIterator<Slot> for Slots {
    fn from_iter<I: IntoIterator<Item = Slot>>(iter: I) -> Self {
        let mut slots = Self::default();
        for slot in iter {
            slots.push(slot);
        }
        slots
    }
}

/// The budgets one request draws on, and their counters once read.
///
/// From [`TokenLimiter::quotas`](super::TokenLimiter::quotas). Read every
/// counter before asking the limiter anything: [`read`](Self::read) with a
/// synchronous [`Store`], or, with a store that does I/O, each
/// [`quota`](Self::quota)'s key and window → the store's read →
/// [`record`](Self::record). Owned data, so it can travel from the request
/// to the log phase.
#[derive(Clone, Debug, Default)]
pub struct RequestQuotas {
    pub(super) slots: Slots,
    /// Under `rules`: the rule (position in `rules`) of each slot.
    pub(super) rules: Vec<usize>,
    /// A failure of the whole request (under `rules`).
    pub(super) error: Option<LimitError>,
}

impl RequestQuotas {
    /// How many budgets (read them by index, `0..len()`).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there is no budget to read.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Budget `index`; `None` when its values did not resolve (nothing to
    /// read: the limiter answers the failure).
    pub fn quota(&self, index: usize) -> Option<&Quota> {
        self.slots.get(index)?.quota()
    }

    /// Records what the store read for budget `index`.
    pub fn record(&mut self, index: usize, counter: Result<Counter, StoreError>) {
        if let Some(slot) = self.slots.get_mut(index) {
            slot.counter = Some(counter);
        }
    }

    /// Reads every budget from a synchronous store (a read never changes
    /// a counter).
    pub fn read(&mut self, store: &dyn Store, now: Instant) {
        for slot in self.slots.iter_mut() {
            if let Ok(quota) = &slot.quota {
                slot.counter = Some(store.peek(quota.key(), quota.window(), now));
            }
        }
    }
}

impl Rejection {
    pub(super) fn new(code: u16, message: Option<&str>) -> Self {
        let message = message.unwrap_or(
            "rate limit exceeded: the token budget of this time window is used up; retry when it resets",
        );
        Self {
            status: StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            body: Bytes::from(serde_json::json!({ "error_msg": message }).to_string()),
        }
    }

    pub(super) fn failure() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: Bytes::from_static(br#"{"error_msg":"failed to limit count"}"#),
        }
    }
}
