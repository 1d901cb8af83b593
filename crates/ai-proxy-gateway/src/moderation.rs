//! `ai-aws-content-moderation` on gateway routes: the request's text
//! scored by AWS Comprehend before the upstream is called
//! (`ai_proxy::prompt::moderation::AwsContentModeration`, whose calls
//! this module sends over the gateway's pooled HTTP client).
//!
//! APISIX runs it in the access phase (priority 1031) after `ai-proxy`
//! picked its instance; here it runs in the request phase, before
//! `prepare`, on the body the prompt plugins left: the same text, and the
//! upstream is never called for a refused request.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ai_proxy::config::{AI_AWS_CONTENT_MODERATION, ConfigErrors};
use ai_proxy::prompt::moderation::{
    AwsContentModeration, BoxFuture as ModerationFuture, ClientFacts, ContentModerator,
    MAX_RESPONSE_BYTES, ModerationCall, ModerationClient, ModerationError, ModerationRequest,
    Verdict,
};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use serde_json::Value;

use crate::plugin::{
    BoxFuture, Plugin, PluginContext, PluginFactory, PluginRejection, PluginRequest,
};
use crate::upstream::{Clients, Key};

/// Idle connections kept per Comprehend endpoint when the config keeps
/// them alive.
const KEEPALIVE_POOL: u64 = 30;

/// Builds `ai-aws-content-moderation`; every instance shares one set of
/// pooled clients.
#[derive(Debug, Default)]
pub(crate) struct AwsContentModerationFactory {
    clients: Clients,
}

impl AwsContentModerationFactory {
    pub(crate) fn new() -> Self {
        Self::default()
    }
}

impl PluginFactory for AwsContentModerationFactory {
    fn name(&self) -> &str {
        AI_AWS_CONTENT_MODERATION
    }

    fn build(
        &self,
        config: &Value,
        context: &PluginContext<'_>,
    ) -> Result<Arc<dyn Plugin>, ConfigErrors> {
        let moderator =
            AwsContentModeration::from_value(config).map_err(|e| context.prefixed(e))?;
        Ok(Arc::new(Moderation {
            moderator: Arc::new(moderator),
            client: HttpModerationClient {
                clients: self.clients.clone(),
            },
        }))
    }
}

/// A content moderator on a route.
#[derive(Debug)]
struct Moderation {
    moderator: Arc<dyn ContentModerator>,
    client: HttpModerationClient,
}

impl Plugin for Moderation {
    fn name(&self) -> &str {
        self.moderator.name()
    }

    fn priority(&self) -> i64 {
        1031
    }

    fn request<'a>(
        &'a self,
        request: PluginRequest<'a>,
    ) -> BoxFuture<'a, Result<(), PluginRejection>> {
        let path = request.parts.uri.path().to_owned();
        let body = request.body.clone();
        Box::pin(async move { self.moderate(&path, &body).await })
    }
}

impl Moderation {
    async fn moderate(&self, path: &str, body: &Bytes) -> Result<(), PluginRejection> {
        let facts = ClientFacts::read(path, body).map_err(|e| failure(&e))?;
        // No AI protocol: `prepare` answers APISIX's 400.
        let Some(protocol) = facts.protocol else {
            return Ok(());
        };
        let request = ModerationRequest::new(protocol, body, SystemTime::now())
            .with_stream(facts.stream)
            .with_model(facts.model.as_deref());
        match self.moderator.moderate(&request, &self.client).await {
            Ok(Verdict::Deny(denial)) => {
                tracing::info!(plugin = self.name(), reason = %denial.reason, "request refused");
                Err(rejection(denial.status, denial.content_type, denial.body))
            }
            Ok(Verdict::Skipped { reason, warn: true }) => {
                tracing::warn!(plugin = self.name(), %reason, "request not moderated");
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(plugin = self.name(), error = %e, "moderation failed");
                Err(failure(&e))
            }
        }
    }
}

fn failure(e: &ModerationError) -> PluginRejection {
    rejection(e.status(), e.content_type(), e.body())
}

fn rejection(status: StatusCode, content_type: &'static str, body: Bytes) -> PluginRejection {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    PluginRejection {
        status,
        headers,
        body,
    }
}

/// Sends moderators' calls over the gateway's pooled clients: the whole
/// call within its timeout, the answer read up to [`MAX_RESPONSE_BYTES`].
#[derive(Clone, Debug)]
struct HttpModerationClient {
    clients: Clients,
}

impl ModerationClient for HttpModerationClient {
    fn send(&self, call: ModerationCall) -> ModerationFuture<'_, Result<Response<Bytes>, String>> {
        Box::pin(async move {
            let key = Key {
                timeout: call.timeout,
                keepalive: call.keepalive.is_some(),
                keepalive_timeout: call.keepalive.unwrap_or(Duration::ZERO),
                keepalive_pool: KEEPALIVE_POOL,
                ssl_verify: call.ssl_verify,
            };
            let client = self
                .clients
                .upstream(key)
                .map_err(|e| format!("cannot set up TLS for the moderation service: {e}"))?;
            let exchange = async {
                let response = client
                    .send(call.request, Instant::now())
                    .await
                    .map_err(|e| format!("moderation service unreachable: {e}"))?;
                let (parts, body) = response.into_parts();
                let body = Limited::new(body, MAX_RESPONSE_BYTES)
                    .collect()
                    .await
                    .map_err(|e| format!("moderation service answer unreadable: {e}"))?
                    .to_bytes();
                Ok(Response::from_parts(parts, body))
            };
            tokio::time::timeout(call.timeout, exchange)
                .await
                .map_err(|_| format!("moderation service timed out after {:?}", call.timeout))?
        })
    }
}
