//! `tools` / `tool_choice` → `tools` / `toolConfig`, and the sampling
//! fields → `generationConfig`.

use ai_proxy_core::adapter::ConvertError;

use super::{Fields, invalid, malformed};
use ai_proxy_core::json::chat::{FunctionTool, ToolChoice, function_tool, tool_choice, write_stop};
use ai_proxy_core::json::scan::{Raw, elements, fields};
use ai_proxy_core::json::write::ObjectWriter;
use ai_proxy_core::json::write::write_u64;

/// `extra_body.google`: Google's OpenAI-compatible extension, read for the
/// native fields it names.
#[derive(Default)]
pub(super) struct Google<'a> {
    pub thinking_config: Option<Raw<'a>>,
    pub cached_content: Option<Raw<'a>>,
    pub safety_settings: Option<Raw<'a>>,
}

pub(super) fn google_extension(extra_body: Option<Raw<'_>>) -> Result<Google<'_>, ConvertError> {
    let Some(extra) = extra_body.filter(|e| e.is_object()) else {
        return Ok(Google::default());
    };
    let [google] = fields(extra, ["google"]).map_err(malformed)?;
    let Some(google) = google.filter(|g| g.is_object()) else {
        return Ok(Google::default());
    };
    // Gemini's JSON accepts both spellings; so does this.
    let [a, b, c, d, e, f] = fields(
        google,
        [
            "thinking_config",
            "thinkingConfig",
            "cached_content",
            "cachedContent",
            "safety_settings",
            "safetySettings",
        ],
    )
    .map_err(malformed)?;
    Ok(Google {
        thinking_config: a.or(b).filter(|t| t.is_object()),
        cached_content: c.or(d),
        safety_settings: e.or(f),
    })
}

/// `tools` (function tools only) and `tool_choice`.
pub(super) fn write_tools(
    obj: &mut ObjectWriter<'_>,
    req: &Fields<'_>,
) -> Result<(), ConvertError> {
    let tools = match req.tools.filter(|t| !t.is_null()) {
        Some(t) if t.is_array() => elements(t).map_err(malformed)?,
        Some(_) => return Err(invalid("tools must be an array")),
        None => Vec::new(),
    };
    if tools.is_empty() {
        return Ok(());
    }
    let buf = obj.member("tools");
    buf.extend_from_slice(b"[{\"functionDeclarations\":[");
    for (i, tool) in tools.iter().enumerate() {
        let FunctionTool {
            name,
            description,
            parameters,
            ..
        } = function_tool(*tool, i).map_err(invalid)?;
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(b"{\"name\":");
        buf.extend_from_slice(name.bytes());
        if let Some(d) = description {
            buf.extend_from_slice(b",\"description\":");
            buf.extend_from_slice(d.bytes());
        }
        if let Some(p) = parameters {
            super::write_parameters(buf, p)
                .map_err(|e| invalid(format_args!("tools[{i}].function.parameters: {e}")))?;
        }
        buf.push(b'}');
    }
    buf.extend_from_slice(b"]}]");
    if let Some(choice) = tool_config(req.tool_choice)? {
        obj.member("toolConfig")
            .extend_from_slice(choice.as_bytes());
    }
    Ok(())
}

/// `tool_choice` → `toolConfig` JSON.
fn tool_config(raw: Option<Raw<'_>>) -> Result<Option<String>, ConvertError> {
    let mode = |m: &str| format!("{{\"functionCallingConfig\":{{\"mode\":\"{m}\"}}}}");
    Ok(tool_choice(raw)
        .map_err(invalid)?
        .map(|choice| match choice {
            ToolChoice::Auto => mode("AUTO"),
            ToolChoice::None => mode("NONE"),
            ToolChoice::Function(name) => format!(
                "{{\"functionCallingConfig\":{{\"mode\":\"ANY\",\"allowedFunctionNames\":[{}]}}}}",
                String::from_utf8_lossy(name.bytes())
            ),
            // `Required`, and kinds added later: some function must be called.
            _ => mode("ANY"),
        }))
}

/// The sampling and output fields, under `generationConfig` (left out
/// when none is set).
pub(super) fn write_generation_config(
    obj: &mut ObjectWriter<'_>,
    req: &Fields<'_>,
    google: &Google<'_>,
    model: Option<&str>,
) -> Result<(), ConvertError> {
    let mut buf = Vec::new();
    let mut config = ObjectWriter::new(&mut buf);
    fn number(r: Option<Raw<'_>>) -> Option<Raw<'_>> {
        r.filter(|v| v.is_number())
    }
    if let Some(n) = number(req.max_completion_tokens).or(number(req.max_tokens)) {
        config
            .member("maxOutputTokens")
            .extend_from_slice(n.bytes());
    }
    for (name, value) in [
        ("temperature", req.temperature),
        ("topP", req.top_p),
        ("topK", req.top_k),
        ("candidateCount", req.n),
        ("seed", req.seed),
        ("presencePenalty", req.presence_penalty),
        ("frequencyPenalty", req.frequency_penalty),
    ] {
        if let Some(v) = number(value) {
            config.member(name).extend_from_slice(v.bytes());
        }
    }
    if let Some(stop) = req.stop {
        write_stop(&mut config, "stopSequences", stop);
    }
    if let Some(l) = req
        .logprobs
        .filter(|l| matches!(l.bytes(), b"true" | b"false"))
    {
        config
            .member("responseLogprobs")
            .extend_from_slice(l.bytes());
    }
    if let Some(n) = number(req.top_logprobs) {
        config.member("logprobs").extend_from_slice(n.bytes());
    }
    write_response_format(&mut config, req.response_format)?;
    if let Some(thinking) = google.thinking_config {
        config
            .member("thinkingConfig")
            .extend_from_slice(thinking.bytes());
    } else if let Some(effort) = req.reasoning_effort.filter(|e| !e.is_null()) {
        let effort = effort
            .str()
            .ok_or_else(|| invalid("reasoning_effort must be a string"))?;
        write_thinking(config.member("thinkingConfig"), &effort, model).map_err(invalid)?;
    }
    let empty = config.is_empty();
    config.finish();
    if !empty {
        obj.member("generationConfig").extend_from_slice(&buf);
    }
    Ok(())
}

/// `response_format` → `responseMimeType` (+ `responseSchema`).
fn write_response_format(
    config: &mut ObjectWriter<'_>,
    raw: Option<Raw<'_>>,
) -> Result<(), ConvertError> {
    let Some(raw) = raw.filter(|r| !r.is_null()) else {
        return Ok(());
    };
    if !raw.is_object() {
        return Err(invalid("response_format must be an object"));
    }
    let [kind, json_schema] = fields(raw, ["type", "json_schema"]).map_err(malformed)?;
    match kind.and_then(Raw::str).as_deref() {
        Some("text") => Ok(()),
        Some("json_object") => {
            config
                .member("responseMimeType")
                .extend_from_slice(b"\"application/json\"");
            Ok(())
        }
        Some("json_schema") => {
            let [schema] = json_schema
                .filter(|j| j.is_object())
                .map(|j| fields(j, ["schema"]))
                .transpose()
                .map_err(malformed)?
                .unwrap_or_default();
            config
                .member("responseMimeType")
                .extend_from_slice(b"\"application/json\"");
            if let Some(schema) = schema.filter(|s| s.is_object()) {
                let mut out = Vec::with_capacity(schema.bytes().len());
                super::schema::write_schema_root(&mut out, schema).map_err(|e| {
                    invalid(format_args!("response_format.json_schema.schema: {e}"))
                })?;
                config.member("responseSchema").extend_from_slice(&out);
            }
            Ok(())
        }
        _ => Err(invalid(
            "response_format.type must be text, json_object or json_schema",
        )),
    }
}

/// `thinkingConfig` for an OpenAI `reasoning_effort`, as Google's
/// OpenAI-compatible endpoint maps it: Gemini 3 models (`model` contains
/// `gemini-3`) take the effort as `thinkingLevel` (`none` → `minimal`);
/// earlier models take a `thinkingBudget` (`none` 0, `minimal` and `low`
/// 1024, `medium` 8192, `high` 24576). Thoughts are included (they come
/// back as `reasoning_content`) unless the effort is `none`.
///
/// Errors name the accepted values.
pub(crate) fn write_thinking(
    out: &mut Vec<u8>,
    effort: &str,
    model: Option<&str>,
) -> Result<(), String> {
    let budget: u64 = match effort {
        "none" => 0,
        "minimal" | "low" => 1024,
        "medium" => 8192,
        "high" => 24576,
        other => {
            return Err(format!(
                "reasoning_effort `{other}` is not one of none, minimal, low, medium, high"
            ));
        }
    };
    let include = effort != "none";
    if model.is_some_and(|m| m.contains("gemini-3")) {
        out.extend_from_slice(b"{\"thinkingLevel\":\"");
        out.extend_from_slice(if include { effort } else { "minimal" }.as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(b"{\"thinkingBudget\":");
        write_u64(out, budget);
    }
    if include {
        out.extend_from_slice(b",\"includeThoughts\":true");
    }
    out.push(b'}');
    Ok(())
}
