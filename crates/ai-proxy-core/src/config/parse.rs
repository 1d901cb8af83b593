//! Validation of the APISIX plugin JSON into the [`model`](super::model)
//! types.
//!
//! Configs are small, so they are read into a `serde_json::Value` first and
//! walked by hand: that is what lets every problem carry its JSON path and
//! lets all of them be reported at once, instead of serde's first-error-wins.

use http::HeaderName;
use serde_json::{Map, Value};
use url::Url;

use super::error::{ConfigError, ConfigErrorKind, join};
use super::model::*;
use crate::protocol::Protocol;
use crate::provider::Provider;
use crate::secret::Secret;

/// Top-level fields of `ai-proxy`.
const AI_PROXY_FIELDS: &[&str] = &[
    "provider",
    "provider_conf",
    "auth",
    "options",
    "override",
    "logging",
    "timeout",
    "keepalive",
    "keepalive_timeout",
    "keepalive_pool",
    "ssl_verify",
    "max_req_body_size",
    "max_stream_duration_ms",
    "max_response_bytes",
    "streaming_flush_interval_ms",
    "_meta",
];

/// Top-level fields of `ai-proxy-multi`.
const AI_PROXY_MULTI_FIELDS: &[&str] = &[
    "balancer",
    "instances",
    "fallback_strategy",
    "fallback_http_statuses",
    "max_retries",
    "retry_on_failure_within_ms",
    "logging",
    "timeout",
    "keepalive",
    "keepalive_timeout",
    "keepalive_pool",
    "ssl_verify",
    "max_req_body_size",
    "max_stream_duration_ms",
    "max_response_bytes",
    "streaming_flush_interval_ms",
    "_meta",
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

/// Header names `auth.header` may not set: the gateway owns them.
const RESERVED_AUTH_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
];

/// Collects errors while walking one plugin object.
#[derive(Default)]
pub(crate) struct Validator {
    pub(crate) errors: Vec<ConfigError>,
}

impl Validator {
    fn push(&mut self, path: &str, kind: ConfigErrorKind, message: impl Into<String>) {
        self.errors.push(ConfigError::new(path, kind, message));
    }

    fn type_error(&mut self, path: &str, expected: &str, got: &Value) {
        self.push(
            path,
            ConfigErrorKind::Type,
            format!("must be {expected}, got {}", type_name(got)),
        );
    }

    fn invalid(&mut self, path: &str, message: impl Into<String>) {
        self.push(path, ConfigErrorKind::Invalid, message);
    }

    /// Reports every key of `map` not in `allowed`, suggesting the closest
    /// allowed name for likely typos.
    fn unknown_fields(&mut self, map: &Map<String, Value>, path: &str, allowed: &[&str]) {
        for key in map.keys() {
            if allowed.contains(&key.as_str()) {
                continue;
            }
            let message = match closest(key, allowed.iter().copied()) {
                Some(best) => format!("unknown field `{key}`, did you mean `{best}`?"),
                None => format!(
                    "unknown field `{key}`, expected one of: {}",
                    allowed
                        .iter()
                        .filter(|f| !f.starts_with('_'))
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.push(&join(path, key), ConfigErrorKind::UnknownField, message);
        }
    }

    fn object<'a>(&mut self, value: &'a Value, path: &str) -> Option<&'a Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            other => {
                self.type_error(path, "an object", other);
                None
            }
        }
    }

    /// An optional object field.
    fn opt_object<'a>(
        &mut self,
        map: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a Map<String, Value>> {
        map.get(key).and_then(|v| self.object(v, &join(path, key)))
    }

    fn bool_field(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        path: &str,
        default: bool,
    ) -> bool {
        match map.get(key) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.type_error(&join(path, key), "a boolean", other);
                default
            }
        }
    }

    /// An optional integer in `min..=max`.
    fn int_field(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        path: &str,
        min: u64,
        max: u64,
    ) -> Option<u64> {
        let value = map.get(key)?;
        let path = join(path, key);
        let n = self.integer(value, &path)?;
        if n < i128::from(min) {
            self.invalid(&path, format!("must be ≥ {min}, got {n}"));
            return None;
        }
        if n > i128::from(max) {
            self.invalid(&path, format!("must be ≤ {max}, got {n}"));
            return None;
        }
        u64::try_from(n).ok()
    }

    /// Any JSON integer (also `3.0`, which JSON Schema counts as one).
    fn integer(&mut self, value: &Value, path: &str) -> Option<i128> {
        if let Value::Number(n) = value {
            if let Some(i) = n.as_i64() {
                return Some(i128::from(i));
            }
            if let Some(u) = n.as_u64() {
                return Some(i128::from(u));
            }
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                // Exact: |f| < 2^53.
                #[allow(clippy::cast_possible_truncation)]
                return Some(f as i128);
            }
        }
        self.type_error(path, "an integer", value);
        None
    }

    fn string<'a>(&mut self, value: &'a Value, path: &str) -> Option<&'a str> {
        match value {
            Value::String(s) => Some(s),
            other => {
                self.type_error(path, "a string", other);
                None
            }
        }
    }

    /// An optional non-empty string field.
    fn nonempty_string_field<'a>(
        &mut self,
        map: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a str> {
        let path = join(path, key);
        let s = self.string(map.get(key)?, &path)?;
        if s.is_empty() {
            self.invalid(&path, "must not be empty");
            return None;
        }
        Some(s)
    }
}

