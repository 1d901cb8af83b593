//! The `ai-rate-limiting` plugin object.

use serde_json::{Map, Value};

use super::plugin::meta;
use super::redis::{counter_policy, policy_fields};
use super::validator::Validator;
use crate::config::cost_expr::CostExpr;
use crate::config::error::{ConfigErrorKind, join_path as join};
use crate::config::rate_limiting::*;
use crate::config::template::VarTemplate;

const FIELDS: &[&str] = &[
    "limit",
    "time_window",
    "show_limit_quota_header",
    "limit_strategy",
    "cost_expr",
    "instances",
    "rejected_code",
    "rejected_msg",
    "allow_degradation",
    "rules",
    "_meta",
];

/// Validates an `ai-rate-limiting` plugin object.
pub(crate) fn ai_rate_limiting(value: &Value, v: &mut Validator) -> Option<AiRateLimitingConfig> {
    let map = v.object(value, "")?;
    let mut allowed = FIELDS.to_vec();
    allowed.extend(policy_fields());
    v.unknown_fields(map, "", &allowed);
    let before = v.errors.len();
    let show_limit_quota_header = v.bool_field(map, "show_limit_quota_header", "", true);
    let quotas = quotas(map, show_limit_quota_header, v);
    let limit_strategy = strategy(map, v);
    let rejected_code = v
        .int_field(map, "rejected_code", "", 200, 599)
        .and_then(|n| u16::try_from(n).ok())
        .unwrap_or(DEFAULT_REJECTED_CODE);
    let rejected_msg = v
        .nonempty_string_field(map, "rejected_msg", "")
        .map(str::to_owned);
    let allow_degradation = v.bool_field(map, "allow_degradation", "", false);
    let policy = counter_policy(map, "", v);
    meta(map, "", v);
    if v.errors.len() != before {
        return None;
    }
    Some(AiRateLimitingConfig {
        quotas: quotas?,
        limit_strategy: limit_strategy?,
        show_limit_quota_header,
        rejected_code,
        rejected_msg,
        policy: policy?,
        allow_degradation,
    })
}

/// APISIX's `oneOf`: (`limit` + `time_window`) and/or `instances`, or
/// `rules`.
fn quotas(map: &Map<String, Value>, headers: bool, v: &mut Validator) -> Option<Quotas> {
    let has = |k: &str| map.contains_key(k);
    if has("rules") {
        if has("limit") || has("time_window") || has("instances") {
            v.invalid(
                "rules",
                "cannot be combined with `limit`, `time_window` or `instances`: configure either \
                 rules or instance limits (APISIX: value should match only one schema)",
            );
            return None;
        }
        return rules(map, v).map(Quotas::Rules);
    }
    let global = match (has("limit"), has("time_window")) {
        (true, false) => {
            v.push(
                "time_window",
                ConfigErrorKind::Missing,
                "is required when `limit` is set",
            );
            return None;
        }
        (false, true) => {
            v.push(
                "limit",
                ConfigErrorKind::Missing,
                "is required when `time_window` is set",
            );
            return None;
        }
        (false, false) => None,
        (true, true) => Some(window(map, "limit", "", v)),
    };
    let instances = match map.get("instances") {
        None => Some(Vec::new()),
        Some(value) => instances(value, headers, v),
    };
    if global.is_none() && instances.as_ref().is_some_and(Vec::is_empty) {
        v.push(
            "",
            ConfigErrorKind::Missing,
            "one of `limit` + `time_window`, `instances` or `rules` is required",
        );
        return None;
    }
    let global = match global {
        Some(g) => Some(g?),
        None => None,
    };
    Some(Quotas::Instances {
        global,
        instances: instances?,
    })
}

/// `limit`/`count` (named `amount`) and `time_window` of one object.
fn window(
    map: &Map<String, Value>,
    amount: &str,
    path: &str,
    v: &mut Validator,
) -> Option<WindowLimit> {
    let limit = map
        .get(amount)
        .and_then(|value| limit_value(value, &join(path, amount), v));
    let time_window = map
        .get("time_window")
        .and_then(|value| limit_value(value, &join(path, "time_window"), v));
    Some(WindowLimit {
        limit: limit?,
        time_window: time_window?,
    })
}

