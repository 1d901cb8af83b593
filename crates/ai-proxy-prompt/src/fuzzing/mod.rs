//! Invariant-checking drivers shared by the cargo-fuzz targets
//! (`fuzz/fuzz_targets/prompt_*.rs`, `moderation.rs`) and this crate's
//! proptests: arbitrary bytes become a plugin config and a client body;
//! each driver returns `Err` naming the first broken invariant.
//!
//! The references the outputs are held to are written with `serde_json`
//! values, the obvious way (a DOM is fine in a test oracle).

mod oracle;

use std::collections::BTreeMap;

use ai_proxy_core::Protocol;
use ai_proxy_core::config::{CheckMode, RoleSet};
use ai_proxy_core::prepare::BodyError;
use bytes::Bytes;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::moderation::{
    MAX_CALL_BYTES, MAX_SEGMENTS_PER_CALL, ModerationRequest, Segments, Toxicity, batches,
};
use crate::{PromptDecorator, PromptError, PromptGuard, PromptTemplate};

/// Paths that select each client protocol.
const PATHS: [&str; 7] = [
    "/v1/chat/completions",
    "/v1/messages",
    "/v1/responses",
    "/model/m/converse",
    "/v1/embeddings",
    "/v1beta/models/m:generateContent",
    "/",
];

/// Configured texts with escapes and non-ASCII.
const TEXTS: [&str; 4] = [
    "plain",
    "quote \" back \\ nl \n tab \t",
    "Ünïcödé ✓ 日本",
    "\u{1}ctl",
];

// ok: `% N` keeps the index below N, and every list here is non-empty.
#[allow(clippy::indexing_slicing)]
fn pick<T: Copy, const N: usize>(list: &[T; N], b: u8) -> T {
    list[usize::from(b) % N]
}

/// `data`: a selector byte (path and config), then the body.
pub fn decorate(data: &[u8]) -> Result<(), String> {
    let (selector, body) = data.split_first().unwrap_or((&0, &[]));
    let path = pick(&PATHS, *selector);
    let role = |k: u8| pick(&["system", "user", "assistant"], k);
    let message = |k: u8| json!({"role": role(k), "content": pick(&TEXTS, k / 3)});
    let prepend: Vec<Value> = (0..selector % 3)
        .map(|k| message(k + selector / 7))
        .collect();
    let append: Vec<Value> = (0..(selector / 3) % 3)
        .map(|k| message(k + selector / 11))
        .collect();
    let config = json!({"prepend": prepend, "append": append});
    let decorator =
        PromptDecorator::from_value(&config).map_err(|e| format!("config refused: {e}"))?;
    let input = Bytes::copy_from_slice(body);
    match decorator.decorate(path, input.clone()) {
        Ok((out, members)) => {
            oracle::decorated(path, &config, body, &out)?;
            laid_out(&out, members)
        }
        Err(
            PromptError::Unchangeable { .. }
            | PromptError::Body(BodyError::InvalidJson { .. } | BodyError::Empty),
        ) => {
            // Refusals only for bodies the reference cannot decorate either.
            oracle::undecoratable(path, body)
        }
        Err(other) => Err(format!("unexpected refusal {other:?}")),
    }
}

/// The layout a decorated body is handed to `prepare` with is the one a
/// fresh read of the body finds.
fn laid_out(out: &[u8], members: Option<crate::splice::Layout>) -> Result<(), String> {
    let Some(members) = members else {
        return Ok(());
    };
    let read = crate::body::ClientBody::read(out, u64::MAX)
        .map_err(|e| format!("the decorated body does not read: {e:?}"))?;
    let crate::body::Top::Object { members: found, .. } = &read.top else {
        return Err("a layout for a body that is no object".to_owned());
    };
    let found: Vec<_> = found
        .iter()
        .map(|m| {
            let key = crate::body::offset(out, m.key.bytes());
            (key..key + m.key.bytes().len(), m.start..m.end())
        })
        .collect();
    (members == found)
        .then_some(())
        .ok_or_else(|| format!("layout {members:?}, the body's members are at {found:?}"))
}

/// `data`: the client body of a template whose strings hold placeholders.
pub fn template(data: &[u8]) -> Result<(), String> {
    let config = json!({"templates": [{"name": "t", "template": {
        "model": "{{ model }}",
        "messages": [{"role": "user", "content": "A {{x}} B {{ y.z }} C"}],
        "n": [1, "{{x}}"]}}]});
    let template =
        PromptTemplate::from_value(&config).map_err(|e| format!("config refused: {e}"))?;
    let Ok(out) = template.apply(data) else {
        return Ok(());
    };
    let out: Value =
        serde_json::from_slice(&out).map_err(|e| format!("output is not JSON: {e}"))?;
    let members: BTreeMap<String, &RawValue> =
        serde_json::from_slice(data).map_err(|e| format!("rendered an invalid body: {e}"))?;
    let x = oracle::filled(members.get("x").copied());
    let z = members
        .get("y")
        .and_then(|y| serde_json::from_str::<BTreeMap<String, &RawValue>>(y.get()).ok())
        .and_then(|y| y.get("z").copied());
    let expected = json!({"model": oracle::filled(members.get("model").copied()),
        "messages": [{"role": "user", "content": format!("A {x} B {} C", oracle::filled(z))}],
        "n": [1, x]});
    if out != expected {
        return Err(format!("rendered {out}, expected {expected}"));
    }
    Ok(())
}

