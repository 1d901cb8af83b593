//! [`UsageGap`]: why an exchange that ended normally may still report no
//! (or partial) token usage.

use crate::framing::FramingError;
use crate::sse::SseError;

/// Why token usage may be missing although the response itself was fine.
/// Gateways log it next to the token counts, so that a `0` there is never
/// silent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageGap {
    /// A non-streaming body was larger than the observation cap, and the
    /// window kept from its end carried no usage.
    #[error(
        "response body of {bytes} bytes is larger than the {cap}-byte observation cap and its \
         last {window} bytes carry no usage: token counts are unknown"
    )]
    BodyOverCap {
        /// The body's size.
        bytes: u64,
        /// The observation cap.
        cap: usize,
        /// The size of the window searched at its end.
        window: usize,
    },
    /// Observation of a stream stopped early (an event over the decoder's
    /// cap); the bytes kept flowing, later usage was not read.
    #[error("stopped observing the stream ({0}): token counts may be incomplete")]
    StreamUnobserved(SseError),
    /// Observation of a stream in another framing (an AWS event stream)
    /// stopped early on a corrupt or oversized frame.
    #[error("stopped observing the stream ({0}): token counts may be incomplete")]
    FramesUnobserved(FramingError),
}
