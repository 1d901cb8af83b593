//! Bodies shaped like agentic traffic, in both wire forms of one
//! conversation: a system prompt, two tool definitions and many short
//! turns; every third turn the assistant calls a tool and a tool result
//! follows. Text carries `\n`, `\"`, `\\` or `\t` about every 25 bytes and
//! non-ASCII (accents, CJK, emoji), as prompts and tool output do.
//!
//! Deterministic: the same size gives the same bytes, so `benches/litellm_transforms.py`
//! can time LiteLLM on exactly these bodies (`AGENTIC_BODIES_DIR=dir` makes
//! the `agentic` bench write them there).

use serde_json::{Value, json};

/// The sizes measured (bytes of the OpenAI form), with their labels.
pub const SIZES: [(&str, usize); 4] = [
    ("1.6KB", 1_600),
    ("17KB", 17_000),
    ("268KB", 268_000),
    ("2.1MB", 2_100_000),
];

/// Words and phrases text is made of (some non-ASCII).
const WORDS: [&str; 16] = [
    "the gateway",
    "forwards",
    "température",
    "request",
    "to the upstream",
    "データ",
    "and records",
    "token usage",
    "naïve",
    "cache",
    "🚀 fast",
    "path",
    "São Paulo",
    "retries",
    "stream",
    "ok ✓",
];

/// The escapes JSON text carries, one about every 25 bytes.
const ESCAPED: [char; 4] = ['\n', '"', '\\', '\t'];

/// About `len` bytes of text for turn `seed`.
pub fn text(seed: usize, len: usize) -> String {
    let mut s = String::with_capacity(len + 32);
    let mut state = (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut escapes = seed;
    let mut since_escape = 0;
    while s.len() < len {
        // A 64-bit LCG; its high bits pick the word.
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let word = WORDS[(state >> 33) as usize % WORDS.len()];
        s.push_str(word);
        since_escape += word.len() + 1;
        if since_escape >= 25 {
            s.push(ESCAPED[escapes % ESCAPED.len()]);
            escapes += 1;
            since_escape = 0;
        } else {
            s.push(' ');
        }
    }
    s
}

/// One turn of the conversation.
struct Turn {
    user: String,
    /// A tool call (name, arguments as a JSON object) and its result.
    tool: Option<(&'static str, Value, String)>,
    assistant: String,
}

fn turn(k: usize) -> Turn {
    let short = 40 + (k * 37) % 120;
    let tool = (k % 3 == 2).then(|| {
        let (name, args) = if k.is_multiple_of(2) {
            (
                "get_weather",
                json!({"city": "São Paulo", "unit": "c", "note": text(k + 1, 30)}),
            )
        } else {
            ("search_docs", json!({"query": text(k + 2, 40), "limit": 5}))
        };
        (name, args, text(k + 3, short))
    });
    Turn {
        user: text(k, short),
        tool,
        assistant: text(k + 5, short),
    }
}

fn system() -> String {
    text(1, 160)
}

fn openai_tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city.\nUse \"c\" or \"f\".",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}, "note": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "search_docs", "description": "Search the docs.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}}, "required": ["query"]}}}
    ])
}

fn anthropic_tools() -> Value {
    let tools = openai_tools();
    let list = tools.as_array().unwrap().iter().map(|t| {
        let f = &t["function"];
        json!({"name": f["name"], "description": f["description"], "input_schema": f["parameters"]})
    });
    Value::Array(list.collect())
}

fn openai_turn(k: usize, t: &Turn) -> Vec<Value> {
    let mut messages = vec![json!({"role": "user", "content": t.user})];
    if let Some((name, args, result)) = &t.tool {
        let id = format!("call_{k:04}");
        messages.push(json!({"role": "assistant", "content": "Let me check.", "tool_calls": [
            {"id": id, "type": "function", "function": {"name": name, "arguments": args.to_string()}}]}));
        messages.push(json!({"role": "tool", "tool_call_id": id, "content": result}));
    }
    messages.push(json!({"role": "assistant", "content": t.assistant}));
    messages
}

fn openai_body_of(turns: &[Turn]) -> Vec<u8> {
    let mut messages = vec![json!({"role": "system", "content": system()})];
    for (k, t) in turns.iter().enumerate() {
        messages.extend(openai_turn(k, t));
    }
    serde_json::to_vec(
        &json!({"model": "gpt-4o", "messages": messages, "tools": openai_tools(),
        "tool_choice": "auto", "temperature": 0.7, "max_tokens": 1024, "stream": true}),
    )
    .unwrap()
}

fn anthropic_body_of(turns: &[Turn]) -> Vec<u8> {
    let mut messages = Vec::new();
    for (k, t) in turns.iter().enumerate() {
        messages.push(json!({"role": "user", "content": [{"type": "text", "text": t.user}]}));
        if let Some((name, args, result)) = &t.tool {
            let id = format!("toolu_{k:04}");
            messages.push(
                json!({"role": "assistant", "content": [{"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": id, "name": name, "input": args}]}),
            );
            messages.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": result}]}));
        }
        messages
            .push(json!({"role": "assistant", "content": [{"type": "text", "text": t.assistant}]}));
    }
    serde_json::to_vec(&json!({"model": "claude-sonnet-4-5", "max_tokens": 1024,
        "system": [{"type": "text", "text": system(), "cache_control": {"type": "ephemeral"}}],
        "messages": messages, "tools": anthropic_tools(), "tool_choice": {"type": "auto"},
        "temperature": 0.7, "stream": true}))
    .unwrap()
}

/// The conversation of about `target` bytes (OpenAI form), in both forms:
/// (OpenAI chat body, Anthropic Messages body).
pub fn bodies(target: usize) -> (Vec<u8>, Vec<u8>) {
    let mut turns = Vec::new();
    let mut size = openai_body_of(&turns).len();
    while size < target {
        let k = turns.len();
        let t = turn(k);
        size += openai_turn(k, &t)
            .iter()
            .map(|m| m.to_string().len() + 1)
            .sum::<usize>();
        turns.push(t);
    }
    (openai_body_of(&turns), anthropic_body_of(&turns))
}
