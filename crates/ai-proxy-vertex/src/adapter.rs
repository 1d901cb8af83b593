//! [`VertexAi`]: where Vertex AI lives (APISIX `ai-providers/vertex-ai.lua`).

use std::borrow::Cow;

use ai_proxy_core::adapter::{Adapter, DefaultEndpoint, EndpointContext, MaxTokensMapping};
use ai_proxy_core::config::ProviderConf;
use ai_proxy_core::{Protocol, Provider};

/// The `vertex-ai` provider.
///
/// Capabilities, in APISIX's order: `openai-chat` (Vertex's OpenAI-compatible
/// endpoint) and `vertex-predict` (`…/models/{model}:predict`). Clients never
/// send `vertex-predict` themselves: it is listed so that
/// [`Registry::delivery`](ai_proxy_core::Registry::delivery) finds the
/// [`EmbeddingsToPredict`](crate::EmbeddingsToPredict) converter for
/// `openai-embeddings` clients, and so that "supported: …" messages name it
/// as APISIX does.
///
/// | target | host | path |
/// |---|---|---|
/// | `openai-chat` | `{region}-aiplatform.googleapis.com` | `/v1beta1/projects/{project_id}/locations/{region}/endpoints/openapi/chat/completions` |
/// | `vertex-predict` | same | `/v1/projects/{project_id}/locations/{region}/publishers/google/models/{llm_model}:predict` |
///
/// No region → no host (it must come from `override.endpoint`); no
/// project or region (or, for `:predict`, no or an empty model) → no path. The model is
/// percent-encoded as one path segment (nginx's `escape_uri`: everything
/// but `A-Z a-z 0-9 - . _ ~`); project and region go through the same
/// encoding, which leaves every valid Google Cloud project id and region
/// unchanged but keeps a stray `/`, `?` or `#` from changing the URL.
///
/// One deliberate difference from APISIX: the region `global` uses the
/// global host `aiplatform.googleapis.com` (Google's documented endpoint for
/// the `global` location); APISIX would form `global-aiplatform.googleapis.com`.
///
/// `override.llm_options.max_tokens` sets `max_completion_tokens` for chat
/// (a client `max_tokens` stays) and is ignored for `:predict`.
///
/// ```
/// use ai_proxy_core::adapter::{Adapter, EndpointContext};
/// use ai_proxy_core::config::ProviderConf;
/// use ai_proxy_core::{Protocol, RequestType};
/// use ai_proxy_vertex::VertexAi;
///
/// let mut conf = ProviderConf::default();
/// conf.project_id = Some("my-project".into());
/// conf.region = Some("us-central1".into());
/// let ctx = EndpointContext::new(Some(&conf), Some("text-embedding-004"), RequestType::AiChat);
/// let ep = VertexAi.default_endpoint(Protocol::VertexPredict, &ctx);
/// assert_eq!(ep.host.as_deref(), Some("us-central1-aiplatform.googleapis.com"));
/// assert_eq!(
///     ep.path.as_deref(),
///     Some("/v1/projects/my-project/locations/us-central1/publishers/google/models/text-embedding-004:predict")
/// );
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VertexAi;

const CAPABILITIES: [Protocol; 2] = [Protocol::OpenAiChat, Protocol::VertexPredict];

impl Adapter for VertexAi {
    fn provider(&self) -> Provider {
        Provider::VertexAi
    }

    fn capabilities(&self) -> &[Protocol] {
        &CAPABILITIES
    }

    fn default_endpoint(&self, target: Protocol, ctx: &EndpointContext<'_>) -> DefaultEndpoint {
        let project = ctx.provider_conf.and_then(|c| c.project_id.as_deref());
        let region = ctx.provider_conf.and_then(|c| c.region.as_deref());
        let mut endpoint = DefaultEndpoint::default();
        endpoint.host = region.map(|r| host(r).into());
        endpoint.path = match target {
            Protocol::OpenAiChat => project.zip(region).map(|(p, r)| chat_path(p, r).into()),
            // An empty model cannot name a publisher model: no path (APISIX
            // would form `…/models/:predict`).
            Protocol::VertexPredict => {
                match (project, region, ctx.llm_model.filter(|m| !m.is_empty())) {
                    (Some(p), Some(r), Some(m)) => Some(predict_path(p, r, m).into()),
                    _ => None,
                }
            }
            _ => None,
        };
        endpoint
    }

    /// APISIX's `get_node`: the region's host, else the global
    /// `aiplatform.googleapis.com` (requests without a region have no
    /// host, but health checks still have somewhere to go).
    fn health_check_host(&self, provider_conf: Option<&ProviderConf>) -> Option<Cow<'static, str>> {
        let region = provider_conf.and_then(|c| c.region.as_deref());
        Some(region.map_or(Cow::Borrowed(GLOBAL_HOST), |r| Cow::Owned(host(r))))
    }

    fn max_tokens_mapping(&self, target: Protocol) -> MaxTokensMapping {
        match target {
            Protocol::OpenAiChat => MaxTokensMapping::Set {
                field: "max_completion_tokens",
                remove: &[],
            },
            _ => MaxTokensMapping::Ignore,
        }
    }
}

