//! The `ai-proxy-multi` plugin object: balancer, instances, fallback.

use serde_json::{Map, Value};

use super::plugin::{PLUGIN_FIELDS, limits, logging, meta, transport};
use super::upstream::upstream;
use super::validator::Validator;
use crate::config::error::{ConfigErrorKind, join_path as join};
use crate::config::model::*;

/// The `ai-proxy-multi` object's own top-level fields.
const AI_PROXY_MULTI_FIELDS: &[&str] = &[
    "balancer",
    "instances",
    "fallback_strategy",
    "fallback_http_statuses",
    "max_retries",
    "retry_on_failure_within_ms",
];

const INSTANCE_FIELDS: &[&str] = &[
    "name",
    "provider",
    "priority",
    "weight",
    "auth",
    "options",
    "override",
    "provider_conf",
    "checks",
];

/// Validates an `ai-proxy-multi` plugin object.
pub(crate) fn ai_proxy_multi(value: &Value, v: &mut Validator) -> Option<AiProxyMultiConfig> {
    let map = v.object(value, "")?;
    v.unknown_fields(map, "", &[AI_PROXY_MULTI_FIELDS, PLUGIN_FIELDS].concat());
    let balancer = balancer(map, v);
    let instances = instances(map, v);
    let fallback_strategy = fallback_strategy(map, v);
    let fallback_http_statuses = fallback_http_statuses(map, v);
    let max_retries = v
        .int_field(map, "max_retries", "", 0, u64::from(u32::MAX))
        .and_then(|n| u32::try_from(n).ok());
    let retry_on_failure_within_ms =
        v.int_field(map, "retry_on_failure_within_ms", "", 1, u64::MAX);
    let logging = logging(map, "", v);
    let transport = transport(map, "", v);
    let limits = limits(map, "", v);
    meta(map, "", v);
    Some(AiProxyMultiConfig {
        balancer,
        instances: instances?,
        fallback_strategy,
        fallback_http_statuses,
        max_retries,
        retry_on_failure_within_ms,
        logging,
        transport,
        limits,
    })
}

fn balancer(map: &Map<String, Value>, v: &mut Validator) -> BalancerConfig {
    let Some(b) = v.opt_object(map, "balancer", "") else {
        return BalancerConfig::default();
    };
    let p = "balancer";
    v.unknown_fields(b, p, &["algorithm", "hash_on", "key"]);
    let mut out = BalancerConfig::default();
    if let Some(value) = b.get("algorithm") {
        let ap = join(p, "algorithm");
        match v.string(value, &ap) {
            Some("roundrobin") => out.algorithm = Algorithm::RoundRobin,
            Some("chash") => out.algorithm = Algorithm::Chash,
            Some("semantic") => v.push(
                &ap,
                ConfigErrorKind::Unsupported,
                "`semantic` (embedding-based picking) is valid in APISIX but not supported by this library; use roundrobin or chash",
            ),
            Some(other) => v.invalid(
                &ap,
                format!("unknown algorithm `{other}`, expected roundrobin or chash"),
            ),
            None => {}
        }
    }
    if let Some(value) = b.get("hash_on") {
        let hp = join(p, "hash_on");
        const NAMES: [&str; 5] = ["vars", "header", "cookie", "consumer", "vars_combinations"];
        match v.string(value, &hp) {
            Some("vars") => out.hash_on = HashOn::Vars,
            Some("header") => out.hash_on = HashOn::Header,
            Some("cookie") => out.hash_on = HashOn::Cookie,
            Some("consumer") => out.hash_on = HashOn::Consumer,
            Some("vars_combinations") => out.hash_on = HashOn::VarsCombinations,
            Some(other) => v.invalid(
                &hp,
                format!(
                    "unknown hash_on `{other}`, expected one of: {}",
                    NAMES.join(", ")
                ),
            ),
            None => {}
        }
    }
    out.key = v.nonempty_string_field(b, "key", p).map(str::to_owned);
    if out.algorithm == Algorithm::Chash && out.hash_on != HashOn::Consumer && out.key.is_none() {
        v.push(
            &join(p, "key"),
            ConfigErrorKind::Missing,
            "chash needs a key unless hash_on is `consumer` (e.g. hash_on: header, key: x-user-id)",
        );
    }
    out
}

