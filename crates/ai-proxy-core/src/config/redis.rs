//! limit-count's counter `policy` and its Redis connection fields, with
//! APISIX's names and defaults (apache/apisix master
//! `apisix/utils/redis-schema.lua` for `redis` and `redis-cluster`,
//! `apisix/plugins/limit-count/init.lua` for `redis-sentinel`).

use crate::secret::Secret;

/// APISIX default for `redis_port`.
pub const DEFAULT_REDIS_PORT: u16 = 6379;
/// APISIX default for `redis_timeout`, `redis_connect_timeout` and
/// `redis_read_timeout` (ms).
pub const DEFAULT_REDIS_TIMEOUT_MS: u64 = 1000;
/// APISIX default for `redis_keepalive_timeout` under `redis` and
/// `redis-cluster` (ms).
pub const DEFAULT_REDIS_KEEPALIVE_TIMEOUT_MS: u64 = 10_000;
/// APISIX default for `redis_keepalive_timeout` under `redis-sentinel` (ms).
pub const DEFAULT_SENTINEL_KEEPALIVE_TIMEOUT_MS: u64 = 60_000;
/// APISIX default for `redis_keepalive_pool`.
pub const DEFAULT_REDIS_KEEPALIVE_POOL: u64 = 100;

/// `policy`: where counters live.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CounterPolicy {
    /// `local` (the default): in this process; each gateway has its own
    /// budget.
    #[default]
    Local,
    /// `redis`: one Redis server shared by every gateway.
    Redis(RedisServer),
    /// `redis-cluster`.
    RedisCluster(RedisCluster),
    /// `redis-sentinel`: the master (or a replica) found through Sentinel.
    RedisSentinel(RedisSentinel),
}

impl CounterPolicy {
    /// The APISIX name.
    pub fn as_str(&self) -> &'static str {
        match self {
            CounterPolicy::Local => "local",
            CounterPolicy::Redis(_) => "redis",
            CounterPolicy::RedisCluster(_) => "redis-cluster",
            CounterPolicy::RedisSentinel(_) => "redis-sentinel",
        }
    }
}

/// `policy: redis`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisServer {
    /// `redis_host` (required).
    pub host: String,
    /// `redis_port` (default 6379).
    pub port: u16,
    /// `redis_username` (Redis ACL).
    pub username: Option<String>,
    /// `redis_database` (default 0).
    pub database: u64,
    /// Password, TLS, timeout and keepalive.
    pub connection: RedisConnection,
}

/// `policy: redis-cluster`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisCluster {
    /// `redis_cluster_nodes`: `host:port` seeds (at least one).
    pub nodes: Vec<String>,
    /// `redis_cluster_name` (required).
    pub name: String,
    /// Password, TLS (`redis_cluster_ssl`, `redis_cluster_ssl_verify`),
    /// timeout and keepalive.
    pub connection: RedisConnection,
}

/// What `redis` and `redis-cluster` share.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisConnection {
    /// `redis_password`.
    pub password: Option<Secret>,
    /// `redis_timeout` (ms, default 1000): connect, send and read.
    pub timeout_ms: u64,
    /// `redis_ssl` / `redis_cluster_ssl` (default false).
    pub ssl: bool,
    /// `redis_ssl_verify` / `redis_cluster_ssl_verify` (default false, as
    /// APISIX).
    pub ssl_verify: bool,
    /// `redis_keepalive_timeout` (ms, default 10000, ≥ 1000).
    pub keepalive_timeout_ms: u64,
    /// `redis_keepalive_pool` (default 100).
    pub keepalive_pool: u64,
}

/// `policy: redis-sentinel`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisSentinel {
    /// `redis_sentinels`: `(host, port)` (at least one).
    pub sentinels: Vec<(String, u16)>,
    /// `redis_master_name` (required).
    pub master_name: String,
    /// `redis_role` (default master).
    pub role: SentinelRole,
    /// `redis_connect_timeout` (ms, default 1000).
    pub connect_timeout_ms: u64,
    /// `redis_read_timeout` (ms, default 1000).
    pub read_timeout_ms: u64,
    /// `redis_keepalive_timeout` (ms, default 60000).
    pub keepalive_timeout_ms: u64,
    /// `redis_database` (default 0).
    pub database: u64,
    /// `redis_username`.
    pub username: Option<String>,
    /// `redis_password`.
    pub password: Option<Secret>,
    /// `sentinel_username`.
    pub sentinel_username: Option<String>,
    /// `sentinel_password`.
    pub sentinel_password: Option<Secret>,
}

/// `redis_role`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SentinelRole {
    /// `master` (the default).
    #[default]
    Master,
    /// `slave`: a replica.
    Slave,
}
