//! What a response costs: [`RawUsage`], the usage fields `cost_expr`
//! reads, and the strategies of `limit_strategy`.

use std::borrow::Cow;

use ai_proxy_core::Protocol;
use ai_proxy_core::config::{CostError, LimitStrategy};
use ai_proxy_core::usage::Usage;

/// A response's usage under the field names of the protocol the client
/// speaks: what APISIX's `cost_expr` sees (`ctx.llm_raw_usage`, the
/// numeric top-level fields of the response's `usage` object after any
/// conversion to the client's protocol).
///
/// [`from_usage`](Self::from_usage) rebuilds the fields each protocol
/// defines from the normalised [`Usage`]; a caller that kept more of the
/// raw object adds fields with [`with`](Self::with).
///
/// ```
/// use ai_proxy_core::{Protocol, usage::Usage};
/// use ai_proxy_multi::limit::RawUsage;
///
/// let usage = Usage::new(50, 30).with_cache(200, 100);
/// let raw = RawUsage::from_usage(&usage, Protocol::AnthropicMessages);
/// assert_eq!(raw.get("input_tokens"), Some(50.0));
/// assert_eq!(raw.get("cache_read_input_tokens"), Some(200.0));
/// assert_eq!(raw.get("prompt_tokens"), None);
/// let openai = RawUsage::from_usage(&usage, Protocol::OpenAiChat);
/// assert_eq!(openai.get("total_tokens"), Some(80.0));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawUsage {
    fields: Vec<(Cow<'static, str>, f64)>,
}

impl RawUsage {
    /// The fields `protocol`'s usage object has, from `usage`.
    pub fn from_usage(usage: &Usage, protocol: Protocol) -> Self {
        #[allow(clippy::cast_precision_loss)] // token counts stay far below 2^53
        let n = |v: u64| v as f64;
        let fields: Vec<(&'static str, u64)> = match protocol {
            Protocol::OpenAiResponses => vec![
                ("input_tokens", usage.prompt_tokens),
                ("output_tokens", usage.completion_tokens),
                ("total_tokens", usage.total_tokens),
            ],
            Protocol::AnthropicMessages | Protocol::BedrockInvoke => vec![
                ("input_tokens", usage.prompt_tokens),
                ("output_tokens", usage.completion_tokens),
                (
                    "cache_creation_input_tokens",
                    usage.cache_creation_input_tokens,
                ),
                ("cache_read_input_tokens", usage.cache_read_input_tokens),
            ],
            Protocol::Gemini => vec![
                ("promptTokenCount", usage.prompt_tokens),
                ("candidatesTokenCount", usage.completion_tokens),
                ("totalTokenCount", usage.total_tokens),
                ("cachedContentTokenCount", usage.cache_read_input_tokens),
                ("thoughtsTokenCount", usage.reasoning_tokens),
            ],
            Protocol::BedrockConverse => vec![
                ("inputTokens", usage.prompt_tokens),
                ("outputTokens", usage.completion_tokens),
                ("totalTokens", usage.total_tokens),
                ("cacheReadInputTokens", usage.cache_read_input_tokens),
                ("cacheWriteInputTokens", usage.cache_creation_input_tokens),
            ],
            // OpenAI chat and embeddings, and what speaks their usage shape.
            _ => vec![
                ("prompt_tokens", usage.prompt_tokens),
                ("completion_tokens", usage.completion_tokens),
                ("total_tokens", usage.total_tokens),
            ],
        };
        Self {
            fields: fields
                .into_iter()
                .map(|(k, v)| (Cow::Borrowed(k), n(v)))
                .collect(),
        }
    }

    /// This usage with `name` set to `value` (replacing it if present).
    pub fn with(mut self, name: impl Into<Cow<'static, str>>, value: f64) -> Self {
        let name = name.into();
        match self.fields.iter_mut().find(|(k, _)| *k == name) {
            Some(field) => field.1 = value,
            None => self.fields.push((name, value)),
        }
        self
    }

    /// A field's value.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }
}

/// What a response costs under `strategy`: a token count from `usage`, or
/// `cost_expr` over `raw`.
pub(crate) fn cost(
    strategy: &LimitStrategy,
    usage: &Usage,
    raw: &RawUsage,
) -> Result<u64, CostError> {
    Ok(match strategy {
        LimitStrategy::PromptTokens => usage.prompt_tokens,
        LimitStrategy::CompletionTokens => usage.completion_tokens,
        LimitStrategy::Expression(expr) => expr.cost(|name| raw.get(name))?,
        // Total, and strategies a newer core may add.
        _ => usage.total_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_proxy_core::config::CostExpr;

    #[test]
    fn strategies_pick_their_count() {
        let usage = Usage::new(12, 30);
        let raw = RawUsage::from_usage(&usage, Protocol::OpenAiChat);
        assert_eq!(cost(&LimitStrategy::TotalTokens, &usage, &raw), Ok(42));
        assert_eq!(cost(&LimitStrategy::PromptTokens, &usage, &raw), Ok(12));
        assert_eq!(cost(&LimitStrategy::CompletionTokens, &usage, &raw), Ok(30));
    }

    #[test]
    fn expressions_read_the_client_protocols_field_names() {
        // APISIX t/plugin/ai-rate-limiting-expression.t TEST 9: 50 + 200*0.1 + 100*1.25 + 30.
        let usage = Usage::new(50, 30).with_cache(200, 100);
        let raw = RawUsage::from_usage(&usage, Protocol::AnthropicMessages);
        let expr = CostExpr::parse(
            "input_tokens + cache_read_input_tokens * 0.1 + cache_creation_input_tokens * 1.25 + output_tokens",
        )
        .unwrap();
        assert_eq!(
            cost(&LimitStrategy::Expression(expr), &usage, &raw),
            Ok(225)
        );
    }

    #[test]
    fn extra_fields_can_be_added_and_replaced() {
        let raw = RawUsage::default()
            .with("prompt_cache_hit_tokens", 7.0)
            .with("prompt_cache_hit_tokens", 9.0);
        assert_eq!(raw.get("prompt_cache_hit_tokens"), Some(9.0));
    }
}
