//! The pieces every family is made of: label sets, a counter encoded
//! under its own name, and the series cap that keeps client-chosen label
//! values (model names) from growing the registry without bound.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use prometheus_client::encoding::{
    EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelSetEncoder, LabelValueEncoder,
    MetricEncoder,
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
        // Most lookups find the very text the series was created with
        // (a model name shared with the request, a constant).
        let (a, b) = (self.as_str(), other.as_str());
        (a.len() == b.len() && std::ptr::eq(a.as_ptr(), b.as_ptr())) || a == b
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

/// A label value copied from `text` (the empty value without allocating).
pub(crate) fn text(text: &str) -> Value {
    if text.is_empty() {
        return Value::Static("");
    }
    Value::Shared(Arc::from(text))
}

/// A label set: names fixed per family, values per series.
pub(crate) type Labels<const N: usize> = [(&'static str, Value); N];

/// A label set as a family's key. Every request looks up about ten
/// series: hashed as arrays of `(name, value)` pairs through the map's
/// SipHash, that was an eighth of a proxied request's user-space
/// instructions (callgrind, `gateway_cpu.py` load). The names are the
/// family's own (the same in every key), so only the values are hashed,
/// folded into one word with a per-process random seed (client-chosen
/// model names cannot be aimed at one bucket), which the map's SipHash
/// then mixes.
#[derive(Clone, Debug, Eq)]
pub(crate) struct Key<const N: usize>(pub(crate) Labels<N>);

impl<const N: usize> PartialEq for Key<N> {
    fn eq(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(&other.0)
            .all(|((a_name, a), (b_name, b))| a == b && a_name == b_name)
    }
}

impl<const N: usize> Hash for Key<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut h = *SEED;
        for (_, value) in &self.0 {
            h = fold(h, value.as_str().as_bytes());
        }
        state.write_u64(h);
    }
}

impl<const N: usize> EncodeLabelSet for Key<N> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }
}

static SEED: LazyLock<u64> =
    LazyLock::new(|| std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64));

/// Folds `bytes` and their length into `h`, a word at a time (the
/// multiply-rotate step of rustc's FxHasher).
fn fold(mut h: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let mut step = |word: u64| h = (h.rotate_left(26) ^ word).wrapping_mul(K);
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        step(u64::from_le_bytes(word));
    }
    let mut tail = [0u8; 8];
    for (slot, byte) in tail.iter_mut().zip(words.remainder()) {
        *slot = *byte;
    }
    step(u64::from_le_bytes(tail));
    step(bytes.len() as u64);
    h
}

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
    pub(crate) family: Family<Key<N>, M, C>,
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
    pub(crate) fn new(family: Family<Key<N>, M, C>, cap: usize) -> Self {
        Self {
            family,
            cap,
            created: AtomicUsize::new(0),
            overflow: Total::default(),
        }
    }

    /// The series for `labels`, or its overflow series at the cap.
    pub(crate) fn series(&self, labels: Labels<N>) -> M {
        let mut key = Key(labels);
        if let Some(series) = self.family.get(&key) {
            return series.clone();
        }
        let admitted = self
            .created
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.cap).then_some(n + 1)
            })
            .is_ok();
        if !admitted {
            for (name, value) in &mut key.0 {
                if UNTRUSTED.contains(name) {
                    *value = Value::Static(OVERFLOW);
                }
            }
            self.overflow.inc_by(1);
        }
        self.family.get_or_create_owned(&key)
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
        assert_eq!(capped.family.get_or_create_owned(&Key(overflow)).value(), 7);
    }

    #[test]
    fn keys_of_equal_values_are_equal_and_hash_alike() {
        let state = std::collections::hash_map::RandomState::new();
        let a = Key([("route_id", text("r1")), ("llm_model", text("gpt-4o"))]);
        let b = Key([
            ("route_id", Value::Static("r1")),
            ("llm_model", text("gpt-4o")),
        ]);
        assert_eq!(a, b);
        assert_eq!(state.hash_one(&a), state.hash_one(&b));
        // The boundary between values matters, not only their bytes.
        let c = Key([("route_id", text("r1g")), ("llm_model", text("pt-4o"))]);
        assert_ne!(a, c);
        assert_ne!(state.hash_one(&a), state.hash_one(&c));
        let long = Key([
            ("route_id", text("r")),
            ("llm_model", text(&"m".repeat(40))),
        ]);
        let longer = Key([
            ("route_id", text("r")),
            ("llm_model", text(&"m".repeat(41))),
        ]);
        assert_ne!(state.hash_one(&long), state.hash_one(&longer));
    }
}
