//! The validated configuration types.
//!
//! These are what [`super`]'s parsers produce after every check has passed:
//! field names follow APISIX, defaults are filled in, credentials are
//! [`Secret`]s and the endpoint is a parsed URL. Build them by parsing
//! (`AiProxyConfig::from_json`, …) or, in tests, by struct literal.

use http::HeaderName;
use serde_json::value::RawValue;
use url::Url;

use crate::protocol::Protocol;
use crate::provider::Provider;
use crate::secret::Secret;

/// APISIX default for `timeout` (ms).
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// APISIX maximum for `timeout` (ms).
pub const MAX_TIMEOUT_MS: u64 = 600_000;
/// APISIX default for `keepalive_timeout` (ms).
pub const DEFAULT_KEEPALIVE_TIMEOUT_MS: u64 = 60_000;
/// APISIX minimum for `keepalive_timeout` (ms).
pub const MIN_KEEPALIVE_TIMEOUT_MS: u64 = 1_000;
/// APISIX default for `keepalive_pool`.
pub const DEFAULT_KEEPALIVE_POOL: u64 = 30;
/// APISIX default for `max_req_body_size` (bytes, 64 MiB).
pub const DEFAULT_MAX_REQ_BODY_SIZE: u64 = 67_108_864;
/// APISIX default for `streaming_flush_interval_ms`.
pub const DEFAULT_STREAMING_FLUSH_INTERVAL_MS: u64 = 10;
/// APISIX default for `auth.gcp.expire_early_secs`.
pub const DEFAULT_GCP_EXPIRE_EARLY_SECS: u64 = 60;

/// One `ai-proxy` plugin configuration.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AiProxyConfig {
    /// Which provider to call and how (provider, auth, options, override,
    /// provider_conf).
    pub upstream: UpstreamConfig,
    /// `logging`.
    pub logging: Logging,
    /// `timeout`, `keepalive*`, `ssl_verify`: hints for the caller's client.
    pub transport: Transport,
    /// Body and stream limits.
    pub limits: Limits,
}

/// One `ai-proxy-multi` plugin configuration.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AiProxyMultiConfig {
    /// `balancer`.
    pub balancer: BalancerConfig,
    /// `instances` (at least one; names unique).
    pub instances: Vec<InstanceConfig>,
    /// `fallback_strategy`, string or array form, normalised.
    pub fallback_strategy: FallbackStrategy,
    /// `fallback_http_statuses`: extra statuses (400..=599) that fall back.
    pub fallback_http_statuses: Vec<u16>,
    /// `max_retries`: `None` = until every instance was tried.
    pub max_retries: Option<u32>,
    /// `retry_on_failure_within_ms`: no retry once an attempt took longer.
    pub retry_on_failure_within_ms: Option<u64>,
    /// `logging`.
    pub logging: Logging,
    /// `timeout`, `keepalive*`, `ssl_verify`.
    pub transport: Transport,
    /// Body and stream limits.
    pub limits: Limits,
}

/// What an `ai-proxy` config, or one `ai-proxy-multi` instance, calls.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct UpstreamConfig {
    /// `provider`.
    pub provider: Provider,
    /// `auth`.
    pub auth: Auth,
    /// `options`.
    pub options: Options,
    /// `override`.
    pub overrides: Overrides,
    /// `provider_conf`.
    pub provider_conf: Option<ProviderConf>,
}

/// `auth`.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Auth {
    /// `auth.header`: names lowercased, in config order.
    pub header: Vec<(HeaderName, Secret)>,
    /// `auth.query`: appended as URL query parameters, in config order.
    pub query: Vec<(String, Secret)>,
    /// `auth.gcp`: present (possibly empty) turns on Google access tokens.
    pub gcp: Option<GcpAuth>,
    /// `auth.aws`: the key pair Bedrock requests are signed with (SigV4).
    pub aws: Option<AwsAuth>,
}

