//! Golden tests of the request mapping, OpenAI chat → Gemini
//! `generateContent`: one behaviour per test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ai_proxy_core::adapter::{ConvertContext, ConvertError, Converter};
use ai_proxy_core::{Provider, RequestType};
use ai_proxy_gemini::OpenAiToGemini;
use serde_json::{Value, json};

fn convert_for(body: &Value, model: Option<&str>) -> Result<Value, ConvertError> {
    let ctx = ConvertContext::new(Provider::Gemini, model, None, RequestType::AiChat);
    let bytes = serde_json::to_vec(body).unwrap();
    let out = OpenAiToGemini.convert_request(&bytes, &ctx)?;
    Ok(serde_json::from_slice(&out.body).unwrap())
}

fn convert(body: Value) -> Value {
    convert_for(&body, Some("gemini-2.5-flash")).unwrap()
}

fn error(body: Value) -> String {
    convert_for(&body, Some("gemini-2.5-flash"))
        .unwrap_err()
        .message
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

/// The converted `generationConfig` of a one-message request with `extra`.
fn config(extra: Value) -> Value {
    let mut body = json!({"messages": [user("hi")]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    convert(body)["generationConfig"].clone()
}

/// The converted declaration of one tool with these parameters.
fn declaration(parameters: Value) -> Value {
    let out = convert(json!({"messages": [user("hi")], "tools": [
        {"type": "function", "function": {"name": "f", "description": "d", "parameters": parameters}}]}));
    out["tools"][0]["functionDeclarations"][0].clone()
}

#[test]
fn the_body_is_exact_bytes_for_a_plain_chat() {
    let ctx = ConvertContext::new(Provider::Gemini, None, None, RequestType::AiChat);
    let body = br#"{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Gr\u00fc\u00df \"dich\"\n"}],"stream":true,"user":"u1","store":false}"#;
    let out = OpenAiToGemini.convert_request(body, &ctx).unwrap();
    // Text is copied as its raw JSON token; unknown OpenAI fields go.
    assert_eq!(
        std::str::from_utf8(&out.body).unwrap(),
        r#"{"contents":[{"role":"user","parts":[{"text":"Gr\u00fc\u00df \"dich\"\n"}]}]}"#
    );
}

#[test]
fn system_and_developer_messages_become_system_instruction_parts_in_order() {
    let out = convert(json!({"messages": [
        {"role": "system", "content": "one"},
        user("hi"),
        {"role": "developer", "content": [{"type": "text", "text": "two"}, {"type": "text", "text": "three"}]},
    ]}));
    assert_eq!(
        out["systemInstruction"],
        json!({"parts": [{"text": "one"}, {"text": "two"}, {"text": "three"}]})
    );
    assert_eq!(
        out["contents"],
        json!([{"role": "user", "parts": [{"text": "hi"}]}])
    );
}

#[test]
fn assistant_becomes_model_and_empty_messages_are_left_out() {
    let out = convert(json!({"messages": [
        user("hi"),
        {"role": "assistant", "content": ""},
        {"role": "assistant", "content": "hello"},
        user(""),
        user("again"),
    ]}));
    assert_eq!(
        out["contents"],
        json!([
            {"role": "user", "parts": [{"text": "hi"}]},
            {"role": "model", "parts": [{"text": "hello"}]},
            {"role": "user", "parts": [{"text": "again"}]},
        ])
    );
}

#[test]
fn data_url_images_become_inline_data() {
    let out = convert(json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]}]}));
    assert_eq!(
        out["contents"][0]["parts"],
        json!([{"text": "what is this?"}, {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}])
    );
}

#[test]
fn http_urls_become_file_data_with_the_type_their_extension_names() {
    let out = convert(json!({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.JPG?size=2"}},
        {"type": "image_url", "image_url": "gs://bucket/scan"},
    ]}]}));
    assert_eq!(
        out["contents"][0]["parts"],
        json!([
            {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.JPG?size=2"}},
            {"fileData": {"fileUri": "gs://bucket/scan"}},
        ])
    );
}

