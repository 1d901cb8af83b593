//! `prepare` on converted routes: the converters hand over where their
//! body's members are (`BodyLayout`), so shaping the body (options,
//! `llm_options.max_tokens`, the `request_body` patch, usage injection,
//! model removal) and reading its facts parse nothing again — and give
//! exactly what parsing the converted body would.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::Instant;

use ai_proxy::anthropic::{AnthropicToOpenAi, OpenAiToAnthropic};
use ai_proxy::config::AiProxyConfig;
use ai_proxy::core::adapter::{ConvertContext, ConvertError, ConvertedRequest, Converter};
use ai_proxy::{AiProxy, Prepared, Protocol, Registry};
use bytes::Bytes;
use http::HeaderMap;
use serde_json::json;

/// A converter whose output `prepare` must parse: the same conversion
/// without its layout.
#[derive(Debug)]
struct Unlaid(Arc<dyn Converter>);

impl Converter for Unlaid {
    fn client_protocol(&self) -> Protocol {
        self.0.client_protocol()
    }
    fn target_protocol(&self) -> Protocol {
        self.0.target_protocol()
    }
    fn convert_request(
        &self,
        body: &[u8],
        ctx: &ConvertContext<'_>,
    ) -> Result<ConvertedRequest, ConvertError> {
        let converted = self.0.convert_request(body, ctx)?;
        assert!(converted.layout.is_some(), "the converter reports a layout");
        Ok(ConvertedRequest::new(converted.body, converted.translator))
    }
    fn convert_headers(&self, headers: &mut HeaderMap) {
        self.0.convert_headers(headers);
    }
}

fn unlaid_registry() -> Registry {
    ai_proxy::registry()
        .with_converter(Arc::new(Unlaid(Arc::new(AnthropicToOpenAi))))
        .with_converter(Arc::new(Unlaid(Arc::new(OpenAiToAnthropic::new()))))
}

fn prepared(config: &serde_json::Value, registry: &Registry, path: &str, body: &str) -> Prepared {
    let config = AiProxyConfig::from_json(&config.to_string()).unwrap();
    let proxy = AiProxy::compile(&config, registry).unwrap();
    let request = http::Request::post(path)
        .header("content-type", "application/json")
        .header("x-api-key", "client")
        .body(Bytes::from(body.to_owned()))
        .unwrap();
    proxy.prepare(request, Instant::now(), None).unwrap()
}

/// Prepares through the layout and through a parse; both must agree.
fn agree(config: serde_json::Value, path: &str, body: serde_json::Value) -> Prepared {
    let body = body.to_string();
    let laid = prepared(&config, &ai_proxy::registry(), path, &body);
    let parsed = prepared(&config, &unlaid_registry(), path, &body);
    let text = |p: &Prepared| String::from_utf8(p.upstream.body().to_vec()).unwrap();
    assert_eq!(text(&laid), text(&parsed), "{config}");
    assert_eq!(laid.upstream.headers(), parsed.upstream.headers());
    assert_eq!(laid.upstream.uri(), parsed.upstream.uri());
    let (a, b) = (&laid.context, &parsed.context);
    assert_eq!(a.tool_count, b.tool_count);
    assert_eq!(a.end_user_id, b.end_user_id);
    assert_eq!(
        a.request_messages.as_ref().map(|m| m.get().to_owned()),
        b.request_messages.as_ref().map(|m| m.get().to_owned())
    );
    assert_eq!(a.request_type, b.request_type);
    serde_json::from_slice::<serde_json::Value>(laid.upstream.body()).unwrap();
    laid
}

fn anthropic_body(stream: bool) -> serde_json::Value {
    json!({"model": "claude", "max_tokens": 100, "stream": stream, "metadata": {"user_id": "u-1"},
        "system": [{"type": "text", "text": "Be \"brief\".\n"}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "weather in São Paulo?"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "São Paulo"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]}],
        "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}, {"name": "mcp.server/x"}],
        "tool_choice": {"type": "auto"}})
}

fn openai_body(stream: bool) -> serde_json::Value {
    json!({"model": "gpt-4o", "max_tokens": 100, "stream": stream, "user": "u-2",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "weather in São Paulo?"},
            {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"São Paulo\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
        "tool_choice": "auto"})
}

#[test]
fn anthropic_clients_shape_the_converted_body_as_a_parse_would() {
    let base = json!({"provider": "openai", "auth": {"header": {"Authorization": "Bearer sk"}}});
    let mut configs = vec![base.clone()];
    let mut c = base.clone();
    c["options"] = json!({"model": "gpt-4o", "temperature": 0.2});
    c["override"] = json!({"llm_options": {"max_tokens": 512}});
    configs.push(c);
    let mut c = base.clone();
    c["override"] = json!({"request_body": {"openai-chat": {"stream_options": {"extra": 1}, "tools": [], "user": "patched"}},
        "request_body_force_override": true});
    c["logging"] = json!({"payloads": true});
    configs.push(c);
    // Azure removes `model` from the body.
    configs.push(json!({"provider": "azure-openai", "auth": {"header": {"api-key": "k"}},
        "override": {"endpoint": "https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21"}}));
    for config in configs {
        for stream in [false, true] {
            let p = agree(config.clone(), "/v1/messages", anthropic_body(stream));
            assert_eq!(p.context.client_protocol, Protocol::AnthropicMessages);
        }
    }
}

#[test]
fn openai_clients_of_the_native_anthropic_api_shape_as_a_parse_would() {
    let base = json!({"provider": "anthropic", "auth": {"header": {"x-api-key": "sk-ant"}},
        "override": {"endpoint": "https://api.anthropic.com/v1/messages"}});
    let mut configs = vec![base.clone()];
    let mut c = base.clone();
    c["override"]["llm_options"] = json!({"max_tokens": 64});
    c["options"] = json!({"temperature": 0.1});
    configs.push(c);
    let mut c = base.clone();
    c["override"]["request_body"] =
        json!({"anthropic-messages": {"metadata": {"user_id": "patched"}, "top_k": 3}});
    c["logging"] = json!({"payloads": true});
    configs.push(c);
    for config in configs {
        for stream in [false, true] {
            let p = agree(config.clone(), "/v1/chat/completions", openai_body(stream));
            assert_eq!(p.context.target_protocol, Protocol::AnthropicMessages);
        }
    }
}

#[test]
fn the_tool_count_of_a_converted_body_is_its_tools() {
    let config = json!({"provider": "openai", "auth": {"header": {"Authorization": "Bearer sk"}}});
    let p = agree(config, "/v1/messages", anthropic_body(false));
    assert_eq!(p.context.tool_count, 2);
    assert_eq!(p.context.end_user_id.as_deref(), Some("u-1"));
}
