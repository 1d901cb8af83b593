//! `openai-responses`: `/v1/responses` event streams (`response.*` events)
//! and response bodies.

use serde::Deserialize;

use super::observation::{Finders, Observation};
use crate::json::lenient::{Count, ErrorInfo, Str, parse};
use crate::usage::Usage;

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResponsesUsage {
    input_tokens: Count,
    output_tokens: Count,
    total_tokens: Count,
    input_tokens_details: Option<InputDetails>,
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct InputDetails {
    cached_tokens: Count,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OutputDetails {
    reasoning_tokens: Count,
}

impl ResponsesUsage {
    fn to_usage(&self) -> Usage {
        Usage::new(self.input_tokens.0, self.output_tokens.0)
            .with_total(self.total_tokens.0)
            .with_cache(
                self.input_tokens_details
                    .as_ref()
                    .map_or(0, |d| d.cached_tokens.0),
                0,
            )
            .with_reasoning(
                self.output_tokens_details
                    .as_ref()
                    .map_or(0, |d| d.reasoning_tokens.0),
            )
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Response<'a> {
    #[serde(borrow)]
    model: Str<'a>,
    usage: Option<ResponsesUsage>,
    #[serde(borrow)]
    output: Option<Vec<OutputItem<'a>>>,
    #[serde(borrow)]
    status: Str<'a>,
    error: ErrorInfo,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OutputItem<'a> {
    #[serde(rename = "type", borrow)]
    kind: Str<'a>,
    #[serde(borrow)]
    content: Option<Vec<OutputContent<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OutputContent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Str<'a>,
    #[serde(borrow)]
    text: Str<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: Str<'a>,
    #[serde(borrow)]
    delta: Str<'a>,
    #[serde(borrow)]
    response: Option<Response<'a>>,
    #[serde(borrow)]
    item: Option<OutputItem<'a>>,
    message: Option<String>,
    error: ErrorInfo,
}

fn wanted(obs: &Observation, kind: &str, data: &[u8]) -> bool {
    match kind {
        "response.completed" | "response.failed" | "response.incomplete" | "error" => true,
        "response.created" | "response.in_progress" => obs.model.is_none(),
        "response.output_item.added" | "response.output_item.done" => {
            !obs.has_tool_calls && memchr::memmem::find(data, b"function_call").is_some()
        }
        _ => kind.ends_with(".delta") && !obs.content_seen,
    }
}

fn apply_response(obs: &mut Observation, response: &Response<'_>) {
    obs.set_model(response.model.as_deref());
    if let Some(usage) = &response.usage {
        obs.add_usage(usage.to_usage());
    }
    for item in response.output.iter().flatten() {
        if item.kind.as_deref() == Some("function_call") {
            obs.has_tool_calls = true;
        }
    }
}

pub(crate) fn event(obs: &mut Observation, _f: &Finders, kind: &str, data: &[u8], full: bool) {
    let named = kind != "message";
    // With text on, only text deltas are parsed beyond what usage needs.
    if named && !wanted(obs, kind, data) && !(full && kind == "response.output_text.delta") {
        return;
    }
    let Some(event) = parse::<Event<'_>>(data.trim_ascii()) else {
        obs.malformed();
        return;
    };
    let kind = if named {
        kind
    } else {
        event.kind.as_deref().unwrap_or_default()
    };
    match kind {
        "response.output_text.delta" => {
            if let Some(delta) = event.delta.as_deref() {
                obs.content_seen |= !delta.is_empty();
                obs.push_text(delta);
            }
        }
        "response.function_call_arguments.delta" => {
            obs.content_seen = true;
            obs.has_tool_calls = true;
        }
        "response.output_item.added" | "response.output_item.done" => {
            if event.item.and_then(|i| i.kind.0).as_deref() == Some("function_call") {
                obs.content_seen = true;
                obs.has_tool_calls = true;
            }
        }
        "response.created" | "response.in_progress" => {
            if let Some(response) = &event.response {
                obs.set_model(response.model.as_deref());
            }
        }
        "response.completed" | "response.failed" | "response.incomplete" => {
            obs.done = true;
            if let Some(response) = &event.response {
                apply_response(obs, response);
                if response.error.present {
                    obs.error(response.error.message.as_deref());
                }
            }
        }
        "error" => obs.error(event.message.as_deref().or(event.error.message.as_deref())),
        other => {
            if other.ends_with(".delta") && event.delta.as_deref().is_some_and(|d| !d.is_empty()) {
                obs.content_seen = true;
            }
        }
    }
}

pub(crate) fn body(obs: &mut Observation, body: &[u8]) {
    let Some(response) = parse::<Response<'_>>(body.trim_ascii()) else {
        obs.malformed();
        return;
    };
    apply_response(obs, &response);
    if response.error.present {
        obs.error(response.error.message.as_deref());
    }
    obs.done = response.status.as_deref() == Some("completed");
    let mut texts: Vec<&str> = Vec::new();
    for item in response.output.iter().flatten() {
        if item.kind.as_deref() != Some("message") {
            continue;
        }
        for part in item.content.iter().flatten() {
            if part.kind.as_deref() == Some("output_text")
                && let Some(text) = part.text.as_deref()
            {
                texts.push(text);
            }
        }
    }
    obs.content_seen = obs.has_tool_calls || texts.iter().any(|t| !t.is_empty());
    obs.push_text(&texts.join(" "));
}