fn instances(map: &Map<String, Value>, v: &mut Validator) -> Option<Vec<InstanceConfig>> {
    let Some(value) = map.get("instances") else {
        v.push(
            "instances",
            ConfigErrorKind::Missing,
            "is required: at least one instance",
        );
        return None;
    };
    let Value::Array(items) = value else {
        v.type_error("instances", "an array", value);
        return None;
    };
    if items.is_empty() {
        v.invalid("instances", "must have at least one instance");
        return None;
    }
    let before = v.errors.len();
    let mut out = Vec::with_capacity(items.len());
    let mut names: Vec<(&str, usize)> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let p = format!("instances[{i}]");
        let Some(obj) = v.object(item, &p) else {
            continue;
        };
        v.unknown_fields(obj, &p, INSTANCE_FIELDS);
        let name = match obj.get("name") {
            None => {
                v.push(&join(&p, "name"), ConfigErrorKind::Missing, "is required");
                None
            }
            Some(n) => {
                let np = join(&p, "name");
                match v.string(n, &np) {
                    Some(s) if s.is_empty() || s.chars().count() > 100 => {
                        v.invalid(&np, "must be 1 to 100 characters long");
                        None
                    }
                    Some(s) => {
                        if let Some((_, first)) = names.iter().find(|(n, _)| *n == s) {
                            v.invalid(
                                &np,
                                format!(
                                    "duplicate instance name '{s}' at instances[{first}] and instances[{i}]; names must be unique"
                                ),
                            );
                        }
                        names.push((s, i));
                        Some(s.to_owned())
                    }
                    None => None,
                }
            }
        };
        let priority = obj
            .get("priority")
            .and_then(|n| v.integer(n, &join(&p, "priority")))
            .map(|n| i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX }))
            .unwrap_or(0);
        let weight = match obj.get("weight") {
            None => {
                v.push(
                    &join(&p, "weight"),
                    ConfigErrorKind::Missing,
                    "is required (an integer ≥ 0; 0 means never picked)",
                );
                None
            }
            Some(_) => v
                .int_field(obj, "weight", &p, 0, u64::from(u32::MAX))
                .and_then(|n| u32::try_from(n).ok()),
        };
        let upstream = upstream(obj, &p, true, v);
        let checks = match v.opt_object(obj, "checks", &p) {
            None => None,
            Some(c) => {
                let cp = join(&p, "checks");
                v.unknown_fields(c, &cp, &["active"]);
                match c.get("active") {
                    None => {
                        v.push(
                            &join(&cp, "active"),
                            ConfigErrorKind::Missing,
                            "is required when checks is set",
                        );
                        None
                    }
                    Some(a) => v
                        .object(a, &join(&cp, "active"))
                        .map(|a| HealthChecks { active: a.clone() }),
                }
            }
        };
        if let (Some(name), Some(weight), Some(upstream)) = (name, weight, upstream) {
            out.push(InstanceConfig {
                name,
                priority,
                weight,
                upstream,
                checks,
            });
        }
    }
    (v.errors.len() == before).then_some(out)
}

fn fallback_strategy(map: &Map<String, Value>, v: &mut Validator) -> FallbackStrategy {
    let mut out = FallbackStrategy::default();
    let Some(value) = map.get("fallback_strategy") else {
        return out;
    };
    let p = "fallback_strategy";
    match value {
        Value::String(s) => match s.as_str() {
            "instance_health_and_rate_limiting" => {
                out.instance_health = true;
                out.rate_limiting = true;
            }
            "http_429" => out.http_429 = true,
            "http_5xx" => out.http_5xx = true,
            other => v.invalid(
                p,
                format!(
                    "unknown strategy `{other}`, expected instance_health_and_rate_limiting, http_429 or http_5xx \
                     (or an array of rate_limiting, http_429, http_5xx)"
                ),
            ),
        },
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let ip = format!("{p}[{i}]");
                match v.string(item, &ip) {
                    Some("rate_limiting") => out.rate_limiting = true,
                    Some("http_429") => out.http_429 = true,
                    Some("http_5xx") => out.http_5xx = true,
                    Some(other) => v.invalid(
                        &ip,
                        format!("unknown strategy `{other}`, expected rate_limiting, http_429 or http_5xx"),
                    ),
                    None => {}
                }
            }
        }
        other => v.type_error(p, "a string or an array of strings", other),
    }
    out
}

fn fallback_http_statuses(map: &Map<String, Value>, v: &mut Validator) -> Vec<u16> {
    let Some(value) = map.get("fallback_http_statuses") else {
        return Vec::new();
    };
    let p = "fallback_http_statuses";
    let Value::Array(items) = value else {
        v.type_error(p, "an array of status codes", value);
        return Vec::new();
    };
    if items.is_empty() {
        v.invalid(p, "must list at least one status (or be left out)");
    }
    let mut out: Vec<u16> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let ip = format!("{p}[{i}]");
        let Some(n) = v.integer(item, &ip) else {
            continue;
        };
        if !(400..=599).contains(&n) {
            v.invalid(
                &ip,
                format!(
                    "expected {n} to be at least 400 and at most 599: only error statuses fall back"
                ),
            );
            continue;
        }
        let Ok(code) = u16::try_from(n) else { continue };
        if out.contains(&code) {
            v.invalid(&ip, format!("{code} is listed twice"));
            continue;
        }
        out.push(code);
    }
    out
}
