//! The upstream URI: configured endpoint or the adapter's default, auth
//! query merged (spec §2); resolved at compile time where it can be.

use std::borrow::Cow;

use http::Uri;

use super::AiProxy;
use super::endpoint::{endpoint_origin, merge_query};
use super::error::PrepareError;
use crate::adapter::{DefaultEndpoint, EndpointContext, EndpointPath};
use crate::protocol::{Protocol, RequestType};

impl AiProxy {
    /// The provider's own host (first capability), used for passthrough.
    pub(super) fn provider_host(&self) -> Option<Cow<'static, str>> {
        let first = self.adapter.capabilities().first().copied()?;
        let ctx = EndpointContext::new(self.provider_conf.as_ref(), None, RequestType::AiChat);
        self.adapter.default_endpoint(first, &ctx).host
    }

    /// Resolves scheme, authority, path and query (spec §2).
    pub(super) fn upstream_uri(
        &self,
        target: Protocol,
        client_uri: &Uri,
        llm_model: Option<&str>,
        request_type: RequestType,
    ) -> Result<Uri, PrepareError> {
        let ctx = EndpointContext::new(self.provider_conf.as_ref(), llm_model, request_type)
            .with_client_path(client_uri.path())
            .with_client_query(client_uri.query());
        let default = if target == Protocol::Passthrough {
            None
        } else {
            Some(self.adapter.default_endpoint(target, &ctx))
        };
        if let Some(default) = &default {
            let cached = self
                .uri_cache
                .iter()
                .find(|(p, d, _)| *p == target && d == default);
            if let Some((_, _, uri)) = cached {
                return Ok(uri.clone());
            }
        }
        self.build_uri(target, client_uri, default)
    }

    pub(super) fn build_uri(
        &self,
        target: Protocol,
        client_uri: &Uri,
        default: Option<DefaultEndpoint>,
    ) -> Result<Uri, PrepareError> {
        let endpoint = self.endpoint.as_ref();
        let (scheme, authority) = match endpoint.map(|e| endpoint_origin(&e.url)) {
            Some((scheme, authority)) if !authority.is_empty() => (scheme.to_owned(), authority),
            configured => {
                let host = default
                    .as_ref()
                    .and_then(|d| d.host.clone())
                    .or_else(|| self.provider_host())
                    .map(Cow::into_owned)
                    .ok_or_else(|| PrepareError::Upstream {
                        reason: format!(
                            "provider {} has no host; set override.endpoint",
                            self.provider
                        ),
                    })?;
                let scheme = configured.map_or("https", |(s, _)| s);
                (scheme.to_owned(), host)
            }
        };
        let request_query = default.as_ref().and_then(|d| d.query.clone());
        let path = match endpoint.filter(|e| e.has_path) {
            Some(e) => match default.as_ref().map(|d| &d.endpoint_path) {
                Some(EndpointPath::Extended(more)) => {
                    let base = e.url.path();
                    let base = base.strip_suffix('/').unwrap_or(base);
                    format!("{base}{more}")
                }
                Some(EndpointPath::Unresolved) => return Err(PrepareError::UnresolvedPath),
                _ => e.url.path().to_owned(),
            },
            None if target == Protocol::Passthrough => client_uri.path().to_owned(),
            None => default
                .and_then(|d| d.path)
                .map(Cow::into_owned)
                .ok_or(PrepareError::UnresolvedPath)?,
        };
        let client_query = (target == Protocol::Passthrough)
            .then(|| client_uri.query())
            .flatten();
        // The request's own pieces go on top of the endpoint's.
        let endpoint_query = match (endpoint.and_then(|e| e.url.query()), request_query) {
            (Some(e), Some(r)) => Some(Cow::Owned(format!("{e}&{r}"))),
            (e, r) => e.map(Cow::Borrowed).or(r),
        };
        let query = merge_query(&self.auth_query, endpoint_query.as_deref(), client_query);
        let mut text = format!("{scheme}://{authority}{path}");
        if let Some(query) = query {
            text.push('?');
            text.push_str(&query);
        }
        Uri::try_from(text).map_err(|e| PrepareError::Upstream {
            reason: format!("the upstream URL is invalid: {e}"),
        })
    }
}