/// The JSON type name of a value, for messages (never its content).
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The candidate closest to `word` by edit distance, if close enough to be a
/// likely typo (distance ≤ 1 for short words, ≤ 2, and at most a third of
/// the word).
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    // A shared stem of 5+ characters (`summary` / `summaries`) is a typo too.
    let stem = |c: &str| {
        let common = word
            .chars()
            .zip(c.chars())
            .take_while(|(a, b)| a == b)
            .count();
        common >= 5
    };
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= limit || stem(c))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance (Levenshtein plus adjacent swaps).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        if let Some(c) = d.get_mut(at(i, 0)) {
            *c = i;
        }
    }
    for j in 0..=b.len() {
        if let Some(c) = d.get_mut(at(0, j)) {
            *c = j;
        }
    }
    for (i, ca) in a.iter().enumerate() {
        for (j, cb) in b.iter().enumerate() {
            let (i1, j1) = (i + 1, j + 1);
            let cost = usize::from(ca != cb);
            let get = |i: usize, j: usize| d.get(at(i, j)).copied().unwrap_or(usize::MAX / 2);
            let mut best = (get(i, j1) + 1).min(get(i1, j) + 1).min(get(i, j) + cost);
            if i > 0 && j > 0 && a.get(i) == b.get(j - 1) && a.get(i - 1) == b.get(j) {
                best = best.min(get(i - 1, j - 1) + 1);
            }
            if let Some(c) = d.get_mut(at(i1, j1)) {
                *c = best;
            }
        }
    }
    d.get(at(a.len(), b.len())).copied().unwrap_or(usize::MAX)
}

/// Validates an `ai-proxy` plugin object.
pub(crate) fn ai_proxy(value: &Value, v: &mut Validator) -> Option<AiProxyConfig> {
    let map = v.object(value, "")?;
    v.unknown_fields(map, "", AI_PROXY_FIELDS);
    let target = target(map, "", false, v);
    let logging = logging(map, "", v);
    let transport = transport(map, "", v);
    let limits = limits(map, "", v);
    meta(map, "", v);
    Some(AiProxyConfig {
        target: target?,
        logging,
        transport,
        limits,
    })
}

