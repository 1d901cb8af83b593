//! The route table: APISIX route matching (`uri` exact or `*` prefix,
//! `methods`, `vars`, `priority`) over compiled AI plugins.
//!
//! Matching runs on the request head first: a request no route can match
//! is answered 404 without its body being read, and when the head alone
//! decides, the body is read under that route's own `max_req_body_size`.
//! Only routes whose `vars` read `post_arg.*` need the body to decide;
//! then it is read under the largest limit among the routes still in the
//! running, and the chosen route's own limit is checked after.

mod target;
mod vars;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use ai_proxy::config::{ConfigError, ConfigErrorKind, ConfigErrors};
use http::request::Parts;
use serde_json::value::RawValue;

use crate::config::vars::Vars;
use crate::config::{Document, PluginConfig, RouteConfig};
use crate::plugin::{Pipeline, PluginRegistry};
use crate::upstream::Clients;

pub(crate) use target::{Instance, MultiRoute, Target, Upstream};
use vars::RequestVars;

/// One compiled route.
#[derive(Debug)]
pub(crate) struct Route {
    /// `id`, else its first uri, else its position.
    pub(crate) id: String,
    priority: i64,
    uris: Vec<UriPattern>,
    methods: Vec<String>,
    vars: Option<Vars>,
    /// Whether `vars` reads the JSON body (`post_arg.*`).
    reads_body: bool,
    /// The plugin.
    pub(crate) target: Target,
    /// The largest request body this route accepts.
    pub(crate) max_req_body_size: u64,
    /// The route's other plugins (`None` when it has none).
    pub(crate) pipeline: Option<Arc<Pipeline>>,
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

impl Route {
    /// Whether `uri` and `methods` admit the request.
    fn admits(&self, parts: &Parts) -> bool {
        let path = parts.uri.path();
        let method = parts.method.as_str();
        (self.uris.is_empty() || self.uris.iter().any(|u| u.matches(path)))
            && (self.methods.is_empty() || self.methods.iter().any(|m| m == method))
    }
}

/// What the request head says about the route.
#[derive(Debug)]
pub(crate) enum HeadMatch<'a> {
    /// This route, whatever the body.
    Route(&'a Route),
    /// Routes whose `vars` read the body are in the running: read it under
    /// `limit`, then match with [`RouteTable::find`].
    NeedsBody {
        /// The largest `max_req_body_size` among them.
        limit: u64,
    },
    /// No route can match.
    None,
}

/// Every route of a document, highest `priority` first, then in document
/// order (the first match wins).
#[derive(Debug)]
pub(crate) struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// Compiles every route with `registry`, its plugins with `plugins`;
    /// every problem with its JSON path.
    pub(crate) fn compile(
        doc: &Document,
        registry: &ai_proxy::Registry,
        plugins: &PluginRegistry,
        clients: &Clients,
    ) -> Result<Self, ConfigErrors> {
        let mut routes = Vec::with_capacity(doc.routes.len());
        let mut errors = plugins.check_consumers(doc);
        for (i, r) in doc.routes.iter().enumerate() {
            match compile_route(i, r, doc, registry, plugins, clients) {
                Ok(route) => routes.push(route),
                Err(e) => errors.extend(e),
            }
        }
        if !errors.is_empty() {
            return Err(ConfigErrors::new(errors));
        }
        routes.sort_by_key(|r| std::cmp::Reverse(r.priority));
        Ok(Self { routes })
    }

    /// The routes, in matching order.
    pub(crate) fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Matches on the head: the route when it does not depend on the body.
    pub(crate) fn find_by_head(&self, parts: &Parts, remote: SocketAddr) -> HeadMatch<'_> {
        let mut limit = None::<u64>;
        for route in self.routes.iter().filter(|r| r.admits(parts)) {
            if route.reads_body {
                limit = Some(limit.unwrap_or(0).max(route.max_req_body_size));
                continue;
            }
            let lookup = RequestVars {
                parts,
                top: None,
                remote,
            };
            if route.vars.as_ref().is_none_or(|v| v.matches(&lookup)) {
                return match limit {
                    None => HeadMatch::Route(route),
                    Some(l) => HeadMatch::NeedsBody {
                        limit: l.max(route.max_req_body_size),
                    },
                };
            }
        }
        match limit {
            Some(limit) => HeadMatch::NeedsBody { limit },
            None => HeadMatch::None,
        }
    }

    /// The first route matching the request, body included.
    pub(crate) fn find(&self, parts: &Parts, body: &[u8], remote: SocketAddr) -> Option<&Route> {
        let mut body_index: Option<Option<BTreeMap<Cow<'_, str>, &RawValue>>> = None;
        self.routes.iter().find(|route| {
            if !route.admits(parts) {
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
            vars.matches(&RequestVars { parts, top, remote })
        })
    }
}

