//! The route table: APISIX route matching (uri exact or `*` prefix,
//! methods, `vars`) over compiled AI plugins.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::config::vars::{VarValue, Vars};
use crate::config::{Document, PluginConfig, RouteConfig};
use ai_proxy::AiProxy;
use http::request::Parts;
use serde_json::value::RawValue;

use crate::gcp::GcpToken;
use crate::multi::MultiRoute;

/// One prepared target and, for `auth.gcp`, where its access token comes from.
#[derive(Debug)]
pub struct Instance {
    /// The compiled config.
    pub proxy: AiProxy,
    /// Google access tokens (`auth.gcp`).
    pub gcp: Option<GcpToken>,
}

/// What a route runs.
#[derive(Debug)]
pub enum Target {
    /// One `ai-proxy` plugin.
    Single(Box<Instance>),
    /// An `ai-proxy-multi` plugin.
    Multi(Box<MultiRoute>),
}

/// One compiled route.
#[derive(Debug)]
pub struct Route {
    /// `id`, else its first uri, else its position.
    pub id: String,
    uris: Vec<UriPattern>,
    methods: Vec<String>,
    vars: Option<Vars>,
    /// Whether `vars` reads the JSON body (`post_arg.*`).
    reads_body: bool,
    /// The plugin.
    pub target: Target,
    /// The largest request body this route accepts.
    pub max_req_body_size: u64,
}

#[derive(Debug)]
enum UriPattern {
    Exact(String),
    Prefix(String),
}

impl UriPattern {
    fn new(uri: &str) -> Self {
        match uri.strip_suffix('*') {
            Some(prefix) => UriPattern::Prefix(prefix.to_owned()),
            None => UriPattern::Exact(uri.to_owned()),
        }
    }

    fn matches(&self, path: &str) -> bool {
        match self {
            UriPattern::Exact(p) => p == path,
            UriPattern::Prefix(p) => path.starts_with(p.as_str()),
        }
    }
}

/// Every route of a document, in order (first match wins).
#[derive(Debug)]
pub struct RouteTable {
    routes: Vec<Route>,
    /// The largest `max_req_body_size` of any route.
    max_body: u64,
}

impl RouteTable {
    /// Compiles every route with `registry`.
    pub fn compile(doc: &Document, registry: &ai_proxy::Registry) -> Result<Self, String> {
        let mut routes = Vec::with_capacity(doc.routes.len());
        for (i, r) in doc.routes.iter().enumerate() {
            routes.push(compile_route(i, r, registry)?);
        }
        let max_body = routes
            .iter()
            .map(|r| r.max_req_body_size)
            .max()
            .unwrap_or(0);
        Ok(Self { routes, max_body })
    }

    /// The largest body any route accepts (the gateway reads at most this
    /// much before it knows the route).
    pub fn max_body(&self) -> u64 {
        self.max_body
    }

    /// The routes, in order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The first route matching the request.
    pub fn find(&self, parts: &Parts, body: &[u8], remote: SocketAddr) -> Option<&Route> {
        let path = parts.uri.path();
        let method = parts.method.as_str();
        let mut body_index: Option<Option<BTreeMap<Cow<'_, str>, &RawValue>>> = None;
        self.routes.iter().find(|route| {
            if !route.uris.is_empty() && !route.uris.iter().any(|u| u.matches(path)) {
                return false;
            }
            if !route.methods.is_empty() && !route.methods.iter().any(|m| m == method) {
                return false;
            }
            let Some(vars) = &route.vars else {
                return true;
            };
            let top = if route.reads_body {
                body_index
                    .get_or_insert_with(|| serde_json::from_slice(body).ok())
                    .as_ref()
            } else {
                None
            };
            let lookup = RequestVars { parts, top, remote };
            vars.matches(&lookup)
        })
    }
}

