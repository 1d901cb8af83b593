//! `bedrock-converse` and `bedrock-invoke`: Amazon Bedrock's Converse
//! responses and event-stream frames, and `InvokeModel` (Anthropic on
//! Bedrock) bodies and frames. The framing itself (AWS event streams) is
//! the adapter's; frames arrive here as (event type, JSON payload).

use serde::Deserialize;

use super::anthropic;
use super::observation::{Finders, Observation};
use crate::json::lenient::{Count, Str, parse};
use crate::usage::Usage;

/// Converse `usage` (body and `metadata` event). `inputTokens` excludes
/// cached input, which is counted in `cacheRead/WriteInputTokens`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ConverseUsage {
    input_tokens: Count,
    output_tokens: Count,
    total_tokens: Count,
    cache_read_input_tokens: Count,
    cache_write_input_tokens: Count,
}

impl ConverseUsage {
    fn to_usage(&self) -> Usage {
        Usage::new(self.input_tokens.0, self.output_tokens.0)
            .with_total(self.total_tokens.0)
            .with_cache(
                self.cache_read_input_tokens.0,
                self.cache_write_input_tokens.0,
            )
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Event<'a> {
    #[serde(borrow)]
    delta: Option<Block<'a>>,
    start: Option<Start>,
    usage: Option<ConverseUsage>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Start {
    tool_use: Option<serde::de::IgnoredAny>,
}

/// A content block (body) or a block delta (stream).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Block<'a> {
    #[serde(borrow)]
    text: Str<'a>,
    reasoning_content: Option<serde::de::IgnoredAny>,
    tool_use: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Body<'a> {
    #[serde(borrow)]
    output: Option<Output<'a>>,
    #[serde(borrow)]
    stop_reason: Str<'a>,
    usage: Option<ConverseUsage>,
    #[serde(borrow, alias = "Message")]
    message: Str<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Output<'a> {
    #[serde(borrow)]
    message: Option<OutputMessage<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OutputMessage<'a> {
    #[serde(borrow)]
    content: Option<Vec<Block<'a>>>,
}

/// `{"message": …}` of an exception or error frame.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorPayload<'a> {
    #[serde(borrow, alias = "Message")]
    message: Str<'a>,
}

/// An exception or error the upstream reported inside its stream: counted,
/// and the stream is over (APISIX: `:message-type` exception/error → done).
pub(crate) fn error_frame(obs: &mut Observation, kind: &str, payload: &[u8]) {
    let parsed = parse::<ErrorPayload<'_>>(payload.trim_ascii()).unwrap_or_default();
    let message = parsed.message.as_deref().unwrap_or(kind);
    obs.error(Some(message));
    obs.done = true;
}

/// One ConverseStream event.
pub(crate) fn converse_event(obs: &mut Observation, kind: &str, data: &[u8], full: bool) {
    let wanted = match kind {
        "messageStop" => {
            obs.done = true;
            return;
        }
        "metadata" => true,
        "contentBlockStart" => !obs.has_tool_calls,
        "contentBlockDelta" => full || !obs.content_seen,
        // messageStart, contentBlockStop, and events added later.
        _ => false,
    };
    if !wanted {
        return;
    }
    let Some(event) = parse::<Event<'_>>(data.trim_ascii()) else {
        obs.malformed();
        return;
    };
    match kind {
        "metadata" => {
            if let Some(usage) = &event.usage {
                obs.add_usage(usage.to_usage());
            }
            obs.done = true;
        }
        "contentBlockStart" => {
            if event.start.is_some_and(|s| s.tool_use.is_some()) {
                obs.has_tool_calls = true;
                obs.content_seen = true;
            }
        }
        _ => {
            if let Some(delta) = &event.delta {
                if let Some(text) = delta.text.as_deref() {
                    obs.content_seen |= !text.is_empty();
                    obs.push_text(text);
                }
                if delta.reasoning_content.is_some() {
                    obs.content_seen = true;
                }
                if delta.tool_use.is_some() {
                    obs.content_seen = true;
                    obs.has_tool_calls = true;
                }
            }
        }
    }
}

