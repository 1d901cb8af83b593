//! What the OpenAI-wire adapters share.

use std::borrow::Cow;

use ai_proxy_core::Protocol;
use ai_proxy_core::adapter::{DefaultEndpoint, MaxTokensMapping};

/// `max_tokens` written as is.
pub(crate) const MAX_TOKENS: MaxTokensMapping = MaxTokensMapping::Set {
    field: "max_tokens",
    remove: &[],
};

/// `max_completion_tokens`, leaving a client `max_tokens` alone.
pub(crate) const MAX_COMPLETION_TOKENS: MaxTokensMapping = MaxTokensMapping::Set {
    field: "max_completion_tokens",
    remove: &[],
};

/// Responses API: `max_output_tokens`.
pub(crate) const MAX_OUTPUT_TOKENS: MaxTokensMapping = MaxTokensMapping::Set {
    field: "max_output_tokens",
    remove: &[],
};

/// The path for `target` from a `(protocol, path)` table, on `host`.
pub(crate) fn endpoint(
    host: Option<&'static str>,
    paths: &[(Protocol, &'static str)],
    target: Protocol,
) -> DefaultEndpoint {
    let path = paths
        .iter()
        .find(|(p, _)| *p == target)
        .map(|(_, path)| *path);
    let mut endpoint = match path {
        Some(path) => DefaultEndpoint::path_only(path),
        None => DefaultEndpoint::default(),
    };
    endpoint.host = host.map(Cow::Borrowed);
    endpoint
}

#[cfg(test)]
pub(crate) mod testing {
    use ai_proxy_core::adapter::EndpointContext;
    use ai_proxy_core::{Adapter, Protocol, RequestType};

    /// `(host, path)` of `adapter`'s default endpoint for `target`.
    pub(crate) fn location(
        adapter: &dyn Adapter,
        target: Protocol,
    ) -> (Option<String>, Option<String>) {
        let ctx = EndpointContext::new(None, None, RequestType::AiChat);
        let e = adapter.default_endpoint(target, &ctx);
        (e.host.map(String::from), e.path.map(String::from))
    }
}
