//! Anthropic Messages request → OpenAI chat request, field by field as in
//! APISIX's `anthropic-messages-to-openai-chat` converter (whitelist: what
//! is not mapped here does not reach the upstream).

mod content;
mod fields;
mod messages;
mod options;
mod shapes;

use ai_proxy_core::adapter::ConvertError;

use self::fields::Fields;
use self::messages::{write_message, write_system};
use self::options::{
    reasoning_effort, write_effort, write_response_format, write_tool_choice, write_tools,
};
use self::shapes::{Metadata, OutputConfig, OutputFormat, Request, ToolChoice, array, object};
use crate::tool_names::ToolNameMap;
use ai_proxy_core::json::raw::{is_array, is_object, is_string, str_eq, truthy, write_raw};

/// Converts the body; returns the OpenAI body and the tool names renamed.
pub(crate) fn convert(body: &[u8]) -> Result<(Vec<u8>, ToolNameMap), ConvertError> {
    let req: Request<'_> = serde_json::from_slice(body).map_err(|e| {
        ConvertError::new(format!(
            "request body must be a JSON object in Anthropic Messages format: {e}"
        ))
    })?;

    let messages = array(req.messages)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ConvertError::new("missing messages"))?;

    // Tool names first: tool_choice and tool_use blocks refer to them.
    let mut names = ToolNameMap::new();
    let mut tools_json = Vec::new();
    let tool_count = write_tools(&mut tools_json, req.tools, &mut names);

    let mut out = Vec::with_capacity(body.len() + 64);
    let mut obj = Fields::object(&mut out);

    if let Some(model) = req.model.filter(|m| is_string(m)) {
        write_raw(obj.key("model"), model);
    }
    if let Some(stream) = req.stream.filter(|s| s.get() != "null") {
        write_raw(obj.key("stream"), stream);
        if truthy(stream) {
            obj.key("stream_options")
                .extend_from_slice(b"{\"include_usage\":true}");
        }
    }
    if let Some(max) = req.max_tokens.filter(|m| truthy(m)) {
        write_raw(obj.key("max_completion_tokens"), max);
    }
    if let Some(t) = req.temperature.filter(|t| truthy(t)) {
        write_raw(obj.key("temperature"), t);
    }
    if let Some(p) = req.top_p.filter(|p| truthy(p)) {
        write_raw(obj.key("top_p"), p);
    }
    if let Some(stop) = req.stop_sequences.filter(|s| is_array(s)) {
        write_raw(obj.key("stop"), stop);
    }
    let output_config: Option<OutputConfig<'_>> = object(req.output_config);
    if let Some(effort) = reasoning_effort(req.thinking, output_config.as_ref()) {
        write_effort(obj.key("reasoning_effort"), effort);
    }
    if tool_count > 0
        && let Some(choice) = object::<ToolChoice<'_>>(req.tool_choice)
    {
        write_tool_choice(&mut obj, &choice, &names);
    }
    let format = req
        .output_format
        .filter(|f| is_object(f))
        .or_else(|| output_config.as_ref().and_then(|c| c.format));
    if let Some(format) = object::<OutputFormat<'_>>(format)
        && str_eq(format.kind, "json_schema")
        && let Some(schema) = format.schema.filter(|s| is_object(s))
    {
        write_response_format(obj.key("response_format"), schema);
    }
    if let Some(meta) = object::<Metadata<'_>>(req.metadata)
        && let Some(user) = meta.user_id.filter(|u| is_string(u))
    {
        write_raw(obj.key("user"), user);
    }
    if let Some(tier) = req.service_tier.filter(|t| is_string(t)) {
        write_raw(obj.key("service_tier"), tier);
    }

    {
        let buf = obj.key("messages");
        let mut list = Fields::array(buf);
        if let Some(system) = req.system {
            write_system(&mut list, system);
        }
        for (i, message) in messages.iter().enumerate() {
            write_message(&mut list, message, i + 1, &names)?;
        }
        list.end_array();
    }
    if tool_count > 0 {
        obj.key("tools").extend_from_slice(&tools_json);
    }
    obj.end_object();
    Ok((out, names))
}
