//! Counters shared by every gateway through Redis (`policy: redis`,
//! `redis-cluster`, `redis-sentinel`, with limit-count's field names).
//!
//! Each counter is one key holding the tokens charged in its window, the
//! window being the key's expiry. Reads and charges are Lua scripts on one
//! key, so they are atomic and every key can live on its own cluster slot.
//! The charge is APISIX's (`apisix/plugins/limit-count/limit-count-redis.lua`
//! on master): no live window (`PTTL < 0`) → `SET key cost PX window`,
//! else `INCRBY` — counting up where APISIX counts the remainder down.
//!
//! One multiplexed connection per configuration, opened on first use and
//! again after a failure (at most once per [`RETRY_AFTER`]; requests in
//! between fail at once, so a dead Redis costs each request nothing but
//! `allow_degradation`'s answer). Every command is bounded by
//! `redis_timeout`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ai_proxy::config::{
    ConfigError, ConfigErrorKind, RedisCluster, RedisConnection, RedisSentinel, RedisServer,
    SentinelRole,
};
use ai_proxy::multi::limit::{Counter, StoreError};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo, Script,
    TlsMode,
};

/// Every key this gateway writes starts with it.
const KEY_PREFIX: &str = "ai-proxy:ai-rate-limiting:";
/// After a failed connection attempt, requests fail at once for this long.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Charges on their way to Redis at most; more are dropped and counted
/// (a Redis that hangs must not pile up tasks).
const MAX_PENDING_CHARGES: usize = 4096;
/// The largest charge (Redis integers are signed; APISIX's counts are
/// doubles, exact up to 2^53).
const MAX_CHARGE: u64 = (1 << 53) - 1;

/// Tokens charged in the key's live window, and the window's time left;
/// `{0, -2}` without one.
const READ: &str = r"
local consumed = redis.call('get', KEYS[1])
return {tonumber(consumed) or 0, redis.call('pttl', KEYS[1])}
";

/// Adds ARGV[1] tokens, opening a window of ARGV[2] ms when none is live.
const CHARGE: &str = r"
local ttl = redis.call('pttl', KEYS[1])
if ttl < 0 then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {tonumber(ARGV[1]), tonumber(ARGV[2])}
end
return {redis.call('incrby', KEYS[1], ARGV[1]), ttl}
";

/// How to reach the Redis deployment.
#[allow(clippy::large_enum_variant)] // ok: one per configuration, built once
enum Target {
    Server(Client),
    Cluster(ClusterClient),
    Sentinel(Box<tokio::sync::Mutex<SentinelClient>>),
}

/// An open connection.
#[derive(Clone)]
enum Connection {
    Multiplexed(MultiplexedConnection),
    Cluster(ClusterConnection),
}

#[derive(Default)]
struct Link {
    connection: Option<Connection>,
    failed_at: Option<Instant>,
}

/// Counters in Redis.
pub struct RedisCounters {
    target: Target,
    /// `redis_timeout` (sentinel: `redis_read_timeout`).
    timeout: Duration,
    /// `redis_timeout` (sentinel: `redis_connect_timeout`).
    connect_timeout: Duration,
    link: tokio::sync::Mutex<Link>,
    read: Script,
    charge: Script,
    pending: AtomicUsize,
    dropped: AtomicU64,
}

impl std::fmt::Debug for RedisCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.target {
            Target::Server(_) => "redis",
            Target::Cluster(_) => "redis-cluster",
            Target::Sentinel(_) => "redis-sentinel",
        };
        f.debug_struct("RedisCounters")
            .field("policy", &kind)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn invalid(field: &str, message: String) -> ConfigError {
    ConfigError::new(field, ConfigErrorKind::Invalid, message)
}

fn tls_mode(connection: &RedisConnection) -> Option<TlsMode> {
    match (connection.ssl, connection.ssl_verify) {
        (false, _) => None,
        (true, true) => Some(TlsMode::Secure),
        (true, false) => Some(TlsMode::Insecure),
    }
}

fn database(db: u64, field: &str) -> Result<i64, ConfigError> {
    i64::try_from(db).map_err(|_| invalid(field, "is out of range".to_owned()))
}

