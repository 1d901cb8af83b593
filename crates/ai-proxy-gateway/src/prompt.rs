//! APISIX's prompt plugins on gateway routes: `ai-prompt-template` and
//! `ai-prompt-decorator` (rewrite phase) rewrite the client body before
//! `prepare`; `ai-prompt-guard` (access phase) admits or refuses the body
//! they left. The transforms are `ai_proxy::prompt`'s, compiled once when
//! the route is built; a refusal is APISIX's 400 `{"message": …}`.

use std::sync::Arc;

use ai_proxy::config::{AI_PROMPT_DECORATOR, AI_PROMPT_GUARD, AI_PROMPT_TEMPLATE, ConfigErrors};
use ai_proxy::prompt::{PromptDecorator, PromptError, PromptGuard, PromptTemplate};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use serde_json::Value;

use crate::plugin::{
    BoxFuture, Phase, Plugin, PluginContext, PluginFactory, PluginRejection, PluginRequest,
};

/// The factories of the three prompt plugins.
pub(crate) fn factories() -> [Arc<dyn PluginFactory>; 3] {
    [
        Arc::new(PromptFactory(AI_PROMPT_TEMPLATE)),
        Arc::new(PromptFactory(AI_PROMPT_DECORATOR)),
        Arc::new(PromptFactory(AI_PROMPT_GUARD)),
    ]
}

/// Builds the prompt plugin it is named after.
struct PromptFactory(&'static str);

impl PluginFactory for PromptFactory {
    fn name(&self) -> &str {
        self.0
    }

    fn build(
        &self,
        config: &Value,
        context: &PluginContext<'_>,
    ) -> Result<Arc<dyn Plugin>, ConfigErrors> {
        let transform = match self.0 {
            AI_PROMPT_TEMPLATE => PromptTemplate::from_value(config).map(Transform::Template),
            AI_PROMPT_DECORATOR => {
                PromptDecorator::from_value(config).map(|d| Transform::Decorator(Box::new(d)))
            }
            _ => PromptGuard::from_value(config).map(Transform::Guard),
        };
        let transform = transform.map_err(|e| context.prefixed(e))?;
        Ok(Arc::new(PromptPlugin(transform)))
    }
}

/// One compiled prompt plugin.
#[derive(Debug)]
enum Transform {
    Template(PromptTemplate),
    // Boxed: its compiled messages per protocol outweigh the others.
    Decorator(Box<PromptDecorator>),
    Guard(PromptGuard),
}

#[derive(Debug)]
struct PromptPlugin(Transform);

impl Plugin for PromptPlugin {
    fn name(&self) -> &str {
        match self.0 {
            Transform::Template(_) => AI_PROMPT_TEMPLATE,
            Transform::Decorator(_) => AI_PROMPT_DECORATOR,
            Transform::Guard(_) => AI_PROMPT_GUARD,
        }
    }

    /// APISIX master's priorities.
    fn priority(&self) -> i64 {
        match self.0 {
            Transform::Template(_) => 1071,
            Transform::Decorator(_) => 1070,
            Transform::Guard(_) => 1072,
        }
    }

    fn phase(&self) -> Phase {
        match self.0 {
            Transform::Template(_) | Transform::Decorator(_) => Phase::Rewrite,
            Transform::Guard(_) => Phase::Access,
        }
    }

    fn request<'a>(
        &'a self,
        request: PluginRequest<'a>,
    ) -> BoxFuture<'a, Result<(), PluginRejection>> {
        Box::pin(std::future::ready(self.run(request).map_err(refusal)))
    }
}

impl PromptPlugin {
    fn run(&self, request: PluginRequest<'_>) -> Result<(), PromptError> {
        let path = request.parts.uri.path();
        let body = match &self.0 {
            Transform::Template(t) => t.apply(request.body),
            // In place, so the decorated body's layout reaches prepare
            // (which then does not parse the body again).
            Transform::Decorator(d) => return d.apply_parts(request.parts, request.body),
            Transform::Guard(g) => {
                return g.check(path, request.body).map(drop);
            }
        }?;
        set_body(request, body);
        Ok(())
    }
}

/// Replaces the client body, keeping a `Content-Length` the client sent
/// true.
fn set_body(request: PluginRequest<'_>, body: Bytes) {
    let headers = &mut request.parts.headers;
    if headers.contains_key(header::CONTENT_LENGTH) {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    *request.body = body;
}

/// APISIX's answer to a refused prompt.
fn refusal(e: PromptError) -> PluginRejection {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(e.content_type()),
    );
    PluginRejection {
        status: e.status(),
        headers,
        body: e.body(),
    }
}
