//! OpenAI chat responses and chunks as the translator reads them: borrowed
//! raw members, only those the mapping uses.

use ai_proxy_core::json::Raw;
use ai_proxy_core::json::lenient::{Count, First};
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct Response<'a> {
    #[serde(borrow)]
    pub(super) id: Option<Raw<'a>>,
    #[serde(borrow)]
    pub(super) model: Option<Raw<'a>>,
    #[serde(borrow)]
    pub(super) choices: Option<First<ResponseChoice<'a>>>,
    pub(super) usage: Option<Usage>,
    #[serde(borrow)]
    pub(super) error: Option<Raw<'a>>,
}

#[derive(Deserialize)]
pub(super) struct ResponseChoice<'a> {
    #[serde(borrow)]
    pub(super) message: Option<Message<'a>>,
    #[serde(borrow)]
    pub(super) finish_reason: Option<Raw<'a>>,
}

/// A response's `message` or a chunk's `delta` (the same members).
#[derive(Deserialize)]
pub(super) struct Message<'a> {
    #[serde(borrow)]
    pub(super) content: Option<Raw<'a>>,
    #[serde(borrow)]
    pub(super) reasoning_content: Option<Raw<'a>>,
    #[serde(borrow)]
    pub(super) reasoning: Option<Raw<'a>>,
    #[serde(borrow)]
    pub(super) tool_calls: Option<Vec<ToolCall<'a>>>,
}

#[derive(Deserialize)]
pub(super) struct ToolCall<'a> {
    #[serde(borrow)]
    pub(super) id: Option<Raw<'a>>,
    pub(super) index: Option<u64>,
    #[serde(borrow, rename = "function")]
    pub(super) function: Option<Function<'a>>,
}

impl<'a> ToolCall<'a> {
    /// `function.name`, decoded; empty when missing or not a string.
    pub(super) fn name(&self) -> std::borrow::Cow<'a, str> {
        self.function
            .as_ref()
            .and_then(|f| f.name)
            .and_then(Raw::str)
            .unwrap_or_default()
    }
}

#[derive(Deserialize)]
pub(super) struct Function<'a> {
    #[serde(borrow)]
    pub(super) name: Option<Raw<'a>>,
    #[serde(borrow)]
    pub(super) arguments: Option<Raw<'a>>,
}

#[derive(Clone, Copy, Default, Deserialize)]
pub(super) struct Usage {
    pub(super) prompt_tokens: Option<Count>,
    pub(super) completion_tokens: Option<Count>,
    pub(super) prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Clone, Copy, Default, Deserialize)]
pub(super) struct PromptDetails {
    pub(super) cached_tokens: Option<Count>,
    pub(super) cache_creation_input_tokens: Option<Count>,
}

#[derive(Deserialize)]
pub(super) struct ErrorObject<'a> {
    #[serde(borrow, rename = "type")]
    pub(super) kind: Option<Raw<'a>>,
    #[serde(borrow)]
    pub(super) code: Option<Raw<'a>>,
    #[serde(borrow)]
    pub(super) message: Option<Raw<'a>>,
}

#[derive(Deserialize)]
pub(super) struct Chunk<'a> {
    #[serde(borrow)]
    pub(super) id: Option<Raw<'a>>,
    #[serde(borrow)]
    pub(super) model: Option<Raw<'a>>,
    #[serde(borrow)]
    pub(super) choices: Option<First<ChunkChoice<'a>>>,
    pub(super) usage: Option<Usage>,
    #[serde(borrow)]
    pub(super) error: Option<Raw<'a>>,
}

#[derive(Deserialize)]
pub(super) struct ChunkChoice<'a> {
    #[serde(borrow)]
    pub(super) delta: Option<Message<'a>>,
    #[serde(borrow)]
    pub(super) finish_reason: Option<Raw<'a>>,
}
