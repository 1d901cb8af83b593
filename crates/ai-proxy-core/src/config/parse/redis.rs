//! limit-count's `policy` and its Redis fields.

use serde_json::{Map, Value};

use super::validator::Validator;
use crate::config::error::{ConfigErrorKind, join_path as join};
use crate::config::redis::*;
use crate::secret::Secret;

const REDIS: &[&str] = &[
    "redis_host",
    "redis_port",
    "redis_username",
    "redis_password",
    "redis_database",
    "redis_timeout",
    "redis_ssl",
    "redis_ssl_verify",
    "redis_keepalive_timeout",
    "redis_keepalive_pool",
];

const CLUSTER: &[&str] = &[
    "redis_cluster_nodes",
    "redis_password",
    "redis_timeout",
    "redis_cluster_name",
    "redis_cluster_ssl",
    "redis_cluster_ssl_verify",
    "redis_keepalive_timeout",
    "redis_keepalive_pool",
];

const SENTINEL: &[&str] = &[
    "redis_sentinels",
    "redis_master_name",
    "redis_role",
    "redis_connect_timeout",
    "redis_read_timeout",
    "redis_keepalive_timeout",
    "redis_database",
    "redis_username",
    "redis_password",
    "sentinel_username",
    "sentinel_password",
];

/// `policy` plus every Redis field of every policy (for unknown-field
/// checks and their suggestions).
pub(super) fn policy_fields() -> Vec<&'static str> {
    let mut all = vec!["policy"];
    for f in REDIS.iter().chain(CLUSTER).chain(SENTINEL) {
        if !all.contains(f) {
            all.push(f);
        }
    }
    all
}

/// `policy` and the fields it takes; a Redis field of another policy is
/// an error (it would be silently ignored).
pub(super) fn counter_policy(
    map: &Map<String, Value>,
    path: &str,
    v: &mut Validator,
) -> Option<CounterPolicy> {
    let policy_path = join(path, "policy");
    let name = match map.get("policy") {
        None => "local",
        Some(value) => v.string(value, &policy_path)?,
    };
    let allowed: &[&str] = match name {
        "local" => &[],
        "redis" => REDIS,
        "redis-cluster" => CLUSTER,
        "redis-sentinel" => SENTINEL,
        other => {
            v.invalid(
                &policy_path,
                format!(
                    "unknown policy `{other}`; expected local, redis, redis-cluster or redis-sentinel"
                ),
            );
            return None;
        }
    };
    let before = v.errors.len();
    let all = policy_fields();
    for key in map.keys() {
        let key = key.as_str();
        if key == "policy" || allowed.contains(&key) || !all.contains(&key) {
            continue;
        }
        let users: Vec<&str> = [
            ("redis", REDIS),
            ("redis-cluster", CLUSTER),
            ("redis-sentinel", SENTINEL),
        ]
        .iter()
        .filter(|(_, fields)| fields.contains(&key))
        .map(|(p, _)| *p)
        .collect();
        v.invalid(
            &join(path, key),
            format!(
                "is only used with policy {} (policy is `{name}`); remove it or change policy",
                users.join(" or ")
            ),
        );
    }
    let policy = match name {
        "redis" => redis(map, path, v).map(CounterPolicy::Redis),
        "redis-cluster" => cluster(map, path, v).map(CounterPolicy::RedisCluster),
        "redis-sentinel" => sentinel(map, path, v).map(CounterPolicy::RedisSentinel),
        _ => Some(CounterPolicy::Local),
    };
    if v.errors.len() != before {
        return None;
    }
    policy
}

fn required<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    path: &str,
    what: &str,
    v: &mut Validator,
) -> Option<&'a Value> {
    let value = map.get(key);
    if value.is_none() {
        v.push(
            &join(path, key),
            ConfigErrorKind::Missing,
            format!("is required ({what})"),
        );
    }
    value
}