/// The host of the `global` location.
const GLOBAL_HOST: &str = "aiplatform.googleapis.com";

/// The Vertex AI host for `region`: `{region}-aiplatform.googleapis.com`,
/// or `aiplatform.googleapis.com` for the `global` location.
///
/// ```
/// assert_eq!(ai_proxy_vertex::adapter::host("europe-west4"), "europe-west4-aiplatform.googleapis.com");
/// assert_eq!(ai_proxy_vertex::adapter::host("global"), "aiplatform.googleapis.com");
/// ```
pub fn host(region: &str) -> String {
    if region == "global" {
        return GLOBAL_HOST.to_owned();
    }
    format!("{region}-aiplatform.googleapis.com")
}

/// The OpenAI-compatible chat path for a project and region.
///
/// ```
/// assert_eq!(
///     ai_proxy_vertex::adapter::chat_path("p", "us-east1"),
///     "/v1beta1/projects/p/locations/us-east1/endpoints/openapi/chat/completions"
/// );
/// ```
pub fn chat_path(project_id: &str, region: &str) -> String {
    let mut path = String::with_capacity(72 + project_id.len() + region.len());
    path.push_str("/v1beta1/projects/");
    escape_segment(project_id, &mut path);
    path.push_str("/locations/");
    escape_segment(region, &mut path);
    path.push_str("/endpoints/openapi/chat/completions");
    path
}

/// The `:predict` path for a publisher model (`model` percent-encoded as one
/// segment).
///
/// ```
/// assert_eq!(
///     ai_proxy_vertex::adapter::predict_path("p", "us-east1", "text-embedding-004"),
///     "/v1/projects/p/locations/us-east1/publishers/google/models/text-embedding-004:predict"
/// );
/// assert_eq!(
///     ai_proxy_vertex::adapter::predict_path("p", "r", "a/b c"),
///     "/v1/projects/p/locations/r/publishers/google/models/a%2Fb%20c:predict"
/// );
/// ```
pub fn predict_path(project_id: &str, region: &str, model: &str) -> String {
    let mut path = String::with_capacity(72 + project_id.len() + region.len() + model.len());
    path.push_str("/v1/projects/");
    escape_segment(project_id, &mut path);
    path.push_str("/locations/");
    escape_segment(region, &mut path);
    path.push_str("/publishers/google/models/");
    escape_segment(model, &mut path);
    path.push_str(":predict");
    path
}

/// nginx `escape_uri` (URI component): every byte but RFC 3986 unreserved
/// characters becomes `%XX` (upper-case hex).
fn escape_segment(s: &str, out: &mut String) {
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0x0f));
        }
    }
}

