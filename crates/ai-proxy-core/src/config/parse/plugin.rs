//! The `ai-proxy` plugin object, and the plugin-level settings (logging,
//! transport, limits) `ai-proxy-multi` shares.

use serde_json::{Map, Value};

use super::upstream::upstream;
use super::validator::Validator;
use crate::config::error::join_path as join;
use crate::config::model::*;

/// The `ai-proxy` object's own top-level fields.
const AI_PROXY_FIELDS: &[&str] = &["provider", "provider_conf", "auth", "options", "override"];

/// The top-level fields both plugin objects take, after their own.
pub(super) const PLUGIN_FIELDS: &[&str] = &[
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

/// Validates an `ai-proxy` plugin object.
pub(crate) fn ai_proxy(value: &Value, v: &mut Validator) -> Option<AiProxyConfig> {
    let map = v.object(value, "")?;
    v.unknown_fields(map, "", &[AI_PROXY_FIELDS, PLUGIN_FIELDS].concat());
    let upstream = upstream(map, "", false, v);
    let logging = logging(map, "", v);
    let transport = transport(map, "", v);
    let limits = limits(map, "", v);
    meta(map, "", v);
    Some(AiProxyConfig {
        upstream: upstream?,
        logging,
        transport,
        limits,
    })
}

/// `_meta` is APISIX's per-plugin common field (disable, priority, filter…);
/// it is accepted and not interpreted here.
pub(super) fn meta(map: &Map<String, Value>, path: &str, v: &mut Validator) {
    let _ = v.opt_object(map, "_meta", path);
}

pub(super) fn logging(map: &Map<String, Value>, path: &str, v: &mut Validator) -> Logging {
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

pub(super) fn transport(map: &Map<String, Value>, path: &str, v: &mut Validator) -> Transport {
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

pub(super) fn limits(map: &Map<String, Value>, path: &str, v: &mut Validator) -> Limits {
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