/// A string of at least `min` characters.
fn string_min(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
    min: usize,
    v: &mut Validator,
) -> Option<String> {
    let p = join(path, key);
    let s = v.string(map.get(key)?, &p)?;
    if s.chars().count() < min {
        v.invalid(&p, format!("must be at least {min} characters long"));
        return None;
    }
    Some(s.to_owned())
}

fn password(map: &Map<String, Value>, key: &str, path: &str, v: &mut Validator) -> Option<Secret> {
    let p = join(path, key);
    v.string(map.get(key)?, &p).map(Secret::new)
}

fn port(value: &Value, path: &str, v: &mut Validator) -> Option<u16> {
    let n = v.integer(value, path)?;
    match u16::try_from(n) {
        Ok(p) if p >= 1 => Some(p),
        _ => {
            v.invalid(path, format!("must be a port, 1 to 65535, got {n}"));
            None
        }
    }
}

fn redis(map: &Map<String, Value>, path: &str, v: &mut Validator) -> Option<RedisServer> {
    let host_value = required(map, "redis_host", path, "the Redis server's address", v);
    let host = host_value.and_then(|_| string_min(map, "redis_host", path, 2, v));
    let port = match map.get("redis_port") {
        Some(value) => port(value, &join(path, "redis_port"), v),
        None => Some(DEFAULT_REDIS_PORT),
    };
    let username = string_min(map, "redis_username", path, 1, v);
    let database = v
        .int_field(map, "redis_database", path, 0, u64::from(u32::MAX))
        .unwrap_or(0);
    let connection = connection(map, path, ["redis_ssl", "redis_ssl_verify"], v);
    Some(RedisServer {
        host: host?,
        port: port?,
        username,
        database,
        connection,
    })
}

fn cluster(map: &Map<String, Value>, path: &str, v: &mut Validator) -> Option<RedisCluster> {
    let nodes_value = required(map, "redis_cluster_nodes", path, "`host:port` seeds", v);
    let nodes_path = join(path, "redis_cluster_nodes");
    let nodes = match nodes_value {
        None => None,
        Some(Value::Array(items)) if items.is_empty() => {
            v.invalid(&nodes_path, "must list at least one `host:port`");
            None
        }
        Some(Value::Array(items)) => {
            let mut nodes = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let p = format!("{nodes_path}[{i}]");
                let Some(s) = v.string(item, &p) else {
                    continue;
                };
                let len = s.chars().count();
                if !(2..=100).contains(&len) {
                    v.invalid(&p, "must be 2 to 100 characters long (`host:port`)");
                } else if !s.rsplit_once(':').is_some_and(|(h, port)| {
                    !h.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
                }) {
                    v.invalid(&p, "must be `host:port`, e.g. 10.0.0.7:6379");
                } else {
                    nodes.push(s.to_owned());
                }
            }
            (nodes.len() == items.len()).then_some(nodes)
        }
        Some(other) => {
            v.type_error(&nodes_path, "an array of `host:port` strings", other);
            None
        }
    };
    let name = required(map, "redis_cluster_name", path, "the cluster's name", v)
        .and_then(|_| string_min(map, "redis_cluster_name", path, 0, v));
    let connection = connection(
        map,
        path,
        ["redis_cluster_ssl", "redis_cluster_ssl_verify"],
        v,
    );
    Some(RedisCluster {
        nodes: nodes?,
        name: name?,
        connection,
    })
}

