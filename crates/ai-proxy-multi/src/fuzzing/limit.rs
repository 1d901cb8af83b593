//! Drivers for the token limiter's parsers, shared by the cargo-fuzz
//! targets (`fuzz/fuzz_targets/cost_expr.rs`, `rate_limiting_config.rs`)
//! and the proptests.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use ai_proxy_core::Protocol;
use ai_proxy_core::config::{AiRateLimitingConfig, Consumer, CostExpr, KeyAuthConfig, Quotas};
use ai_proxy_core::usage::Usage;
use serde_json::{Map, Value};

use crate::KeyLookup;
use crate::limit::{MemoryStore, RawUsage, TokenLimiter};

/// Arbitrary bytes as a `cost_expr` (up to the first NUL) and the usage
/// values it is evaluated with (8 bytes each after it). `Err` names a
/// broken invariant.
pub fn drive_cost_expr(data: &[u8]) -> Result<(), String> {
    let (text, values) = match data.iter().position(|&b| b == 0) {
        Some(i) => (
            data.get(..i).unwrap_or_default(),
            data.get(i + 1..).unwrap_or_default(),
        ),
        None => (data, &[][..]),
    };
    let text = String::from_utf8_lossy(text);
    let expr = match CostExpr::parse(&text) {
        Ok(e) => e,
        Err(e) => {
            if e.reason.is_empty() {
                return Err("an error without a reason".into());
            }
            if e.at > text.len().max(ai_proxy_core::config::cost_expr::MAX_LEN) {
                return Err(format!("error offset {} past the text", e.at));
            }
            return Ok(());
        }
    };
    if expr.as_str() != text {
        return Err("as_str is not the source".into());
    }
    let names: Vec<&str> = expr.variables().collect();
    for (i, n) in names.iter().enumerate() {
        if names.iter().skip(i + 1).any(|m| m == n) {
            return Err(format!("variable {n} listed twice"));
        }
    }
    let numbers: Vec<f64> = values
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            f64::from_le_bytes(b)
        })
        .collect();
    let usage = |name: &str| {
        let i = names.iter().position(|n| *n == name)?;
        numbers.get(i).copied()
    };
    let value = expr.eval(usage);
    match expr.cost(usage) {
        Ok(cost) => {
            if !value.is_finite() {
                return Err("a cost from a non-finite value".into());
            }
            #[allow(clippy::cast_precision_loss)]
            let expected = (value.max(0.0) + 0.5).floor();
            if expected < u64::MAX as f64 && cost as f64 != expected {
                return Err(format!("cost {cost} for value {value}"));
            }
        }
        Err(_) if value.is_finite() => return Err(format!("finite {value} refused")),
        Err(_) => {}
    }
    if CostExpr::parse(&text).map(|e| e.eval(usage).to_bits()) != Ok(value.to_bits()) {
        return Err("evaluation is not deterministic".into());
    }
    Ok(())
}

const KEYS: &[&str] = &[
    "limit",
    "time_window",
    "instances",
    "rules",
    "count",
    "key",
    "header_prefix",
    "name",
    "limit_strategy",
    "cost_expr",
    "rejected_code",
    "rejected_msg",
    "show_limit_quota_header",
    "allow_degradation",
    "policy",
    "redis_host",
    "redis_port",
    "redis_password",
    "redis_cluster_nodes",
    "redis_cluster_name",
    "redis_sentinels",
    "redis_master_name",
    "host",
    "port",
    "username",
    "plugins",
    "key-auth",
    "header",
    "query",
    "realm",
    "hide_credentials",
];

fn pick<'a>(b: &mut super::Bytes<'_>, from: &[&'a str]) -> &'a str {
    from.get(usize::from(b.next()) % from.len().max(1))
        .copied()
        .unwrap_or_default()
}

fn value(b: &mut super::Bytes<'_>, depth: u8) -> Value {
    match b.next() % 12 {
        0 => Value::from(u64::from(b.next())),
        1 => Value::from(i64::from(b.next() as i8)),
        2 => Value::from(f64::from(b.next()) / 4.0),
        3 => Value::from(b.next().is_multiple_of(2)),
        4 => Value::from("${http_x ?? 10}"),
        5 => Value::from(pick(
            b,
            &["$consumer_name", "${http_user}", "$remote_addr", "x"],
        )),
        6 => Value::from(pick(
            b,
            &["expression", "total_tokens", "redis", "local", "a b", ""],
        )),
        7 => Value::from("input_tokens * 1.5 - output_tokens"),
        8 | 9 if depth < 3 => Value::Object(object(b, depth + 1)),
        10 | 11 if depth < 3 => {
            Value::Array((0..b.next() % 3).map(|_| value(b, depth + 1)).collect())
        }
        _ => Value::Null,
    }
}

fn object(b: &mut super::Bytes<'_>, depth: u8) -> Map<String, Value> {
    let mut map = Map::new();
    for _ in 0..b.next() % 6 {
        let key = pick(b, KEYS);
        map.insert(key.to_owned(), value(b, depth));
    }
    map
}

struct Vars<'a>(&'a str);

