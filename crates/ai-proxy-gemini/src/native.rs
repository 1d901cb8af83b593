//! [`GeminiNative`]: `provider: gemini` / `provider: vertex-ai` speaking
//! Google's native `generateContent`, for routes whose `override.endpoint`
//! is the models collection (`…/v1beta/models`, or Vertex AI's
//! `…/publishers/google/models`).

use std::borrow::Cow;

use ai_proxy_core::adapter::{
    Adapter, DefaultEndpoint, EndpointContext, EndpointPath, MaxTokensMapping,
};
use ai_proxy_core::config::Options;
use ai_proxy_core::{Protocol, Provider, RequestType};

/// The Gemini API's host.
pub const GEMINI_HOST: &str = "generativelanguage.googleapis.com";

/// The endpoint path suffix that switches `provider: gemini` to the native
/// API (`https://generativelanguage.googleapis.com/v1beta/models`).
pub const MODELS_PATH: &str = "/models";

/// The endpoint path suffix that switches `provider: vertex-ai` to the
/// native API (`https://{region}-aiplatform.googleapis.com/v1/projects/
/// {project}/locations/{region}/publishers/google/models`).
pub const VERTEX_MODELS_PATH: &str = "/publishers/google/models";

/// Every endpoint path suffix that selects a [`GeminiNative`] adapter, with
/// and without a trailing slash, for
/// [`Registry::with_endpoint_variant`](ai_proxy_core::Registry::with_endpoint_variant).
///
/// ```
/// use std::sync::Arc;
/// use ai_proxy_core::Registry;
///
/// let registry = ai_proxy_gemini::endpoint_variants()
///     .into_iter()
///     .fold(Registry::new(), |r, (suffix, native)| r.with_endpoint_variant(suffix, Arc::new(native)));
/// # let _ = registry;
/// ```
pub fn endpoint_variants() -> [(&'static str, GeminiNative); 4] {
    [
        (MODELS_PATH, GeminiNative::gemini_api()),
        ("/models/", GeminiNative::gemini_api()),
        (VERTEX_MODELS_PATH, GeminiNative::vertex_ai()),
        ("/publishers/google/models/", GeminiNative::vertex_ai()),
    ]
}

const UNARY: &str = ":generateContent";
const STREAM: &str = ":streamGenerateContent";

/// A provider with only the native `gemini` capability: OpenAI chat
/// clients reach it through [`OpenAiToGemini`](crate::OpenAiToGemini),
/// native Gemini clients (`…/models/{model}:generateContent`) go straight
/// through, metered.
///
/// The upstream URL is the configured models collection plus
/// `/{model}:generateContent`, or `/{model}:streamGenerateContent?alt=sse`
/// when the client streams (a native client's own method and `alt` are
/// kept). The model is `options.model`, else the client body's `model`,
/// else the one a native client's path names, percent-encoded as one path
/// segment; without one the request is APISIX's 400 `could not resolve
/// upstream path`.
///
/// Credentials: the Gemini API takes `x-goog-api-key` (configure it in
/// `auth.header`), Vertex AI the OAuth token of `auth.gcp`.
///
/// `options` and `override.llm_options.max_tokens` land in
/// `generationConfig` (see [`options_patch`](Adapter::options_patch));
/// an option without a `generationConfig` field refuses the config.
///
/// ```
/// use ai_proxy_gemini::{GeminiNative, OpenAiToGemini};
/// use ai_proxy_core::adapter::Registry;
/// use ai_proxy_core::Protocol;
/// use std::sync::Arc;
///
/// let registry = Registry::new()
///     .with_adapter(Arc::new(GeminiNative::gemini_api()))
///     .with_converter(Arc::new(OpenAiToGemini));
/// let native = GeminiNative::gemini_api();
/// assert_eq!(registry.delivery(&native, Protocol::OpenAiChat).unwrap().target_protocol(), Protocol::Gemini);
/// assert_eq!(registry.delivery(&native, Protocol::Gemini).unwrap().target_protocol(), Protocol::Gemini);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeminiNative {
    provider: Provider,
}

impl GeminiNative {
    /// `provider: gemini`: the Gemini API (default host
    /// `generativelanguage.googleapis.com`, default path
    /// `/v1beta/models/{model}:…`).
    pub const fn gemini_api() -> Self {
        Self {
            provider: Provider::Gemini,
        }
    }

    /// `provider: vertex-ai`: Vertex AI (host and path always come from
    /// `override.endpoint`).
    pub const fn vertex_ai() -> Self {
        Self {
            provider: Provider::VertexAi,
        }
    }

