//! The pieces every family is made of: label sets, a counter encoded
//! under its own name, and the series cap that keeps client-chosen label
//! values (model names) from growing the registry without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use prometheus_client::encoding::{
    EncodeLabelValue, EncodeMetric, LabelValueEncoder, MetricEncoder,
};
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// A label value: a constant, or text shared with the request (model
/// names are `Arc<str>` already: no copy per request).
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Value {
    fn as_str(&self) -> &str {
        match self {
            Value::Static(s) => s,
            Value::Shared(s) => s,
        }
    }
}

impl From<&'static str> for Value {
    fn from(s: &'static str) -> Self {
        Value::Static(s)
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Value {}

impl std::hash::Hash for Value {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Value {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.as_str())
    }
}

/// A label value copied from `text`.
pub(crate) fn text(text: &str) -> Value {
    Value::Shared(Arc::from(text))
}

/// A label set: names fixed per family, values per series.
pub(crate) type Labels<const N: usize> = [(&'static str, Value); N];

/// The value model labels take once a family is at its series cap.
pub const OVERFLOW: &str = "_overflow";

/// Labels whose values come from clients (model names): the ones the cap
/// replaces with [`OVERFLOW`].
const UNTRUSTED: [&str; 4] = [
    "request_llm_model",
    "llm_model",
    "gen_ai_request_model",
    "gen_ai_response_model",
];

/// APISIX's `MAX_MODEL_LABEL_LEN`: model labels are cut to 128 bytes.
const MAX_MODEL_LABEL: usize = 128;

/// A model name as a label value: at most 128 bytes, cut on a char
/// boundary (APISIX cuts at 128 too).
pub(crate) fn model(name: Option<&str>) -> Value {
    let name = name.unwrap_or_default();
    let mut end = name.len().min(MAX_MODEL_LABEL);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    text(name.get(..end).unwrap_or_default())
}

/// [`model`] for a name already shared: no copy unless it is cut.
pub(crate) fn shared_model(name: Option<&Arc<str>>) -> Value {
    match name {
        Some(name) if name.len() <= MAX_MODEL_LABEL => Value::Shared(Arc::clone(name)),
        other => model(other.map(|n| &**n)),
    }
}

/// A counter whose sample carries exactly the name it is registered
/// with: `prometheus-client`'s own counter appends `_total`, which would
/// rename APISIX's `apisix_llm_prompt_tokens` (nginx-lua-prometheus
/// writes counters bare). Served as text format 0.0.4, as APISIX serves
/// its metrics.
#[derive(Clone, Debug, Default)]
pub(crate) struct Total(Arc<AtomicU64>);

impl Total {
    pub(crate) fn inc_by(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn value(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl TypedMetric for Total {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for Total {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        // A bare sample under the family's name: what a 0.0.4 counter is.
        encoder.encode_gauge(&self.0.load(Ordering::Relaxed))
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

/// A family whose series count is capped: past `cap` series, a new label
/// set has its model labels replaced by [`OVERFLOW`] (and the overflow is
/// counted), so at most `cap` series carry client-chosen names.
pub(crate) struct Capped<const N: usize, M, C = fn() -> M> {
    pub(crate) family: Family<Labels<N>, M, C>,
    cap: usize,
    /// Series created with their own labels (racing creators of one
    /// series may both count it: the cap errs low, never high).
    created: AtomicUsize,
    /// Samples that went to the overflow series.
    pub(crate) overflow: Total,
}

impl<const N: usize, M, C> Capped<N, M, C>
where
    M: Clone,
    C: MetricConstructor<M>,
{
    pub(crate) fn new(family: Family<Labels<N>, M, C>, cap: usize) -> Self {
        Self {
            family,
            cap,
            created: AtomicUsize::new(0),
            overflow: Total::default(),
        }
    }

    /// The series for `labels`, or its overflow series at the cap.
    pub(crate) fn series(&self, mut labels: Labels<N>) -> M {
        if let Some(series) = self.family.get(&labels) {
            return series.clone();
        }
        let admitted = self
            .created
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.cap).then_some(n + 1)
            })
            .is_ok();
        if !admitted {
            for (name, value) in &mut labels {
                if UNTRUSTED.contains(name) {
                    *value = Value::Static(OVERFLOW);
                }
            }
            self.overflow.inc_by(1);
        }
        self.family.get_or_create_owned(&labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_labels_are_cut_to_128_bytes_on_a_char_boundary() {
        let long = "é".repeat(100);
        let label = model(Some(&long));
        assert_eq!(label.as_str().len(), 128);
        assert_eq!(model(None).as_str(), "");
        let short: Arc<str> = Arc::from("gpt-4o");
        assert!(matches!(shared_model(Some(&short)), Value::Shared(s) if Arc::ptr_eq(&s, &short)));
    }

    #[test]
    fn past_the_cap_new_model_names_share_the_overflow_series() {
        let capped: Capped<2, Total> = Capped::new(Family::default(), 3);
        for i in 0..10 {
            let labels = [
                ("route_id", Value::Static("r")),
                ("llm_model", text(&format!("m{i}"))),
            ];
            capped.series(labels).inc_by(1);
        }
        assert_eq!(capped.created.load(Ordering::Relaxed), 3, "three names");
        assert_eq!(capped.overflow.value(), 7);
        let overflow = [
            ("route_id", Value::Static("r")),
            ("llm_model", Value::Static(OVERFLOW)),
        ];
        assert_eq!(capped.family.get_or_create_owned(&overflow).value(), 7);
    }
}
