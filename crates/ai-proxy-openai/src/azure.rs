//! The `azure-openai` [`Adapter`]: the deployment URL comes from
//! `override.endpoint` (Azure has no shared host), the model is named by
//! the deployment so `model` is removed from the body, and
//! `max_tokens` stays `max_tokens`.
//!
//! Azure rejects `stream_options` on api-versions older than
//! `2024-08-01-preview` (every streaming request would get a 400), so
//! [`AzureOpenAi`] lets the pipeline add `stream_options.include_usage`
//! only for that version or newer, or for the v1 API
//! (`/openai/v1/…`, `api-version=preview|latest`).
//!
//! ```
//! use ai_proxy_core::Adapter;
//! use ai_proxy_openai::azure::AzureOpenAi;
//!
//! let old: http::Uri = "https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-02-15-preview".parse().unwrap();
//! let new: http::Uri = "https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21".parse().unwrap();
//! assert!(!AzureOpenAi.accepts_stream_options(&old));
//! assert!(AzureOpenAi.accepts_stream_options(&new));
//! ```

use ai_proxy_core::adapter::{DefaultEndpoint, EndpointContext, MaxTokensMapping};
use ai_proxy_core::{Adapter, Protocol, Provider};

use crate::preset::MAX_TOKENS;

/// The first dated api-version that accepts `stream_options`
/// (`2024-08-01-preview`), as `(year, month, day)`.
pub const FIRST_STREAM_OPTIONS_VERSION: (u32, u32, u32) = (2024, 8, 1);

/// The `azure-openai` provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct AzureOpenAi;

impl Adapter for AzureOpenAi {
    fn provider(&self) -> Provider {
        Provider::AzureOpenAi
    }

    fn capabilities(&self) -> &[Protocol] {
        &[Protocol::OpenAiChat]
    }

    /// No host (it must come from `override.endpoint`); APISIX's default
    /// path `/completions` for a host-only endpoint.
    fn default_endpoint(&self, target: Protocol, _: &EndpointContext<'_>) -> DefaultEndpoint {
        match target {
            Protocol::OpenAiChat => DefaultEndpoint::path_only("/completions"),
            _ => DefaultEndpoint::default(),
        }
    }

    fn max_tokens_mapping(&self, target: Protocol) -> MaxTokensMapping {
        match target {
            Protocol::OpenAiChat => MAX_TOKENS,
            _ => MaxTokensMapping::Ignore,
        }
    }

    fn removes_model(&self) -> bool {
        true
    }

    fn accepts_stream_options(&self, upstream: &http::Uri) -> bool {
        if upstream.path().contains("/openai/v1/") {
            return true;
        }
        match api_version(upstream) {
            Some(v) => {
                v == "preview"
                    || v == "latest"
                    || date_of(&v).is_some_and(|d| d >= FIRST_STREAM_OPTIONS_VERSION)
            }
            None => false,
        }
    }
}

/// The `api-version` query parameter, decoded.
fn api_version(uri: &http::Uri) -> Option<String> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(k, _)| k == "api-version")
        .map(|(_, v)| v.into_owned())
}

/// `YYYY-MM-DD` at the start of an api-version (`2024-08-01-preview`).
fn date_of(version: &str) -> Option<(u32, u32, u32)> {
    let mut parts = version.splitn(4, '-');
    let year = parts.next()?.parse().ok()?;
    let month = parts.next()?.parse().ok()?;
    let day = parts.next()?.parse().ok()?;
    Some((year, month, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(uri: &str) -> bool {
        AzureOpenAi.accepts_stream_options(&uri.parse().unwrap())
    }

    const DEPLOYMENT: &str = "https://r.openai.azure.com/openai/deployments/gpt-4/chat/completions";

    #[test]
    fn versions_before_2024_08_01_preview_get_no_stream_options() {
        for v in [
            "2024-02-15-preview",
            "2024-06-01",
            "2024-07-01-preview",
            "2023-05-15",
        ] {
            assert!(!accepts(&format!("{DEPLOYMENT}?api-version={v}")), "{v}");
        }
    }

    #[test]
    fn versions_from_2024_08_01_preview_get_stream_options() {
        for v in ["2024-08-01-preview", "2024-10-21", "2025-04-01-preview"] {
            assert!(accepts(&format!("{DEPLOYMENT}?api-version={v}")), "{v}");
        }
    }

    #[test]
    fn v1_api_gets_stream_options() {
        assert!(accepts(
            "https://r.openai.azure.com/openai/v1/chat/completions"
        ));
        assert!(accepts(&format!("{DEPLOYMENT}?api-version=preview")));
    }

    #[test]
    fn missing_or_garbled_version_gets_none() {
        assert!(!accepts(DEPLOYMENT));
        assert!(!accepts(&format!("{DEPLOYMENT}?api-version=abc")));
    }

    #[test]
    fn model_is_removed_and_max_tokens_kept() {
        assert!(AzureOpenAi.removes_model());
        assert_eq!(
            AzureOpenAi.max_tokens_mapping(Protocol::OpenAiChat),
            MaxTokensMapping::Set {
                field: "max_tokens",
                remove: &[]
            }
        );
    }

    #[test]
    fn no_default_host() {
        let ctx = EndpointContext::new(None, None, ai_proxy_core::RequestType::AiChat);
        let e = AzureOpenAi.default_endpoint(Protocol::OpenAiChat, &ctx);
        assert_eq!(e, DefaultEndpoint::path_only("/completions"));
    }
}