/// `auth.aws` (bedrock), also the credentials SigV4 signs with
/// (`ai_proxy_bedrock::sigv4::AwsCredentials`). Every part is a [`Secret`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AwsAuth {
    /// `access_key_id` (required, non-empty).
    pub access_key_id: Secret,
    /// `secret_access_key` (required, non-empty).
    pub secret_access_key: Secret,
    /// `session_token` of temporary (STS) credentials.
    pub session_token: Option<Secret>,
}

impl AwsAuth {
    /// `auth.aws` from its parts.
    pub fn new(
        access_key_id: impl Into<Secret>,
        secret_access_key: impl Into<Secret>,
        session_token: Option<Secret>,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token,
        }
    }
}

/// `auth.gcp`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GcpAuth {
    /// `service_account_json`; when absent the caller may read
    /// `GCP_SERVICE_ACCOUNT` (never read by this crate).
    pub service_account_json: Option<Secret>,
    /// `max_ttl` (s): cap on how long a token is cached.
    pub max_ttl: Option<u64>,
    /// `expire_early_secs` (s, default 60): refresh this long before expiry.
    pub expire_early_secs: u64,
}

impl Default for GcpAuth {
    fn default() -> Self {
        Self {
            service_account_json: None,
            max_ttl: None,
            expire_early_secs: DEFAULT_GCP_EXPIRE_EARLY_SECS,
        }
    }
}

/// `options`: top-level body fields that overwrite the client's.
///
/// `fields` is authoritative: every key in config order with its JSON text
/// exactly as configured, including the typed ones below (which are
/// convenience views, already type-checked).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Options {
    /// `options.model`.
    pub model: Option<String>,
    /// `options.temperature`.
    pub temperature: Option<f64>,
    /// `options.top_p`.
    pub top_p: Option<f64>,
    /// `options.max_tokens` (≥ 1).
    pub max_tokens: Option<u64>,
    /// `options.stream`.
    pub stream: Option<bool>,
    /// Every option, `(key, raw JSON value)`, in config order.
    pub fields: Vec<(String, Box<RawValue>)>,
}

impl PartialEq for Options {
    fn eq(&self, other: &Self) -> bool {
        self.model == other.model
            && self.temperature == other.temperature
            && self.top_p == other.top_p
            && self.max_tokens == other.max_tokens
            && self.stream == other.stream
            && self.fields.len() == other.fields.len()
            && self
                .fields
                .iter()
                .zip(&other.fields)
                .all(|((ka, va), (kb, vb))| ka == kb && va.get() == vb.get())
    }
}

impl Options {
    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// `override`.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Overrides {
    /// `override.endpoint`.
    pub endpoint: Option<Endpoint>,
    /// `override.llm_options`.
    pub llm_options: LlmOptions,
    /// `override.request_body`: per *target* protocol, a JSON object deep-merged
    /// into the outgoing body.
    pub request_body: Vec<(Protocol, serde_json::Map<String, serde_json::Value>)>,
    /// `override.request_body_force_override` (default false): patch values
    /// replace client values instead of filling only absent ones.
    pub request_body_force_override: bool,
}

/// `override.llm_options`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LlmOptions {
    /// `max_tokens` (≥ 1), mapped per provider/protocol to the right field.
    pub max_tokens: Option<u64>,
}

/// `override.endpoint`, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoint {
    /// The parsed absolute `http`/`https` URL.
    pub url: Url,
    /// Whether the configured string had a path (even a bare `/`). `url`
    /// always has one, so this keeps APISIX's rule: no path → the provider's
    /// default path is used; any path → used verbatim.
    pub has_path: bool,
}

/// `provider_conf` (Vertex AI's project and region, Bedrock's region).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderConf {
    /// `project_id`.
    pub project_id: Option<String>,
    /// `region`.
    pub region: Option<String>,
}

/// `logging`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Logging {
    /// `summaries` (default false): log model, duration, tokens.
    pub summaries: bool,
    /// `payloads` (default false): log request messages and response text.
    pub payloads: bool,
}

