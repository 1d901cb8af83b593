//! Anthropic Messages request → OpenAI chat request, field by field as in
//! APISIX's `anthropic-messages-to-openai-chat` converter (whitelist: what
//! is not mapped here does not reach the upstream).

use ai_proxy_core::adapter::ConvertError;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::json::{
    is_array, is_number, is_object, is_string, non_empty_string, str_eq, str_value, string_inner,
    truthy, write_minified, write_raw, write_str,
};
use crate::tool_names::ToolNameMap;

/// Built-in Anthropic tool types (no `input_schema`; OpenAI cannot run them).
const BUILTIN_TOOL_PREFIXES: [&str; 5] = [
    "computer_",
    "bash_",
    "text_editor_",
    "web_search",
    "code_execution_",
];

const BILLING_PREFIX: &str = "x-anthropic-billing-header:";

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    #[serde(borrow)]
    messages: Option<&'a RawValue>,
    #[serde(borrow)]
    system: Option<&'a RawValue>,
    #[serde(borrow)]
    stream: Option<&'a RawValue>,
    #[serde(borrow)]
    max_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    temperature: Option<&'a RawValue>,
    #[serde(borrow)]
    top_p: Option<&'a RawValue>,
    #[serde(borrow)]
    stop_sequences: Option<&'a RawValue>,
    #[serde(borrow)]
    thinking: Option<&'a RawValue>,
    #[serde(borrow)]
    tool_choice: Option<&'a RawValue>,
    #[serde(borrow)]
    output_format: Option<&'a RawValue>,
    #[serde(borrow)]
    output_config: Option<&'a RawValue>,
    #[serde(borrow)]
    metadata: Option<&'a RawValue>,
    #[serde(borrow)]
    service_tier: Option<&'a RawValue>,
    #[serde(borrow)]
    tools: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    role: Option<&'a RawValue>,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    text: Option<&'a RawValue>,
    #[serde(borrow)]
    source: Option<&'a RawValue>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    name: Option<&'a RawValue>,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
    #[serde(borrow)]
    tool_use_id: Option<&'a RawValue>,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Source<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    media_type: Option<&'a RawValue>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    #[serde(borrow)]
    url: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Tool<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    name: Option<&'a RawValue>,
    #[serde(borrow)]
    description: Option<&'a RawValue>,
    #[serde(borrow)]
    input_schema: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ToolChoice<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    name: Option<&'a RawValue>,
    #[serde(borrow)]
    disable_parallel_tool_use: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Thinking<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    budget_tokens: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct OutputConfig<'a> {
    #[serde(borrow)]
    effort: Option<&'a RawValue>,
    #[serde(borrow)]
    format: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct OutputFormat<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    schema: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Metadata<'a> {
    #[serde(borrow)]
    user_id: Option<&'a RawValue>,
}

/// Parses `raw` as `T` when it is an object; anything else (or a shape
/// serde rejects) is treated as absent, as Lua's `type(x) == "table"`
/// checks do.
fn object<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>) -> Option<T> {
    let raw = raw.filter(|r| is_object(r))?;
    serde_json::from_str(raw.get()).ok()
}

fn array(raw: Option<&RawValue>) -> Option<Vec<&RawValue>> {
    let raw = raw.filter(|r| is_array(r))?;
    serde_json::from_str(raw.get()).ok()
}

/// A comma-separated JSON writer for one object or array.
struct Fields<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Fields<'o> {
    fn object(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    fn array(out: &'o mut Vec<u8>) -> Self {
        out.push(b'[');
        Self { out, first: true }
    }

    /// Starts the next member; returns the buffer to write its value.
    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        self.item();
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    /// Starts the next array element.
    fn item(&mut self) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out
    }

    fn end_object(self) {
        self.out.push(b'}');
    }

    fn end_array(self) {
        self.out.push(b']');
    }
}

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