/// Validates an `ai-proxy-multi` plugin object.
pub(crate) fn ai_proxy_multi(value: &Value, v: &mut Validator) -> Option<AiProxyMultiConfig> {
    let map = v.object(value, "")?;
    v.unknown_fields(map, "", AI_PROXY_MULTI_FIELDS);
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

/// `_meta` is APISIX's per-plugin common field (disable, priority, filter…);
/// it is accepted and not interpreted here.
fn meta(map: &Map<String, Value>, path: &str, v: &mut Validator) {
    let _ = v.opt_object(map, "_meta", path);
}

/// provider, auth, options, override, provider_conf — shared by `ai-proxy`
/// and each `ai-proxy-multi` instance.
fn target(
    map: &Map<String, Value>,
    path: &str,
    multi_instance: bool,
    v: &mut Validator,
) -> Option<TargetConfig> {
    let provider = provider(map, path, v);
    let auth = match map.get("auth") {
        Some(value) => auth(value, &join(path, "auth"), v),
        None => {
            v.push(
                &join(path, "auth"),
                ConfigErrorKind::Missing,
                "is required (use `{}` when the provider needs no credentials)",
            );
            None
        }
    };
    let options = options(map, path, v);
    let overrides = overrides(map, path, multi_instance, v);
    let provider_conf = provider_conf(map, path, v);

    // An endpoint that is present but invalid was reported already.
    let has_endpoint = map
        .get("override")
        .and_then(|o| o.get("endpoint"))
        .is_some();
    // Cross-field rules: APISIX would only fail at request time.
    if !has_endpoint {
        match provider.unwrap_or(Provider::OpenAi) {
            Provider::AzureOpenAi => v.push(
                &join(path, "override.endpoint"),
                ConfigErrorKind::Missing,
                "azure-openai needs override.endpoint (the deployment URL, e.g. \
                 https://RESOURCE.openai.azure.com/openai/deployments/DEPLOYMENT/chat/completions?api-version=2024-10-21); \
                 it has no default host",
            ),
            Provider::OpenAiCompatible => v.push(
                &join(path, "override.endpoint"),
                ConfigErrorKind::Missing,
                "openai-compatible needs override.endpoint (the server's URL); it has no default host",
            ),
            Provider::VertexAi => {
                let complete = provider_conf
                    .as_ref()
                    .is_some_and(|c| c.project_id.is_some() && c.region.is_some());
                if !complete {
                    v.push(
                        &join(path, "provider_conf"),
                        ConfigErrorKind::Missing,
                        "vertex-ai needs project_id and region, or override.endpoint",
                    );
                }
            }
            _ => {}
        }
    }
    let (provider, auth, overrides, options) = (provider?, auth?, overrides?, options?);
    Some(TargetConfig {
        provider,
        auth,
        options,
        overrides,
        provider_conf,
    })
}

fn provider(map: &Map<String, Value>, path: &str, v: &mut Validator) -> Option<Provider> {
    let path = join(path, "provider");
    let Some(value) = map.get("provider") else {
        v.push(
            &path,
            ConfigErrorKind::Missing,
            format!(
                "is required, one of: {}",
                supported_provider_names().join(", ")
            ),
        );
        return None;
    };
    let name = v.string(value, &path)?;
    match name.parse::<Provider>() {
        Ok(p) if p.is_supported() => Some(p),
        Ok(p) => {
            v.push(
                &path,
                ConfigErrorKind::Unsupported,
                format!(
                    "provider `{p}` is valid in APISIX but not supported yet by this library; \
                     supported: {}",
                    supported_provider_names().join(", ")
                ),
            );
            None
        }
        Err(_) => {
            let names = supported_provider_names();
            let message = match closest(name, names.iter().copied()) {
                Some(best) => format!("unknown provider `{name}`, did you mean `{best}`?"),
                None => format!(
                    "unknown provider `{name}`, expected one of: {}",
                    names.join(", ")
                ),
            };
            v.invalid(&path, message);
            None
        }
    }
}

fn supported_provider_names() -> Vec<&'static str> {
    Provider::ALL
        .iter()
        .filter(|p| p.is_supported())
        .map(|p| p.as_str())
        .collect()
}