impl KeyLookup for Vars<'_> {
    fn var(&self, name: &str) -> Option<Cow<'_, str>> {
        match name {
            "http_x" | "http_user" | "consumer_name" => Some(Cow::Borrowed(self.0)),
            "remote_addr" => Some(Cow::Borrowed("10.0.0.1")),
            _ => None,
        }
    }
}

/// Arbitrary bytes as an `ai-rate-limiting` / `key-auth` / `consumers`
/// document (JSON text when they start with `{` or `[`, else an object
/// built from them), then — when the limiter config is valid — requests
/// through a compiled limiter on a fake clock. `Err` names a broken
/// invariant.
pub fn drive_rate_limiting(data: &[u8]) -> Result<(), String> {
    let value = match data.first() {
        Some(b'{' | b'[') => match serde_json::from_slice::<Value>(data) {
            Ok(v) => v,
            Err(_) => return Ok(()),
        },
        _ => Value::Object(object(&mut super::Bytes(data), 0)),
    };
    if let Err(e) = KeyAuthConfig::from_value(&value) {
        located(&e)?;
    }
    if let Err(e) = Consumer::list_from_value(&Value::Array(vec![value.clone()]), "consumers") {
        located(&e)?;
        if e.errors()
            .iter()
            .any(|e| !e.path.starts_with("consumers[0]"))
        {
            return Err("a consumer error outside its consumer".into());
        }
    }
    let config = match AiRateLimitingConfig::from_value(&value) {
        Ok(c) => c,
        Err(e) => return located(&e),
    };
    let mut names = vec!["ai-proxy-openai".to_owned()];
    if let Quotas::Instances { instances, .. } = &config.quotas {
        names.extend(instances.iter().map(|i| i.name.clone()));
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let limiter = match TokenLimiter::new(&config, "fuzz", &refs) {
        Ok(l) => l,
        Err(e) => return located(&e),
    };
    let store = MemoryStore::new(64);
    let t0 = Instant::now();
    for (i, user) in ["7", "", "x", "1e3", "99999999999999999999"]
        .iter()
        .enumerate()
    {
        let now = t0 + Duration::from_millis(700 * i as u64);
        let vars = Vars(user);
        let mut quotas = limiter.quotas(&vars);
        quotas.read(&store, now);
        for name in &refs {
            let verdict = limiter.admit(&quotas, name);
            if verdict.headers.len() % 3 != 0 {
                return Err("quota headers come in threes".into());
            }
            let mut into = http::HeaderMap::new();
            let direct = limiter.admit_into(&quotas, name, &mut into);
            if into != verdict.headers || direct.rejection != verdict.rejection {
                return Err("admit_into differs from admit".into());
            }
            match &verdict.rejection {
                Some(r) if r.status != limiter.rejection().status && r.status != 500 => {
                    return Err(format!("rejected with {}", r.status));
                }
                Some(_) => {}
                None => {
                    let usage = Usage::new(u64::from(data.len() as u8), 3);
                    let raw = RawUsage::from_usage(&usage, Protocol::AnthropicMessages);
                    if let Ok(cost) = limiter.cost(&usage, &raw) {
                        let _ = limiter.charge(&quotas, name, cost, &store, now);
                    }
                }
            }
        }
    }
    Ok(())
}

fn located(e: &ai_proxy_core::config::ConfigErrors) -> Result<(), String> {
    if e.errors().is_empty() {
        return Err("an empty error list".into());
    }
    if e.errors().iter().any(|e| e.message.is_empty()) {
        return Err("an error without a message".into());
    }
    let _ = e.to_string();
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn random_bytes_as_cost_expressions_keep_every_invariant(
            data in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            prop_assert_eq!(super::drive_cost_expr(&data), Ok(()));
        }

        #[test]
        fn arithmetic_like_text_keeps_every_invariant(
            text in "[0-9a-z_.+*/%^(), -]{0,80}",
            values in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut data = text.into_bytes();
            data.push(0);
            data.extend(values);
            prop_assert_eq!(super::drive_cost_expr(&data), Ok(()));
        }

        #[test]
        fn random_rate_limiting_documents_keep_every_invariant(
            data in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            prop_assert_eq!(super::drive_rate_limiting(&data), Ok(()));
        }

        #[test]
        fn generated_limiter_configs_keep_every_invariant(
            limit in 0i64..50,
            window in 0i64..5,
            rules in proptest::bool::ANY,
            key in "(\\$consumer_name|\\$\\{http_user\\}|\\$http_x|static|\\$\\{http_x \\?\\? 3\\})",
            degrade in proptest::bool::ANY,
        ) {
            let config = if rules {
                serde_json::json!({"rules": [{"count": limit, "time_window": window, "key": key}], "allow_degradation": degrade})
            } else {
                serde_json::json!({"limit": format!("${{http_x ?? {limit}}}"), "time_window": window,
                    "instances": [{"name": "ai-proxy-openai", "limit": limit, "time_window": 1}]})
            };
            prop_assert_eq!(super::drive_rate_limiting(config.to_string().as_bytes()), Ok(()));
        }
    }
}
