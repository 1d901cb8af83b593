//! The Google access-token cache, sans-IO: APISIX's TTL rule and key, with
//! time passed in.
//!
//! The caller owns the fetching (see the `gcp-auth` feature's
//! `GcpTokenSource`, or any other source): ask [`TokenCache::get`] first;
//! on `None` fetch a token and [`store`](TokenCache::store) it with the
//! `expires_in` the token endpoint returned.
//!
//! TTL rule (APISIX `fetch_gcp_access_token`): `ttl = expires_in` (3600 s
//! when the endpoint gave none); if `ttl > expire_early_secs` then
//! `ttl -= expire_early_secs`; then if `max_ttl` is set and `ttl > max_ttl`
//! then `ttl = max_ttl`. A token is served while `now < stored_at + ttl`.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use ai_proxy_core::Secret;
use ai_proxy_core::config::GcpAuth;

use crate::VertexError;

/// `expires_in` when the token endpoint does not say (APISIX's default).
pub const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(3600);

/// How many tokens a [`TokenCache`] holds by default (APISIX's
/// `lrucache.new(1024 * 4)`).
pub const DEFAULT_CAPACITY: usize = 4096;

/// How long a token fetched now may be cached: `expires_in` (default 3600 s)
/// minus `expire_early_secs` when it is longer than that, capped by
/// `max_ttl`.
///
/// ```
/// use std::time::Duration;
/// use ai_proxy_vertex::token::cache_ttl;
/// let s = Duration::from_secs;
/// assert_eq!(cache_ttl(None, 60, None), s(3540));
/// assert_eq!(cache_ttl(Some(s(5)), 60, None), s(5)); // shorter than expire_early: kept
/// assert_eq!(cache_ttl(Some(s(10)), 0, Some(8)), s(8)); // capped by max_ttl
/// ```
pub fn cache_ttl(
    expires_in: Option<Duration>,
    expire_early_secs: u64,
    max_ttl: Option<u64>,
) -> Duration {
    let mut ttl = expires_in.unwrap_or(DEFAULT_EXPIRES_IN);
    let early = Duration::from_secs(expire_early_secs);
    if ttl > early {
        ttl -= early;
    }
    if let Some(max) = max_ttl.map(Duration::from_secs)
        && ttl > max
    {
        ttl = max;
    }
    ttl
}

/// Which cache entry a token belongs to, as in APISIX: the service-account
/// JSON, `expire_early_secs`, `max_ttl` and the instance name
/// (`ai-proxy-<provider>` or the `ai-proxy-multi` instance name). The same
/// credentials under a different `max_ttl` are a different entry.
///
/// The service-account JSON is kept whole (a [`Secret`], compared in
/// constant time) rather than hashed, so two different accounts can never
/// share a token. `Debug` prints it as `<redacted>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenCacheKey {
    service_account_json: Secret,
    expire_early_secs: u64,
    max_ttl: Option<u64>,
    instance: String,
}

impl TokenCacheKey {
    /// The key for `instance` using `service_account_json` (the resolved
    /// one: `auth.gcp.service_account_json`, or the `GCP_SERVICE_ACCOUNT`
    /// value the caller read) and the TTL settings of `gcp`.
    pub fn new(service_account_json: Secret, gcp: &GcpAuth, instance: impl Into<String>) -> Self {
        Self::from_parts(
            service_account_json,
            gcp.expire_early_secs,
            gcp.max_ttl,
            instance,
        )
    }

    /// The key from its parts.
    pub fn from_parts(
        service_account_json: Secret,
        expire_early_secs: u64,
        max_ttl: Option<u64>,
        instance: impl Into<String>,
    ) -> Self {
        Self {
            service_account_json,
            expire_early_secs,
            max_ttl,
            instance: instance.into(),
        }
    }

    /// `auth.gcp.expire_early_secs`.
    pub fn expire_early_secs(&self) -> u64 {
        self.expire_early_secs
    }

    /// `auth.gcp.max_ttl`.
    pub fn max_ttl(&self) -> Option<u64> {
        self.max_ttl
    }

    /// The instance name.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// How long a token fetched for this key may be cached.
    pub fn ttl(&self, expires_in: Option<Duration>) -> Duration {
        cache_ttl(expires_in, self.expire_early_secs, self.max_ttl)
    }
}

impl Hash for TokenCacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.service_account_json.expose().hash(state);
        self.expire_early_secs.hash(state);
        self.max_ttl.hash(state);
        self.instance.hash(state);
    }
}

#[derive(Clone, Debug)]
struct Entry {
    token: Secret,
    /// `None`: `now + ttl` does not fit in an `Instant` (never expires).
    expires_at: Option<Instant>,
    /// Recency stamp for eviction (higher = used later).
    used: u64,
}

impl Entry {
    fn is_fresh(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }
}

