//! The nginx variables of one request, as route `vars` read them:
//! `uri`, `request_uri`, `args`, `arg_*`, `http_*`, `cookie_*`, `host`,
//! `request_method`, `remote_addr`, `remote_port`, and `post_arg.*` (the
//! JSON body's fields, walked without building a tree).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::SocketAddr;

use http::request::Parts;
use serde_json::value::RawValue;

use crate::config::vars::{VarLookup, VarValue};

/// nginx-style variables of one request, for `vars`.
pub(crate) struct RequestVars<'a, 'b> {
    pub(crate) parts: &'a Parts,
    /// The JSON body's top-level fields (only parsed when a route needs them).
    pub(crate) top: Option<&'a BTreeMap<Cow<'b, str>, &'b RawValue>>,
    pub(crate) remote: SocketAddr,
}

impl VarLookup for RequestVars<'_, '_> {
    fn get(&self, name: &str) -> Option<VarValue<'_>> {
        if let Some(path) = name.strip_prefix("post_arg.") {
            return json_path(self.top?, path);
        }
        if let Some(header) = name.strip_prefix("http_") {
            let header = header.replace('_', "-");
            return self
                .parts
                .headers
                .get(header.as_str())
                .and_then(|v| v.to_str().ok())
                .map(VarValue::from);
        }
        if let Some(arg) = name.strip_prefix("arg_") {
            let query = self.parts.uri.query()?;
            return url_query_get(query, arg).map(VarValue::from);
        }
        if let Some(cookie) = name.strip_prefix("cookie_") {
            return self
                .parts
                .headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .filter_map(|kv| kv.trim().split_once('='))
                .find(|(k, _)| *k == cookie)
                .map(|(_, v)| VarValue::from(v));
        }
        match name {
            "uri" => Some(VarValue::from(self.parts.uri.path())),
            "request_uri" => Some(VarValue::from(
                self.parts.uri.path_and_query().map_or("/", |p| p.as_str()),
            )),
            "args" | "query_string" => self.parts.uri.query().map(VarValue::from),
            "request_method" => Some(VarValue::from(self.parts.method.as_str())),
            "host" => self
                .parts
                .headers
                .get(http::header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(|h| VarValue::from(h.split(':').next().unwrap_or(h))),
            "remote_addr" => Some(VarValue::from(self.remote.ip().to_string())),
            "remote_port" => Some(VarValue::from(self.remote.port().to_string())),
            _ => None,
        }
    }
}

/// `post_arg.a.b.0.c`: walks objects (and array indices) without building
/// a tree; only the final value is decoded.
fn json_path<'v>(top: &BTreeMap<Cow<'_, str>, &RawValue>, path: &str) -> Option<VarValue<'v>> {
    let mut segments = path.split('.');
    let first = segments.next()?;
    let mut raw: &RawValue = top.get(first)?;
    for seg in segments {
        let text = raw.get();
        if text.starts_with('[') {
            let index: usize = seg.parse().ok()?;
            let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            raw = items.get(index).copied()?;
        } else {
            let map: BTreeMap<Cow<'_, str>, &RawValue> = serde_json::from_str(text).ok()?;
            raw = map.get(seg).copied()?;
        }
    }
    let value: serde_json::Value = serde_json::from_str(raw.get()).ok()?;
    VarValue::from_json(&value)
}

fn url_query_get(query: &str, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_args_are_url_decoded() {
        assert_eq!(
            url_query_get("a=1&team=r%26d+x", "team").as_deref(),
            Some("r&d x")
        );
        assert_eq!(url_query_get("a=1", "b"), None);
    }
}
