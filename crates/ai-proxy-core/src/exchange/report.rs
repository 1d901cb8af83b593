//! [`Exchange::finish`]: the exchange's [`Metrics`], built from its own
//! state.

use std::sync::Arc;
use std::time::Instant;

use super::{Exchange, Phase};
use crate::metrics::Metrics;

impl Exchange {
    /// The metrics of this exchange (`now`: when the client response ended).
    pub fn finish(mut self, now: Instant) -> Metrics {
        self.take_metrics(now)
    }

    /// [`finish`](Self::finish) for an exchange on the heap: read where it
    /// is, not moved out of its box first (~1 KB).
    pub fn finish_boxed(mut self: Box<Self>, now: Instant) -> Metrics {
        self.take_metrics(now)
    }

    /// [`finish_boxed`](Self::finish_boxed) into `slot`: the metrics (~400
    /// bytes) are built where they stay, not returned and moved there (a
    /// copy at each step).
    pub fn finish_into(mut self: Box<Self>, now: Instant, slot: &mut Option<Metrics>) {
        let logging = self.ctx.logging;
        slot.insert(self.metrics(now)).log(logging);
    }

    /// The metrics, logged (see [`Metrics::log`]).
    fn take_metrics(&mut self, now: Instant) -> Metrics {
        let metrics = self.metrics(now);
        metrics.log(self.ctx.logging);
        metrics
    }

    /// The metrics, with what they own taken out of the exchange (which is
    /// dropped right after). Always inlined: each caller builds them where
    /// they go.
    #[inline(always)]
    fn metrics(&mut self, now: Instant) -> Metrics {
        let started = self.ctx.started;
        let since = |t: Instant| t.saturating_duration_since(started);
        let ended = self.ended_at.unwrap_or(now);
        // Each instant's distance from the start is taken once: a body read
        // whole usually ends at `now` (three durations, one subtraction).
        let to_body_end = self.body_end_at.map(since);
        let time_to_first_token = if self.streaming && !self.error_path {
            self.first_byte_at.map(since)
        } else {
            to_body_end
        };
        let upstream_response_time = if self.status.is_some() {
            Some(if self.streaming && !self.error_path {
                since(ended)
            } else {
                to_body_end.unwrap_or_else(|| since(ended))
            })
        } else {
            None
        };
        let duration = match (self.body_end_at, to_body_end) {
            (Some(at), Some(d)) if at == now => d,
            _ => since(now),
        };
        let usage_gap = match (
            self.usage_gap.take(),
            self.observe_error.take(),
            self.framing_error.take(),
        ) {
            (Some(gap), _, _) => Some(gap),
            (None, Some(error), _) => Some(super::UsageGap::StreamUnobserved(error)),
            (None, None, Some(error)) => Some(super::UsageGap::FramesUnobserved(*error)),
            (None, None, None) => None,
        };
        let observation = self.observer.take_observation();
        let ctx = &mut self.ctx;
        let llm_model = match &observation.model {
            Some(model) => Some(Arc::clone(model)),
            None => ctx.llm_model.take(),
        };
        Metrics {
            request_type: ctx.request_type,
            client_protocol: ctx.client_protocol,
            target_protocol: ctx.target_protocol,
            provider: ctx.provider,
            instance_name: Arc::clone(&ctx.instance_name),
            stream: self.streaming,
            request_llm_model: ctx.request_llm_model.take(),
            response_model: observation.model,
            llm_model,
            usage: observation.usage,
            time_to_first_token,
            time_to_first_content: self.first_content_at.map(since),
            upstream_response_time,
            duration,
            upstream_status: self.status,
            bytes_received: self.received,
            bytes_sent: self.sent,
            events: observation.events,
            done: observation.done,
            completed: self.phase == Phase::Ended && self.error.is_none(),
            has_tool_calls: observation.has_tool_calls,
            tool_count: ctx.tool_count,
            end_user_id: ctx.end_user_id.take(),
            response_text_truncated: observation.text_truncated,
            response_text: observation.text,
            usage_gap,
            error_events: observation.error_events,
            malformed_events: observation.malformed_events,
            upstream_error: observation.last_error,
            error: self.error.take(),
        }
    }
}
