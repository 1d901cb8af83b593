//! [`Usage`]: token counts read from a response, and APISIX's rule for
//! merging the partial counts a stream reports across events.

/// Token counts of one exchange (APISIX's `llm_*_tokens` variables).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Usage {
    /// `$llm_prompt_tokens`.
    pub prompt_tokens: u64,
    /// `$llm_completion_tokens`.
    pub completion_tokens: u64,
    /// `$llm_total_tokens`.
    pub total_tokens: u64,
    /// `$llm_cache_read_input_tokens`.
    pub cache_read_input_tokens: u64,
    /// `$llm_cache_creation_input_tokens`.
    pub cache_creation_input_tokens: u64,
    /// `$llm_reasoning_tokens`.
    pub reasoning_tokens: u64,
}

impl Usage {
    /// Usage with prompt and completion counts; total is their sum.
    ///
    /// ```
    /// let usage = ai_proxy_core::usage::Usage::new(12, 30);
    /// assert_eq!(usage.total_tokens, 42);
    /// ```
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens.saturating_add(completion_tokens),
            ..Self::default()
        }
    }

    /// Sets the total (builder style).
    pub fn with_total(mut self, total_tokens: u64) -> Self {
        self.total_tokens = total_tokens;
        self
    }

    /// Sets cache-read and cache-creation input tokens (builder style).
    pub fn with_cache(mut self, read: u64, creation: u64) -> Self {
        self.cache_read_input_tokens = read;
        self.cache_creation_input_tokens = creation;
        self
    }

    /// Sets reasoning tokens (builder style).
    pub fn with_reasoning(mut self, reasoning_tokens: u64) -> Self {
        self.reasoning_tokens = reasoning_tokens;
        self
    }

    /// Folds a later usage report into this one, as APISIX does across
    /// stream events: a field is overwritten only by a number greater than
    /// zero, then `total = max(total, prompt + completion)`. This is how
    /// Anthropic's `message_start` input count and `message_delta` output
    /// count combine.
    ///
    /// ```
    /// use ai_proxy_core::usage::Usage;
    /// let mut usage = Usage::new(25, 1);
    /// usage.merge(&Usage::new(0, 15).with_total(0));
    /// assert_eq!((usage.prompt_tokens, usage.completion_tokens, usage.total_tokens), (25, 15, 40));
    /// ```
    pub fn merge(&mut self, later: &Usage) {
        fn take(field: &mut u64, later: u64) {
            if later > 0 {
                *field = later;
            }
        }
        take(&mut self.prompt_tokens, later.prompt_tokens);
        take(&mut self.completion_tokens, later.completion_tokens);
        take(&mut self.total_tokens, later.total_tokens);
        take(
            &mut self.cache_read_input_tokens,
            later.cache_read_input_tokens,
        );
        take(
            &mut self.cache_creation_input_tokens,
            later.cache_creation_input_tokens,
        );
        take(&mut self.reasoning_tokens, later.reasoning_tokens);
        self.total_tokens = self
            .total_tokens
            .max(self.prompt_tokens.saturating_add(self.completion_tokens));
    }

    /// Merges `later` into an optional running usage: the first report
    /// initialises it (with `total` raised to `prompt + completion`), later
    /// ones [`merge`](Self::merge).
    pub fn accumulate(running: &mut Option<Usage>, later: Usage) {
        match running {
            Some(usage) => usage.merge(&later),
            None => {
                let mut first = later;
                first.total_tokens = first
                    .total_tokens
                    .max(first.prompt_tokens.saturating_add(first.completion_tokens));
                *running = Some(first);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_never_overwrites() {
        let mut usage = Usage::new(10, 5).with_cache(3, 2).with_reasoning(4);
        usage.merge(&Usage::default());
        assert_eq!(usage, Usage::new(10, 5).with_cache(3, 2).with_reasoning(4));
    }

    #[test]
    fn total_is_at_least_prompt_plus_completion() {
        let mut running = None;
        Usage::accumulate(&mut running, Usage::new(7, 0).with_total(0));
        assert_eq!(running.map(|u| u.total_tokens), Some(7));
        Usage::accumulate(&mut running, Usage::new(0, 9).with_total(3));
        assert_eq!(running.map(|u| u.total_tokens), Some(16));
    }

    #[test]
    fn later_larger_total_is_kept() {
        let mut usage = Usage::new(1, 1);
        usage.merge(&Usage::new(0, 0).with_total(50));
        assert_eq!(usage.total_tokens, 50);
    }
}