fn auth(value: &Value, path: &str, v: &mut Validator) -> Option<Auth> {
    let map = v.object(value, path)?;
    v.unknown_fields(map, path, &["header", "query", "gcp", "aws"]);
    let mut ok = true;
    let mut auth = Auth::default();
    if let Some(header) = v.opt_object(map, "header", path) {
        let hpath = join(path, "header");
        for (name, value) in header {
            let p = join(&hpath, name);
            let Some(secret) = auth_item(name, value, &p, v) else {
                ok = false;
                continue;
            };
            let Ok(header_name) = HeaderName::from_bytes(name.as_bytes()) else {
                v.invalid(&p, "is not a valid HTTP header name");
                ok = false;
                continue;
            };
            if RESERVED_AUTH_HEADERS.contains(&header_name.as_str()) {
                v.invalid(
                    &p,
                    format!(
                        "`{}` cannot be set through auth.header: the gateway sets it",
                        header_name.as_str()
                    ),
                );
                ok = false;
                continue;
            }
            if secret.to_header_value().is_none() {
                // The value itself is a credential: never echo it.
                v.invalid(
                    &p,
                    "value is not a valid HTTP header value (control characters or line breaks)",
                );
                ok = false;
                continue;
            }
            auth.header.push((header_name, secret));
        }
    }
    if let Some(query) = v.opt_object(map, "query", path) {
        let qpath = join(path, "query");
        for (name, value) in query {
            match auth_item(name, value, &join(&qpath, name), v) {
                Some(secret) => auth.query.push((name.clone(), secret)),
                None => ok = false,
            }
        }
    }
    if let Some(gcp) = v.opt_object(map, "gcp", path) {
        auth.gcp = gcp_auth(gcp, &join(path, "gcp"), v);
        ok &= auth.gcp.is_some();
    }
    if map.contains_key("aws") {
        v.push(
            &join(path, "aws"),
            ConfigErrorKind::Unsupported,
            "auth.aws is for bedrock, which this library does not support yet",
        );
        ok = false;
    }
    ok.then_some(auth)
}

/// One `auth.header` / `auth.query` entry: name pattern `^[a-zA-Z0-9._-]+$`,
/// string value.
fn auth_item(name: &str, value: &Value, path: &str, v: &mut Validator) -> Option<Secret> {
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !name_ok {
        v.invalid(path, "name must match ^[a-zA-Z0-9._-]+$");
        return None;
    }
    match value {
        Value::String(s) => Some(Secret::new(s.clone())),
        other => {
            v.type_error(path, "a string", other);
            None
        }
    }
}

fn gcp_auth(map: &Map<String, Value>, path: &str, v: &mut Validator) -> Option<GcpAuth> {
    v.unknown_fields(
        map,
        path,
        &["service_account_json", "max_ttl", "expire_early_secs"],
    );
    let before = v.errors.len();
    let mut gcp = GcpAuth::default();
    if let Some(value) = map.get("service_account_json") {
        let p = join(path, "service_account_json");
        if let Some(s) = v.string(value, &p) {
            // APISIX checks this at config time too. serde's syntax errors
            // name positions only, never content.
            match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(_)) => gcp.service_account_json = Some(Secret::new(s)),
                Ok(_) => v.invalid(
                    &p,
                    "invalid gcp service_account_json: must be a JSON object",
                ),
                Err(e) => v.invalid(
                    &p,
                    format!(
                        "invalid gcp service_account_json: not valid JSON (line {}, column {})",
                        e.line(),
                        e.column()
                    ),
                ),
            }
        }
    }
    gcp.max_ttl = v.int_field(map, "max_ttl", path, 1, u64::MAX);
    if let Some(n) = v.int_field(map, "expire_early_secs", path, 0, u64::MAX) {
        gcp.expire_early_secs = n;
    }
    (v.errors.len() == before).then_some(gcp)
}

fn options(map: &Map<String, Value>, path: &str, v: &mut Validator) -> Option<Options> {
    let Some(value) = map.get("options") else {
        return Some(Options::default());
    };
    let path = join(path, "options");
    let opts = v.object(value, &path)?;
    let before = v.errors.len();
    let mut out = Options::default();
    for (key, value) in opts {
        let p = join(&path, key);
        match key.as_str() {
            "model" => match value {
                Value::String(s) if !s.is_empty() => out.model = Some(s.clone()),
                Value::String(_) => v.invalid(&p, "must not be empty"),
                other => v.type_error(&p, "a string", other),
            },
            "temperature" | "top_p" => match value.as_f64() {
                Some(f) if value.is_number() => {
                    if f < 0.0 {
                        v.invalid(&p, "must be ≥ 0");
                    } else if key == "top_p" {
                        if f > 1.0 {
                            v.invalid(&p, "must be ≤ 1");
                        }
                        out.top_p = Some(f);
                    } else {
                        out.temperature = Some(f);
                    }
                }
                _ => v.type_error(&p, "a number", value),
            },
            "max_tokens" => {
                if let Some(n) = v.integer(value, &p) {
                    match u64::try_from(n) {
                        Ok(n) if n >= 1 => out.max_tokens = Some(n),
                        _ => v.invalid(&p, format!("must be ≥ 1, got {n}")),
                    }
                }
            }
            "stream" => match value {
                Value::Bool(b) => out.stream = Some(*b),
                other => v.type_error(&p, "a boolean", other),
            },
            _ => {}
        }
        match serde_json::value::to_raw_value(value) {
            Ok(raw) => out.fields.push((key.clone(), raw)),
            Err(e) => v.invalid(&p, format!("cannot be encoded as JSON: {e}")),
        }
    }
    (v.errors.len() == before).then_some(out)
}

