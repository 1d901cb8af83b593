//! Active health-check probe descriptions built from `checks.active`.
//!
//! The balancer never sends a probe: it describes one (address, path,
//! headers, timing, thresholds) for a caller that does, and takes the
//! verdicts back through [`crate::Balancer::report_probe`].

use std::time::Duration;

use ai_proxy_core::Registry;
use ai_proxy_core::config::InstanceConfig;
use ai_proxy_core::secret::Secret;
use http::{HeaderMap, HeaderName};
use serde_json::{Map, Value};

use crate::Error;
use crate::health::ProbeThresholds;

/// How a probe talks to the instance (`checks.active.type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProbeKind {
    /// `http` (APISIX's default): plain HTTP GET.
    Http,
    /// `https`: HTTP GET over TLS.
    Https,
    /// `tcp`: connect only.
    Tcp,
}

/// `checks.active.healthy` / `checks.active.unhealthy` timing and statuses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProbeSchedule {
    /// `interval` (s, default 1): time between probes in this state.
    pub interval: Duration,
    /// `http_statuses`: statuses that count for this state.
    pub http_statuses: Vec<u16>,
}

/// One active health check to run, from an instance's `checks.active`.
///
/// Secrets stay [`Secret`]s: [`url`](Self::url) leaves `auth.query` out;
/// [`url_with_secrets`](Self::url_with_secrets) and
/// [`header_map`](Self::header_map) are what the prober sends.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Probe {
    /// The instance name.
    pub instance: String,
    /// `type`.
    pub kind: ProbeKind,
    /// The address to connect to: the endpoint host, else the provider's
    /// host, else `checks.active.host`.
    pub host: String,
    /// `checks.active.port`, else the endpoint port, else the provider's
    /// (443), else 80/443 by [`kind`](Self::kind).
    pub port: u16,
    /// `checks.active.host`: the `Host` header (and SNI) to send.
    pub host_header: Option<String>,
    /// `http_path` (default `/`), without the secret query.
    pub path: String,
    /// `auth.query`, appended to the path when probing.
    pub query: Vec<(String, Secret)>,
    /// `req_headers` (`Name: value`) then `auth.header`, in that order.
    pub headers: Vec<(HeaderName, Secret)>,
    /// `timeout` (s, default 1).
    pub timeout: Duration,
    /// `https_verify_certificate` (default true).
    pub verify_certificate: bool,
    /// `healthy`: interval (default 1 s), statuses (default 200, 302).
    pub healthy: ProbeSchedule,
    /// `unhealthy`: interval (default 1 s), statuses (default 429, 404,
    /// 500, 501, 502, 503, 504, 505).
    pub unhealthy: ProbeSchedule,
    /// `healthy.successes` (default 2): healthy verdicts in a row that put
    /// the instance back.
    pub successes: u32,
    /// `unhealthy.http_failures` (default 5; `tcp_failures`, default 2, for
    /// tcp probes): unhealthy verdicts in a row that take it out.
    pub failures: u32,
    /// `unhealthy.timeouts` (default 3), for callers that count timeouts
    /// apart.
    pub timeouts: u32,
}

impl Probe {
    /// The probe URL without the secret `auth.query` parameters (safe to log).
    pub fn url(&self) -> String {
        let scheme = match self.kind {
            ProbeKind::Https => "https",
            ProbeKind::Http | ProbeKind::Tcp => "http",
        };
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{host}:{}{}", self.port, self.path)
    }

    /// The full probe URL, `auth.query` appended (form-encoded).
    pub fn url_with_secrets(&self) -> Secret {
        let mut url = self.url();
        for (i, (name, value)) in self.query.iter().enumerate() {
            let sep = if i == 0 && !self.path.contains('?') {
                '?'
            } else {
                '&'
            };
            url.push(sep);
            url.extend(url::form_urlencoded::byte_serialize(name.as_bytes()));
            url.push('=');
            url.extend(url::form_urlencoded::byte_serialize(
                value.expose().as_bytes(),
            ));
        }
        Secret::new(url)
    }

    /// The probe headers as sensitive [`http::HeaderValue`]s (plus `Host`
    /// from `checks.active.host`); values that are not valid header values
    /// are left out.
    pub fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        if let Some(host) = self
            .host_header
            .as_deref()
            .and_then(|h| http::HeaderValue::from_str(h).ok())
        {
            map.insert(http::header::HOST, host);
        }
        for (name, value) in &self.headers {
            if let Some(v) = value.to_header_value() {
                map.append(name.clone(), v);
            }
        }
        map
    }

    /// Whether an HTTP probe status means healthy: `Some(true)` for a
    /// `healthy.http_statuses` code, `Some(false)` for an
    /// `unhealthy.http_statuses` code, `None` for neither (no verdict).
    pub fn judge_status(&self, status: u16) -> Option<bool> {
        if self.healthy.http_statuses.contains(&status) {
            Some(true)
        } else if self.unhealthy.http_statuses.contains(&status) {
            Some(false)
        } else {
            None
        }
    }

    pub(crate) fn thresholds(&self) -> ProbeThresholds {
        ProbeThresholds {
            successes: self.successes.max(1),
            failures: self.failures.max(1),
        }
    }
}

