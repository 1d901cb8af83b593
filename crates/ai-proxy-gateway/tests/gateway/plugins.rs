//! The per-route plugin pipeline: routes carrying a plugin the gateway
//! does not run are refused; registered plugins run in priority order,
//! may rewrite the request, reject it, add response headers, and see every
//! request's record in the log phase.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ai_proxy::config::{ConfigError, ConfigErrorKind, ConfigErrors};
use ai_proxy_gateway::Gateway;
use ai_proxy_gateway::access_log::AccessRecord;
use ai_proxy_gateway::config::Document;
use ai_proxy_gateway::plugin::{
    BoxFuture, Plugin, PluginContext, PluginFactory, PluginRegistry, PluginRejection,
    PluginRequest, RequestState,
};
use http::{HeaderValue, StatusCode};
use serde_json::Value;

use crate::harness::{self, Gateway as Served, Script, Upstream, openai_json, post_with};
use crate::{CHAT, route};

/// `x-tag`: sets the configured header on the upstream request and on
/// the response; counts log phases.
#[derive(Debug)]
struct Tag {
    value: HeaderValue,
    logged: Arc<AtomicUsize>,
}

impl Plugin for Tag {
    fn name(&self) -> &str {
        "x-tag"
    }

    fn priority(&self) -> i64 {
        10
    }

    fn request<'a>(
        &'a self,
        request: PluginRequest<'a>,
    ) -> BoxFuture<'a, Result<(), PluginRejection>> {
        request.parts.headers.insert("x-tag", self.value.clone());
        request
            .state
            .response_headers
            .insert("x-tagged", self.value.clone());
        Box::pin(std::future::ready(Ok(())))
    }

    fn log(&self, _state: &RequestState, record: &AccessRecord) {
        assert!(record.status > 0);
        self.logged.fetch_add(1, Ordering::SeqCst);
    }
}

/// `x-deny`: runs first (higher priority) and refuses requests carrying
/// `x-deny`.
#[derive(Debug)]
struct Deny;

impl Plugin for Deny {
    fn name(&self) -> &str {
        "x-deny"
    }

    fn priority(&self) -> i64 {
        20
    }

    fn request<'a>(
        &'a self,
        request: PluginRequest<'a>,
    ) -> BoxFuture<'a, Result<(), PluginRejection>> {
        let denied = request.parts.headers.contains_key("x-deny");
        // Runs before x-tag: the tag is not there yet.
        assert!(!request.parts.headers.contains_key("x-tag"));
        Box::pin(std::future::ready(if denied {
            Err(PluginRejection::message(
                StatusCode::FORBIDDEN,
                "denied by x-deny",
            ))
        } else {
            Ok(())
        }))
    }
}

struct TagFactory(Arc<AtomicUsize>);

impl PluginFactory for TagFactory {
    fn name(&self) -> &str {
        "x-tag"
    }

    fn build(
        &self,
        config: &Value,
        context: &PluginContext<'_>,
    ) -> Result<Arc<dyn Plugin>, ConfigErrors> {
        let value = config
            .get("value")
            .and_then(Value::as_str)
            .and_then(|v| HeaderValue::from_str(v).ok())
            .ok_or_else(|| {
                ConfigError::new(
                    format!("{}.value", context.path),
                    ConfigErrorKind::Missing,
                    "is required: the header value",
                )
            })?;
        Ok(Arc::new(Tag {
            value,
            logged: Arc::clone(&self.0),
        }))
    }
}

struct DenyFactory;

impl PluginFactory for DenyFactory {
    fn name(&self) -> &str {
        "x-deny"
    }

    fn build(&self, _: &Value, _: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigErrors> {
        Ok(Arc::new(Deny))
    }
}

fn registry(logged: &Arc<AtomicUsize>) -> PluginRegistry {
    PluginRegistry::new()
        .with(Arc::new(TagFactory(Arc::clone(logged))))
        .with(Arc::new(DenyFactory))
}

fn tagged_route(up: &Upstream, tag: &str) -> String {
    route(
        "/v1/chat/completions",
        &format!(
            "x-tag: {tag}\n      x-deny: {{}}\n      ai-proxy: {{provider: openai, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}",
            up.addr
        ),
    )
}

#[test]
fn a_route_with_a_plugin_the_gateway_does_not_run_is_refused() {
    let doc = Document::parse(
        "version: \"1\"\nroutes:\n  - id: open\n    uri: /a\n    plugins:\n      ai-proxy: {provider: openai, auth: {}}\n  - id: guarded\n    uri: /b\n    plugins:\n      limit-req: {}\n      ai-proxy: {provider: openai, auth: {}}\n",
    )
    .unwrap();
    let errors = Gateway::from_document(&doc).unwrap_err();
    let lines: Vec<String> = errors.errors().iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(
            "routes[1].plugins.limit-req: plugin not supported by ai-proxy serve; remove it"
        ),
        "{}",
        lines[0]
    );
}

#[test]
fn a_registered_plugins_config_errors_carry_their_path() {
    let doc = Document::parse(
        "version: \"1\"\nroutes:\n  - uri: /a\n    plugins:\n      x-tag: {}\n      ai-proxy: {provider: openai, auth: {}}\n",
    )
    .unwrap();
    let logged = Arc::new(AtomicUsize::new(0));
    let errors = registry(&logged).check(&doc).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "routes[0].plugins.x-tag.value: is required: the header value"
    );
}

#[test]
fn plugins_rewrite_the_request_add_response_headers_and_log() {
    let up = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o", 1, 2),
    });
    let logged = Arc::new(AtomicUsize::new(0));
    let gw = Served::with(&tagged_route(&up, "{value: blue}"), |b| {
        b.settings(harness::settings()).plugins(registry(&logged))
    });
    let reply = post_with(gw.addr, "/v1/chat/completions", CHAT, &[]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers["x-tagged"], "blue");
    assert_eq!(up.requests()[0].headers["x-tag"], "blue");
    assert_eq!(gw.access_log()["llm_total_tokens"], "3");
    assert_eq!(logged.load(Ordering::SeqCst), 1);
}

#[test]
fn a_plugin_rejection_answers_the_client_and_the_upstream_never_sees_it() {
    let up = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o", 1, 2),
    });
    let logged = Arc::new(AtomicUsize::new(0));
    let gw = Served::with(&tagged_route(&up, "{value: blue}"), |b| {
        b.settings(harness::settings()).plugins(registry(&logged))
    });
    let reply = post_with(gw.addr, "/v1/chat/completions", CHAT, &[("x-deny", "1")]);
    assert_eq!(reply.status, 403);
    assert_eq!(reply.body, r#"{"message":"denied by x-deny"}"#);
    assert!(up.requests().is_empty());
    assert_eq!(gw.access_log()["status"], 403);
    // The log phase runs for rejected requests too.
    assert_eq!(logged.load(Ordering::SeqCst), 1);
}
