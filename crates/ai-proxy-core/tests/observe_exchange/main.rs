//! The exchange state machine: passthrough, timing, limits (spec §5.6),
//! the error path, the translator hand-off, variables and attributes.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::time::{Duration, Instant};

use ai_proxy_core::context::RequestContext;
use ai_proxy_core::exchange::{Exchange, ExchangeError};
use ai_proxy_core::metrics::{APISIX_VARS, AttributeValue};
use ai_proxy_core::translate::{ResponseTranslator, TranslateError};
use ai_proxy_core::{Protocol, RequestType};
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, StatusCode, header};

const CHAT_STREAM: &[u8] = b"data: {\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":null}\n\n\
data: {\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n\
data: {\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":1,\"total_tokens\":5}}\n\n\
data: [DONE]\n\n";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn headers(content_type: &'static str, length: Option<u64>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(length) = length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    headers
}

fn ctx(start: Instant) -> RequestContext {
    RequestContext::new(Protocol::OpenAiChat, Protocol::OpenAiChat, start)
}

/// A real (if simple) translator: re-frames each upstream event as
/// `event: up` and wraps bodies; optionally rejects everything.
#[derive(Debug, Default)]
struct Reframe {
    reject: bool,
    silent: bool,
    finished: bool,
}

impl ResponseTranslator for Reframe {
    fn translate_body(
        &mut self,
        status: StatusCode,
        body: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        if self.reject {
            return Err(TranslateError::Malformed("no choices in response".into()));
        }
        out.extend_from_slice(format!("{{\"status\":{},\"body\":", status.as_u16()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"}");
        Ok(())
    }

    fn translate_event(
        &mut self,
        event: &str,
        data: &str,
        out: &mut BytesMut,
    ) -> Result<(), TranslateError> {
        if self.reject {
            return Err(TranslateError::Malformed("bad event".into()));
        }
        if !self.silent {
            out.extend_from_slice(format!("event: up-{event}\ndata: {data}\n\n").as_bytes());
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut BytesMut) -> Result<(), TranslateError> {
        self.finished = true;
        if !self.silent {
            out.extend_from_slice(b"event: end\ndata: {}\n\n");
        }
        Ok(())
    }
}

mod limits;
mod text_and_usage;
mod timing_and_vars;
mod translation;