impl RedisCounters {
    fn with_target(target: Target, timeout_ms: u64, connect_timeout_ms: u64) -> Self {
        Self {
            target,
            timeout: Duration::from_millis(timeout_ms),
            connect_timeout: Duration::from_millis(connect_timeout_ms),
            link: tokio::sync::Mutex::default(),
            read: Script::new(READ),
            charge: Script::new(CHARGE),
            pending: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Takes a slot for one request's charges; `false` (counted) when
    /// [`MAX_PENDING_CHARGES`] are already on their way.
    pub(crate) fn reserve_charge(&self) -> bool {
        let taken = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_PENDING_CHARGES).then_some(n + 1)
            })
            .is_ok();
        if !taken {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        taken
    }

    /// Gives back a slot of [`reserve_charge`](Self::reserve_charge).
    pub(crate) fn release_charge(&self) {
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }

    /// Charges dropped because too many were on their way.
    pub fn dropped_charges(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// `policy: redis`. Errors name the field (relative to the plugin).
    pub(crate) fn server(config: &RedisServer) -> Result<Self, ConfigError> {
        let c = &config.connection;
        let addr = match tls_mode(c) {
            None => ConnectionAddr::Tcp(config.host.clone(), config.port),
            Some(mode) => ConnectionAddr::TcpTls {
                host: config.host.clone(),
                port: config.port,
                insecure: mode == TlsMode::Insecure,
                tls_params: None,
            },
        };
        let mut redis =
            RedisConnectionInfo::default().set_db(database(config.database, "redis_database")?);
        if let Some(user) = &config.username {
            redis = redis.set_username(user);
        }
        if let Some(password) = &c.password {
            redis = redis.set_password(password.expose());
        }
        let info = addr
            .into_connection_info()
            .map_err(|e| invalid("redis_host", e.to_string()))?
            .set_redis_settings(redis);
        let client = Client::open(info).map_err(|e| invalid("redis_host", e.to_string()))?;
        Ok(Self::with_target(
            Target::Server(client),
            c.timeout_ms,
            c.timeout_ms,
        ))
    }

    /// `policy: redis-cluster`.
    pub(crate) fn cluster(config: &RedisCluster) -> Result<Self, ConfigError> {
        let c = &config.connection;
        let mut nodes = Vec::with_capacity(config.nodes.len());
        for (i, node) in config.nodes.iter().enumerate() {
            let parsed = node
                .rsplit_once(':')
                .and_then(|(host, port)| Some((host.trim_matches(['[', ']']), port.parse().ok()?)));
            let Some((host, port)) = parsed else {
                return Err(invalid(
                    &format!("redis_cluster_nodes[{i}]"),
                    "must be host:port".to_owned(),
                ));
            };
            nodes.push(ConnectionAddr::Tcp(host.to_owned(), port));
        }
        let mut builder = ClusterClientBuilder::new(nodes)
            .connection_timeout(Duration::from_millis(c.timeout_ms))
            .response_timeout(Duration::from_millis(c.timeout_ms))
            .retries(1);
        if let Some(password) = &c.password {
            builder = builder.password(password.expose());
        }
        if let Some(mode) = tls_mode(c) {
            builder = builder.tls(mode);
        }
        let client = builder
            .build()
            .map_err(|e| invalid("redis_cluster_nodes", e.to_string()))?;
        Ok(Self::with_target(
            Target::Cluster(client),
            c.timeout_ms,
            c.timeout_ms,
        ))
    }

    /// `policy: redis-sentinel`.
    pub(crate) fn sentinel(config: &RedisSentinel) -> Result<Self, ConfigError> {
        let sentinels = config
            .sentinels
            .iter()
            .map(|(host, port)| ConnectionAddr::Tcp(host.clone(), *port));
        let role = match config.role {
            SentinelRole::Slave => SentinelServerType::Replica,
            _ => SentinelServerType::Master,
        };
        let mut builder = SentinelClientBuilder::new(sentinels, &config.master_name, role)
            .map_err(|e| invalid("redis_sentinels", e.to_string()))?
            .set_client_to_redis_db(database(config.database, "redis_database")?);
        if let Some(user) = &config.username {
            builder = builder.set_client_to_redis_username(user);
        }
        if let Some(password) = &config.password {
            builder = builder.set_client_to_redis_password(password.expose());
        }
        if let Some(user) = &config.sentinel_username {
            builder = builder.set_client_to_sentinel_username(user);
        }
        if let Some(password) = &config.sentinel_password {
            builder = builder.set_client_to_sentinel_password(password.expose());
        }
        let client = builder
            .build()
            .map_err(|e| invalid("redis_sentinels", e.to_string()))?;
        Ok(Self::with_target(
            Target::Sentinel(Box::new(tokio::sync::Mutex::new(client))),
            config.read_timeout_ms,
            config.connect_timeout_ms,
        ))
    }

    /// The counter of `key` as it is.
    pub(crate) async fn peek(&self, key: &str, window: Duration) -> Result<Counter, StoreError> {
        let (consumed, ttl) = self.run(&self.read, key, None).await?;
        Ok(counter(consumed, ttl, window))
    }

    /// Adds `cost` to the counter of `key`, opening a window of `window`.
    pub(crate) async fn charge(
        &self,
        key: &str,
        cost: u64,
        window: Duration,
    ) -> Result<Counter, StoreError> {
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let args = (cost.min(MAX_CHARGE), window_ms.min(MAX_CHARGE));
        let (consumed, ttl) = self.run(&self.charge, key, Some(args)).await?;
        Ok(counter(consumed, ttl, window))
    }

    /// Runs `script` on `key` within the timeout; a failure drops the
    /// connection so the next request opens a new one.
    async fn run(
        &self,
        script: &Script,
        key: &str,
        args: Option<(u64, u64)>,
    ) -> Result<(i64, i64), StoreError> {
        let mut connection = self.connection().await?;
        let mut invocation = script.key(format!("{KEY_PREFIX}{key}"));
        if let Some((a, b)) = args {
            invocation.arg(a).arg(b);
        }
        let call = async {
            match &mut connection {
                Connection::Multiplexed(c) => invoke(&invocation, c).await,
                Connection::Cluster(c) => invoke(&invocation, c).await,
            }
        };
        let result = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => unavailable(&e),
            Err(_) => unavailable(&"no answer within redis_timeout"),
        };
        self.link.lock().await.connection = None;
        Err(result)
    }