/// Access tokens by [`TokenCacheKey`], each valid until its TTL runs out,
/// at most [`capacity`](Self::capacity) of them (the least recently used is
/// evicted first, after any expired ones).
///
/// Pure: no clock, no I/O; every call takes `now` from the caller. Put it
/// behind a `Mutex` to share it; do not hold the lock across a fetch.
///
/// ```
/// use std::time::{Duration, Instant};
/// use ai_proxy_core::Secret;
/// use ai_proxy_vertex::token::{TokenCache, TokenCacheKey};
///
/// let key = TokenCacheKey::from_parts(Secret::new("{…}"), 60, None, "ai-proxy-vertex-ai");
/// let mut cache = TokenCache::new();
/// let t0 = Instant::now();
/// assert!(cache.needs_refresh(&key, t0));
///
/// // Fetched a token that lives 3600 s: cached for 3600 - 60 s.
/// let ttl = cache.store(key.clone(), Secret::new("ya29.token"), Some(Duration::from_secs(3600)), t0);
/// assert_eq!(ttl, Duration::from_secs(3540));
/// assert_eq!(cache.get(&key, t0 + Duration::from_secs(3539)).map(Secret::expose), Some("ya29.token"));
/// assert!(cache.get(&key, t0 + Duration::from_secs(3540)).is_none());
/// ```
#[derive(Clone, Debug)]
pub struct TokenCache {
    entries: HashMap<TokenCacheKey, Entry>,
    capacity: usize,
    clock: u64,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenCache {
    /// An empty cache holding up to [`DEFAULT_CAPACITY`] tokens.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// An empty cache holding up to `capacity` tokens (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            capacity: capacity.max(1),
            clock: 0,
        }
    }

    /// How many tokens the cache holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many tokens are stored (expired ones included until evicted).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The token for `key` if one is stored and still fresh at `now`.
    /// Marks it recently used.
    pub fn get(&mut self, key: &TokenCacheKey, now: Instant) -> Option<&Secret> {
        self.clock += 1;
        let clock = self.clock;
        let entry = self.entries.get_mut(key).filter(|e| e.is_fresh(now))?;
        entry.used = clock;
        Some(&entry.token)
    }

    /// Whether a token must be fetched for `key` at `now` (none stored, or
    /// the stored one has expired).
    pub fn needs_refresh(&self, key: &TokenCacheKey, now: Instant) -> bool {
        !self.entries.get(key).is_some_and(|e| e.is_fresh(now))
    }

    /// When the token for `key` stops being served (`None` when there is
    /// none, or it never expires).
    pub fn expires_at(&self, key: &TokenCacheKey) -> Option<Instant> {
        self.entries.get(key).and_then(|e| e.expires_at)
    }

    /// Stores `token`, fetched at `now` and valid for `expires_in` (as the
    /// token endpoint said; `None` = 3600 s), under the TTL rule. Returns
    /// the TTL applied. A zero TTL stores nothing (the token would never be
    /// served).
    pub fn store(
        &mut self,
        key: TokenCacheKey,
        token: Secret,
        expires_in: Option<Duration>,
        now: Instant,
    ) -> Duration {
        let ttl = key.ttl(expires_in);
        if ttl.is_zero() {
            self.entries.remove(&key);
            return ttl;
        }
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.evict(now);
        }
        self.clock += 1;
        let entry = Entry {
            token,
            expires_at: now.checked_add(ttl),
            used: self.clock,
        };
        self.entries.insert(key, entry);
        ttl
    }

    /// Forgets the token for `key` (e.g. after the upstream answered 401
    /// with it).
    pub fn remove(&mut self, key: &TokenCacheKey) -> Option<Secret> {
        self.entries.remove(key).map(|e| e.token)
    }

    /// Drops every token that has expired at `now`.
    pub fn purge_expired(&mut self, now: Instant) {
        self.entries.retain(|_, e| e.is_fresh(now));
    }

    /// Makes room for one entry: expired entries first, else the least
    /// recently used one.
    fn evict(&mut self, now: Instant) {
        self.purge_expired(now);
        if self.entries.len() < self.capacity {
            return;
        }
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, e)| e.used)
            .map(|(k, _)| k.clone());
        if let Some(oldest) = oldest {
            self.entries.remove(&oldest);
        }
    }
}

/// APISIX's config-time check on `auth.gcp.service_account_json`: it must
/// be JSON (we also require an object, as a key file is). The error names
/// the parse failure by kind and position only, never the content.
///
/// ```
/// use ai_proxy_core::Secret;
/// use ai_proxy_vertex::token::validate_service_account_json;
/// assert!(validate_service_account_json(&Secret::new(r#"{"type":"service_account"}"#)).is_ok());
/// let err = validate_service_account_json(&Secret::new(r#"{"private_key": "-----BEGIN"#)).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid gcp service_account_json: EOF while parsing a string at line 1 column 27; \
///      give the service account key file's JSON text"
/// );
/// ```
pub fn validate_service_account_json(service_account_json: &Secret) -> Result<(), VertexError> {
    let text = service_account_json.expose();
    match crate::json::pick(text, &[]) {
        Ok(Some([])) => Ok(()),
        Ok(None) => Err(VertexError::InvalidServiceAccountJson {
            reason: "expected a JSON object".to_owned(),
        }),
        Err(e) => Err(VertexError::InvalidServiceAccountJson {
            reason: describe_json_error(&e),
        }),
    }
}

/// A serde_json error as `<what> at line L column C`, built from its
/// category and position so no input text can leak into it.
pub(crate) fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        // Syntax/EOF messages are fixed strings naming the grammar rule.
        Category::Syntax | Category::Eof => {
            let full = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            return match full.strip_suffix(&suffix) {
                Some(what) if !what.contains('"') && !what.contains('`') => full,
                _ => format!("invalid JSON{suffix}"),
            };
        }
        Category::Data => "unexpected JSON value",
        Category::Io => "invalid UTF-8",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

#[cfg(test)]
mod tests;
