//! Writing the OpenAI chat side of a response converter's output.

use crate::json::write::{Out, write_u64};

/// The OpenAI `usage` object for counts kept as Anthropic and Bedrock
/// keep them (input tokens without the cached ones): prompt tokens are
/// input + cache read + cache write, the cache counts under
/// `prompt_tokens_details`. One writer for every converter that answers
/// OpenAI clients from those upstreams.
pub fn write_usage<O: Out + ?Sized>(
    out: &mut O,
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
) {
    let prompt = input.saturating_add(cache_read).saturating_add(cache_write);
    out.raw(b"{\"prompt_tokens\":");
    write_u64(out, prompt);
    out.raw(b",\"completion_tokens\":");
    write_u64(out, output);
    out.raw(b",\"total_tokens\":");
    write_u64(out, prompt.saturating_add(output));
    out.raw(b",\"prompt_tokens_details\":{\"cached_tokens\":");
    write_u64(out, cache_read);
    out.raw(b",\"cache_creation_input_tokens\":");
    write_u64(out, cache_write);
    out.raw(b"}}");
}