fn overrides(
    map: &Map<String, Value>,
    path: &str,
    multi_instance: bool,
    v: &mut Validator,
) -> Option<Overrides> {
    let Some(value) = map.get("override") else {
        return Some(Overrides::default());
    };
    let path = join(path, "override");
    let o = v.object(value, &path)?;
    let before = v.errors.len();
    v.unknown_fields(
        o,
        &path,
        &[
            "endpoint",
            "llm_options",
            "request_body",
            "request_body_force_override",
        ],
    );
    let mut out = Overrides::default();
    if let Some(value) = o.get("endpoint") {
        let p = join(&path, "endpoint");
        if let Some(s) = v.string(value, &p) {
            out.endpoint = endpoint(s, &p, multi_instance, v);
        }
    }
    if let Some(llm) = v.opt_object(o, "llm_options", &path) {
        let p = join(&path, "llm_options");
        v.unknown_fields(llm, &p, &["max_tokens"]);
        out.llm_options.max_tokens = v.int_field(llm, "max_tokens", &p, 1, u64::MAX);
    }
    if let Some(rb) = v.opt_object(o, "request_body", &path) {
        let p = join(&path, "request_body");
        for (key, value) in rb {
            let kp = join(&p, key);
            let protocol = key
                .parse::<Protocol>()
                .ok()
                .filter(|p| p.is_request_body_key());
            let Some(protocol) = protocol else {
                let allowed: Vec<&str> = Protocol::ALL
                    .iter()
                    .filter(|p| p.is_request_body_key())
                    .map(|p| p.as_str())
                    .collect();
                let message = match closest(key, allowed.iter().copied()) {
                    Some(best) => format!("unknown protocol `{key}`, did you mean `{best}`?"),
                    None => format!(
                        "unknown protocol `{key}`, expected one of: {}",
                        allowed.join(", ")
                    ),
                };
                v.push(&kp, ConfigErrorKind::UnknownField, message);
                continue;
            };
            if let Some(patch) = v.object(value, &kp) {
                out.request_body.push((protocol, patch.clone()));
            }
        }
    }
    out.request_body_force_override = v.bool_field(o, "request_body_force_override", &path, false);
    (v.errors.len() == before).then_some(out)
}

/// `override.endpoint`: an absolute http(s) URL with a host. Whether the
/// string had a path is kept (APISIX: any path, even `/`, is used verbatim;
/// none → the provider's default path).
fn endpoint(s: &str, path: &str, multi_instance: bool, v: &mut Validator) -> Option<Endpoint> {
    if s.is_empty() {
        v.invalid(path, "must not be empty");
        return None;
    }
    let hint = "must be an absolute http:// or https:// URL, e.g. https://api.example.com/v1/chat/completions";
    // ai-proxy-multi's own check (Lua pattern `^(https?)://([^:/]+):?(%d*)/?.*$`).
    let prefix = if multi_instance {
        "invalid endpoint: "
    } else {
        ""
    };
    let url = match Url::parse(s) {
        Ok(url) => url,
        Err(e) => {
            v.invalid(path, format!("{prefix}{hint} ({e})"));
            return None;
        }
    };
    if !matches!(url.scheme(), "http" | "https") {
        v.invalid(
            path,
            format!(
                "{prefix}{hint} (scheme `{}` is not supported)",
                url.scheme()
            ),
        );
        return None;
    }
    if url.host_str().is_none_or(str::is_empty) {
        v.invalid(path, format!("{prefix}{hint} (no host)"));
        return None;
    }
    if !url.username().is_empty() || url.password().is_some() {
        v.invalid(
            path,
            "must not carry credentials in the URL; use auth.header or auth.query",
        );
        return None;
    }
    let after_scheme = s.find("://").map_or("", |i| s.get(i + 3..).unwrap_or(""));
    let has_path = after_scheme
        .find(['/', '?', '#'])
        .and_then(|i| after_scheme.get(i..))
        .is_some_and(|rest| rest.starts_with('/'));
    Some(Endpoint { url, has_path })
}