/// Transport settings the caller's HTTP client should honour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transport {
    /// `timeout` (ms, default 30000, 1..=600000): per connect/send/read.
    pub timeout_ms: u64,
    /// `keepalive` (default true).
    pub keepalive: bool,
    /// `keepalive_timeout` (ms, default 60000, ≥ 1000).
    pub keepalive_timeout_ms: u64,
    /// `keepalive_pool` (default 30, ≥ 1).
    pub keepalive_pool: u64,
    /// `ssl_verify` (default true).
    pub ssl_verify: bool,
}

impl Default for Transport {
    fn default() -> Self {
        Self {
            timeout_ms: DEFAULT_TIMEOUT_MS,
            keepalive: true,
            keepalive_timeout_ms: DEFAULT_KEEPALIVE_TIMEOUT_MS,
            keepalive_pool: DEFAULT_KEEPALIVE_POOL,
            ssl_verify: true,
        }
    }
}

/// Body and stream limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// `max_req_body_size` (bytes, default 64 MiB): larger requests get 413.
    pub max_req_body_size: u64,
    /// `max_stream_duration_ms` (≥ 1): streams are cut after this long.
    pub max_stream_duration_ms: Option<u64>,
    /// `max_response_bytes` (≥ 1): responses are cut (502) past this size.
    pub max_response_bytes: Option<u64>,
    /// `streaming_flush_interval_ms` (default 10; 0 = flush every chunk).
    pub streaming_flush_interval_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_req_body_size: DEFAULT_MAX_REQ_BODY_SIZE,
            max_stream_duration_ms: None,
            max_response_bytes: None,
            streaming_flush_interval_ms: DEFAULT_STREAMING_FLUSH_INTERVAL_MS,
        }
    }
}

/// One entry of `ai-proxy-multi`'s `instances`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct InstanceConfig {
    /// `name` (1..=100 chars, unique).
    pub name: String,
    /// `priority` (default 0; higher groups are tried first).
    pub priority: i64,
    /// `weight` (≥ 0; 0 is never picked by round robin).
    pub weight: u32,
    /// provider, auth, options, override, provider_conf.
    pub upstream: UpstreamConfig,
    /// `checks` (its `active` object is required when present).
    pub checks: Option<HealthChecks>,
}

/// `instances[].checks`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct HealthChecks {
    /// `checks.active`, kept as configured (APISIX's health-checker schema)
    /// for a caller that runs active probes.
    pub active: serde_json::Map<String, serde_json::Value>,
}

/// `balancer`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BalancerConfig {
    /// `algorithm` (default roundrobin).
    pub algorithm: Algorithm,
    /// `hash_on` (default vars), used by chash.
    pub hash_on: HashOn,
    /// `key`: the variable, header or cookie name hashed by chash.
    pub key: Option<String>,
}

/// `balancer.algorithm`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Algorithm {
    /// `roundrobin`: smooth weighted round robin.
    #[default]
    RoundRobin,
    /// `chash`: consistent hashing on `hash_on` + `key`.
    Chash,
}

/// `balancer.hash_on`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashOn {
    /// `vars`: an nginx-style variable named by `key`.
    #[default]
    Vars,
    /// `header`: the request header named by `key`.
    Header,
    /// `cookie`: the cookie named by `key`.
    Cookie,
    /// `consumer`: the authenticated consumer's name.
    Consumer,
    /// `vars_combinations`: a template of variables in `key`.
    VarsCombinations,
}

/// `fallback_strategy`, normalised from its string or array form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FallbackStrategy {
    /// `instance_health_and_rate_limiting` (string form): skip unhealthy and
    /// rate-limited instances when picking.
    pub instance_health: bool,
    /// `rate_limiting` (array form) or the string form above: skip
    /// instances the caller reports rate-limited.
    pub rate_limiting: bool,
    /// `http_429`: retry another instance on 429.
    pub http_429: bool,
    /// `http_5xx`: retry another instance on any 5xx.
    pub http_5xx: bool,
}