fn compile_route(
    i: usize,
    r: &RouteConfig,
    registry: &ai_proxy::Registry,
) -> Result<Route, String> {
    let id =
        r.id.clone()
            .or_else(|| r.uris.first().cloned())
            .unwrap_or_else(|| format!("route-{i}"));
    // Where compile errors point: the plugin's path, or the route.
    let at = if r.plugin_path.is_empty() {
        format!("route {id}")
    } else {
        r.plugin_path.clone()
    };
    let (target, max_req_body_size) = match &r.plugin {
        PluginConfig::AiProxy(c) => {
            let proxy = AiProxy::compile(c, registry).map_err(|e| format!("{at}: {e}"))?;
            let gcp = GcpToken::for_target(&c.upstream, proxy.instance_name());
            (
                Target::Single(Box::new(Instance { proxy, gcp })),
                c.limits.max_req_body_size,
            )
        }
        PluginConfig::AiProxyMulti(c) => {
            let multi = MultiRoute::compile(c, registry).map_err(|e| format!("{at}: {e}"))?;
            (Target::Multi(Box::new(multi)), c.limits.max_req_body_size)
        }
        _ => return Err(format!("route {id}: unsupported plugin")),
    };
    let reads_body = r
        .vars
        .as_ref()
        .is_some_and(|v| v.variables().iter().any(|n| n.starts_with("post_arg")));
    Ok(Route {
        id,
        uris: r.uris.iter().map(|u| UriPattern::new(u)).collect(),
        methods: r.methods.clone(),
        vars: r.vars.clone(),
        reads_body,
        target,
        max_req_body_size,
    })
}

/// nginx-style variables of one request, for `vars`.
struct RequestVars<'a, 'b> {
    parts: &'a Parts,
    /// The JSON body's top-level fields (only parsed when a route needs them).
    top: Option<&'a BTreeMap<Cow<'b, str>, &'b RawValue>>,
    remote: SocketAddr,
}

impl crate::config::vars::VarLookup for RequestVars<'_, '_> {
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

    fn table(yaml: &str) -> RouteTable {
        let doc = Document::parse(yaml).unwrap();
        RouteTable::compile(&doc, &ai_proxy::registry()).unwrap()
    }

    fn find<'a>(t: &'a RouteTable, method: &str, uri: &str, body: &str) -> Option<&'a str> {
        let (parts, ()) = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("x-team", "research")
            .body(())
            .unwrap()
            .into_parts();
        let remote: SocketAddr = "10.0.0.7:5555".parse().unwrap();
        t.find(&parts, body.as_bytes(), remote)
            .map(|r| r.id.as_str())
    }

    const YAML: &str = r#"
version: "1"
routes:
  - id: gpt4
    uri: /v1/chat/completions
    methods: [POST]
    vars: [["post_arg.model", "==", "gpt-4"]]
    plugins: {ai-proxy: {provider: openai, auth: {}}}
  - id: nested
    uri: /v1/chat/completions
    vars: [["post_arg.metadata.team", "==", "blue"], ["http_x_team", "==", "research"]]
    plugins: {ai-proxy: {provider: deepseek, auth: {}}}
  - id: prefix
    uri: /v1/*
    plugins: {ai-proxy: {provider: deepseek, auth: {}}}
"#;

    #[test]
    fn first_matching_route_wins() {
        let t = table(YAML);
        assert_eq!(
            find(&t, "POST", "/v1/chat/completions", r#"{"model":"gpt-4"}"#),
            Some("gpt4")
        );
        assert_eq!(
            find(
                &t,
                "POST",
                "/v1/chat/completions",
                r#"{"model":"x","metadata":{"team":"blue"}}"#
            ),
            Some("nested")
        );
        assert_eq!(
            find(&t, "POST", "/v1/chat/completions", r#"{"model":"x"}"#),
            Some("prefix")
        );
        assert_eq!(
            find(&t, "GET", "/v1/chat/completions", r#"{"model":"gpt-4"}"#),
            Some("prefix")
        );
        assert_eq!(find(&t, "POST", "/v2/chat", "{}"), None);
    }

    #[test]
    fn unparsable_bodies_match_no_post_arg_condition() {
        let t = table(YAML);
        assert_eq!(
            find(&t, "POST", "/v1/chat/completions", "not json"),
            Some("prefix")
        );
    }

    #[test]
    fn query_args_are_url_decoded() {
        assert_eq!(
            url_query_get("a=1&team=r%26d+x", "team").as_deref(),
            Some("r&d x")
        );
        assert_eq!(url_query_get("a=1", "b"), None);
    }
}
