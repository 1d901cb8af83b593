//! OpenAI chat client → Anthropic native Messages API: requests, headers,
//! responses, streams and the native adapter.

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

use ai_proxy_anthropic::{
    ANTHROPIC_VERSION, AnthropicNative, DEFAULT_MAX_TOKENS, MessagesToChat, OpenAiToAnthropic,
};
use ai_proxy_core::adapter::{
    Adapter, ConvertContext, ConvertError, Converter, DefaultEndpoint, EndpointContext,
    MaxTokensMapping, Registry,
};
use ai_proxy_core::translate::{ResponseTranslator, TranslateError};
use ai_proxy_core::{Protocol, Provider, RequestType};
use bytes::BytesMut;
use common::{check_openai, run};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

fn ctx() -> ConvertContext<'static> {
    ConvertContext::new(Provider::Anthropic, None, None, RequestType::AiChat)
}

fn convert(body: Value) -> Value {
    let out = OpenAiToAnthropic::new()
        .convert_request(body.to_string().as_bytes(), &ctx())
        .unwrap();
    serde_json::from_slice(&out.body).unwrap()
}

fn convert_err(body: Value) -> ConvertError {
    OpenAiToAnthropic::new()
        .convert_request(body.to_string().as_bytes(), &ctx())
        .unwrap_err()
}

fn respond(upstream: Value) -> Value {
    let mut out = BytesMut::new();
    MessagesToChat::new()
        .translate_body(StatusCode::OK, upstream.to_string().as_bytes(), &mut out)
        .unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn stream(events: &[(&str, Value)]) -> (String, Result<(), TranslateError>) {
    let events: Vec<_> = events
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.to_string()))
        .collect();
    run(&mut MessagesToChat::new(), &events)
}
