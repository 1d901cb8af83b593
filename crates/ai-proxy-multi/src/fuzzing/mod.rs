//! The invariant-checking driver shared by the cargo-fuzz target
//! (`fuzz/fuzz_targets/multi_outcomes.rs`) and the proptests: arbitrary
//! bytes become a balancer config and a sequence of requests with random
//! outcomes, clock steps, rate limits and probe verdicts.

use std::borrow::Cow;
use std::time::{Duration, Instant};

pub mod limit;

use crate::{
    Balancer, Decision, FinishReason, InstanceId, InstanceSpec, KeyLookup, ModelRouter,
    MultiOptions, Outcome, PassiveHealth, Policy, Report,
};
use ai_proxy_core::Registry;
use ai_proxy_core::config::{AiProxyMultiConfig, HashOn};

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
            Err(crate::Error::RateLimited) if !policy.fallback_strategy.rate_limiting => {
                return Err("rate limited without the rate_limiting strategy".into());
            }
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
                #[allow(clippy::indexing_slicing)] // ok: k < 8 == STATUSES.len()
                k => Outcome::Status(STATUSES[usize::from(k)]),
            };
            let sent = o & 0x80 != 0;
            let elapsed = Duration::from_millis(u64::from(b.next()) * 2);
            now += elapsed;
            let report = Report {
                outcome,
                delivered: sent,
            };
            match balancer.on_outcome(attempt, report, &keys, now) {
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

/// Arbitrary bytes as (a) an `ai-proxy-multi` config compiled into a
/// balancer (`checks.active` parsing, probe rendering), (b) a
/// `vars_combinations` template and (c) a model router glob. Nothing may
/// panic; `Err` names a broken invariant. `registry` gives the providers'
/// health-check hosts.
pub fn drive_config(data: &[u8], registry: &Registry) -> Result<(), String> {
    let text = String::from_utf8_lossy(data);
    let now = Instant::now();
    if let Ok(config) = AiProxyMultiConfig::from_json(&text)
        && let Ok(balancer) = Balancer::new(&config, registry, MultiOptions::default())
    {
        for (id, probe) in balancer.probes() {
            let url = probe.url();
            if !probe.url_with_secrets().expose().starts_with(&url) {
                return Err("probe URL with secrets does not extend the logged URL".into());
            }
            let _ = probe.header_map();
            let _ = format!("{probe:?}");
            let _ = balancer.report_probe(id, data.len().is_multiple_of(2), now);
        }
        let keys = crate::RequestKeys::new().with_remote_addr("192.0.2.1");
        if let Ok(a) = balancer.pick(&keys, now) {
            let report = Report {
                outcome: Outcome::Status(500),
                delivered: false,
            };
            let _ = balancer.on_outcome(a, report, &keys, now);
        }
    }
    let specs = [InstanceSpec::new("a", 0, 1), InstanceSpec::new("b", 0, 2)];
    let policy = Policy::default().with_chash(HashOn::VarsCombinations, Some(&text));
    let router = ModelRouter::new().route([text.to_string()], ["b"]);
    let balancer = Balancer::from_instances(
        specs,
        policy,
        MultiOptions::default().with_model_router(router),
    )
    .map_err(|e| format!("build: {e}"))?;
    struct Echo<'a>(&'a str);
    impl KeyLookup for Echo<'_> {
        fn var(&self, name: &str) -> Option<Cow<'_, str>> {
            name.len()
                .is_multiple_of(2)
                .then(|| Cow::Owned(name.to_owned()))
        }
        fn model(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
    }
    let picked = balancer
        .pick(&Echo(&text), now)
        .map_err(|e| format!("pick: {e}"))?;
    // A pattern always matches itself when it has no `*`, or is all `*`.
    if (!text.contains('*') || text.chars().all(|c| c == '*'))
        && balancer.picked_ai_instance_name(&picked) != "b"
    {
        return Err(format!("model {text:?} did not match its own route"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    fn registry() -> ai_proxy_core::Registry {
        ai_proxy_openai::adapters().into_iter().fold(
            ai_proxy_core::Registry::new(),
            ai_proxy_core::Registry::with_adapter,
        )
    }

    proptest! {
        #[test]
        fn random_outcome_sequences_keep_every_invariant(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            prop_assert_eq!(super::drive(&data), Ok(()));
        }

        #[test]
        fn random_configs_templates_and_globs_never_panic(text in "[ -~]{0,64}") {
            prop_assert_eq!(super::drive_config(text.as_bytes(), &registry()), Ok(()));
        }

        #[test]
        fn random_checks_active_never_panic(
            kind in proptest::option::of("(http|https|tcp|udp)"),
            port in proptest::option::of(-1i64..70_000),
            path in proptest::option::of("[ -~]{0,12}"),
            timeout in proptest::option::of(-1.0f64..5.0),
            headers in proptest::collection::vec("[ -~]{0,16}", 0..3),
            successes in proptest::option::of(0i64..300),
        ) {
            let mut active = serde_json::Map::new();
            if let Some(k) = kind { active.insert("type".into(), k.into()); }
            if let Some(p) = port { active.insert("port".into(), p.into()); }
            if let Some(p) = path { active.insert("http_path".into(), p.into()); }
            if let Some(t) = timeout { active.insert("timeout".into(), t.into()); }
            if !headers.is_empty() { active.insert("req_headers".into(), headers.into()); }
            if let Some(s) = successes { active.insert("healthy".into(), serde_json::json!({"successes": s})); }
            let config = serde_json::json!({"instances": [
                {"name": "x", "provider": "openai", "weight": 1, "auth": {"query": {"k": "v"}}, "checks": {"active": active}},
                {"name": "y", "provider": "deepseek", "weight": 1, "auth": {}}
            ]});
            prop_assert_eq!(super::drive_config(config.to_string().as_bytes(), &registry()), Ok(()));
        }
    }
}