/// `data`: a selector byte (path, patterns, modes), then the body.
pub fn guard(data: &[u8]) -> Result<(), String> {
    let (selector, body) = data.split_first().unwrap_or((&0, &[]));
    let path = pick(&PATHS, *selector);
    let patterns = ["bad", "(?i)x+y", "^\\w+$", "日本", "\\d{3}"];
    let config = json!({
        "allow_patterns": if selector & 8 != 0 { vec![pick(&patterns, selector / 16)] } else { vec![] },
        "deny_patterns": [pick(&patterns, selector / 4)],
        "match_all_roles": selector & 1 != 0,
        "match_all_conversation_history": selector & 2 != 0,
    });
    let guard = PromptGuard::from_value(&config).map_err(|e| format!("config refused: {e}"))?;
    let verdict = guard.check(path, body);
    if path == "/v1/chat/completions" {
        return oracle::guarded(&config, body, &verdict);
    }
    Ok(())
}

/// `data`: a selector byte (protocol, roles, mode), then the body; also
/// read as a Comprehend answer and cut into segments.
pub fn moderation(data: &[u8]) -> Result<(), String> {
    let (selector, body) = data.split_first().unwrap_or((&0, &[]));
    let protocols = [
        Protocol::OpenAiChat,
        Protocol::AnthropicMessages,
        Protocol::OpenAiResponses,
        Protocol::BedrockConverse,
        Protocol::OpenAiEmbeddings,
        Protocol::Gemini,
        Protocol::Passthrough,
    ];
    let protocol = pick(&protocols, *selector);
    let roles = [(8, "user"), (16, "tool"), (32, "system"), (64, "assistant")]
        .into_iter()
        .filter(|(bit, _)| selector & bit != 0)
        .fold(RoleSet::NONE, |set, (_, role)| set.with(role));
    let mode = if selector & 128 != 0 {
        CheckMode::Last
    } else {
        CheckMode::All
    };
    let request = ModerationRequest::new(protocol, body, std::time::UNIX_EPOCH);
    let text = request.text(roles, mode);
    if protocol == Protocol::OpenAiChat
        && let Ok(Some(text)) = &text
    {
        oracle::moderated(body, roles, mode, text)?;
    }
    if let Ok(t) = Toxicity::parse(200, body) {
        let _ = t.exceeded(&[], 0.5);
    }
    if let Ok(text) = std::str::from_utf8(body) {
        segments(text, usize::from(*selector))?;
    }
    Ok(())
}

/// Segments cover the text in order, each within `limit` (at least 4) and
/// on character boundaries; calls stay within Comprehend's caps.
fn segments(text: &str, limit: usize) -> Result<(), String> {
    let limit = limit.max(4);
    let mut joined = String::with_capacity(text.len());
    for s in Segments::new(text, limit) {
        if s.is_empty() || s.len() > limit {
            return Err(format!("segment of {} bytes for limit {limit}", s.len()));
        }
        joined.push_str(s);
    }
    if joined != text {
        return Err("segments do not rebuild the text".to_owned());
    }
    let mut rebuilt = String::with_capacity(text.len());
    for batch in batches(text, limit) {
        let bytes: usize = batch.iter().map(|s| s.len()).sum();
        if batch.is_empty()
            || batch.len() > MAX_SEGMENTS_PER_CALL
            || (batch.len() > 1 && bytes > MAX_CALL_BYTES)
        {
            return Err(format!("a call of {} segments, {bytes} bytes", batch.len()));
        }
        batch.iter().for_each(|s| rebuilt.push_str(s));
    }
    if rebuilt != text {
        return Err("calls do not rebuild the text".to_owned());
    }
    Ok(())
}

/// `data` as each plugin's config: refused or compiled, never a panic.
pub fn config(data: &[u8]) -> Result<(), String> {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return Ok(());
    };
    let _ = PromptDecorator::from_value(&value);
    let _ = PromptTemplate::from_value(&value);
    let _ = PromptGuard::from_value(&value);
    let _ = crate::moderation::AwsContentModeration::from_value(&value);
    if let Value::Object(map) = &value {
        let _ = crate::PromptPlugins::from_plugins(map);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
