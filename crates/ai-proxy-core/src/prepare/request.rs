//! [`AiProxy::prepare`]: one client request in, the upstream request out.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::header::{self, Entry, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Version};

use super::AiProxy;
use super::body::Body;
use super::detect;
use super::error::{BodyError, PrepareError};
use super::headers::{self, ClientHeaders, JSON};
use super::layout::ClientBodyLayout;
use super::prepared::Prepared;
use crate::adapter::{ConvertContext, Delivery};
use crate::context::RequestContext;
use crate::json::object::json_str;
use crate::json::write::decimal;
use crate::protocol::{Protocol, RequestType};
use crate::secret::Secret;

impl AiProxy {
    /// Prepares the upstream request for one client request.
    ///
    /// `now` starts the attempt's clock; `access_token` is the Google
    /// access token when `auth.gcp` is configured (fetch and cache it
    /// outside, e.g. with `ai-proxy-vertex`'s token cache). Routes whose
    /// requests are signed ([`needs_wall_clock`](Self::needs_wall_clock))
    /// answer [`PrepareError::WallClockRequired`]: use
    /// [`prepare_at`](Self::prepare_at).
    pub fn prepare(
        &self,
        request: Request<Bytes>,
        now: Instant,
        access_token: Option<&Secret>,
    ) -> Result<Prepared, PrepareError> {
        self.prepare_with_clock(request, now, None, access_token)
    }

    /// [`prepare`](Self::prepare) with the wall-clock time, which signed
    /// routes (Bedrock's SigV4) put in the signature: pass
    /// `SystemTime::now()`. The request is signed last, over the final
    /// method, URI, headers and body.
    pub fn prepare_at(
        &self,
        request: Request<Bytes>,
        now: Instant,
        wall_clock: SystemTime,
        access_token: Option<&Secret>,
    ) -> Result<Prepared, PrepareError> {
        self.prepare_with_clock(request, now, Some(wall_clock), access_token)
    }

    fn prepare_with_clock(
        &self,
        request: Request<Bytes>,
        now: Instant,
        wall_clock: Option<SystemTime>,
        access_token: Option<&Secret>,
    ) -> Result<Prepared, PrepareError> {
        let signing = match (&self.signer, wall_clock) {
            (Some(signer), Some(wall_clock)) => Some((signer, wall_clock)),
            (Some(_), None) => {
                return Err(PrepareError::WallClockRequired {
                    provider: self.provider,
                });
            }
            (None, _) => None,
        };
        let (mut parts, body) = request.into_parts();
        let body_len = u64::try_from(body.len()).unwrap_or(u64::MAX);
        let client_headers = ClientHeaders::read(
            &parts.headers,
            body_len,
            self.forward_client_credentials,
            &self.overwritten_headers,
        );
        if let Err(value) = client_headers.check_content_type() {
            return Err(PrepareError::UnsupportedContentType {
                content_type: String::from_utf8_lossy(value.as_bytes()).into_owned(),
            });
        }
        self.check_size(client_headers.announced_length, body_len)?;
        if body.is_empty() {
            return Err(BodyError::Empty.into());
        }
        // A transform that wrote the body (the prompt plugins) may have
        // said where its members are: then it is not parsed again.
        let layout = parts.extensions.remove::<ClientBodyLayout>();
        let laid_out = layout
            .as_ref()
            .and_then(|l| l.members_of(&body))
            .and_then(|members| Body::laid_out(&body, members));
        let client_body = match laid_out {
            Some(laid_out) => laid_out,
            None => Body::parse(&body).map_err(|reason| BodyError::InvalidJson { reason })?,
        };
        let path = parts.uri.path();
        // Not `ok_or`: that builds (and drops) the error on every request.
        let Some(client_protocol) = detect::detect(path, &client_body) else {
            return Err(PrepareError::NoProtocol);
        };
        let request_type = if detect::is_streaming(client_protocol, path, &client_body) {
            RequestType::AiStream
        } else {
            RequestType::AiChat
        };
        let request_llm_model = match &client_body {
            Body::Object(obj) => obj.get("model").and_then(|raw| self.request_model(raw)),
            _ => None,
        }
        .or_else(|| {
            (client_protocol == Protocol::Gemini)
                .then(|| detect::path_model(path))
                .flatten()
                .map(Arc::from)
        });
        let llm_model = self
            .options_model
            .clone()
            .or_else(|| request_llm_model.clone());
        let delivery = self
            .deliveries
            .iter()
            .find(|(p, _)| *p == client_protocol)
            .map(|(_, r)| r)
            .ok_or_else(|| self.unsupported(client_protocol))?;
        let target = delivery.target_protocol();
        let uri = self.upstream_uri(target, &parts.uri, llm_model.as_deref(), request_type)?;

        let (shaped, facts, translator, converter) = match delivery {
            Delivery::Native(_) => {
                let (shaped, facts) = self.shape(client_body, &body, target, &uri)?;
                (shaped, facts, None, None)
            }
            Delivery::Converted(converter) => {
                drop(client_body);
                let ctx = ConvertContext::new(
                    self.provider,
                    llm_model.as_deref(),
                    request_llm_model.as_deref(),
                    request_type,
                );
                let converted = converter.convert_request(&body, &ctx)?;
                let layout = converted.layout;
                let source = converted.body;
                let parsed = Body::converted(&source, layout.as_ref()).map_err(|e| {
                    PrepareError::Upstream {
                        reason: format!(
                            "the {client_protocol} converter produced invalid JSON: {e}"
                        ),
                    }
                })?;
                let (shaped, facts) = self.shape(parsed, &source, target, &uri)?;
                (shaped, facts, Some(converted.translator), Some(converter))
            }
        };

        let headers = &mut parts.headers;
        // The client's `Content-Type` and `Content-Length`, when they
        // already say what is sent and nothing below touches them, stay
        // as they are without a lookup.
        let framing_kept = converter.is_none()
            && !client_headers.connection
            && !self
                .auth_headers
                .iter()
                .any(|(name, _)| name == header::CONTENT_TYPE || name == header::CONTENT_LENGTH);
        match converter {
            Some(converter) => {
                converter.convert_headers(headers);
                headers::strip_client_headers(
                    headers,
                    self.forward_client_credentials,
                    &self.overwritten_headers,
                );
            }
            None => client_headers.strip(
                headers,
                self.forward_client_credentials,
                &self.overwritten_headers,
            ),
        }
        // No reserve: the names set below are usually the client's own,
        // kept by the strip and replaced in place, so the map does not
        // grow; reserving for all of them grew (and rehashed) it.
        for (name, value) in &self.auth_headers {
            headers.insert(name.clone(), value.clone());
        }
        if !(framing_kept && client_headers.json_content_type) {
            set_exactly(headers, header::CONTENT_TYPE, JSON.as_bytes(), || {
                HeaderValue::from_static(JSON)
            });
        }
        if !(framing_kept && client_headers.exact_length && shaped.len() == body.len()) {
            let mut digits = [0u8; 20];
            let length = decimal(u64::try_from(shaped.len()).unwrap_or(u64::MAX), &mut digits);
            set_exactly(headers, header::CONTENT_LENGTH, length, || {
                content_length(shaped.len())
            });
        }
        if self.gcp {
            headers.insert(header::AUTHORIZATION, self.bearer(access_token)?);
        }

        if target != Protocol::Passthrough {
            parts.method = Method::POST;
        }
        parts.uri = uri;
        // The client's HTTP version and server-side extensions say nothing
        // about the upstream connection.
        parts.version = Version::default();
        parts.extensions.clear();
        let mut upstream = Request::from_parts(parts, shaped);
        if let Some((signer, wall_clock)) = signing {
            signer
                .sign(&mut upstream, wall_clock)
                .map_err(|e| PrepareError::Sign {
                    reason: e.to_string(),
                })?;
        }

        let context = RequestContext {
            client_protocol,
            target_protocol: target,
            request_type,
            request_llm_model,
            llm_model,
            started: now,
            tool_count: facts.tool_count,
            end_user_id: facts.end_user_id,
            instance_name: Arc::clone(&self.instance_name),
            provider: self.provider,
            logging: self.logging,
            limits: self.limits,
            request_messages: facts.request_messages,
            framing: self.adapter.stream_framing(target),
        };
        Ok(Prepared {
            upstream,
            context,
            hints: self.hints,
            translator,
            redact_query_keys: Arc::clone(&self.redact_query_keys),
        })
    }

