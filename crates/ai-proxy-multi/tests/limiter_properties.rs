//! Properties of the fixed-window arithmetic and of admission, against a
//! reference model, on a fake clock (no sleeps).
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ai_proxy_core::config::AiRateLimitingConfig;
use ai_proxy_multi::limit::{Counter, MemoryStore, Store, TokenLimiter, reset_seconds};
use proptest::prelude::*;

/// The reference: a window opens at a charge and lasts its length.
#[derive(Default)]
struct Model {
    windows: HashMap<u8, (Duration, Duration, u64)>, // start, length, consumed (times since t0)
}

impl Model {
    fn peek(&self, key: u8, window: Duration, now: Duration) -> Counter {
        match self.windows.get(&key) {
            Some(&(start, length, consumed)) if now < start + length => Counter {
                consumed,
                reset: start + length - now,
            },
            _ => Counter::fresh(window),
        }
    }

    fn charge(&mut self, key: u8, cost: u64, window: Duration, now: Duration) -> Counter {
        match self.windows.get_mut(&key) {
            Some((start, length, consumed)) if now < *start + *length => {
                *consumed += cost;
                Counter {
                    consumed: *consumed,
                    reset: *start + *length - now,
                }
            }
            _ => {
                self.windows.insert(key, (now, window, cost));
                Counter::fresh(window).with_consumed(cost)
            }
        }
    }
}

trait WithConsumed {
    fn with_consumed(self, consumed: u64) -> Self;
}

impl WithConsumed for Counter {
    fn with_consumed(mut self, consumed: u64) -> Self {
        self.consumed = consumed;
        self
    }
}

#[derive(Clone, Debug)]
enum Op {
    Peek { key: u8, window_s: u64 },
    Charge { key: u8, cost: u64, window_s: u64 },
}

fn op() -> impl Strategy<Value = (u64, Op)> {
    let advance = prop_oneof![0u64..50, 0u64..3000, 900u64..6000];
    let op = prop_oneof![
        (0u8..3, 1u64..5).prop_map(|(key, window_s)| Op::Peek { key, window_s }),
        (0u8..3, 0u64..100, 1u64..5).prop_map(|(key, cost, window_s)| Op::Charge {
            key,
            cost,
            window_s
        }),
    ];
    (advance, op)
}

proptest! {
    /// Every read and charge of the memory store matches the model, at
    /// whatever times and in whatever order.
    #[test]
    fn memory_store_matches_the_fixed_window_model(ops in proptest::collection::vec(op(), 1..200)) {
        let store = MemoryStore::new(1000);
        let mut model = Model::default();
        let t0 = Instant::now();
        let mut elapsed = Duration::ZERO;
        for (advance_ms, op) in ops {
            elapsed += Duration::from_millis(advance_ms);
            let now = t0 + elapsed;
            match op {
                Op::Peek { key, window_s } => {
                    let w = Duration::from_secs(window_s);
                    prop_assert_eq!(store.peek(&key.to_string(), w, now).unwrap(), model.peek(key, w, elapsed));
                }
                Op::Charge { key, cost, window_s } => {
                    let w = Duration::from_secs(window_s);
                    prop_assert_eq!(
                        store.charge(&key.to_string(), cost, w, now).unwrap(),
                        model.charge(key, cost, w, elapsed)
                    );
                }
            }
        }
    }

    /// Admission passes exactly while the window's charges are below the
    /// limit; the headers show the limit, what is left (0 when rejected)
    /// and the model's reset; within one window an admitted request can
    /// overdraw by at most its own cost minus one.
    #[test]
    fn admission_follows_the_budget(
        limit in 1u64..200,
        window_s in 1u64..30,
        requests in proptest::collection::vec((0u64..4000, 0u64..80), 1..120),
    ) {
        let config = AiRateLimitingConfig::from_json(
            &format!(r#"{{"limit": {limit}, "time_window": {window_s}}}"#),
        ).unwrap();
        let l = TokenLimiter::new(&config, "p", &["x"]).unwrap();
        let store = MemoryStore::new(100);
        let mut model = Model::default();
        let window = Duration::from_secs(window_s);
        let t0 = Instant::now();
        let mut elapsed = Duration::ZERO;
        for (advance_ms, cost) in requests {
            elapsed += Duration::from_millis(advance_ms);
            let now = t0 + elapsed;
            let mut quotas = l.quotas(&());
            quotas.read(&store, now);
            let verdict = l.admit(&quotas, "x");
            let before = model.peek(0, window, elapsed);
            let admitted = before.consumed < limit;
            prop_assert_eq!(verdict.is_admitted(), admitted);
            prop_assert_eq!(l.is_rate_limited(&quotas, "x"), !admitted);
            let remaining = if admitted { limit - before.consumed } else { 0 };
            let h = &verdict.headers;
            prop_assert_eq!(h["x-ai-ratelimit-limit-x"].to_str().unwrap(), limit.to_string());
            prop_assert_eq!(h["x-ai-ratelimit-remaining-x"].to_str().unwrap(), remaining.to_string());
            prop_assert_eq!(h["x-ai-ratelimit-reset-x"].to_str().unwrap(), reset_seconds(before.reset));
            if admitted {
                l.charge(&quotas, "x", cost, &store, now).unwrap();
                if cost > 0 {
                    let after = model.charge(0, cost, window, elapsed);
                    prop_assert!(after.consumed < limit + cost);
                }
            }
        }
    }
}