fn instances(value: &Value, headers: bool, v: &mut Validator) -> Option<Vec<InstanceLimit>> {
    let Value::Array(items) = value else {
        v.type_error("instances", "an array of {name, limit, time_window}", value);
        return None;
    };
    if items.is_empty() {
        v.invalid("instances", "must list at least one instance");
        return None;
    }
    let mut out: Vec<InstanceLimit> = Vec::with_capacity(items.len());
    let before = v.errors.len();
    for (i, item) in items.iter().enumerate() {
        let p = format!("instances[{i}]");
        let Some(m) = v.object(item, &p) else {
            continue;
        };
        v.unknown_fields(m, &p, &["name", "limit", "time_window"]);
        for key in ["name", "limit", "time_window"] {
            if !m.contains_key(key) {
                v.push(&join(&p, key), ConfigErrorKind::Missing, "is required");
            }
        }
        let name_path = join(&p, "name");
        let name = m.get("name").and_then(|n| v.string(n, &name_path));
        if let Some(name) = name {
            if headers && !is_token(name) {
                v.invalid(
                    &name_path,
                    "cannot be part of the X-AI-RateLimit-*-<name> header names (letters, digits \
                     and !#$%&'*+-.^_`|~ only); rename the instance or set \
                     show_limit_quota_header: false",
                );
            }
            if let Some(j) = out.iter().position(|o| o.name == name) {
                v.invalid(
                    &name_path,
                    format!("duplicate instance name '{name}' (also instances[{j}])"),
                );
            }
        }
        let w = if m.contains_key("limit") && m.contains_key("time_window") {
            window(m, "limit", &p, v)
        } else {
            None
        };
        if let (Some(name), Some(window)) = (name, w) {
            out.push(InstanceLimit {
                name: name.to_owned(),
                window,
            });
        }
    }
    (v.errors.len() == before).then_some(out)
}

fn rules(map: &Map<String, Value>, v: &mut Validator) -> Option<Vec<LimitRule>> {
    let value = map.get("rules")?;
    let Value::Array(items) = value else {
        v.type_error("rules", "an array of {count, time_window, key}", value);
        return None;
    };
    if items.is_empty() {
        v.invalid(
            "rules",
            "must list at least one rule (an empty list limits nothing)",
        );
        return None;
    }
    let before = v.errors.len();
    let mut out: Vec<LimitRule> = Vec::with_capacity(items.len());
    let mut keys: Vec<&str> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let p = format!("rules[{i}]");
        let Some(m) = v.object(item, &p) else {
            continue;
        };
        v.unknown_fields(m, &p, &["count", "time_window", "key", "header_prefix"]);
        for key in ["count", "time_window", "key"] {
            if !m.contains_key(key) {
                v.push(&join(&p, key), ConfigErrorKind::Missing, "is required");
            }
        }
        let key_path = join(&p, "key");
        let key = m.get("key").and_then(|k| v.string(k, &key_path));
        let key = key.and_then(|k| {
            let template = VarTemplate::parse(k);
            if !template.has_vars() {
                v.invalid(
                    &key_path,
                    "has no variable, so the rule would never apply; key budgets by request \
                     variables, e.g. `$consumer_name` or `${http_x_team}`",
                );
                return None;
            }
            if keys.contains(&k) {
                // APISIX: two rules on one key would share one counter.
                v.invalid(&key_path, format!("duplicate key '{k}' in rules"));
                return None;
            }
            keys.push(k);
            Some(template)
        });
        let prefix_path = join(&p, "header_prefix");
        let header_prefix = m
            .get("header_prefix")
            .and_then(|h| v.string(h, &prefix_path))
            .and_then(|h| {
                if is_token(h) {
                    Some(h.to_owned())
                } else {
                    v.invalid(
                        &prefix_path,
                        "cannot be part of the X-AI-<prefix>-RateLimit-* header names (letters, \
                         digits and !#$%&'*+-.^_`|~ only)",
                    );
                    None
                }
            });
        let w = if m.contains_key("count") && m.contains_key("time_window") {
            window(m, "count", &p, v)
        } else {
            None
        };
        if let (Some(key), Some(w)) = (key, w) {
            out.push(LimitRule {
                count: w.limit,
                time_window: w.time_window,
                key,
                header_prefix,
            });
        }
    }
    (v.errors.len() == before).then_some(out)
}