    /// The client's non-empty string `model` (its JSON value text `raw`)
    /// as shared text: `options.model` itself when the client names the
    /// same model (the common case; no allocation), else a copy.
    fn request_model(&self, raw: &str) -> Option<Arc<str>> {
        if let (Some(token), Some(configured)) = (&self.options_model_token, &self.options_model)
            && raw == &**token
        {
            return Some(Arc::clone(configured));
        }
        json_str(raw).filter(|m| !m.is_empty()).map(Arc::from)
    }

    /// `announced`: the client's `Content-Length`; `size`: the body's.
    pub(super) fn check_size(&self, announced: Option<u64>, size: u64) -> Result<(), PrepareError> {
        let max = self.limits.max_req_body_size;
        match announced {
            Some(n) if n > max => Err(BodyError::TooLarge { size: n, max }.into()),
            _ if size > max => Err(BodyError::TooLarge { size, max }.into()),
            _ => Ok(()),
        }
    }

    pub(super) fn unsupported(&self, protocol: Protocol) -> PrepareError {
        let supported = self
            .adapter
            .capabilities()
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        PrepareError::UnsupportedProtocol {
            provider: self.provider,
            protocol,
            supported,
        }
    }

    pub(super) fn bearer(&self, token: Option<&Secret>) -> Result<HeaderValue, PrepareError> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| PrepareError::GcpToken {
                reason: "no access token was supplied; fetch one for auth.gcp (ai-proxy-vertex's \
                     token cache and source) and pass it to prepare"
                    .to_owned(),
            })?;
        Secret::new(format!("Bearer {}", token.expose()))
            .to_header_value()
            .ok_or_else(|| PrepareError::GcpToken {
                reason: "the access token contains characters not allowed in a header".to_owned(),
            })
    }
}

/// Sets `name` to the one value `text`; a client header that already
/// says exactly that is left as it is (no value built, no replacement),
/// anything else is replaced whole, extra values included.
fn set_exactly(
    headers: &mut HeaderMap,
    name: HeaderName,
    text: &[u8],
    value: impl FnOnce() -> HeaderValue,
) {
    match headers.entry(name) {
        Entry::Occupied(mut current) => {
            if current.iter().count() != 1 || current.get().as_bytes() != text {
                current.insert(value());
            }
        }
        Entry::Vacant(slot) => {
            slot.insert(value());
        }
    }
}

/// `Content-Length` in one allocation (`HeaderValue::from(u64)` takes
/// two: a growable buffer, then its conversion to shared bytes).
pub(super) fn content_length(len: usize) -> HeaderValue {
    let mut digits = [0u8; 20];
    HeaderValue::from_bytes(decimal(u64::try_from(len).unwrap_or(u64::MAX), &mut digits))
        .unwrap_or_else(|_| HeaderValue::from(len))
}
