//! [`PromptPlugins`]: a route's prompt plugins, run in the order APISIX
//! runs them.
//!
//! APISIX runs every plugin's `rewrite` phase before any `access` phase,
//! each phase by priority. `ai-prompt-template` (1071) and
//! `ai-prompt-decorator` (1070) are rewrite-phase plugins;
//! `ai-prompt-guard` (1072) runs in the access phase. So although the guard
//! has the highest priority, it checks the body the template rendered and
//! the decorator decorated: the values a client puts into a template are
//! checked as they reach the model. `ai-aws-content-moderation` (1031,
//! access) runs after `ai-proxy` (1040) picked the instance, just before
//! the upstream call (see [`moderation`](crate::moderation)).

use ai_proxy_core::config::{
    AI_PROMPT_DECORATOR, AI_PROMPT_GUARD, AI_PROMPT_TEMPLATE, ConfigErrors,
};
use ai_proxy_core::prepare::ClientBodyLayout;
use bytes::Bytes;
use http::Request;
use serde_json::{Map, Value};

use crate::body::replaced_body;
use crate::decorator::PromptDecorator;
use crate::error::PromptError;
use crate::guard::{GuardOutcome, PromptGuard};
use crate::template::PromptTemplate;

/// The prompt plugins of one route, compiled.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct PromptPlugins {
    /// `ai-prompt-template`.
    pub template: Option<PromptTemplate>,
    /// `ai-prompt-decorator`.
    pub decorator: Option<PromptDecorator>,
    /// `ai-prompt-guard`.
    pub guard: Option<PromptGuard>,
}

/// What running the prompt plugins made of a request body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transformed {
    /// The body to hand to `prepare`.
    pub body: Bytes,
    /// The guard's verdict when a guard ran (it passed; a refusal is an
    /// error).
    pub guard: Option<GuardOutcome>,
}

impl PromptPlugins {
    /// The plugin names this type runs.
    pub const NAMES: [&'static str; 3] = [AI_PROMPT_TEMPLATE, AI_PROMPT_DECORATOR, AI_PROMPT_GUARD];

    /// Compiles the prompt plugins found in a route's `plugins` object
    /// (other plugins are left to the caller); errors carry their path
    /// under the plugin's name (`ai-prompt-guard.deny_patterns[0]: …`).
    pub fn from_plugins(plugins: &Map<String, Value>) -> Result<Self, ConfigErrors> {
        let mut errors = Vec::new();
        let out = PromptPlugins {
            template: compiled(
                plugins,
                AI_PROMPT_TEMPLATE,
                PromptTemplate::from_value,
                &mut errors,
            ),
            decorator: compiled(
                plugins,
                AI_PROMPT_DECORATOR,
                PromptDecorator::from_value,
                &mut errors,
            ),
            guard: compiled(
                plugins,
                AI_PROMPT_GUARD,
                PromptGuard::from_value,
                &mut errors,
            ),
        };
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(ConfigErrors::new(errors))
        }
    }

    /// Whether no prompt plugin is configured.
    pub fn is_empty(&self) -> bool {
        self.template.is_none() && self.decorator.is_none() && self.guard.is_none()
    }

    /// Runs the plugins on the body of a request to `path`: template, then
    /// decorator, then guard.
    pub fn apply(&self, path: &str, body: Bytes) -> Result<Transformed, PromptError> {
        self.run(path, body).map(|(out, _)| out)
    }

    /// [`apply`](Self::apply) to a whole client request: its path, its body
    /// replaced, its `Content-Length` (when it has one) updated, and, when
    /// the decorator wrote the body last, where its members are put in the
    /// extensions for `prepare` (a [`ClientBodyLayout`]), which then does
    /// not parse the body again.
    pub fn apply_request(&self, request: Request<Bytes>) -> Result<Request<Bytes>, PromptError> {
        let (mut parts, body) = request.into_parts();
        let (out, layout) = self.run(parts.uri.path(), body)?;
        replaced_body(&mut parts, &out.body, layout);
        Ok(Request::from_parts(parts, out.body))
    }

    fn run(
        &self,
        path: &str,
        body: Bytes,
    ) -> Result<(Transformed, Option<ClientBodyLayout>), PromptError> {
        let mut body = body;
        if let Some(template) = &self.template {
            body = template.apply(&body)?;
        }
        let mut layout = None;
        if let Some(decorator) = &self.decorator {
            let members;
            (body, members) = decorator.decorate(path, body)?;
            layout = members.map(|m| ClientBodyLayout::new(body.clone(), m));
        }
        let guard = match &self.guard {
            Some(guard) => Some(guard.check(path, &body)?),
            None => None,
        };
        Ok((Transformed { body, guard }, layout))
    }
}

/// The plugin `name` of `plugins`, compiled; its errors go to `errors`
/// under its name.
fn compiled<T>(
    plugins: &Map<String, Value>,
    name: &str,
    compile: fn(&Value) -> Result<T, ConfigErrors>,
    errors: &mut Vec<ai_proxy_core::config::ConfigError>,
) -> Option<T> {
    match compile(plugins.get(name)?) {
        Ok(plugin) => Some(plugin),
        Err(e) => {
            errors.extend(e.into_errors().into_iter().map(|e| e.prefixed(name)));
            None
        }
    }
}
