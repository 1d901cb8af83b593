//! Sending a prepared request upstream and waiting (within `timeout`)
//! for the response head.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_proxy::Prepared;
use ai_proxy::core::exchange::{Exchange, ResponseHead};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

use crate::access_log::AccessLog;
use crate::body::{RelayBody, error_msg, respond};
use crate::gateway::Gateway;

/// An upstream response head, ready to relay.
pub(crate) struct UpstreamHead {
    pub(crate) response: Response<Incoming>,
    pub(crate) exchange: Exchange,
    pub(crate) head: ResponseHead,
    pub(crate) timeout: Duration,
    pub(crate) instance: Arc<str>,
}

pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    pub(crate) timeout: bool,
    /// APISIX answers limit errors in plain text, its own errors in JSON.
    pub(crate) plain: bool,
}

impl Failure {
    /// Content type and body of the answer: APISIX's limit errors are
    /// plain text, its own errors `{"error_msg": …}`.
    pub(crate) fn body(&self) -> (&'static str, Bytes) {
        if self.plain {
            ("text/plain", Bytes::from(self.message.clone()))
        } else {
            ("application/json", Bytes::from(error_msg(&self.message)))
        }
    }

    /// Status, headers and body of the response this failure becomes.
    pub(crate) fn parts(&self) -> (StatusCode, HeaderMap, Bytes) {
        let (content_type, body) = self.body();
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        (self.status, headers, body)
    }

    pub(crate) fn response(&self) -> Response<RelayBody> {
        let (content_type, body) = self.body();
        respond(self.status, content_type, body)
    }
}

pub(crate) enum Sent {
    Head(Box<UpstreamHead>),
    Failed(Failure),
}

/// Sends a prepared request and waits (within `timeout`) for the head.
pub(crate) async fn send(gateway: &Gateway, prepared: Prepared, log: &mut AccessLog) -> Sent {
    let Prepared {
        upstream,
        context,
        hints,
        translator,
        ..
    } = prepared;
    let instance = context.instance_name.clone();
    let provider = context.provider;
    log.context(&context);
    let host = upstream
        .uri()
        .authority()
        .map(|a| a.to_string())
        .unwrap_or_default();
    log.upstream(&host);
    let client = match gateway.clients.get(hints) {
        Ok(c) => c,
        Err(message) => {
            return Sent::Failed(Failure {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message,
                timeout: false,
                plain: false,
            });
        }
    };
    let (up_parts, up_body) = upstream.into_parts();
    let request = Request::from_parts(up_parts, Full::new(up_body));
    let result = tokio::time::timeout(hints.timeout, client.request(request)).await;
    let response = match result {
        Err(_) => {
            return Sent::Failed(Failure {
                status: StatusCode::GATEWAY_TIMEOUT,
                message: format!(
                    "upstream {host} did not answer within {} ms (timeout); raise `timeout` \
                     (default 30000) or use streaming for long completions",
                    hints.timeout.as_millis()
                ),
                timeout: true,
                plain: false,
            });
        }
        Ok(Err(e)) => {
            let cause = std::error::Error::source(&e)
                .map(|s| s.to_string())
                .unwrap_or_else(|| e.to_string());
            let timeout = cause.contains("timed out") || cause.contains("timeout");
            return Sent::Failed(Failure {
                status: if timeout {
                    StatusCode::GATEWAY_TIMEOUT
                } else {
                    StatusCode::BAD_GATEWAY
                },
                message: format!(
                    "cannot reach upstream {host} for provider {provider}: {cause}; check that \
                     `provider` matches your API and that override.endpoint is right"
                ),
                timeout,
                plain: false,
            });
        }
        Ok(Ok(r)) => r,
    };
    let now = Instant::now();
    let mut exchange = Exchange::new(context, translator);
    match exchange.on_head(response.status(), response.headers(), now) {
        Ok(head) => Sent::Head(Box::new(UpstreamHead {
            response,
            exchange,
            head,
            timeout: hints.timeout,
            instance,
        })),
        Err(e) => {
            let metrics = exchange.finish(now);
            log.metrics(&metrics);
            Sent::Failed(Failure {
                status: e.status(),
                message: e.client_body(),
                timeout: false,
                plain: true,
            })
        }
    }
}
