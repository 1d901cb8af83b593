//! Picking: the model route's pool, priority groups high to low, smooth
//! weighted round robin or the chash ring inside a group, skipping
//! unhealthy and rate-limited instances.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::Balancer;
use super::hash_key::HashKey;
use super::pool::{Group, index};
use crate::Error;
use crate::chash::crc32;
use crate::keys::KeyLookup;
use crate::plan::{Attempt, InstanceId, RequestPlan};
use crate::router::{self, Unmatched};

impl Balancer {
    /// Picks the instance for a request's first attempt.
    ///
    /// `keys` answers the chash key, the client's model (model router) and
    /// the rate-limit hook; `now` ends passive ejections whose window is
    /// over and is when the attempt starts. Errors: [`Error::AllServersTried`] /
    /// [`Error::AllUpstreamServersTried`] (503) when nothing is pickable,
    /// [`Error::RateLimited`] when that is because instances are out of
    /// quota (answer the limiter's `rejected_code`),
    /// [`Error::NoRouteForModel`] (404) when the router rejects the model.
    pub fn pick(&self, keys: &dyn KeyLookup, now: Instant) -> Result<Attempt, Error> {
        let mut plan = RequestPlan {
            pool: self.pool_for(keys)?,
            ..RequestPlan::default()
        };
        let instance = self.select(&mut plan, keys, now)?;
        Ok(Attempt {
            instance: InstanceId(instance),
            number: 1,
            plan,
            started: now,
        })
    }

    fn skips_rate_limited(&self) -> bool {
        self.fallback.rate_limiting
    }

    /// Whether pool member `i` is healthy.
    #[allow(clippy::indexing_slicing)] // ok: pool members index `instances` (`build_pool`)
    fn is_healthy(&self, i: u32, now: Instant) -> bool {
        self.instances[index(i)]
            .health
            .is_healthy(now, self.passive.as_ref(), &self.flagged)
    }

    /// Pool member `i`'s weight.
    #[allow(clippy::indexing_slicing)] // ok: pool members index `instances` (`build_pool`)
    fn weight(&self, i: u32) -> u32 {
        self.instances[index(i)].weight
    }

    fn pool_for(&self, keys: &dyn KeyLookup) -> Result<u32, Error> {
        let Some(router) = &self.router else {
            return Ok(0);
        };
        let model = keys.model();
        let route = model.as_deref().and_then(|m| router::route_for(router, m));
        match (route, router.unmatched) {
            (Some(r), _) => Ok(u32::try_from(r + 1).unwrap_or(0)),
            (None, Unmatched::Reject) => Err(Error::NoRouteForModel {
                model: truncate(model.as_deref().unwrap_or(""), 128),
            }),
            (None, _) => Ok(0),
        }
    }

    pub(super) fn select(
        &self,
        plan: &mut RequestPlan,
        keys: &dyn KeyLookup,
        now: Instant,
    ) -> Result<u32, Error> {
        let Some(pool) = self.pools.get(index(plan.pool)) else {
            return Err(Error::AllUpstreamServersTried);
        };
        if let [only] = *pool.members {
            // APISIX: one instance is used directly (no health, no limits).
            return Ok(only);
        }
        // Skip unhealthy instances unless none with weight is healthy.
        let filter = self.flagged.load(Ordering::Relaxed) > 0
            && pool
                .members
                .iter()
                .any(|&i| self.weight(i) > 0 && self.is_healthy(i, now));
        let mut rate_limited = false;
        for (g, group) in pool.groups.iter().enumerate() {
            loop {
                let candidate = if self.chash.is_some() {
                    self.ring_pick(g, group, plan, keys, filter, now)
                } else {
                    self.wrr_pick(group, plan, filter, now)
                };
                let Some(i) = candidate else {
                    break;
                };
                if self.skips_rate_limited() && keys.is_rate_limited(self.name_of(InstanceId(i))) {
                    // APISIX marks a rate-limited instance tried and picks again.
                    plan.tried.insert(i);
                    rate_limited = true;
                    continue;
                }
                return Ok(i);
            }
        }
        Err(if rate_limited {
            Error::RateLimited
        } else if pool.groups.len() > 1 {
            Error::AllServersTried
        } else {
            Error::AllUpstreamServersTried
        })
    }

    fn wrr_pick(
        &self,
        group: &Group,
        plan: &RequestPlan,
        filter: bool,
        now: Instant,
    ) -> Option<u32> {
        if plan.tried.is_empty() {
            // Lock-free even during an ejection: only a pick that lands on an
            // unhealthy member takes the locked path. Both paths follow the
            // weights, so their mix does too.
            let i = group.members.get(group.wrr.pick_all()?).copied()?;
            if !filter || self.is_healthy(i, now) {
                return Some(i);
            }
        }
        let member = group.wrr.pick_where(|m| {
            group
                .members
                .get(m)
                .is_some_and(|&i| !plan.tried.contains(i) && (!filter || self.is_healthy(i, now)))
        });
        group.members.get(member?).copied()
    }

    fn ring_pick(
        &self,
        g: usize,
        group: &Group,
        plan: &mut RequestPlan,
        keys: &dyn KeyLookup,
        filter: bool,
        now: Instant,
    ) -> Option<u32> {
        let ring = group.ring.as_ref()?;
        let eligible = |i: u32| !plan.tried.contains(i) && (!filter || self.is_healthy(i, now));
        // Walk the ring only if the walk can end somewhere.
        let any = group
            .members
            .iter()
            .enumerate()
            .any(|(m, &i)| group.wrr.weight(m) > 0 && eligible(i));
        if !any {
            return None;
        }
        let g32 = u32::try_from(g).ok()?;
        let start = match plan.ring_at {
            Some((rg, p)) if rg == g32 => index(p).saturating_add(1),
            _ => {
                let hash = match plan.key_hash {
                    Some(h) => h,
                    None => {
                        let h = self.key_hash(keys);
                        plan.key_hash = Some(h);
                        h
                    }
                };
                ring.find(hash)?
            }
        };
        let len = ring.len();
        for step in 0..len {
            let p = (start + step) % len;
            let i = group.members.get(ring.member(p)?).copied()?;
            if eligible(i) {
                plan.ring_at = Some((g32, u32::try_from(p).ok()?));
                return Some(i);
            }
        }
        None
    }

    fn key_hash(&self, keys: &dyn KeyLookup) -> u32 {
        // Hash borrowed values in place: no allocation on the pick path.
        let hashed = match &self.chash {
            Some(HashKey::Var(name)) => keys.var(name).map(|v| crc32(v.as_bytes())),
            Some(HashKey::Header(name)) => keys.header(name).map(|v| crc32(v.as_bytes())),
            Some(HashKey::Cookie(name)) => keys.cookie(name).map(|v| crc32(v.as_bytes())),
            Some(HashKey::Consumer) => keys.consumer().map(|v| crc32(v.as_bytes())),
            Some(HashKey::Template(t)) => {
                // Nothing resolved: APISIX hashes `remote_addr` instead.
                let key = t.resolve(|name| keys.var(name));
                (key.resolved > 0).then(|| crc32(key.text.as_bytes()))
            }
            None => None,
        };
        hashed.unwrap_or_else(|| crc32(keys.remote_addr().as_deref().unwrap_or("").as_bytes()))
    }
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    #[allow(clippy::indexing_slicing)] // ok: `end <= s.len()`, on a char boundary
    s[..end].to_owned()
}
