//! Client protocol detection, in APISIX's order (spec §4).

use super::body::Body;
use crate::json::object::is_container;
use crate::protocol::{BodyTop, Protocol};

/// The client protocol of a request to `path` (no query) with `body`
/// ([`Protocol::detect`]); `None` is APISIX's 400 `no matching AI protocol
/// for the request`.
pub(crate) fn detect(path: &str, body: &Body<'_>) -> Option<Protocol> {
    let top = match body {
        Body::Object(obj) => BodyTop::Object {
            messages: obj.get("messages").is_some_and(is_container),
            input: obj.contains("input"),
            anthropic_version: obj.contains("anthropic_version"),
            non_empty: obj.has_entries(),
        },
        Body::Array { non_empty } => BodyTop::Array {
            non_empty: *non_empty,
        },
        Body::Scalar => BodyTop::Scalar,
    };
    Protocol::detect(path, top)
}

/// Whether the client body asks for a stream ([`Protocol::is_streaming`]).
pub(crate) fn is_streaming(protocol: Protocol, path: &str, body: &Body<'_>) -> bool {
    let stream = matches!(body, Body::Object(obj) if obj.get("stream") == Some("true"));
    protocol.is_streaming(path, stream)
}

/// The model a native Gemini path names (`…/models/gemini-2.5-flash:
/// generateContent` → `gemini-2.5-flash`), percent-decoded.
pub(crate) fn path_model(path: &str) -> Option<String> {
    let call = path.rsplit('/').next()?;
    let model = call.rsplit_once(':')?.0;
    if model.is_empty() {
        return None;
    }
    if !model.contains('%') {
        return Some(model.to_owned());
    }
    let bytes = model.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detected(path: &str, body: &str) -> Option<Protocol> {
        let body = Body::parse(body.as_bytes()).unwrap();
        detect(path, &body)
    }

    #[test]
    fn anthropic_messages_wins_on_its_path_for_any_object() {
        assert_eq!(
            detected("/v1/messages", r#"{"messages":[]}"#),
            Some(Protocol::AnthropicMessages)
        );
        assert_eq!(
            detected("/x/v1/messages", r#"{"a":1}"#),
            Some(Protocol::AnthropicMessages)
        );
        assert_eq!(
            detected("/v1/messages", "{}"),
            Some(Protocol::AnthropicMessages)
        );
    }

    #[test]
    fn responses_needs_its_path_and_input() {
        assert_eq!(
            detected("/v1/responses", r#"{"input":"hi"}"#),
            Some(Protocol::OpenAiResponses)
        );
        assert_eq!(
            detected("/v1/responses", r#"{"messages":[]}"#),
            Some(Protocol::OpenAiChat)
        );
    }

    #[test]
    fn chat_needs_messages_array_or_object_on_any_path() {
        assert_eq!(
            detected("/anything", r#"{"messages":[]}"#),
            Some(Protocol::OpenAiChat)
        );
        assert_eq!(
            detected("/", r#"{"messages":{}}"#),
            Some(Protocol::OpenAiChat)
        );
        assert_eq!(
            detected("/", r#"{"messages":"hello"}"#),
            Some(Protocol::Passthrough)
        );
    }

    #[test]
    fn embeddings_need_input() {
        assert_eq!(
            detected("/v1/embeddings", r#"{"input":"x"}"#),
            Some(Protocol::OpenAiEmbeddings)
        );
        assert_eq!(
            detected("/", r#"{"input":null}"#),
            Some(Protocol::OpenAiEmbeddings)
        );
    }

    #[test]
    fn other_non_empty_json_is_passthrough() {
        assert_eq!(
            detected("/v1/images/generations", r#"{"prompt":"x"}"#),
            Some(Protocol::Passthrough)
        );
        assert_eq!(detected("/", "[1]"), Some(Protocol::Passthrough));
    }

    #[test]
    fn empty_containers_and_scalars_match_nothing() {
        assert_eq!(detected("/", "{}"), None);
        assert_eq!(detected("/", "[]"), None);
        assert_eq!(detected("/", "42"), None);
        assert_eq!(detected("/", "null"), None);
    }

    #[test]
    fn only_boolean_true_streams() {
        let on = Body::parse(br#"{"stream":true}"#).unwrap();
        let text = Body::parse(br#"{"stream":"true"}"#).unwrap();
        assert!(is_streaming(Protocol::OpenAiChat, "/", &on));
        assert!(!is_streaming(Protocol::OpenAiChat, "/", &text));
        assert!(!is_streaming(Protocol::OpenAiEmbeddings, "/", &on));
    }

    #[test]
    fn bedrock_converse_needs_its_path_and_messages() {
        assert_eq!(
            detected("/model/m/converse", r#"{"messages":[]}"#),
            Some(Protocol::BedrockConverse)
        );
        assert_eq!(
            detected("/model/m/converse", r#"{"input":"x"}"#),
            Some(Protocol::OpenAiEmbeddings)
        );
        assert_eq!(
            detected("/v1/chat/completions", r#"{"messages":[]}"#),
            Some(Protocol::OpenAiChat)
        );
    }

    #[test]
    fn bedrock_invoke_needs_its_path_and_anthropic_version() {
        let body = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":9,"messages":[]}"#;
        assert_eq!(
            detected("/model/anthropic.claude-v2/invoke", body),
            Some(Protocol::BedrockInvoke)
        );
        assert_eq!(
            detected("/model/x/invoke-with-response-stream", body),
            Some(Protocol::BedrockInvoke)
        );
        assert_eq!(
            detected("/v1/chat/completions", body),
            Some(Protocol::OpenAiChat)
        );
        assert_eq!(
            detected("/model/x/invoke", r#"{"messages":[]}"#),
            Some(Protocol::OpenAiChat)
        );
    }

    #[test]
    fn invoke_streams_by_path() {
        let body = Body::parse(br#"{"anthropic_version":"bedrock-2023-05-31"}"#).unwrap();
        assert!(is_streaming(
            Protocol::BedrockInvoke,
            "/model/x/invoke-with-response-stream",
            &body
        ));
        assert!(!is_streaming(
            Protocol::BedrockInvoke,
            "/model/x/invoke",
            &body
        ));
    }

    #[test]
    fn gemini_calls_are_detected_by_their_path() {
        let body = r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#;
        for path in [
            "/v1beta/models/gemini-2.5-flash:generateContent",
            "/v1/projects/p/locations/l/publishers/google/models/m:streamGenerateContent",
        ] {
            assert_eq!(detected(path, body), Some(Protocol::Gemini), "{path}");
        }
        // Other native methods are plain passthrough.
        assert_eq!(
            detected("/v1beta/models/m:countTokens", body),
            Some(Protocol::Passthrough)
        );
        assert_eq!(
            detected("/x:generateContent", "[1]"),
            Some(Protocol::Passthrough)
        );
    }

    #[test]
    fn gemini_streams_by_method() {
        let body = Body::parse(br#"{"contents":[]}"#).unwrap();
        assert!(is_streaming(
            Protocol::Gemini,
            "/m/x:streamGenerateContent",
            &body
        ));
        assert!(!is_streaming(
            Protocol::Gemini,
            "/m/x:generateContent",
            &body
        ));
    }

    #[test]
    fn the_model_of_a_gemini_path_is_decoded() {
        assert_eq!(
            path_model("/v1beta/models/gemini-2.5-flash:generateContent").as_deref(),
            Some("gemini-2.5-flash")
        );
        assert_eq!(path_model("/m/a%20b%2:x").as_deref(), Some("a b%2"));
        assert_eq!(path_model("/models/:generateContent"), None);
        assert_eq!(path_model("/models/%FF:generateContent"), None);
    }
}