/// The upper-case hex digit for the low four bits of `n`.
fn hex_digit(n: u8) -> char {
    let n = n & 0x0f;
    char::from(if n < 10 { b'0' + n } else { b'A' + (n - 10) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_proxy_core::RequestType;
    use ai_proxy_core::config::ProviderConf;

    fn conf(project: Option<&str>, region: Option<&str>) -> ProviderConf {
        let mut c = ProviderConf::default();
        c.project_id = project.map(str::to_owned);
        c.region = region.map(str::to_owned);
        c
    }

    fn endpoint(
        target: Protocol,
        conf: Option<&ProviderConf>,
        model: Option<&str>,
    ) -> DefaultEndpoint {
        VertexAi.default_endpoint(
            target,
            &EndpointContext::new(conf, model, RequestType::AiChat),
        )
    }

    #[test]
    fn provider_is_vertex_ai() {
        assert_eq!(VertexAi.provider(), Provider::VertexAi);
        assert!(!VertexAi.removes_model());
    }

    #[test]
    fn capabilities_are_chat_then_predict() {
        assert_eq!(
            VertexAi.capabilities(),
            [Protocol::OpenAiChat, Protocol::VertexPredict]
        );
    }

    #[test]
    fn chat_endpoint_needs_project_and_region() {
        let c = conf(Some("my-project"), Some("us-central1"));
        let ep = endpoint(Protocol::OpenAiChat, Some(&c), None);
        assert_eq!(
            ep,
            DefaultEndpoint::new(
                "us-central1-aiplatform.googleapis.com",
                "/v1beta1/projects/my-project/locations/us-central1/endpoints/openapi/chat/completions"
            )
        );
    }

    #[test]
    fn predict_endpoint_needs_project_region_and_model() {
        // APISIX acceptance case 28.
        let c = conf(Some("my-project"), Some("us-central1"));
        let ep = endpoint(
            Protocol::VertexPredict,
            Some(&c),
            Some("text-embedding-004"),
        );
        assert_eq!(
            ep,
            DefaultEndpoint::new(
                "us-central1-aiplatform.googleapis.com",
                "/v1/projects/my-project/locations/us-central1/publishers/google/models/text-embedding-004:predict"
            )
        );
        assert_eq!(endpoint(Protocol::VertexPredict, Some(&c), None).path, None);
        assert_eq!(
            endpoint(Protocol::VertexPredict, Some(&c), Some("")).path,
            None
        );
    }

    #[test]
    fn no_region_means_no_host_and_no_path() {
        let c = conf(Some("p"), None);
        for target in [Protocol::OpenAiChat, Protocol::VertexPredict] {
            let ep = endpoint(target, Some(&c), Some("m"));
            assert_eq!(ep, DefaultEndpoint::default(), "{target}");
        }
    }

    #[test]
    fn region_without_project_gives_a_host_but_no_path() {
        let c = conf(None, Some("us-central1"));
        for target in [Protocol::OpenAiChat, Protocol::VertexPredict] {
            let ep = endpoint(target, Some(&c), Some("m"));
            assert_eq!(
                ep.host.as_deref(),
                Some("us-central1-aiplatform.googleapis.com")
            );
            assert_eq!(ep.path, None);
        }
    }

    #[test]
    fn no_provider_conf_means_nothing() {
        for target in [Protocol::OpenAiChat, Protocol::VertexPredict] {
            assert_eq!(
                endpoint(target, None, Some("m")),
                DefaultEndpoint::default()
            );
        }
    }

    #[test]
    fn other_targets_get_the_region_host_but_no_path() {
        let c = conf(Some("p"), Some("r1"));
        let ep = endpoint(Protocol::Passthrough, Some(&c), Some("m"));
        assert_eq!(ep.host.as_deref(), Some("r1-aiplatform.googleapis.com"));
        assert_eq!(ep.path, None);
    }

    #[test]
    fn health_checks_go_to_the_region_host_else_the_global_one() {
        let host = |c: Option<&ProviderConf>| VertexAi.health_check_host(c).map(String::from);
        let regional = conf(None, Some("us-central1"));
        assert_eq!(
            host(Some(&regional)).as_deref(),
            Some("us-central1-aiplatform.googleapis.com")
        );
        assert_eq!(
            host(Some(&conf(Some("p"), None))).as_deref(),
            Some("aiplatform.googleapis.com")
        );
        assert_eq!(host(None).as_deref(), Some("aiplatform.googleapis.com"));
    }

    #[test]
    fn global_region_uses_the_global_host() {
        let c = conf(Some("p"), Some("global"));
        let ep = endpoint(Protocol::OpenAiChat, Some(&c), None);
        assert_eq!(ep.host.as_deref(), Some("aiplatform.googleapis.com"));
        assert_eq!(
            ep.path.as_deref(),
            Some("/v1beta1/projects/p/locations/global/endpoints/openapi/chat/completions")
        );
    }

    #[test]
    fn model_is_escaped_as_one_segment() {
        let c = conf(Some("p"), Some("r"));
        let ep = endpoint(
            Protocol::VertexPredict,
            Some(&c),
            Some("pub/model:v1?x#y é~._-"),
        );
        assert_eq!(
            ep.path.as_deref(),
            Some(
                "/v1/projects/p/locations/r/publishers/google/models/pub%2Fmodel%3Av1%3Fx%23y%20%C3%A9~._-:predict"
            )
        );
    }

    #[test]
    fn nginx_unreserved_set_is_kept_everything_else_escaped() {
        let all: String = (1u8..=127).map(char::from).collect();
        let mut out = String::new();
        escape_segment(&all, &mut out);
        let kept: String = out
            .split('%')
            .map(|part| part.get(2..).unwrap_or(part))
            .collect();
        assert_eq!(
            kept,
            "-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"
        );
        assert!(out.starts_with("%01%02"));
        assert!(out.contains("%21%22%23%24%25%26%27%28%29%2A%2B%2C-.%2F0"));
    }

    #[test]
    fn project_and_region_with_url_syntax_cannot_break_the_path() {
        assert_eq!(
            chat_path("a/b?c", "r#1"),
            "/v1beta1/projects/a%2Fb%3Fc/locations/r%231/endpoints/openapi/chat/completions"
        );
    }

    #[test]
    fn max_tokens_sets_max_completion_tokens_for_chat_only() {
        assert_eq!(
            VertexAi.max_tokens_mapping(Protocol::OpenAiChat),
            MaxTokensMapping::Set {
                field: "max_completion_tokens",
                remove: &[]
            }
        );
        assert_eq!(
            VertexAi.max_tokens_mapping(Protocol::VertexPredict),
            MaxTokensMapping::Ignore
        );
    }
}