    /// The open connection, or a new one (at most one attempt per
    /// [`RETRY_AFTER`]).
    async fn connection(&self) -> Result<Connection, StoreError> {
        let mut link = self.link.lock().await;
        if let Some(c) = &link.connection {
            return Ok(c.clone());
        }
        if link.failed_at.is_some_and(|t| t.elapsed() < RETRY_AFTER) {
            return Err(unavailable(&"not connected; retrying shortly"));
        }
        let opened = tokio::time::timeout(self.connect_timeout, self.open()).await;
        match opened {
            Ok(Ok(c)) => {
                link.failed_at = None;
                link.connection = Some(c.clone());
                Ok(c)
            }
            Ok(Err(e)) => {
                link.failed_at = Some(Instant::now());
                Err(unavailable(&e))
            }
            Err(_) => {
                link.failed_at = Some(Instant::now());
                Err(unavailable(&"no connection within the connect timeout"))
            }
        }
    }

    async fn open(&self) -> redis::RedisResult<Connection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.timeout));
        match &self.target {
            Target::Server(client) => client
                .get_multiplexed_async_connection_with_config(&config)
                .await
                .map(Connection::Multiplexed),
            Target::Cluster(client) => client.get_async_connection().await.map(Connection::Cluster),
            Target::Sentinel(client) => client
                .lock()
                .await
                .get_async_connection_with_config(&config)
                .await
                .map(Connection::Multiplexed),
        }
    }
}

async fn invoke<C: ConnectionLike + Send>(
    invocation: &redis::ScriptInvocation<'_>,
    connection: &mut C,
) -> redis::RedisResult<(i64, i64)> {
    invocation.invoke_async(connection).await
}

/// The counter from what a script answered: a live window when the key
/// has a time to live, else a fresh one.
fn counter(consumed: i64, ttl_ms: i64, window: Duration) -> Counter {
    match u64::try_from(ttl_ms) {
        Ok(ms) if ms > 0 => Counter {
            consumed: u64::try_from(consumed).unwrap_or(0),
            reset: Duration::from_millis(ms).min(window),
        },
        _ => Counter::fresh(window),
    }
}

/// A store error naming the cause (redis errors never carry the password).
fn unavailable(cause: &dyn std::fmt::Display) -> StoreError {
    StoreError::Unavailable {
        reason: format!("redis: {cause}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_without_a_live_window_reads_fresh() {
        let minute = Duration::from_secs(60);
        assert_eq!(counter(0, -2, minute), Counter::fresh(minute));
        assert_eq!(counter(12, -1, minute), Counter::fresh(minute));
        let live = counter(12, 1500, minute);
        assert_eq!(
            (live.consumed, live.reset),
            (12, Duration::from_millis(1500))
        );
    }
}