    /// `/{model}:{method}` and the query this request needs, or `None`
    /// without a model.
    fn call(ctx: &EndpointContext<'_>) -> Option<(String, Option<&'static str>)> {
        let model = ctx.llm_model.filter(|m| !m.is_empty())?;
        let native = ctx.client_path.and_then(|p| {
            if p.ends_with(STREAM) {
                Some(true)
            } else if p.ends_with(UNARY) {
                Some(false)
            } else {
                None
            }
        });
        let (stream, query) = match native {
            // A native client chose its method and response framing.
            Some(stream) => {
                let alt = ctx.client_query.and_then(|q| {
                    q.split('&').find_map(|kv| match kv {
                        "alt=sse" => Some("alt=sse"),
                        "alt=json" => Some("alt=json"),
                        _ => None,
                    })
                });
                (stream, alt)
            }
            None => {
                let stream = ctx.request_type == RequestType::AiStream;
                (stream, stream.then_some("alt=sse"))
            }
        };
        let mut call = String::with_capacity(model.len() + 24);
        call.push('/');
        escape_segment(model, &mut call);
        call.push_str(if stream { STREAM } else { UNARY });
        Some((call, query))
    }
}

impl Adapter for GeminiNative {
    fn provider(&self) -> Provider {
        self.provider
    }

    fn capabilities(&self) -> &[Protocol] {
        &[Protocol::Gemini]
    }

    fn default_endpoint(&self, target: Protocol, ctx: &EndpointContext<'_>) -> DefaultEndpoint {
        let mut endpoint = DefaultEndpoint::default();
        if self.provider == Provider::Gemini {
            endpoint.host = Some(GEMINI_HOST.into());
        }
        if target != Protocol::Gemini {
            return endpoint;
        }
        match Self::call(ctx) {
            Some((call, query)) => {
                if self.provider == Provider::Gemini {
                    endpoint.path = Some(format!("/v1beta/models{call}").into());
                }
                endpoint.endpoint_path = EndpointPath::Extended(Cow::Owned(call));
                endpoint.query = query.map(Cow::Borrowed);
            }
            None => endpoint.endpoint_path = EndpointPath::Unresolved,
        }
        endpoint
    }

    fn max_tokens_mapping(&self, target: Protocol) -> MaxTokensMapping {
        // `override.llm_options.max_tokens` goes into the options patch.
        let _ = target;
        MaxTokensMapping::Ignore
    }

    fn options_patch(
        &self,
        target: Protocol,
        options: &Options,
        max_tokens: Option<u64>,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, String> {
        if target != Protocol::Gemini {
            return Ok(None);
        }
        crate::options::generation_config_patch(options, max_tokens).map(Some)
    }
}

/// Percent-encodes `s` as one path segment: everything but `A-Z a-z 0-9 -
/// . _ ~` (nginx's `escape_uri`, as the Vertex adapter does).
fn escape_segment(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(
                HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'),
            ));
            out.push(char::from(
                HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0'),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(model: Option<&str>, stream: bool, client: &str) -> DefaultEndpoint {
        let uri: http::Uri = client.parse().unwrap_or_default();
        let kind = if stream {
            RequestType::AiStream
        } else {
            RequestType::AiChat
        };
        let ctx = EndpointContext::new(None, model, kind)
            .with_client_path(uri.path())
            .with_client_query(uri.query());
        GeminiNative::gemini_api().default_endpoint(Protocol::Gemini, &ctx)
    }

    #[test]
    fn openai_clients_get_the_method_from_their_stream_flag() {
        let e = endpoint(Some("gemini-2.5-flash"), true, "/v1/chat/completions");
        assert_eq!(
            e.endpoint_path,
            EndpointPath::Extended("/gemini-2.5-flash:streamGenerateContent".into())
        );
        assert_eq!(e.query.as_deref(), Some("alt=sse"));
        assert_eq!(
            e.path.as_deref(),
            Some("/v1beta/models/gemini-2.5-flash:streamGenerateContent")
        );
        let e = endpoint(Some("gemini-2.5-flash"), false, "/v1/chat/completions");
        assert_eq!(
            e.endpoint_path,
            EndpointPath::Extended("/gemini-2.5-flash:generateContent".into())
        );
        assert_eq!(e.query, None);
    }

    #[test]
    fn native_clients_keep_their_method_and_framing() {
        let e = endpoint(Some("m"), true, "/v1beta/models/x:streamGenerateContent");
        assert_eq!(
            e.endpoint_path,
            EndpointPath::Extended("/m:streamGenerateContent".into())
        );
        assert_eq!(e.query, None, "a JSON-array stream stays one");
        let e = endpoint(
            Some("m"),
            true,
            "/models/x:streamGenerateContent?key=k&alt=sse",
        );
        assert_eq!(e.query.as_deref(), Some("alt=sse"));
    }

    #[test]
    fn no_model_is_an_unresolved_path() {
        assert_eq!(
            endpoint(None, false, "/v1/chat/completions").endpoint_path,
            EndpointPath::Unresolved
        );
    }

    #[test]
    fn models_are_one_path_segment() {
        let e = endpoint(Some("a/b c:d"), false, "/");
        assert_eq!(
            e.endpoint_path,
            EndpointPath::Extended("/a%2Fb%20c%3Ad:generateContent".into())
        );
    }
}
