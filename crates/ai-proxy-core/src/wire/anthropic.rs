//! Anthropic Messages responses: the `message` body and the stream's
//! events (`message_start` … `message_stop`). Only the members read by the
//! observer or a translator are modelled; each is its raw JSON value, so
//! text passes on with its escapes intact and a member of an odd type
//! reads as that value, not as a failed event.

use serde::Deserialize;

use crate::json::Raw;
use crate::json::lenient::Count;

/// A `message` (a response body, or `message_start`'s `message`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Message<'a> {
    /// `type` (`message`, or `error` for an error body).
    #[serde(rename = "type", borrow)]
    pub kind: Option<Raw<'a>>,
    /// `id`.
    #[serde(borrow)]
    pub id: Option<Raw<'a>>,
    /// `model`.
    #[serde(borrow)]
    pub model: Option<Raw<'a>>,
    /// `content` blocks.
    #[serde(borrow)]
    pub content: Option<Vec<Block<'a>>>,
    /// `stop_reason`.
    #[serde(borrow)]
    pub stop_reason: Option<Raw<'a>>,
    /// `usage`.
    pub usage: Option<Usage>,
    /// `error` (an error body's).
    #[serde(borrow)]
    pub error: Option<Raw<'a>>,
}

/// A content block (in a message, or `content_block_start`'s), or a delta
/// (`content_block_delta`'s to a block, `message_delta`'s to the message).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Block<'a> {
    /// `type`: `text`, `thinking`, `tool_use`, `text_delta`,
    /// `input_json_delta`, …
    #[serde(rename = "type", borrow)]
    pub kind: Option<Raw<'a>>,
    /// `text` of a text block or delta.
    #[serde(borrow)]
    pub text: Option<Raw<'a>>,
    /// `thinking` of a thinking block or delta.
    #[serde(borrow)]
    pub thinking: Option<Raw<'a>>,
    /// `id` of a tool use.
    #[serde(borrow)]
    pub id: Option<Raw<'a>>,
    /// `name` of a tool use.
    #[serde(borrow)]
    pub name: Option<Raw<'a>>,
    /// `input` of a tool use.
    #[serde(borrow)]
    pub input: Option<Raw<'a>>,
    /// `partial_json` of an input JSON delta.
    #[serde(borrow)]
    pub partial_json: Option<Raw<'a>>,
    /// `stop_reason` of `message_delta`'s delta.
    #[serde(borrow)]
    pub stop_reason: Option<Raw<'a>>,
}

/// `usage`: token counts (cumulative in a stream).
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Usage {
    /// `input_tokens`.
    pub input_tokens: Option<Count>,
    /// `output_tokens`.
    pub output_tokens: Option<Count>,
    /// `cache_read_input_tokens`.
    pub cache_read_input_tokens: Option<Count>,
    /// `cache_creation_input_tokens`.
    pub cache_creation_input_tokens: Option<Count>,
}

/// One stream event.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Event<'a> {
    /// `type`, which repeats the SSE event name.
    #[serde(rename = "type", borrow)]
    pub kind: Option<Raw<'a>>,
    /// `message` of `message_start`.
    #[serde(borrow)]
    pub message: Option<Message<'a>>,
    /// `index` of a content block event (an identity, not a count: an odd
    /// one fails the event).
    pub index: Option<u64>,
    /// `content_block` of `content_block_start`.
    #[serde(borrow)]
    pub content_block: Option<Block<'a>>,
    /// `delta` of `content_block_delta` and `message_delta`.
    #[serde(borrow)]
    pub delta: Option<Block<'a>>,
    /// `usage` of `message_delta`.
    pub usage: Option<Usage>,
    /// `error` of an `error` event.
    #[serde(borrow)]
    pub error: Option<Raw<'a>>,
}

/// An `error` member's object.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ErrorObject<'a> {
    /// `type`.
    #[serde(rename = "type", borrow)]
    pub kind: Option<Raw<'a>>,
    /// `message`.
    #[serde(borrow)]
    pub message: Option<Raw<'a>>,
}

impl Usage {
    /// The counts as [`Usage`](crate::usage::Usage) (absent counts read as 0;
    /// APISIX's total is input + output).
    pub fn to_usage(&self) -> crate::usage::Usage {
        let n = |c: Option<Count>| c.map_or(0, |c| c.0);
        crate::usage::Usage::new(n(self.input_tokens), n(self.output_tokens)).with_cache(
            n(self.cache_read_input_tokens),
            n(self.cache_creation_input_tokens),
        )
    }
}