fn provider_conf(map: &Map<String, Value>, path: &str, v: &mut Validator) -> Option<ProviderConf> {
    let pc = v.opt_object(map, "provider_conf", path)?;
    let p = join(path, "provider_conf");
    v.unknown_fields(pc, &p, &["project_id", "region"]);
    let project_id = v
        .nonempty_string_field(pc, "project_id", &p)
        .map(str::to_owned);
    let region = v.nonempty_string_field(pc, "region", &p).map(str::to_owned);
    if let Some(r) = &region
        && !r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        v.invalid(
            &join(&p, "region"),
            "must be a GCP region name such as us-central1 (letters, digits and `-`); it becomes part of the host name",
        );
    }
    Some(ProviderConf { project_id, region })
}

fn logging(map: &Map<String, Value>, path: &str, v: &mut Validator) -> Logging {
    let Some(l) = v.opt_object(map, "logging", path) else {
        return Logging::default();
    };
    let p = join(path, "logging");
    v.unknown_fields(l, &p, &["summaries", "payloads"]);
    Logging {
        summaries: v.bool_field(l, "summaries", &p, false),
        payloads: v.bool_field(l, "payloads", &p, false),
    }
}

fn transport(map: &Map<String, Value>, path: &str, v: &mut Validator) -> Transport {
    let d = Transport::default();
    Transport {
        timeout_ms: v
            .int_field(map, "timeout", path, 1, MAX_TIMEOUT_MS)
            .unwrap_or(d.timeout_ms),
        keepalive: v.bool_field(map, "keepalive", path, d.keepalive),
        keepalive_timeout_ms: v
            .int_field(
                map,
                "keepalive_timeout",
                path,
                MIN_KEEPALIVE_TIMEOUT_MS,
                u64::MAX,
            )
            .unwrap_or(d.keepalive_timeout_ms),
        keepalive_pool: v
            .int_field(map, "keepalive_pool", path, 1, u64::MAX)
            .unwrap_or(d.keepalive_pool),
        ssl_verify: v.bool_field(map, "ssl_verify", path, d.ssl_verify),
    }
}

fn limits(map: &Map<String, Value>, path: &str, v: &mut Validator) -> Limits {
    let d = Limits::default();
    Limits {
        max_req_body_size: v
            .int_field(map, "max_req_body_size", path, 1, u64::MAX)
            .unwrap_or(d.max_req_body_size),
        max_stream_duration_ms: v.int_field(map, "max_stream_duration_ms", path, 1, u64::MAX),
        max_response_bytes: v.int_field(map, "max_response_bytes", path, 1, u64::MAX),
        streaming_flush_interval_ms: v
            .int_field(map, "streaming_flush_interval_ms", path, 0, u64::MAX)
            .unwrap_or(d.streaming_flush_interval_ms),
    }
}

fn balancer(map: &Map<String, Value>, v: &mut Validator) -> Balancer {
    let Some(b) = v.opt_object(map, "balancer", "") else {
        return Balancer::default();
    };
    let p = "balancer";
    v.unknown_fields(b, p, &["algorithm", "hash_on", "key"]);
    let mut out = Balancer::default();
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
        let target = target(obj, &p, true, v);
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
        if let (Some(name), Some(weight), Some(target)) = (name, weight, target) {
            out.push(InstanceConfig {
                name,
                priority,
                weight,
                target,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edit_distance("timout", "timeout"), 1);
        assert_eq!(edit_distance("tiemout", "timeout"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn closest_ignores_far_candidates() {
        assert_eq!(
            closest("timout", AI_PROXY_FIELDS.iter().copied()),
            Some("timeout")
        );
        assert_eq!(closest("zzzzzz", AI_PROXY_FIELDS.iter().copied()), None);
    }
}