fn write_tools(out: &mut Vec<u8>, tools: Option<&RawValue>, names: &mut ToolNameMap) -> usize {
    let Some(tools) = array(tools) else {
        return 0;
    };
    let mut count = 0;
    let mut list = Fields::array(out);
    for raw in tools {
        let Some(tool) = object::<Tool<'_>>(Some(raw)) else {
            continue;
        };
        if let Some(kind) = tool.kind.and_then(str_value)
            && BUILTIN_TOOL_PREFIXES.iter().any(|p| kind.starts_with(p))
        {
            continue;
        }
        let Some(name) = tool.name.and_then(str_value).filter(|n| !n.is_empty()) else {
            continue;
        };
        let sent = names.declare(&name);
        let buf = list.item();
        buf.extend_from_slice(b"{\"type\":\"function\",\"function\":{\"name\":");
        write_str(buf, &sent);
        if let Some(d) = tool.description {
            buf.extend_from_slice(b",\"description\":");
            write_raw(buf, d);
        }
        if let Some(p) = tool.input_schema {
            buf.extend_from_slice(b",\"parameters\":");
            write_raw(buf, p);
        }
        buf.extend_from_slice(b"}}");
        count += 1;
    }
    list.end_array();
    count
}

fn write_tool_choice(obj: &mut Fields<'_>, choice: &ToolChoice<'_>, names: &ToolNameMap) {
    let kind = choice.kind.and_then(str_value);
    match kind.as_deref() {
        Some("auto") => obj.key("tool_choice").extend_from_slice(b"\"auto\""),
        Some("any") => obj.key("tool_choice").extend_from_slice(b"\"required\""),
        Some("none") => obj.key("tool_choice").extend_from_slice(b"\"none\""),
        Some("tool") => {
            if let Some(name) = choice.name.and_then(str_value) {
                let sent = names.sent_name(&name).unwrap_or(name);
                let buf = obj.key("tool_choice");
                buf.extend_from_slice(b"{\"type\":\"function\",\"function\":{\"name\":");
                write_str(buf, &sent);
                buf.extend_from_slice(b"}}");
            }
        }
        _ => {}
    }
    if choice
        .disable_parallel_tool_use
        .is_some_and(|d| d.get() == "true")
    {
        obj.key("parallel_tool_calls").extend_from_slice(b"false");
    }
}

/// `thinking` → `reasoning_effort`.
fn reasoning_effort<'a>(
    thinking: Option<&'a RawValue>,
    output_config: Option<&OutputConfig<'a>>,
) -> Option<Effort<'a>> {
    let thinking: Thinking<'_> = object(thinking)?;
    let kind = thinking.kind.and_then(str_value)?;
    match kind.as_ref() {
        "enabled" => {
            let budget = thinking
                .budget_tokens
                .filter(|b| is_number(b))
                .and_then(|b| b.get().parse::<f64>().ok());
            Some(Effort::Fixed(match budget {
                None => "medium",
                Some(b) if b >= 4096.0 => "high",
                Some(b) if b >= 2048.0 => "medium",
                Some(b) if b >= 1024.0 => "low",
                Some(_) => "minimal",
            }))
        }
        "adaptive" => Some(
            output_config
                .and_then(|c| non_empty_string(c.effort))
                .map_or(Effort::Fixed("medium"), Effort::Raw),
        ),
        "disabled" => Some(Effort::Fixed("none")),
        _ => None,
    }
}

enum Effort<'a> {
    Fixed(&'static str),
    Raw(&'a RawValue),
}

fn write_effort(out: &mut Vec<u8>, effort: Effort<'_>) {
    match effort {
        Effort::Fixed(s) => write_str(out, s),
        Effort::Raw(r) => write_raw(out, r),
    }
}

/// `{type:json_schema, json_schema:{name, schema:<strict copy>, strict:true}}`.
fn write_response_format(out: &mut Vec<u8>, schema: &RawValue) {
    // The schema is small and must be rewritten recursively: a Value tree
    // is the right tool here (and only here).
    let Ok(mut schema) = serde_json::from_str::<serde_json::Value>(schema.get()) else {
        return;
    };
    strictify(&mut schema, 0);
    out.extend_from_slice(
        b"{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"structured_output\",\"schema\":",
    );
    if serde_json::to_writer(&mut *out, &schema).is_err() {
        out.extend_from_slice(b"{}");
    }
    out.extend_from_slice(b",\"strict\":true}}");
}

/// OpenAI strict mode: every object with `properties` forbids additional
/// properties and requires all of them (sorted names), recursively.
fn strictify(schema: &mut serde_json::Value, depth: usize) {
    use serde_json::Value;
    // Deeper schemas than this are not real; stop rather than recurse
    // without bound on hostile input.
    if depth > 64 {
        return;
    }
    let Value::Object(map) = schema else {
        return;
    };
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        let mut required: Vec<String> = props.keys().cloned().collect();
        required.sort();
        for value in props.values_mut() {
            strictify(value, depth + 1);
        }
        map.insert("additionalProperties".into(), Value::Bool(false));
        map.insert(
            "required".into(),
            Value::Array(required.into_iter().map(Value::String).collect()),
        );
    }
    if let Some(items) = map.get_mut("items") {
        match items {
            Value::Array(list) => list.iter_mut().for_each(|v| strictify(v, depth + 1)),
            other => strictify(other, depth + 1),
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(list)) = map.get_mut(key) {
            list.iter_mut().for_each(|v| strictify(v, depth + 1));
        }
    }
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = map.get_mut(key) {
            defs.values_mut().for_each(|v| strictify(v, depth + 1));
        }
    }
}

