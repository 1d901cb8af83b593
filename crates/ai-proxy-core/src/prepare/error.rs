//! Errors of compiling a config and preparing a request.

use bytes::Bytes;
use http::StatusCode;

use crate::adapter::ConvertError;
use crate::provider::Provider;

/// A config that cannot be turned into an [`AiProxy`](super::AiProxy).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    /// No adapter for the provider is in the registry.
    #[error(
        "provider {provider} has no adapter in the registry; build the registry with \
         `ai_proxy::registry()` or add the provider's adapter"
    )]
    NoAdapter {
        /// The configured provider.
        provider: Provider,
    },
    /// An `auth.header` value cannot be sent as an HTTP header.
    #[error(
        "auth.header.{name}: the value is not a valid HTTP header value; remove control \
         characters and line breaks from it"
    )]
    InvalidAuthHeader {
        /// The header name.
        name: String,
    },
    /// The provider has no default host and no `override.endpoint` says one.
    #[error(
        "provider {provider} has no default host; set override.endpoint to the upstream URL \
         (e.g. https://my-server.example/v1/chat/completions)"
    )]
    MissingEndpoint {
        /// The configured provider.
        provider: Provider,
    },
    /// An `options` entry (or `override.llm_options`) has no place in the
    /// provider's wire format (e.g. `options.foo` on a native Gemini route).
    #[error("{reason}")]
    UnsupportedOption {
        /// The configured provider.
        provider: Provider,
        /// Which option, why, and what to do instead.
        reason: String,
    },
    /// The provider signs requests and cannot with this config.
    #[error("provider {provider} cannot sign requests: {reason}")]
    Signer {
        /// The configured provider.
        provider: Provider,
        /// What is missing or wrong (names the field).
        reason: String,
    },
}

impl CompileError {
    /// Configuration problems are the operator's: 400 at an admin API.
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }
}

/// Why a client body could not be read as JSON: APISIX's refusals of the
/// body itself (`core.request.get_body`, the JSON decode), with its
/// messages. The same for `ai-proxy` ([`PrepareError::Body`]) and the
/// prompt plugins; each decides its status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is larger than `max_req_body_size`.
    #[error(
        "could not get body: request size {size} is greater than the maximum size {max} allowed"
    )]
    TooLarge {
        /// Bytes announced or received.
        size: u64,
        /// `max_req_body_size`.
        max: u64,
    },
    /// The body is empty.
    #[error("could not get body: request body is empty")]
    Empty,
    /// The body is not JSON.
    #[error("could not parse JSON request body: {reason}")]
    InvalidJson {
        /// The parser's message (where and why).
        reason: String,
    },
}

/// Why a client request was not turned into an upstream request.
///
/// [`status`](Self::status) is what a gateway answers; [`body`](Self::body)
/// and [`content_type`](Self::content_type) are APISIX's response body for
/// the same rejection (plain text or a small JSON object).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrepareError {
    /// `Content-Type` is not `application/json…`.
    #[error("unsupported content-type: {content_type}, only application/json is supported")]
    UnsupportedContentType {
        /// The client's value.
        content_type: String,
    },
    /// The body is too large, empty or not JSON.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// The body matches no protocol (`{}`, `[]`, a bare string or number).
    #[error("no matching AI protocol for the request")]
    NoProtocol,
    /// The provider cannot take the client's protocol, natively or converted.
    #[error("provider {provider} does not support {protocol} protocol (supported: {supported})")]
    UnsupportedProtocol {
        /// The configured provider.
        provider: Provider,
        /// The detected client protocol.
        protocol: crate::protocol::Protocol,
        /// The provider's protocols, comma-separated.
        supported: String,
    },
    /// The converter rejected the client's body (e.g. `missing messages`).
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// Neither the endpoint nor the provider gives a path.
    #[error(
        "could not resolve upstream path: ensure the route or request body specifies a model, \
         or that override.endpoint includes a path"
    )]
    UnresolvedPath,
    /// `auth.gcp` is configured but no access token was passed in.
    #[error("failed to get gcp access token: {reason}")]
    GcpToken {
        /// What went wrong.
        reason: String,
    },
    /// The route signs its requests (Bedrock's SigV4) and the caller did
    /// not pass the wall-clock time.
    #[error(
        "provider {provider} signs requests with the current time: prepare them with \
         AiProxy::prepare_at(request, now, SystemTime::now(), …) instead of prepare"
    )]
    WallClockRequired {
        /// The configured provider.
        provider: Provider,
    },
    /// Signing the upstream request failed (APISIX: 500 on a SigV4 build
    /// failure).
    #[error("failed to sign the upstream request: {reason}")]
    Sign {
        /// What went wrong (never a credential).
        reason: String,
    },
    /// The upstream request could not be formed (a bug or an impossible
    /// configuration; never the client's fault).
    #[error("could not build the upstream request: {reason}")]
    Upstream {
        /// What went wrong.
        reason: String,
    },
}

impl PrepareError {
    /// The status a gateway answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            PrepareError::Body(BodyError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            PrepareError::GcpToken { .. }
            | PrepareError::Upstream { .. }
            | PrepareError::WallClockRequired { .. }
            | PrepareError::Sign { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            PrepareError::Convert(e) => e.status(),
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// APISIX's response body: `{"message": …}` for body errors,
    /// `{"error_msg": …}` for conversion, path and token errors, plain
    /// text otherwise.
    pub fn body(&self) -> Bytes {
        let message = self.to_string();
        let key = match self {
            PrepareError::Body(_) => "message",
            PrepareError::Convert(_)
            | PrepareError::UnresolvedPath
            | PrepareError::GcpToken { .. }
            | PrepareError::WallClockRequired { .. }
            | PrepareError::Sign { .. }
            | PrepareError::Upstream { .. } => "error_msg",
            _ => return Bytes::from(message),
        };
        let mut object = serde_json::Map::new();
        object.insert(key.to_owned(), serde_json::Value::String(message));
        Bytes::from(serde_json::Value::Object(object).to_string())
    }

    /// The `Content-Type` of [`body`](Self::body).
    pub fn content_type(&self) -> &'static str {
        match self {
            PrepareError::UnsupportedContentType { .. }
            | PrepareError::NoProtocol
            | PrepareError::UnsupportedProtocol { .. } => "text/plain",
            _ => "application/json",
        }
    }
}
