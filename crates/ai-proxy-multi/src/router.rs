//! The model router: one route serves many models, each with its own
//! instances and fallback.
//!
//! This is an SDK option, not an APISIX field: APISIX needs one route (and
//! one `ai-proxy-multi`) per model. It is given to
//! [`crate::Balancer`] next to the APISIX config, never inside it.

use serde::Deserialize;

/// Maps the client's `model` to a subset of the instances.
///
/// Exact patterns are checked first; then patterns with `*` (any run of
/// characters, possibly empty) in route order. Inside the chosen subset the
/// usual priority groups, balancing and fallback apply, and fallback never
/// leaves the subset.
///
/// ```
/// use ai_proxy_multi::ModelRouter;
/// let router: ModelRouter = serde_json::from_str(r#"{
///     "routes": [
///         {"models": ["gpt-4o", "gpt-4o-*"], "instances": ["openai-a", "openai-b"]},
///         {"models": ["claude-*"], "instances": ["anthropic"]}
///     ],
///     "unmatched": "reject"
/// }"#).unwrap();
/// assert_eq!(router.routes.len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ModelRouter {
    /// The routes.
    pub routes: Vec<ModelRoute>,
    /// What a model no route matches (or a request without a model) gets.
    #[serde(default)]
    pub unmatched: Unmatched,
}

impl ModelRouter {
    /// A router with no routes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route.
    pub fn route<M, I>(mut self, models: M, instances: I) -> Self
    where
        M: IntoIterator,
        M::Item: Into<String>,
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.routes.push(ModelRoute {
            models: models.into_iter().map(Into::into).collect(),
            instances: instances.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Sets the policy for unmatched models.
    pub fn unmatched(mut self, unmatched: Unmatched) -> Self {
        self.unmatched = unmatched;
        self
    }
}

/// One model router route.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ModelRoute {
    /// Model names or `*` globs.
    pub models: Vec<String>,
    /// Instance names (from `instances[].name`).
    pub instances: Vec<String>,
}

/// What the model router does with a model no route matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Unmatched {
    /// Balance over every instance (default).
    #[default]
    AllInstances,
    /// Refuse with [`crate::Error::NoRouteForModel`] (404).
    Reject,
}

/// `*` glob match, linear-time (greedy with one backtrack point).
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// Which route (0-based) a model takes, if any.
pub(crate) fn route_for(router: &ModelRouter, model: &str) -> Option<usize> {
    let exact = router
        .routes
        .iter()
        .position(|r| r.models.iter().any(|m| !m.contains('*') && m == model));
    exact.or_else(|| {
        router.routes.iter().position(|r| {
            r.models
                .iter()
                .any(|m| m.contains('*') && glob_match(m, model))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_any_run() {
        assert!(glob_match("gpt-4o-*", "gpt-4o-mini"));
        assert!(glob_match("gpt-4o-*", "gpt-4o-"));
        assert!(!glob_match("gpt-4o-*", "gpt-4o"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*mini*", "gpt-4o-mini-2024"));
        assert!(glob_match("a*b*c", "aXbYbZc"));
        assert!(!glob_match("a*b*c", "aXbYbZ"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exact2"));
    }

    #[test]
    fn glob_match_is_fast_on_adversarial_input() {
        let text = "a".repeat(10_000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(!glob_match(&pattern, &text));
    }

    #[test]
    fn exact_routes_win_over_earlier_globs() {
        let r = ModelRouter::new()
            .route(["gpt-*"], ["a"])
            .route(["gpt-4o"], ["b"]);
        assert_eq!(route_for(&r, "gpt-4o"), Some(1));
        assert_eq!(route_for(&r, "gpt-3.5"), Some(0));
        assert_eq!(route_for(&r, "claude"), None);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = serde_json::from_str::<ModelRouter>(r#"{"routes": [], "default": "x"}"#);
        assert!(err.is_err());
        let ok: ModelRouter = serde_json::from_str(r#"{"routes": []}"#).unwrap();
        assert_eq!(ok.unmatched, Unmatched::AllInstances);
    }
}