/// A whole Converse response body (or a Bedrock error body, whose only
/// member is `message`).
pub(crate) fn converse_body(obs: &mut Observation, body: &[u8]) {
    let Some(body) = parse::<Body<'_>>(body.trim_ascii()) else {
        obs.malformed();
        return;
    };
    let Some(output) = &body.output else {
        obs.error(body.message.as_deref());
        return;
    };
    if let Some(usage) = &body.usage {
        obs.add_usage(usage.to_usage());
    }
    obs.done = body.stop_reason.as_deref().is_some();
    let mut texts: Vec<&str> = Vec::new();
    let blocks = output.message.as_ref().and_then(|m| m.content.as_ref());
    for block in blocks.into_iter().flatten() {
        texts.extend(block.text.as_deref());
        obs.has_tool_calls |= block.tool_use.is_some();
        obs.content_seen |= block.reasoning_content.is_some();
    }
    obs.content_seen |= obs.has_tool_calls || texts.iter().any(|t| !t.is_empty());
    obs.push_text(&texts.join(" "));
}

/// `amazon-bedrock-invocationMetrics`, in the last chunk of an
/// `InvokeModelWithResponseStream` stream.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct InvocationMetrics {
    input_token_count: Count,
    output_token_count: Count,
    cache_read_input_token_count: Count,
    cache_write_input_token_count: Count,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct InvokeStop {
    #[serde(rename = "amazon-bedrock-invocationMetrics")]
    metrics: Option<InvocationMetrics>,
}

/// One `InvokeModelWithResponseStream` chunk, already unwrapped by the
/// framing to the model's own event (Anthropic's `message_start` …), named
/// by its `type`. Bedrock adds its invocation metrics to the last one.
pub(crate) fn invoke_event(
    obs: &mut Observation,
    finders: &Finders,
    kind: &str,
    data: &[u8],
    full: bool,
) {
    anthropic::event(obs, finders, kind, data, full);
    if kind == "message_stop"
        && let Some(metrics) = parse::<InvokeStop>(data.trim_ascii()).and_then(|s| s.metrics)
    {
        obs.add_usage(
            Usage::new(metrics.input_token_count.0, metrics.output_token_count.0).with_cache(
                metrics.cache_read_input_token_count.0,
                metrics.cache_write_input_token_count.0,
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(events: &[(&str, &str)]) -> Observation {
        let mut obs = Observation {
            text: Some(String::new()),
            ..Observation::default()
        };
        for (kind, data) in events {
            converse_event(&mut obs, kind, data.as_bytes(), true);
        }
        obs
    }

    #[test]
    fn metadata_usage_includes_cache_counts() {
        let obs = observed(&[(
            "metadata",
            r#"{"usage":{"inputTokens":3,"outputTokens":44,"totalTokens":11514,"cacheReadInputTokens":9511,"cacheWriteInputTokens":1956}}"#,
        )]);
        let u = obs.usage.unwrap();
        assert_eq!((u.prompt_tokens, u.completion_tokens), (3, 44));
        assert_eq!(u.total_tokens, 11514);
        assert_eq!(
            (u.cache_read_input_tokens, u.cache_creation_input_tokens),
            (9511, 1956)
        );
        assert!(obs.done);
    }

    #[test]
    fn deltas_carry_text_and_tool_calls() {
        let obs = observed(&[
            ("messageStart", r#"{"role":"assistant"}"#),
            (
                "contentBlockDelta",
                r#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#,
            ),
            (
                "contentBlockStart",
                r#"{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t","name":"f"}}}"#,
            ),
            (
                "contentBlockDelta",
                r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{}"}}}"#,
            ),
            ("messageStop", r#"{"stopReason":"tool_use"}"#),
        ]);
        assert_eq!(obs.text.as_deref(), Some("Hi"));
        assert!(obs.has_tool_calls && obs.content_seen && obs.done);
    }

    #[test]
    fn invocation_metrics_fill_usage() {
        let mut obs = Observation::default();
        let finders = Finders::new();
        invoke_event(
            &mut obs,
            &finders,
            "message_stop",
            br#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":7,"invocationLatency":500,"firstByteLatency":300}}"#,
            false,
        );
        let u = obs.usage.unwrap();
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens, u.total_tokens),
            (12, 7, 19)
        );
        assert!(obs.done);
    }

    #[test]
    fn error_bodies_are_errors() {
        let mut obs = Observation::default();
        converse_body(
            &mut obs,
            br#"{"message":"The security token included in the request is invalid."}"#,
        );
        assert_eq!(obs.error_events, 1);
        assert_eq!(
            obs.last_error.as_deref(),
            Some("The security token included in the request is invalid.")
        );
    }
}