/// `system` → one leading system message (text blocks concatenated).
fn write_system(list: &mut Fields<'_>, system: &RawValue) {
    let mut text = String::new();
    if let Some(s) = str_value(system) {
        text.push_str(&s);
    } else if let Some(blocks) = array(Some(system)) {
        for raw in blocks {
            let Some(block) = object::<Block<'_>>(Some(raw)) else {
                continue;
            };
            if !str_eq(block.kind, "text") {
                continue;
            }
            if let Some(t) = block.text.and_then(str_value)
                && let Some(cleaned) = strip_billing_cch(&t)
            {
                text.push_str(&cleaned);
            }
        }
    }
    if text.is_empty() {
        return;
    }
    let buf = list.item();
    buf.extend_from_slice(b"{\"role\":\"system\",\"content\":");
    write_str(buf, &text);
    buf.push(b'}');
}

/// Removes `cch=…` entries from a Claude Code billing-header text block
/// (they change per request and would defeat upstream prompt caching);
/// `None` when nothing remains. Other texts are returned unchanged.
// ok: `text` has the (ASCII) prefix, so slicing after it is on a boundary;
// `i < bytes.len()` in the loop; `from` is at most the end of the matched
// `cch=`; `copied <= i`, and both are 0, the end, one past an ASCII `;` or
// at an ASCII `cch=`, so every `value` slice is on char boundaries.
#[allow(clippy::indexing_slicing)]
pub(crate) fn strip_billing_cch(text: &str) -> Option<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    let Some(head) = text.get(..BILLING_PREFIX.len()) else {
        return Some(Cow::Borrowed(text));
    };
    if !head.eq_ignore_ascii_case(BILLING_PREFIX) {
        return Some(Cow::Borrowed(text));
    }
    let value = &text[BILLING_PREFIX.len()..];
    // ` ?cch=[^;]*;?`, all occurrences, leftmost first.
    let bytes = value.as_bytes();
    let mut kept = String::with_capacity(value.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let skip_from = if rest.starts_with(b" cch=") {
            Some(i + 5)
        } else if rest.starts_with(b"cch=") {
            Some(i + 4)
        } else {
            None
        };
        if let Some(from) = skip_from {
            kept.push_str(&value[copied..i]);
            let tail = &bytes[from..];
            i = match tail.iter().position(|b| *b == b';') {
                Some(p) => from + p + 1,
                None => bytes.len(),
            };
            copied = i;
        } else {
            i += 1;
        }
    }
    kept.push_str(&value[copied..]);
    let trimmed = kept.trim_matches(|c| c == ';' || c == ' ');
    if trimmed.is_empty() {
        return None;
    }
    Some(Cow::Owned(format!("{BILLING_PREFIX}{trimmed}")))
}

