//! Embedding bodies: `openai-embeddings` and Vertex AI `:predict`.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::observation::Observation;
use crate::json::lenient::{Count, ErrorInfo, Str, parse};
use crate::usage::Usage;

#[derive(Deserialize, Default)]
#[serde(default)]
struct EmbeddingsUsage {
    prompt_tokens: Count,
    total_tokens: Count,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EmbeddingsBody<'a> {
    #[serde(borrow)]
    model: Str<'a>,
    usage: Option<EmbeddingsUsage>,
    data: Option<IgnoredAny>,
    error: ErrorInfo,
}

pub(crate) fn openai_body(obs: &mut Observation, body: &[u8]) {
    let Some(parsed) = parse::<EmbeddingsBody<'_>>(body.trim_ascii()) else {
        obs.malformed();
        return;
    };
    obs.set_model(parsed.model.as_deref());
    if parsed.error.present {
        obs.error(parsed.error.message.as_deref());
    }
    obs.done = parsed.data.is_some();
    if let Some(usage) = &parsed.usage {
        obs.add_usage(Usage::new(usage.prompt_tokens.0, 0).with_total(usage.total_tokens.0));
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PredictBody {
    predictions: Option<Vec<Prediction>>,
    error: ErrorInfo,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Prediction {
    embeddings: Option<PredictionEmbeddings>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PredictionEmbeddings {
    statistics: Option<Statistics>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Statistics {
    token_count: Count,
}

/// Vertex `:predict`: prompt tokens are the sum of
/// `predictions[].embeddings.statistics.token_count` (APISIX's converter).
pub(crate) fn vertex_predict_body(obs: &mut Observation, body: &[u8]) {
    let Some(parsed) = parse::<PredictBody>(body.trim_ascii()) else {
        obs.malformed();
        return;
    };
    if parsed.error.present {
        obs.error(parsed.error.message.as_deref());
    }
    let Some(predictions) = &parsed.predictions else {
        return;
    };
    obs.done = true;
    let tokens = predictions
        .iter()
        .filter_map(|p| p.embeddings.as_ref()?.statistics.as_ref())
        .fold(0u64, |sum, s| sum.saturating_add(s.token_count.0));
    obs.add_usage(Usage::new(tokens, 0));
}