struct Fields<'a> {
    index: usize,
    prefix: &'static str,
    map: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn err(&self, field: &str, reason: impl Into<String>) -> Error {
        Error::InvalidCheck {
            index: self.index,
            field: format!("{}{field}", self.prefix),
            reason: reason.into(),
        }
    }

    fn str(&self, field: &str) -> Result<Option<&str>, Error> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err(field, "expected a string")),
        }
    }

    fn bool(&self, field: &str, default: bool) -> Result<bool, Error> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.err(field, "expected true or false")),
        }
    }

    fn uint(&self, field: &str, default: u64, min: u64, max: u64) -> Result<u64, Error> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_u64()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| self.err(field, format!("expected an integer from {min} to {max}"))),
        }
    }

    fn seconds(&self, field: &str, default: f64) -> Result<Duration, Error> {
        let secs = match self.map.get(field) {
            None | Some(Value::Null) => default,
            Some(v) => v.as_f64().unwrap_or(f64::NAN),
        };
        if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 {
            Ok(Duration::from_secs_f64(secs))
        } else {
            Err(self.err(
                field,
                "expected a positive number of seconds (at most 86400)",
            ))
        }
    }

    fn statuses(&self, field: &str, default: &[u16]) -> Result<Vec<u16>, Error> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(default.to_vec()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_u64()
                        .and_then(|n| u16::try_from(n).ok())
                        .filter(|n| (200..=599).contains(n))
                })
                .collect::<Option<Vec<u16>>>()
                .ok_or_else(|| self.err(field, "expected an array of statuses from 200 to 599")),
            Some(_) => Err(self.err(field, "expected an array of statuses from 200 to 599")),
        }
    }

    fn object(&self, field: &'static str, prefix: &'static str) -> Result<Fields<'_>, Error> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        let map = match self.map.get(field) {
            None | Some(Value::Null) => EMPTY.get_or_init(Map::new),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(self.err(field, "expected an object")),
        };
        Ok(Fields {
            index: self.index,
            prefix,
            map,
        })
    }
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The probe for `instance` (1-based `index`), or `None` without `checks`.
/// Without an endpoint host, the probe goes where `registry`'s adapter for
/// the instance's provider says ([`Adapter::health_check_host`]).
///
/// [`Adapter::health_check_host`]: ai_proxy_core::Adapter::health_check_host
pub(crate) fn from_instance(
    index: usize,
    instance: &InstanceConfig,
    registry: &Registry,
) -> Result<Option<Probe>, Error> {
    let Some(checks) = &instance.checks else {
        return Ok(None);
    };
    let active = Fields {
        index,
        prefix: "",
        map: &checks.active,
    };
    let kind = match active.str("type")? {
        None | Some("http") => ProbeKind::Http,
        Some("https") => ProbeKind::Https,
        Some("tcp") => ProbeKind::Tcp,
        Some(_) => return Err(active.err("type", "expected `http`, `https` or `tcp`")),
    };
    let host_header = active.str("host")?.map(str::to_owned);
    let endpoint = instance.upstream.overrides.endpoint.as_ref();
    let provider_host = registry
        .adapter(instance.upstream.provider)
        .and_then(|a| a.health_check_host(instance.upstream.provider_conf.as_ref()));
    let host = endpoint
        .and_then(|e| e.url.host_str())
        .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
        .or_else(|| provider_host.as_deref().map(str::to_owned))
        .or_else(|| host_header.clone())
        .ok_or_else(|| Error::ProbeWithoutHost {
            index,
            name: instance.name.clone(),
        })?;
    let default_port = endpoint
        .and_then(|e| e.url.port_or_known_default())
        .unwrap_or(match (kind, &provider_host) {
            (_, Some(_)) | (ProbeKind::Https, None) => 443,
            _ => 80,
        });
    let port = u16::try_from(active.uint("port", u64::from(default_port), 1, 65_535)?)
        .unwrap_or(default_port);
    let mut path = active.str("http_path")?.unwrap_or("/").to_owned();
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    let mut headers = Vec::new();
    match checks.active.get("req_headers") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let parsed = item.as_str().and_then(|line| {
                    let (name, value) = line.split_once(':')?;
                    let name = HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
                    Some((name, Secret::new(value.trim())))
                });
                headers.push(parsed.ok_or_else(|| {
                    active.err("req_headers", "expected strings of the form `Name: value`")
                })?);
            }
        }
        Some(_) => {
            return Err(active.err("req_headers", "expected an array of `Name: value` strings"));
        }
    }
    headers.extend(instance.upstream.auth.header.iter().cloned());
    let healthy = active.object("healthy", "healthy.")?;
    let unhealthy = active.object("unhealthy", "unhealthy.")?;
    let failures = match kind {
        ProbeKind::Tcp => unhealthy.uint("tcp_failures", 2, 1, 254)?,
        ProbeKind::Http | ProbeKind::Https => unhealthy.uint("http_failures", 5, 1, 254)?,
    };
    Ok(Some(Probe {
        instance: instance.name.clone(),
        kind,
        host,
        port,
        host_header,
        path,
        query: instance.upstream.auth.query.clone(),
        headers,
        timeout: active.seconds("timeout", 1.0)?,
        verify_certificate: active.bool("https_verify_certificate", true)?,
        healthy: ProbeSchedule {
            interval: healthy.seconds("interval", 1.0)?,
            http_statuses: healthy.statuses("http_statuses", &[200, 302])?,
        },
        unhealthy: ProbeSchedule {
            interval: unhealthy.seconds("interval", 1.0)?,
            http_statuses: unhealthy
                .statuses("http_statuses", &[429, 404, 500, 501, 502, 503, 504, 505])?,
        },
        successes: to_u32(healthy.uint("successes", 2, 1, 254)?),
        failures: to_u32(failures),
        timeouts: to_u32(unhealthy.uint("timeouts", 3, 1, 254)?),
    }))
}
