//! [`Error`]: everything `ai-proxy-multi` can refuse, at build or pick time.

use http::StatusCode;

/// Why a [`crate::Balancer`] could not be built or could not pick.
///
/// Request-time errors ([`Error::AllServersTried`],
/// [`Error::AllUpstreamServersTried`], [`Error::NoRouteForModel`]) answer
/// the client; their message starts with APISIX's response text where APISIX
/// has one. Build-time errors name the offending config path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Several priority groups and none has a pickable instance (APISIX:
    /// 503 `all servers tried`).
    #[error(
        "all servers tried: every instance of every priority group is weighted 0, \
         rate limited or already tried; add instances or let them recover"
    )]
    AllServersTried,
    /// One priority group and no pickable instance (APISIX: 503
    /// `all upstream servers tried`).
    #[error(
        "all upstream servers tried: every instance is weighted 0, rate limited or \
         already tried; add instances or let them recover"
    )]
    AllUpstreamServersTried,
    /// Nothing is pickable and at least one instance was skipped for being
    /// out of its `ai-rate-limiting` quota (`fallback_strategy`
    /// `rate_limiting`). A gateway answers the limiter's `rejected_code`
    /// and `rejected_msg` ([`crate::limit::TokenLimiter::rejection`]);
    /// APISIX answers 503 `all servers tried`.
    #[error(
        "all servers tried: every instance is out of its ai-rate-limiting token quota; \
         retry when the window resets"
    )]
    RateLimited,
    /// The model router has no route for the client's model and its
    /// `unmatched` policy is `reject`.
    #[error(
        "no instance serves model `{model}`: add a model_router route matching it, \
         or set model_router.unmatched to `all_instances`"
    )]
    NoRouteForModel {
        /// The client's model (cut to 128 bytes), or empty when it sent none.
        model: String,
    },
    /// `instances` is empty.
    #[error("instances: at least one instance is required")]
    NoInstances,
    /// More instances than the balancer indexes.
    #[error("instances: {count} instances exceed the limit of {max}; split the route")]
    TooManyInstances {
        /// How many were configured.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Two instances share a name (positions are 1-based, as APISIX
    /// reports them).
    #[error("duplicate instance name '{name}' at instances[{first}] and instances[{second}]")]
    DuplicateName {
        /// The repeated name.
        name: String,
        /// 1-based position of the first use.
        first: usize,
        /// 1-based position of the second use.
        second: usize,
    },
    /// An instance's target could not be compiled (no adapter for its
    /// provider, no endpoint host, an auth header that is not a valid
    /// header value).
    #[error("instances[{index}] ({name}): {source}")]
    Instance {
        /// 0-based position in `instances`.
        index: usize,
        /// The instance name.
        name: String,
        /// Why it did not compile.
        source: ai_proxy_core::prepare::CompileError,
    },
    /// An instance name is empty or longer than 100 characters.
    #[error("instances[{index}].name: must be 1 to 100 characters long")]
    InvalidName {
        /// 1-based position.
        index: usize,
    },
    /// `balancer.algorithm` is chash but there is nothing to hash on
    /// (APISIX's own wording).
    #[error(
        "must configure `hash_key` when balancer `hash_on` is not set to cookie \
         (set balancer.key, or hash_on `consumer`)"
    )]
    MissingHashKey,
    /// A model router route names an instance that does not exist.
    #[error(
        "model_router.routes[{route}].instances: unknown instance `{name}`; use a configured instance name"
    )]
    UnknownRouteInstance {
        /// 0-based route position.
        route: usize,
        /// The unknown name.
        name: String,
    },
    /// A model router route has no models or no instances.
    #[error("model_router.routes[{route}].{field}: must not be empty")]
    EmptyRoute {
        /// 0-based route position.
        route: usize,
        /// `models` or `instances`.
        field: &'static str,
    },
    /// `checks.active` holds a value of the wrong type or range.
    #[error("instances[{index}].checks.active.{field}: {reason}")]
    InvalidCheck {
        /// 1-based instance position.
        index: usize,
        /// The field path under `checks.active`.
        field: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// `checks.active` is set but the instance has no host to probe.
    #[error(
        "instances[{index}].checks.active: instance '{name}' has no host to probe; \
         set override.endpoint or checks.active.host"
    )]
    ProbeWithoutHost {
        /// 1-based instance position.
        index: usize,
        /// The instance name.
        name: String,
    },
    /// `passive_health` settings that cannot work.
    #[error("passive_health.{field}: {reason}")]
    InvalidPassiveHealth {
        /// The field.
        field: &'static str,
        /// What is expected.
        reason: &'static str,
    },
}

impl Error {
    /// The HTTP status a gateway answers with: 503 when every instance was
    /// tried (as APISIX), 404 for an unrouted model, 400 for configuration
    /// errors (APISIX's admin API rejects them with 400).
    pub fn status(&self) -> StatusCode {
        match self {
            Error::AllServersTried | Error::AllUpstreamServersTried | Error::RateLimited => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Error::NoRouteForModel { .. } => StatusCode::NOT_FOUND,
            Error::NoInstances
            | Error::TooManyInstances { .. }
            | Error::DuplicateName { .. }
            | Error::InvalidName { .. }
            | Error::MissingHashKey
            | Error::UnknownRouteInstance { .. }
            | Error::EmptyRoute { .. }
            | Error::InvalidCheck { .. }
            | Error::ProbeWithoutHost { .. }
            | Error::InvalidPassiveHealth { .. } => StatusCode::BAD_REQUEST,
            Error::Instance { source, .. } => source.status(),
        }
    }

    /// Whether this error is about the request (the configuration is fine).
    pub fn is_request_error(&self) -> bool {
        matches!(
            self,
            Error::AllServersTried
                | Error::AllUpstreamServersTried
                | Error::RateLimited
                | Error::NoRouteForModel { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhausted_picks_answer_503_with_the_apisix_text_first() {
        assert_eq!(
            Error::AllServersTried.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(
            Error::AllServersTried
                .to_string()
                .starts_with("all servers tried")
        );
        assert!(
            Error::AllUpstreamServersTried
                .to_string()
                .starts_with("all upstream servers tried")
        );
    }

    #[test]
    fn duplicate_name_message_matches_apisix() {
        let e = Error::DuplicateName {
            name: "same-name".into(),
            first: 1,
            second: 3,
        };
        assert_eq!(
            e.to_string(),
            "duplicate instance name 'same-name' at instances[1] and instances[3]"
        );
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    }
}