/// A converted content part.
enum Part<'a> {
    Text(&'a RawValue),
    Media(Media<'a>),
}

/// An image or document as an OpenAI `image_url`.
enum Media<'a> {
    /// `data:<media_type>;base64,<data>`.
    Data {
        media_type: Option<&'a RawValue>,
        default_type: &'static str,
        data: &'a RawValue,
    },
    /// A URL source, copied.
    Url(&'a RawValue),
}

fn media<'a>(block: &Block<'a>, kind: &str) -> Option<Media<'a>> {
    let source: Source<'_> = object(block.source)?;
    let source_kind = source.kind.and_then(str_value);
    match (kind, source_kind.as_deref()) {
        ("image" | "document", Some("base64")) => {
            let data = non_empty_string(source.data)?;
            Some(Media::Data {
                media_type: source.media_type.filter(|m| is_string(m)),
                default_type: if kind == "image" {
                    "image/png"
                } else {
                    "application/pdf"
                },
                data,
            })
        }
        ("image", Some("url")) => non_empty_string(source.url).map(Media::Url),
        _ => None,
    }
}

fn write_part(out: &mut Vec<u8>, part: &Part<'_>) {
    match part {
        Part::Text(t) => {
            out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
            write_raw(out, t);
            out.push(b'}');
        }
        Part::Media(m) => {
            out.extend_from_slice(b"{\"type\":\"image_url\",\"image_url\":{\"url\":");
            match m {
                Media::Url(u) => write_raw(out, u),
                Media::Data {
                    media_type,
                    default_type,
                    data,
                } => {
                    out.extend_from_slice(b"\"data:");
                    match media_type {
                        Some(mt) => out.extend_from_slice(string_inner(mt).as_bytes()),
                        None => out.extend_from_slice(default_type.as_bytes()),
                    }
                    out.extend_from_slice(b";base64,");
                    out.extend_from_slice(string_inner(data).as_bytes());
                    out.push(b'"');
                }
            }
            out.extend_from_slice(b"}}");
        }
    }
}

fn write_parts(out: &mut Vec<u8>, parts: &[Part<'_>]) {
    out.push(b'[');
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_part(out, part);
    }
    out.push(b']');
}

/// The text parts concatenated, as one JSON string (escaped contents
/// concatenate without decoding).
fn write_joined_text(out: &mut Vec<u8>, parts: &[Part<'_>]) {
    out.push(b'"');
    for part in parts {
        if let Part::Text(t) = part {
            out.extend_from_slice(string_inner(t).as_bytes());
        }
    }
    out.push(b'"');
}

fn has_text(parts: &[Part<'_>]) -> bool {
    parts
        .iter()
        .any(|p| matches!(p, Part::Text(t) if !crate::json::is_empty_string(t)))
}

struct ToolCall<'a> {
    id: &'a RawValue,
    name: std::borrow::Cow<'a, str>,
    input: Option<&'a RawValue>,
}

struct ToolResult<'a> {
    tool_use_id: &'a RawValue,
    content: Option<&'a RawValue>,
}

