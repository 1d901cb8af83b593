//! The invariant-checking driver shared by the cargo-fuzz target
//! (`fuzz/fuzz_targets/multi_outcomes.rs`) and the proptests: arbitrary
//! bytes become a balancer config and a sequence of requests with random
//! outcomes, clock steps, rate limits and probe verdicts.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use crate::{
    Balancer, Decision, FinishReason, InstanceId, InstanceSpec, KeyLookup, ModelRouter,
    MultiOptions, Outcome, PassiveHealth, Policy,
};
use ai_proxy_core::config::HashOn;

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn next(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

struct Keys {
    addr: String,
    model: Option<&'static str>,
    limited: u8,
    names: Vec<String>,
}

impl KeyLookup for Keys {
    fn var(&self, name: &str) -> Option<Cow<'_, str>> {
        (name == "remote_addr").then_some(Cow::Borrowed(self.addr.as_str()))
    }
    fn model(&self) -> Option<Cow<'_, str>> {
        self.model.map(Cow::Borrowed)
    }
    fn is_rate_limited(&self, instance: &str) -> bool {
        self.names
            .iter()
            .position(|n| n == instance)
            .is_some_and(|i| i < 8 && self.limited & (1 << i) != 0)
    }
}

const STATUSES: [u16; 8] = [200, 201, 400, 401, 429, 500, 502, 503];

/// Runs the byte-driven scenario; `Err` names the first broken invariant.
pub fn drive(data: &[u8]) -> Result<(), String> {
    let mut b = Bytes(data);
    let n = 1 + usize::from(b.next() % 8);
    let specs: Vec<InstanceSpec> = (0..n)
        .map(|i| {
            InstanceSpec::new(
                format!("i{i}"),
                i64::from(b.next() % 3),
                u32::from(b.next() % 5),
            )
        })
        .collect();
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let flags = b.next();
    let mut policy = Policy::default()
        .with_fallback(flags & 1 != 0, flags & 2 != 0, flags & 4 != 0)
        .with_max_retries((flags & 8 != 0).then(|| u32::from(b.next() % 4)))
        .with_retry_within_ms((flags & 16 != 0).then(|| 1 + u64::from(b.next())))
        .with_fallback_statuses((flags & 32 != 0).then_some(401));
    if flags & 64 != 0 {
        policy = policy.with_chash(HashOn::Vars, Some("remote_addr"));
    }
    let mut options = MultiOptions::default();
    if flags & 128 != 0 {
        options = options.with_passive_health(None);
    } else {
        options = options.with_passive_health(Some(
            PassiveHealth::default()
                .with_ejection(Duration::from_millis(50), Duration::from_millis(400)),
        ));
    }
    let routed = b.next() % 4 == 0;
    if routed {
        options = options.with_model_router(
            ModelRouter::new().route(["m-*"], names.iter().take(1 + n / 2).cloned()),
        );
    }
    let balancer = Balancer::from_instances(specs, policy.clone(), options)
        .map_err(|e| format!("build: {e}"))?;

    let start = Instant::now();
    let mut now = start;
    let mut requests = 0;
    while !b.done() && requests < 64 {
        requests += 1;
        let op = b.next();
        now += Duration::from_millis(u64::from(op % 64));
        if op & 0xC0 == 0xC0 {
            let id = InstanceId(u32::from(b.next()) % u32::try_from(n).unwrap_or(1));
            let _ = balancer.report_probe(id, b.next() % 2 == 0, now);
            continue;
        }
        let keys = Keys {
            addr: format!("10.0.0.{}", b.next()),
            model: routed.then_some(if op & 1 == 0 { "m-x" } else { "other" }),
            limited: b.next(),
            names: names.clone(),
        };
        let mut attempt = match balancer.pick(&keys, now) {
            Ok(a) => a,
            Err(e) if e.is_request_error() => continue,
            Err(e) => return Err(format!("pick: unexpected {e}")),
        };
        let mut seen: Vec<InstanceId> = Vec::new();
        loop {
            let id = attempt.instance();
            let (_, weight) = balancer
                .priority_and_weight(id)
                .ok_or("pick out of range")?;
            let pool_size = if routed && keys.model == Some("m-x") {
                1 + n / 2
            } else {
                n
            };
            if pool_size > 1 {
                if weight == 0 {
                    return Err(format!("picked weight-0 instance {id:?}"));
                }
                if policy.fallback_strategy.rate_limiting
                    && names
                        .get(id.index())
                        .is_some_and(|name| keys.is_rate_limited(name))
                {
                    return Err(format!("picked rate-limited instance {id:?}"));
                }
            }
            if seen.contains(&id) {
                return Err(format!("revisited {id:?}"));
            }
            seen.push(id);
            if let Some(max) = policy.max_retries
                && attempt.retries() > max
            {
                return Err(format!("{} retries > max_retries {max}", attempt.retries()));
            }
            if seen.len() > n {
                return Err("more attempts than instances".into());
            }
            let o = b.next();
            let outcome = match o % 10 {
                8 => Outcome::Transport { timeout: false },
                9 => Outcome::Transport { timeout: true },
                k => Outcome::Status(STATUSES.get(usize::from(k)).copied().unwrap_or(200)),
            };
            let sent = o & 0x80 != 0;
            let elapsed = Duration::from_millis(u64::from(b.next()) * 2);
            now += elapsed;
            match balancer.on_outcome(attempt, outcome, elapsed, sent, &keys, now) {
                Decision::Retry(next) => {
                    if sent {
                        return Err("retried after bytes reached the client".into());
                    }
                    attempt = next;
                }
                Decision::Return(finish) => {
                    if finish.reason == FinishReason::Exhausted && finish.status != 502 {
                        return Err("exhausted without 502".into());
                    }
                    if finish.reason != FinishReason::Exhausted && finish.status != outcome.status()
                    {
                        return Err("final status is not the attempt's".into());
                    }
                    break;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn random_outcome_sequences_keep_every_invariant(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            prop_assert_eq!(super::drive(&data), Ok(()));
        }
    }
}
