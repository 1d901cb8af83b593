//! `options` and `override.llm_options.max_tokens` on native Gemini routes:
//! the OpenAI names map into `generationConfig` exactly as the request
//! converter maps the same fields of a client body; `model` goes into the
//! URL. Anything else cannot be honoured on Gemini's wire and refuses the
//! config, naming the option.

use serde_json::{Map, Value};

use ai_proxy_core::config::Options;

/// Options with a `generationConfig` field, and the field each must
/// produce (`None`: may produce nothing, `response_format: text`).
const MAPPED: [(&str, Option<&str>); 14] = [
    ("temperature", Some("temperature")),
    ("top_p", Some("topP")),
    ("top_k", Some("topK")),
    ("n", Some("candidateCount")),
    ("seed", Some("seed")),
    ("presence_penalty", Some("presencePenalty")),
    ("frequency_penalty", Some("frequencyPenalty")),
    ("top_logprobs", Some("logprobs")),
    ("logprobs", Some("responseLogprobs")),
    ("max_tokens", Some("maxOutputTokens")),
    ("max_completion_tokens", Some("maxOutputTokens")),
    ("stop", Some("stopSequences")),
    ("reasoning_effort", Some("thinkingConfig")),
    ("response_format", None),
];

/// The patch (`{"generationConfig": {…}}`) deep-merged with force into
/// every Gemini body of the route. Errors name the option and the fix.
pub(crate) fn generation_config_patch(
    options: &Options,
    max_tokens: Option<u64>,
) -> Result<Map<String, Value>, String> {
    let mut body = String::from(r#"{"messages":[{"role":"user","content":"x"}]"#);
    for (key, value) in &options.fields {
        match key.as_str() {
            "model" => continue,
            "stream" => {
                return Err(
                    "options.stream cannot apply on a native Gemini route: the client's \
                     request picks generateContent or streamGenerateContent; remove it"
                        .to_owned(),
                );
            }
            k if MAPPED.iter().any(|(name, _)| *name == k) => {}
            other => {
                return Err(format!(
                    "options.{other} has no Gemini generationConfig field, so it cannot be sent \
                     to the native API; remove it (native Gemini routes take model, {})",
                    MAPPED.map(|(name, _)| name).join(", ")
                ));
            }
        }
        body.push(',');
        body.push_str(&serde_json::to_string(key).unwrap_or_default());
        body.push(':');
        body.push_str(value.get());
    }
    body.push('}');
    let converted = crate::request::convert(body.as_bytes(), options.model.as_deref())
        .map_err(|e| format!("options: {}", e.message))?;
    let mut out: Map<String, Value> = serde_json::from_slice(&converted.body)
        .map_err(|e| format!("options could not be mapped to generationConfig: {e}"))?;
    let mut config = match out.remove("generationConfig") {
        Some(Value::Object(config)) => config,
        _ => Map::new(),
    };
    // A value the converter had to drop (a string temperature) would be
    // silently ignored: refuse it instead.
    for (key, _) in &options.fields {
        let field = MAPPED.iter().find(|(name, _)| *name == key.as_str());
        if let Some((name, Some(field))) = field
            && !config.contains_key(*field)
        {
            return Err(format!(
                "options.{name} has a value Gemini's generationConfig.{field} cannot take; \
                 give a number (a string or array of strings for stop, true/false for \
                 logprobs, an effort name for reasoning_effort)"
            ));
        }
    }
    if let Some(n) = max_tokens {
        config.insert("maxOutputTokens".to_owned(), Value::from(n));
    }
    let mut patch = Map::new();
    if !config.is_empty() {
        patch.insert("generationConfig".to_owned(), Value::Object(config));
    }
    Ok(patch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use serde_json::value::RawValue;

    fn options(pairs: &[(&str, &str)]) -> Options {
        let mut o = Options::default();
        for (k, v) in pairs {
            if *k == "model" {
                o.model = serde_json::from_str(v).ok();
            }
            o.fields.push((
                (*k).to_owned(),
                RawValue::from_string((*v).to_owned()).unwrap_or_else(|_| {
                    RawValue::from_string("null".to_owned()).unwrap_or_default()
                }),
            ));
        }
        o
    }

    fn patch(pairs: &[(&str, &str)], max_tokens: Option<u64>) -> Result<Value, String> {
        generation_config_patch(&options(pairs), max_tokens).map(Value::Object)
    }

    #[test]
    fn openai_options_land_in_generation_config() {
        assert_eq!(
            patch(
                &[
                    ("model", "\"gemini-3-pro-preview\""),
                    ("temperature", "0.3"),
                    ("max_tokens", "100"),
                    ("stop", "\"END\""),
                    ("reasoning_effort", "\"high\""),
                ],
                None
            ),
            Ok(
                json!({"generationConfig": {"maxOutputTokens": 100, "temperature": 0.3,
                "stopSequences": ["END"], "thinkingConfig": {"thinkingLevel": "high", "includeThoughts": true}}})
            )
        );
    }

    #[test]
    fn llm_options_max_tokens_wins_over_options() {
        assert_eq!(
            patch(&[("max_tokens", "100")], Some(555)),
            Ok(json!({"generationConfig": {"maxOutputTokens": 555}}))
        );
    }

    #[test]
    fn a_model_alone_patches_nothing() {
        assert_eq!(
            patch(&[("model", "\"gemini-2.5-flash\"")], None),
            Ok(json!({}))
        );
    }

    #[test]
    fn options_without_a_gemini_field_refuse_the_config() {
        let e = patch(&[("foo", "\"bar\"")], None).unwrap_err();
        assert!(
            e.starts_with("options.foo has no Gemini generationConfig field"),
            "{e}"
        );
        let e = patch(&[("stream", "true")], None).unwrap_err();
        assert!(e.starts_with("options.stream cannot apply"), "{e}");
        let e = patch(&[("temperature", "\"hot\"")], None).unwrap_err();
        assert!(e.starts_with("options.temperature has a value"), "{e}");
        let e = patch(&[("reasoning_effort", "\"max\"")], None).unwrap_err();
        assert!(e.contains("reasoning_effort `max` is not one of"), "{e}");
    }
}