fn write_message(
    list: &mut Fields<'_>,
    raw: &RawValue,
    index: usize,
    names: &ToolNameMap,
) -> Result<(), ConvertError> {
    let message = object::<Message<'_>>(Some(raw))
        .ok_or_else(|| ConvertError::new(format!("invalid message at index {index}")))?;
    let role = message
        .role
        .filter(|r| is_string(r))
        .ok_or_else(|| ConvertError::new(format!("invalid message at index {index}")))?;
    let content = message
        .content
        .ok_or_else(|| ConvertError::new(format!("invalid message content at index {index}")))?;

    if is_string(content) {
        let buf = list.item();
        buf.extend_from_slice(b"{\"role\":");
        write_raw(buf, role);
        buf.extend_from_slice(b",\"content\":");
        write_raw(buf, content);
        buf.push(b'}');
        return Ok(());
    }
    let blocks = array(Some(content))
        .ok_or_else(|| ConvertError::new(format!("invalid message content at index {index}")))?;

    let mut parts = Vec::new();
    let mut calls = Vec::new();
    let mut results = Vec::new();
    for raw in blocks {
        // Non-object blocks are skipped, as in APISIX (which logs them).
        let Some(block) = object::<Block<'_>>(Some(raw)) else {
            continue;
        };
        let Some(kind) = block.kind.and_then(str_value) else {
            continue;
        };
        match kind.as_ref() {
            "text" => {
                if let Some(t) = block.text.filter(|t| is_string(t)) {
                    parts.push(Part::Text(t));
                }
            }
            "image" | "document" => {
                if let Some(m) = media(&block, &kind) {
                    parts.push(Part::Media(m));
                }
            }
            "tool_use" => {
                let id = block.id.filter(|i| is_string(i));
                let name = block.name.and_then(str_value);
                if let (Some(id), Some(name)) = (id, name) {
                    calls.push(ToolCall {
                        id,
                        name,
                        input: block.input,
                    });
                }
            }
            "tool_result" => {
                if let Some(tool_use_id) = block.tool_use_id.filter(|i| is_string(i)) {
                    results.push(ToolResult {
                        tool_use_id,
                        content: block.content,
                    });
                }
            }
            // thinking / redacted_thinking: OpenAI chat has no input for
            // past reasoning; dropped like any unknown block.
            _ => {}
        }
    }

    if !results.is_empty() {
        for result in &results {
            let buf = list.item();
            buf.extend_from_slice(b"{\"role\":\"tool\",\"tool_call_id\":");
            write_raw(buf, result.tool_use_id);
            buf.extend_from_slice(b",\"content\":");
            write_tool_result_content(buf, result.content);
            buf.push(b'}');
        }
        if !parts.is_empty() {
            let buf = list.item();
            buf.extend_from_slice(b"{\"role\":");
            write_raw(buf, role);
            buf.extend_from_slice(b",\"content\":");
            write_parts(buf, &parts);
            buf.push(b'}');
        }
        return Ok(());
    }

    let buf = list.item();
    buf.extend_from_slice(b"{\"role\":");
    write_raw(buf, role);
    if !calls.is_empty() {
        if has_text(&parts) {
            buf.extend_from_slice(b",\"content\":");
            write_joined_text(buf, &parts);
        }
        buf.extend_from_slice(b",\"tool_calls\":[");
        for (i, call) in calls.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"{\"id\":");
            write_raw(buf, call.id);
            buf.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
            let sent = names
                .sent_name(&call.name)
                .unwrap_or(std::borrow::Cow::Borrowed(&call.name));
            write_str(buf, &sent);
            buf.extend_from_slice(b",\"arguments\":");
            match call.input.filter(|i| i.get() != "null") {
                Some(input) => {
                    let mut compact = Vec::with_capacity(input.get().len());
                    write_minified(&mut compact, input.get());
                    // Only ASCII whitespace was removed: still UTF-8.
                    write_str(buf, std::str::from_utf8(&compact).unwrap_or("{}"));
                }
                None => buf.extend_from_slice(b"\"{}\""),
            }
            buf.extend_from_slice(b"}}");
        }
        buf.push(b']');
    } else if parts.is_empty() {
        buf.extend_from_slice(b",\"content\":\"\"");
    } else if str_eq(Some(role), "assistant") {
        buf.extend_from_slice(b",\"content\":");
        write_joined_text(buf, &parts);
    } else {
        buf.extend_from_slice(b",\"content\":");
        write_parts(buf, &parts);
    }
    buf.push(b'}');
    Ok(())
}

/// `tool_result.content`: a string as is; an array → its texts
/// concatenated, or a parts array when it holds an image or document.
fn write_tool_result_content(out: &mut Vec<u8>, content: Option<&RawValue>) {
    let Some(content) = content else {
        out.extend_from_slice(b"\"\"");
        return;
    };
    if is_string(content) {
        write_raw(out, content);
        return;
    }
    let Some(items) = array(Some(content)) else {
        out.extend_from_slice(b"\"\"");
        return;
    };
    let mut parts = Vec::new();
    let mut has_media = false;
    for raw in items {
        let Some(block) = object::<Block<'_>>(Some(raw)) else {
            continue;
        };
        let Some(kind) = block.kind.and_then(str_value) else {
            continue;
        };
        match kind.as_ref() {
            "text" => {
                if let Some(t) = block.text.filter(|t| is_string(t)) {
                    parts.push(Part::Text(t));
                }
            }
            "image" | "document" => {
                if let Some(m) = media(&block, &kind) {
                    parts.push(Part::Media(m));
                    has_media = true;
                }
            }
            _ => {}
        }
    }
    if has_media {
        write_parts(out, &parts);
    } else {
        write_joined_text(out, &parts);
    }
}