fn compile_route(
    i: usize,
    r: &RouteConfig,
    doc: &Document,
    registry: &ai_proxy::Registry,
    plugins: &PluginRegistry,
    clients: &Clients,
) -> Result<Route, ConfigErrors> {
    let id =
        r.id.clone()
            .or_else(|| r.uris.first().cloned())
            .unwrap_or_else(|| format!("route-{i}"));
    let pipeline = plugins.pipeline(r, doc)?;
    let compiled = match &r.plugin {
        PluginConfig::AiProxy(c) => Instance::compile(c, registry, clients)
            .map(|i| (Target::Single(Box::new(i)), c.limits.max_req_body_size)),
        PluginConfig::AiProxyMulti(c) => MultiRoute::compile(c, registry, clients)
            .map(|m| (Target::Multi(Arc::new(m)), c.limits.max_req_body_size)),
        other => {
            let message = format!("plugin {} is not served", other.plugin_name());
            return Err(
                ConfigError::new(&r.plugin_path, ConfigErrorKind::Unsupported, message).into(),
            );
        }
    };
    let (target, max_req_body_size) = compiled
        .map_err(|e| ConfigError::new(&r.plugin_path, ConfigErrorKind::Invalid, e.to_string()))?;
    let reads_body = r
        .vars
        .as_ref()
        .is_some_and(|v| v.variables().iter().any(|n| n.starts_with("post_arg")));
    Ok(Route {
        id,
        priority: r.priority,
        uris: r.uris.iter().map(|u| UriPattern::new(u)).collect(),
        methods: r.methods.clone(),
        vars: r.vars.clone(),
        reads_body,
        target,
        max_req_body_size,
        pipeline: (!pipeline.is_empty()).then(|| Arc::new(pipeline)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(yaml: &str) -> RouteTable {
        let doc = Document::parse(yaml).unwrap();
        RouteTable::compile(
            &doc,
            &ai_proxy::registry(),
            &PluginRegistry::new(),
            &Clients::default(),
        )
        .unwrap()
    }

    fn parts(method: &str, uri: &str) -> Parts {
        http::Request::builder()
            .method(method)
            .uri(uri)
            .header("x-team", "research")
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    const REMOTE: &str = "10.0.0.7:5555";

    fn find<'a>(t: &'a RouteTable, method: &str, uri: &str, body: &str) -> Option<&'a str> {
        t.find(
            &parts(method, uri),
            body.as_bytes(),
            REMOTE.parse().unwrap(),
        )
        .map(|r| r.id.as_str())
    }

    fn by_head(t: &RouteTable, method: &str, uri: &str) -> String {
        match t.find_by_head(&parts(method, uri), REMOTE.parse().unwrap()) {
            HeadMatch::Route(r) => r.id.clone(),
            HeadMatch::NeedsBody { limit } => format!("body<={limit}"),
            HeadMatch::None => "none".to_owned(),
        }
    }

    const YAML: &str = r#"
version: "1"
routes:
  - id: gpt4
    uri: /v1/chat/completions
    methods: [POST]
    vars: [["post_arg.model", "==", "gpt-4"]]
    plugins: {ai-proxy: {provider: openai, auth: {}, max_req_body_size: 100}}
  - id: nested
    uri: /v1/chat/completions
    vars: [["post_arg.metadata.team", "==", "blue"], ["http_x_team", "==", "research"]]
    plugins: {ai-proxy: {provider: deepseek, auth: {}, max_req_body_size: 300}}
  - id: prefix
    uri: /v1/*
    plugins: {ai-proxy: {provider: deepseek, auth: {}, max_req_body_size: 200}}
  - id: embeddings
    uri: /embed
    vars: [["http_x_team", "==", "research"]]
    plugins: {ai-proxy: {provider: openai, auth: {}, max_req_body_size: 50}}
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
    fn the_head_decides_when_no_route_in_the_running_reads_the_body() {
        let t = table(YAML);
        assert_eq!(by_head(&t, "POST", "/embed"), "embeddings");
        assert_eq!(by_head(&t, "POST", "/v1/models"), "prefix");
        assert_eq!(by_head(&t, "POST", "/nowhere"), "none");
        // gpt4 and nested read the body; prefix matches whatever it holds:
        // the body is read under the largest of their limits.
        assert_eq!(by_head(&t, "POST", "/v1/chat/completions"), "body<=300");
        // GET excludes gpt4 (methods), not nested.
        assert_eq!(by_head(&t, "GET", "/v1/chat/completions"), "body<=300");
    }

    #[test]
    fn higher_priority_routes_match_first() {
        let t = table(
            r#"
version: "1"
routes:
  - {id: low, uri: /x, plugins: {ai-proxy: {provider: openai, auth: {}}}}
  - {id: high, uri: /x, priority: 10, plugins: {ai-proxy: {provider: openai, auth: {}}}}
  - {id: also-low, uri: /x, plugins: {ai-proxy: {provider: openai, auth: {}}}}
"#,
        );
        let ids: Vec<_> = t.routes().iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["high", "low", "also-low"]);
        assert_eq!(by_head(&t, "POST", "/x"), "high");
    }
}