#[test]
fn audio_and_files_become_inline_or_file_data() {
    let out = convert(json!({"messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}},
        {"type": "file", "file": {"file_id": "https://generativelanguage.googleapis.com/v1beta/files/abc"}},
    ]}]}));
    assert_eq!(
        out["contents"][0]["parts"],
        json!([
            {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
            {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
            {"fileData": {"fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc"}},
        ])
    );
}

#[test]
fn unknown_content_parts_are_a_400_naming_the_part() {
    let e =
        error(json!({"messages": [{"role": "user", "content": [{"type": "video", "video": {}}]}]}));
    assert_eq!(
        e,
        "invalid OpenAI chat request for Gemini: messages[0].content[0]: content part type \
         `video` has no Gemini equivalent (use text, image_url, input_audio or file)"
    );
}

#[test]
fn tool_calls_become_function_calls_with_ids_and_parsed_args() {
    let out = convert(json!({"messages": [
        user("weather?"),
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Zürich\", \"q\": \"a\\\"b\"}"}},
            {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}},
        ]},
    ]}));
    assert_eq!(
        out["contents"][1],
        json!({"role": "model", "parts": [
            {"functionCall": {"id": "call_1", "name": "get_weather", "args": {"city": "Zürich", "q": "a\"b"}}},
            {"functionCall": {"id": "call_2", "name": "now", "args": {}}},
        ]})
    );
}

#[test]
fn tool_call_thought_signatures_go_back_on_their_function_call() {
    let out = convert(json!({"messages": [
        user("country?"),
        {"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_country", "arguments": "{}"},
             "extra_content": {"google": {"thought_signature": "EpwICpkIAXLI"}}},
            {"id": "c2", "type": "function", "function": {"name": "get_country", "arguments": "{}"}},
        ]},
    ]}));
    assert_eq!(
        out["contents"][1]["parts"],
        json!([
            {"functionCall": {"id": "c1", "name": "get_country", "args": {}}, "thoughtSignature": "EpwICpkIAXLI"},
            {"functionCall": {"id": "c2", "name": "get_country", "args": {}}},
        ])
    );
}

#[test]
fn a_message_signature_goes_back_on_the_last_text_part() {
    let out = convert(json!({"messages": [
        user("hi"),
        {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
         "extra_content": {"google": {"thought_signature": "CiQB"}}},
    ]}));
    assert_eq!(
        out["contents"][1]["parts"],
        json!([{"text": "a"}, {"text": "b", "thoughtSignature": "CiQB"}])
    );
}