/// Password, TLS (under the policy's two field names), timeout and
/// keepalive.
fn connection(
    map: &Map<String, Value>,
    path: &str,
    [ssl, ssl_verify]: [&str; 2],
    v: &mut Validator,
) -> RedisConnection {
    RedisConnection {
        password: password(map, "redis_password", path, v),
        timeout_ms: v
            .int_field(map, "redis_timeout", path, 1, u64::from(u32::MAX))
            .unwrap_or(DEFAULT_REDIS_TIMEOUT_MS),
        ssl: v.bool_field(map, ssl, path, false),
        ssl_verify: v.bool_field(map, ssl_verify, path, false),
        keepalive_timeout_ms: v
            .int_field(
                map,
                "redis_keepalive_timeout",
                path,
                1000,
                u64::from(u32::MAX),
            )
            .unwrap_or(DEFAULT_REDIS_KEEPALIVE_TIMEOUT_MS),
        keepalive_pool: v
            .int_field(map, "redis_keepalive_pool", path, 1, u64::from(u32::MAX))
            .unwrap_or(DEFAULT_REDIS_KEEPALIVE_POOL),
    }
}

fn sentinel(map: &Map<String, Value>, path: &str, v: &mut Validator) -> Option<RedisSentinel> {
    let list_path = join(path, "redis_sentinels");
    let sentinels = match required(
        map,
        "redis_sentinels",
        path,
        "Sentinel `{host, port}` objects",
        v,
    ) {
        None => None,
        Some(Value::Array(items)) if items.is_empty() => {
            v.invalid(&list_path, "must list at least one sentinel");
            None
        }
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let p = format!("{list_path}[{i}]");
                let Some(m) = v.object(item, &p) else {
                    continue;
                };
                v.unknown_fields(m, &p, &["host", "port"]);
                let host = required(m, "host", &p, "the sentinel's address", v)
                    .and_then(|_| string_min(m, "host", &p, 2, v));
                let port = required(m, "port", &p, "the sentinel's port", v)
                    .and_then(|value| port(value, &join(&p, "port"), v));
                if let (Some(h), Some(port)) = (host, port) {
                    out.push((h, port));
                }
            }
            (out.len() == items.len()).then_some(out)
        }
        Some(other) => {
            v.type_error(&list_path, "an array of {host, port} objects", other);
            None
        }
    };
    let master_name = required(
        map,
        "redis_master_name",
        path,
        "the master's name in Sentinel",
        v,
    )
    .and_then(|_| string_min(map, "redis_master_name", path, 1, v));
    let role = match map.get("redis_role") {
        None => Some(SentinelRole::Master),
        Some(value) => {
            let p = join(path, "redis_role");
            match v.string(value, &p) {
                Some("master") => Some(SentinelRole::Master),
                Some("slave") => {
                    v.push(
                        &p,
                        ConfigErrorKind::Unsupported,
                        "`slave`: counters are written on every response and a replica refuses \
                         writes; use `master`",
                    );
                    None
                }
                Some(other) => {
                    v.invalid(&p, format!("unknown role `{other}`; expected master"));
                    None
                }
                None => None,
            }
        }
    };
    let sentinel = RedisSentinel {
        sentinels: Vec::new(),
        master_name: String::new(),
        role: SentinelRole::Master,
        connect_timeout_ms: v
            .int_field(map, "redis_connect_timeout", path, 1, u64::from(u32::MAX))
            .unwrap_or(DEFAULT_REDIS_TIMEOUT_MS),
        read_timeout_ms: v
            .int_field(map, "redis_read_timeout", path, 1, u64::from(u32::MAX))
            .unwrap_or(DEFAULT_REDIS_TIMEOUT_MS),
        keepalive_timeout_ms: v
            .int_field(map, "redis_keepalive_timeout", path, 1, u64::from(u32::MAX))
            .unwrap_or(DEFAULT_SENTINEL_KEEPALIVE_TIMEOUT_MS),
        database: v
            .int_field(map, "redis_database", path, 0, u64::from(u32::MAX))
            .unwrap_or(0),
        username: string_min(map, "redis_username", path, 1, v),
        password: password(map, "redis_password", path, v),
        sentinel_username: string_min(map, "sentinel_username", path, 1, v),
        sentinel_password: password(map, "sentinel_password", path, v),
    };
    Some(RedisSentinel {
        sentinels: sentinels?,
        master_name: master_name?,
        role: role?,
        ..sentinel
    })
}
