//! The target an `ai-proxy` plugin or an `ai-proxy-multi` instance calls:
//! provider, options, override, provider_conf (and `auth`, in its own file).

use serde_json::{Map, Value};
use url::Url;

use super::auth::auth;
use super::suggest::closest;
use super::validator::Validator;
use crate::config::error::{ConfigErrorKind, join_path as join};
use crate::config::model::*;
use crate::protocol::Protocol;
use crate::provider::Provider;

/// provider, auth, options, override, provider_conf — shared by `ai-proxy`
/// and each `ai-proxy-multi` instance.
pub(super) fn upstream(
    map: &Map<String, Value>,
    path: &str,
    multi_instance: bool,
    v: &mut Validator,
) -> Option<UpstreamConfig> {
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
    if provider == Some(Provider::Bedrock) {
        // APISIX's messages and order: region first, then auth.aws. The
        // region is needed even with override.endpoint: SigV4 signs for it.
        if provider_conf
            .as_ref()
            .and_then(|c| c.region.as_ref())
            .is_none()
        {
            v.push(
                &join(path, "provider_conf.region"),
                ConfigErrorKind::Missing,
                "bedrock requires provider_conf.region (the AWS region, e.g. us-east-1)",
            );
        }
        if auth.as_ref().is_some_and(|a| a.aws.is_none()) {
            v.push(
                &join(path, "auth.aws"),
                ConfigErrorKind::Missing,
                "bedrock requires auth.aws (access_key_id and secret_access_key; \
                 session_token for temporary credentials)",
            );
        }
    }
    let (provider, auth, overrides, options) = (provider?, auth?, overrides?, options?);
    Some(UpstreamConfig {
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
    if let Some(r) = &region {
        v.region(r, &join(&p, "region"));
    }
    Some(ProviderConf { project_id, region })
}
