//! Anthropic Messages client → OpenAI chat upstream: APISIX §9 and the
//! spec §10 acceptance cases (13–17).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../common/mod.rs"]
mod common;
mod headers;
mod requests;
mod responses;
mod streams;

use ai_proxy_anthropic::{AnthropicToOpenAi, ChatToMessages, ToolNameMap, sanitize_tool_name};
use ai_proxy_core::adapter::{ConvertContext, ConvertError, Converter};
use ai_proxy_core::translate::{ResponseTranslator, TranslateError};
use ai_proxy_core::{Protocol, Provider, RequestType};
use bytes::BytesMut;
use common::{check_anthropic, run};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Value, json};

fn ctx(model: Option<&str>) -> ConvertContext<'_> {
    ConvertContext::new(Provider::OpenAi, model, None, RequestType::AiChat)
}

fn convert(body: Value) -> Value {
    let out = AnthropicToOpenAi
        .convert_request(body.to_string().as_bytes(), &ctx(None))
        .unwrap();
    serde_json::from_slice(&out.body).unwrap()
}

fn convert_err(body: &str) -> ConvertError {
    AnthropicToOpenAi
        .convert_request(body.as_bytes(), &ctx(None))
        .unwrap_err()
}

fn respond(upstream: Value, llm_model: Option<&str>) -> Value {
    let mut t = ChatToMessages::new(ToolNameMap::new(), llm_model);
    let mut out = BytesMut::new();
    t.translate_body(StatusCode::OK, upstream.to_string().as_bytes(), &mut out)
        .unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn stream(chunks: &[&str]) -> (String, Result<(), TranslateError>) {
    let events: Vec<_> = chunks
        .iter()
        .map(|c| ("message".to_owned(), (*c).to_owned()))
        .collect();
    run(&mut ChatToMessages::new(ToolNameMap::new(), None), &events)
}

#[test]
fn converts_anthropic_messages_to_openai_chat() {
    let c = AnthropicToOpenAi;
    assert_eq!(c.client_protocol(), Protocol::AnthropicMessages);
    assert_eq!(c.target_protocol(), Protocol::OpenAiChat);
}