/// An integer 1..=2^53-1, or a string: a number, or a template whose
/// value is one.
fn limit_value(value: &Value, path: &str, v: &mut Validator) -> Option<LimitValue> {
    const HINT: &str = "must be a positive integer, or a template with variables such as \
                        `${http_x_limit ?? 100}`";
    match value {
        Value::String(s) => {
            let template = VarTemplate::parse(s);
            if !template.has_vars() {
                return match LimitValue::parse(s) {
                    Some(n) => Some(LimitValue::Fixed(n)),
                    None => {
                        v.invalid(path, HINT);
                        None
                    }
                };
            }
            // With every variable unset, a template of defaults only must
            // still give a number.
            let unset = template.resolve(|_| None);
            if unset.resolved == template.var_names().count()
                && LimitValue::parse(&unset.text).is_none()
            {
                v.invalid(
                    path,
                    format!(
                        "with its variables unset gives `{}`, not a positive integer; fix the `??` default",
                        unset.text
                    ),
                );
                return None;
            }
            Some(LimitValue::Var(template))
        }
        Value::Number(_) => {
            let n = v.integer(value, path)?;
            match u64::try_from(n) {
                Ok(n) if (1..=MAX_LIMIT_VALUE).contains(&n) => Some(LimitValue::Fixed(n)),
                _ => {
                    v.invalid(path, format!("must be 1 to {MAX_LIMIT_VALUE}, got {n}"));
                    None
                }
            }
        }
        other => {
            v.type_error(path, "an integer or a string", other);
            None
        }
    }
}

fn strategy(map: &Map<String, Value>, v: &mut Validator) -> Option<LimitStrategy> {
    let strategy = match map.get("limit_strategy") {
        None => "total_tokens",
        Some(value) => v.string(value, "limit_strategy")?,
    };
    let expr = match map.get("cost_expr") {
        None => None,
        Some(value) => {
            let s = v.string(value, "cost_expr")?;
            if s.is_empty() {
                v.invalid("cost_expr", "must not be empty");
                return None;
            }
            match CostExpr::parse(s) {
                Ok(e) => Some(e),
                Err(e) => {
                    v.invalid("cost_expr", format!("invalid cost_expr: {e}"));
                    return None;
                }
            }
        }
    };
    let plain = match strategy {
        "total_tokens" => LimitStrategy::TotalTokens,
        "prompt_tokens" => LimitStrategy::PromptTokens,
        "completion_tokens" => LimitStrategy::CompletionTokens,
        "expression" => {
            return match expr {
                Some(e) => Some(LimitStrategy::Expression(e)),
                None => {
                    v.push(
                        "cost_expr",
                        ConfigErrorKind::Missing,
                        "cost_expr is required when limit_strategy is 'expression'",
                    );
                    None
                }
            };
        }
        other => {
            v.invalid(
                "limit_strategy",
                format!(
                    "unknown strategy `{other}`; expected total_tokens, prompt_tokens, \
                     completion_tokens or expression"
                ),
            );
            return None;
        }
    };
    if expr.is_some() {
        v.invalid(
            "cost_expr",
            format!(
                "is only used when limit_strategy is `expression` (it is `{strategy}`); set \
                 limit_strategy: expression or remove cost_expr"
            ),
        );
        return None;
    }
    Some(plain)
}

/// An HTTP token (RFC 9110 `tchar`s), as header names need.
fn is_token(s: &str) -> bool {
    s.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            )
    })
}
