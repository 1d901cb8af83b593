//! Headers and the native adapter.

use super::*;

#[test]
fn anthropic_version_is_added_unless_sent() {
    let mut h = HeaderMap::new();
    OpenAiToAnthropic::new().convert_headers(&mut h);
    assert_eq!(h["anthropic-version"], ANTHROPIC_VERSION);
    let mut h = HeaderMap::new();
    h.insert("anthropic-version", HeaderValue::from_static("2024-01-01"));
    OpenAiToAnthropic::new().convert_headers(&mut h);
    assert_eq!(h["anthropic-version"], "2024-01-01");
    assert_eq!(h.len(), 1);
}

#[test]
fn native_adapter_speaks_only_messages_at_api_anthropic_com() {
    let a = AnthropicNative;
    assert_eq!(a.provider(), Provider::Anthropic);
    assert_eq!(a.capabilities(), &[Protocol::AnthropicMessages]);
    let ctx = EndpointContext::new(None, Some("claude"), RequestType::AiChat);
    assert_eq!(
        a.default_endpoint(Protocol::AnthropicMessages, &ctx),
        DefaultEndpoint::new("api.anthropic.com", "/v1/messages")
    );
    assert_eq!(
        a.max_tokens_mapping(Protocol::AnthropicMessages),
        MaxTokensMapping::Set {
            field: "max_tokens",
            remove: &[]
        }
    );
    let registry = Registry::new()
        .with_adapter(Arc::new(AnthropicNative))
        .with_converter(Arc::new(OpenAiToAnthropic::new()));
    assert_eq!(
        registry
            .delivery(&a, Protocol::OpenAiChat)
            .unwrap()
            .target_protocol(),
        Protocol::AnthropicMessages
    );
    assert_eq!(
        registry
            .delivery(&a, Protocol::AnthropicMessages)
            .unwrap()
            .target_protocol(),
        Protocol::AnthropicMessages
    );
    assert!(registry.delivery(&a, Protocol::OpenAiEmbeddings).is_none());
}