#[test]
fn a_message_signature_without_text_goes_on_the_first_unsigned_call() {
    let out = convert(json!({"messages": [
        user("hi"),
        {"role": "assistant", "extra_content": {"google": {"thought_signature": "SIG"}}, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
    ]}));
    assert_eq!(
        out["contents"][1]["parts"],
        json!([{"functionCall": {"id": "c1", "name": "f", "args": {}}, "thoughtSignature": "SIG"}])
    );
}

#[test]
fn tool_arguments_that_are_not_an_object_are_a_400() {
    let e = error(
        json!({"messages": [user("hi"), {"role": "assistant", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}),
    );
    assert_eq!(
        e,
        "invalid OpenAI chat request for Gemini: messages[1].tool_calls[0]: function.arguments \
         must be a JSON object (Gemini functionCall.args)"
    );
}

#[test]
fn consecutive_tool_results_become_one_content_of_function_responses() {
    let out = convert(json!({"messages": [
        user("two things"),
        {"role": "assistant", "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "first", "arguments": "{}"}},
            {"id": "b", "type": "function", "function": {"name": "second", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "a", "content": "{\"ok\":true}"},
        {"role": "tool", "tool_call_id": "b", "content": [{"type": "text", "text": "x\ny"}, {"type": "text", "text": "z"}]},
        user("thanks"),
    ]}));
    assert_eq!(
        out["contents"][2],
        json!({"role": "user", "parts": [
            {"functionResponse": {"id": "a", "name": "first", "response": {"content": "{\"ok\":true}"}}},
            {"functionResponse": {"id": "b", "name": "second", "response": {"content": "x\nyz"}}},
        ]})
    );
    assert_eq!(out["contents"][3]["parts"][0]["text"], "thanks");
}

#[test]
fn a_tool_result_without_its_call_uses_the_message_name_or_is_a_400() {
    let out = convert(json!({"messages": [user("hi"),
        {"role": "tool", "tool_call_id": "x", "name": "lookup", "content": "r"}]}));
    assert_eq!(
        out["contents"][1]["parts"][0]["functionResponse"]["name"],
        "lookup"
    );
    let e = error(
        json!({"messages": [user("hi"), {"role": "tool", "tool_call_id": "x", "content": "r"}]}),
    );
    assert!(
        e.contains("messages[1] (tool): tool_call_id \"x\" matches no earlier assistant tool call"),
        "{e}"
    );
}

#[test]
fn function_tools_become_function_declarations() {
    let out = convert(json!({"messages": [user("hi")], "tools": [
        {"type": "function", "function": {"name": "get_weather", "description": "Weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "now"}},
    ]}));
    assert_eq!(
        out["tools"],
        json!([{"functionDeclarations": [
            {"name": "get_weather", "description": "Weather",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
            {"name": "now"},
        ]}])
    );
}

#[test]
fn schema_keywords_gemini_rejects_are_removed() {
    let d = declaration(json!({
        "$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": false,
        "properties": {
            "n": {"type": "integer", "exclusiveMinimum": 0, "minimum": 1, "maximum": 9, "multipleOf": 1, "format": "int64"},
            "s": {"type": "string", "format": "email", "minLength": 1, "pattern": "^a", "examples": ["a"]},
            "when": {"type": "string", "format": "date-time"},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true, "maxItems": 3},
        },
        "required": ["n"], "strict": true
    }));
    assert_eq!(
        d["parameters"],
        json!({"type": "object", "properties": {
            "n": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 9},
            "s": {"type": "string", "minLength": 1, "pattern": "^a"},
            "when": {"type": "string", "format": "date-time"},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        }, "required": ["n"]})
    );
}

#[test]
fn kept_schema_keywords_are_copied_as_sent_in_a_fixed_order_title_last() {
    let body = br#"{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"title":"T","propertyOrdering":["a"],"default":{"a":"\u00e9"},"example":{"a":"x"},"maximum":9.50,"minimum":1e0,"maxProperties":4,"minProperties":1,"pattern":"^\\d","maxLength":8,"minLength":1,"maxItems":3,"minItems":0,"type":"object","properties":{"a":{"type":"string"}}}}}]}"#;
    let ctx = ConvertContext::new(
        Provider::Gemini,
        Some("gemini-2.5-flash"),
        None,
        RequestType::AiChat,
    );
    let out = OpenAiToGemini.convert_request(body, &ctx).unwrap();
    let expected = br#""parameters":{"type":"object","properties":{"a":{"type":"string"}},"minItems":0,"maxItems":3,"minLength":1,"maxLength":8,"pattern":"^\\d","minProperties":1,"maxProperties":4,"minimum":1e0,"maximum":9.50,"example":{"a":"x"},"default":{"a":"\u00e9"},"propertyOrdering":["a"],"title":"T"}"#;
    let text = String::from_utf8_lossy(&out.body);
    assert!(
        text.contains(std::str::from_utf8(expected).unwrap()),
        "{text}"
    );
}

#[test]
fn nullable_types_become_nullable() {
    let d = declaration(json!({"type": "object", "properties": {
        "a": {"type": ["string", "null"]},
        "b": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": null},
        "c": {"type": ["string", "integer"]},
    }}));
    assert_eq!(
        d["parameters"]["properties"],
        json!({
            "a": {"type": "string", "nullable": true},
            "b": {"anyOf": [{"type": "integer"}], "nullable": true},
            "c": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        })
    );
}

#[test]
fn local_refs_are_inlined_and_recursion_is_cut() {
    let d = declaration(json!({
        "type": "object",
        "properties": {
            "owner": {"$ref": "#/$defs/Person", "description": "who owns it"},
            "node": {"$ref": "#/definitions/Node"},
        },
        "$defs": {"Person": {"type": "object", "description": "a person", "properties": {"name": {"type": "string"}}}},
        "definitions": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/definitions/Node"}}}},
    }));
    assert_eq!(
        d["parameters"]["properties"],
        json!({
            "owner": {"type": "object", "description": "who owns it", "properties": {"name": {"type": "string"}}},
            "node": {"type": "object", "properties": {"next": {"type": "object"}}},
        })
    );
}

#[test]
fn unresolvable_refs_are_a_400() {
    let e = error(
        json!({"messages": [user("hi")], "tools": [{"type": "function", "function": {"name": "f",
        "parameters": {"type": "object", "properties": {"x": {"$ref": "https://example.com/s.json"}}}}}]}),
    );
    assert_eq!(
        e,
        "invalid OpenAI chat request for Gemini: tools[0].function.parameters: $ref \
         `https://example.com/s.json` cannot be inlined for Gemini (only local #/$defs/… and \
         #/definitions/… references are)"
    );
}

#[test]
fn one_of_all_of_and_const_are_rewritten() {
    let d = declaration(json!({"type": "object", "properties": {
        "kind": {"const": "circle"},
        "shape": {"oneOf": [{"type": "string"}, {"type": "number"}]},
        "wrapped": {"allOf": [{"type": "boolean"}]},
    }}));
    assert_eq!(
        d["parameters"]["properties"],
        json!({
            "kind": {"enum": ["circle"]},
            "shape": {"anyOf": [{"type": "string"}, {"type": "number"}]},
            "wrapped": {"anyOf": [{"type": "boolean"}]},
        })
    );
}

#[test]
fn functions_without_properties_get_no_parameters_and_nested_empty_properties_go() {
    assert_eq!(
        declaration(json!({"type": "object", "properties": {}, "additionalProperties": false})),
        json!({"name": "f", "description": "d"})
    );
    let d = declaration(
        json!({"type": "object", "properties": {"opts": {"type": "object", "properties": {}}}}),
    );
    assert_eq!(
        d["parameters"]["properties"]["opts"],
        json!({"type": "object"})
    );
}

#[test]
fn tool_choice_becomes_function_calling_config() {
    let tools = json!([{"type": "function", "function": {"name": "f"}}]);
    let mode = |choice: Value| {
        convert(json!({"messages": [user("hi")], "tools": tools, "tool_choice": choice}))["toolConfig"].clone()
    };
    assert_eq!(
        mode(json!("auto")),
        json!({"functionCallingConfig": {"mode": "AUTO"}})
    );
    assert_eq!(
        mode(json!("none")),
        json!({"functionCallingConfig": {"mode": "NONE"}})
    );
    assert_eq!(
        mode(json!("required")),
        json!({"functionCallingConfig": {"mode": "ANY"}})
    );
    assert_eq!(
        mode(json!({"type": "function", "function": {"name": "f"}})),
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}})
    );
    // Without tools there is nothing to configure.
    let out = convert(json!({"messages": [user("hi")], "tool_choice": "required"}));
    assert!(out.get("toolConfig").is_none());
}

#[test]
fn response_format_becomes_mime_type_and_schema() {
    assert_eq!(
        config(json!({"response_format": {"type": "json_object"}})),
        json!({"responseMimeType": "application/json"})
    );
    assert_eq!(
        config(
            json!({"response_format": {"type": "json_schema", "json_schema": {"name": "r", "strict": true,
            "schema": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false}}}})
        ),
        json!({"responseMimeType": "application/json",
            "responseSchema": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}})
    );
    assert!(config(json!({"response_format": {"type": "text"}})).is_null());
}

#[test]
fn sampling_fields_become_generation_config() {
    assert_eq!(
        config(
            json!({"max_tokens": 10, "max_completion_tokens": 20, "temperature": 0.2, "top_p": 0.9,
            "top_k": 40, "n": 2, "seed": 7, "stop": "END", "presence_penalty": 0.5,
            "frequency_penalty": -0.5, "logprobs": true, "top_logprobs": 3})
        ),
        json!({"maxOutputTokens": 20, "temperature": 0.2, "topP": 0.9, "topK": 40, "candidateCount": 2,
            "seed": 7, "presencePenalty": 0.5, "frequencyPenalty": -0.5, "stopSequences": ["END"],
            "responseLogprobs": true, "logprobs": 3})
    );
    assert_eq!(
        config(json!({"max_tokens": 10, "stop": ["a", "b"]})),
        json!({"maxOutputTokens": 10, "stopSequences": ["a", "b"]})
    );
}

#[test]
fn reasoning_effort_becomes_a_thinking_budget_before_gemini_3() {
    for (effort, budget) in [
        ("minimal", 1024),
        ("low", 1024),
        ("medium", 8192),
        ("high", 24576),
    ] {
        assert_eq!(
            config(json!({"reasoning_effort": effort}))["thinkingConfig"],
            json!({"thinkingBudget": budget, "includeThoughts": true}),
            "{effort}"
        );
    }
    assert_eq!(
        config(json!({"reasoning_effort": "none"}))["thinkingConfig"],
        json!({"thinkingBudget": 0})
    );
}

#[test]
fn reasoning_effort_becomes_a_thinking_level_on_gemini_3() {
    let body = json!({"messages": [user("hi")], "reasoning_effort": "low"});
    let out = convert_for(&body, Some("gemini-3-pro-preview")).unwrap();
    assert_eq!(
        out["generationConfig"]["thinkingConfig"],
        json!({"thinkingLevel": "low", "includeThoughts": true})
    );
}

#[test]
fn an_unknown_reasoning_effort_is_a_400() {
    assert_eq!(
        error(json!({"messages": [user("hi")], "reasoning_effort": "max"})),
        "invalid OpenAI chat request for Gemini: reasoning_effort `max` is not one of none, \
         minimal, low, medium, high"
    );
}

#[test]
fn google_extension_fields_pass_through() {
    let out = convert(
        json!({"messages": [user("hi")], "reasoning_effort": "low", "extra_body": {"google": {
            "thinking_config": {"thinking_budget": 99, "include_thoughts": true},
            "cached_content": "cachedContents/abc",
            "safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        }}}),
    );
    assert_eq!(
        out["generationConfig"]["thinkingConfig"],
        json!({"thinking_budget": 99, "include_thoughts": true})
    );
    assert_eq!(out["cachedContent"], "cachedContents/abc");
    assert_eq!(out["safetySettings"][0]["threshold"], "BLOCK_NONE");
}

#[test]
fn requests_without_messages_are_a_400() {
    assert_eq!(error(json!({"messages": []})), "missing messages");
    assert_eq!(error(json!({"model": "m"})), "missing messages");
    assert_eq!(
        error(json!({"messages": "hello"})),
        "invalid OpenAI chat request for Gemini: messages must be an array"
    );
    assert_eq!(
        error(json!({"messages": [{"role": "system", "content": "only"}]})),
        "invalid OpenAI chat request for Gemini: messages hold no user, assistant or tool \
         content; Gemini needs at least one"
    );
}

#[test]
fn unknown_roles_are_a_400() {
    assert_eq!(
        error(json!({"messages": [{"role": "function", "content": "x"}]})),
        "invalid OpenAI chat request for Gemini: messages[0]: role `function` is not supported \
         (use system, developer, user, assistant or tool)"
    );
}

#[test]
fn include_usage_decides_the_streams_usage_chunk() {
    let event = r#"{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2}}"#;
    for (options, usage) in [
        (json!({"include_usage": true}), true),
        (json!({"include_usage": false}), false),
        (json!(null), false),
    ] {
        let body = json!({"messages": [user("hi")], "stream": true, "stream_options": options});
        let ctx = ConvertContext::new(Provider::Gemini, None, None, RequestType::AiStream);
        let mut t = OpenAiToGemini
            .convert_request(&serde_json::to_vec(&body).unwrap(), &ctx)
            .unwrap()
            .translator;
        let mut out = bytes::BytesMut::new();
        t.translate_event("message", event, &mut out).unwrap();
        t.finish(&mut out).unwrap();
        let text = String::from_utf8(out.to_vec()).unwrap();
        assert_eq!(text.contains("\"usage\""), usage, "{options}");
    }
}
