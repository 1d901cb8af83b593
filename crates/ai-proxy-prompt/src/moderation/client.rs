//! [`ClientFacts`]: what a gateway that moderates before `prepare` reads
//! from the client request to build a [`ModerationRequest`](super::ModerationRequest).

use ai_proxy_core::Protocol;

use super::ModerationError;
use crate::body::ClientBody;

/// The client protocol, stream flag and model of a request, read from its
/// path and body as `prepare` will read them (one pass over the top level).
///
/// ```
/// use ai_proxy_core::Protocol;
/// use ai_proxy_prompt::moderation::ClientFacts;
///
/// let body = br#"{"model":"claude-sonnet-4","stream":true,"max_tokens":9,"messages":[]}"#;
/// let facts = ClientFacts::read("/v1/messages", body).unwrap();
/// assert_eq!(facts.protocol, Some(Protocol::AnthropicMessages));
/// assert!(facts.stream);
/// assert_eq!(facts.model.as_deref(), Some("claude-sonnet-4"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientFacts {
    /// The client protocol; `None`: no AI protocol (`prepare` refuses the
    /// request with APISIX's 400).
    pub protocol: Option<Protocol>,
    /// Whether the client asked for a stream
    /// ([`Protocol::is_streaming`]).
    pub stream: bool,
    /// The top-level `model` when it is a string.
    pub model: Option<String>,
}

impl ClientFacts {
    /// Reads a request to `path` (no query) with `body`; an empty or
    /// malformed body is [`ModerationError::InvalidBody`] (400).
    pub fn read(path: &str, body: &[u8]) -> Result<Self, ModerationError> {
        let read = ClientBody::read(body, u64::MAX).map_err(ModerationError::unreadable)?;
        let protocol = read.protocol(path);
        let stream_true = read.get("stream").is_some_and(|s| s.bytes() == b"true");
        Ok(Self {
            protocol,
            stream: protocol.is_some_and(|p| p.is_streaming(path, stream_true)),
            model: read
                .get("model")
                .and_then(|m| m.str())
                .map(|m| m.into_owned()),
        })
    }
}
