//! [`Http1Error`]: why an HTTP/1.1 exchange with an upstream failed.

use std::io;

use crate::h1::chunked::{ChunkedError, MAX_CHUNK_LINE, MAX_TRAILERS};

/// Why the gateway's HTTP/1.1 exchange with an upstream failed: the
/// connection broke, or the upstream's response was not HTTP/1.1 the
/// gateway can read safely. The connection is closed in every case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Http1Error {
    /// Reading from or writing to the connection failed (its source is the
    /// I/O error, or TLS's).
    #[error("the upstream connection failed")]
    Io(#[source] io::Error),
    /// The upstream closed the connection before its response head was
    /// complete (the source is an `UnexpectedEof` I/O error).
    #[error(
        "the upstream closed the connection before its response head was complete; check the \
         upstream's logs (it may have crashed or refused the request)"
    )]
    ClosedBeforeHead(#[source] io::Error),
    /// The upstream closed the connection before the response body's end,
    /// as its framing announced it (the source is an `UnexpectedEof` I/O
    /// error).
    #[error(
        "the upstream closed the connection before the response body was complete; the response \
         is truncated, check the upstream's logs"
    )]
    ClosedInBody(#[source] io::Error),
    /// The response head is larger than the gateway reads.
    #[error(
        "the upstream's response head is larger than {limit} bytes; check the upstream \
         (a head that large is not an API's answer)"
    )]
    HeadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The response head has more header fields than the gateway reads.
    #[error("the upstream's response head has more than {limit} header fields; check the upstream")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// The response head is not HTTP/1.x.
    #[error(
        "the upstream's response is not HTTP/1.1 ({0}); check that the endpoint's scheme and \
         port are right (not TLS on a plain port, not HTTP/2 only)"
    )]
    MalformedHead(#[source] httparse::Error),
    /// A header field's name or value cannot be represented.
    #[error("the upstream's response head has an invalid header field; check the upstream")]
    InvalidHeader,
    /// The upstream switched protocols (101), which the gateway does not
    /// follow.
    #[error(
        "the upstream answered 101 Switching Protocols; the gateway proxies HTTP/1.1 requests \
         only, check the endpoint"
    )]
    SwitchingProtocols,
    /// `Content-Length` is not a number, or its copies differ.
    #[error(
        "the upstream's response has an invalid Content-Length (not a number, or differing \
         copies); its body cannot be delimited safely"
    )]
    InvalidContentLength,
    /// An HTTP/1.0 response with `Transfer-Encoding`: its framing is
    /// faulty (RFC 9112 §6.1).
    #[error(
        "the upstream's HTTP/1.0 response carries Transfer-Encoding; its body cannot be \
         delimited safely"
    )]
    TransferEncodingInHttp10,
    /// A chunk-size line is not a hexadecimal size (with extensions), or
    /// the size overflows.
    #[error("the upstream's chunked body has an invalid chunk-size line")]
    InvalidChunkSize,
    /// A chunk-size line is longer than the gateway reads.
    #[error("the upstream's chunked body has a chunk-size line longer than {limit} bytes")]
    ChunkLineTooLong {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A chunk's data is not followed by CRLF.
    #[error("the upstream's chunked body has a chunk not ended by CRLF")]
    InvalidChunkEnd,
    /// A trailer field line ends in a bare LF.
    #[error("the upstream's chunked body has a trailer field not ended by CRLF")]
    InvalidTrailers,
    /// The trailer section is larger than the gateway reads.
    #[error("the upstream's chunked body has trailers larger than {limit} bytes")]
    TrailersTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl From<ChunkedError> for Http1Error {
    fn from(e: ChunkedError) -> Self {
        match e {
            ChunkedError::InvalidSize => Http1Error::InvalidChunkSize,
            ChunkedError::LineTooLong => Http1Error::ChunkLineTooLong {
                limit: MAX_CHUNK_LINE,
            },
            ChunkedError::InvalidEnd => Http1Error::InvalidChunkEnd,
            ChunkedError::InvalidTrailers => Http1Error::InvalidTrailers,
            ChunkedError::TrailersTooLarge => Http1Error::TrailersTooLarge {
                limit: MAX_TRAILERS,
            },
        }
    }
}

impl Http1Error {
    /// The connection ended before the head: an `UnexpectedEof` source,
    /// which [`crate::AttemptFailure`] names "the upstream closed the
    /// connection".
    pub(crate) fn closed_before_head() -> Self {
        Http1Error::ClosedBeforeHead(io::ErrorKind::UnexpectedEof.into())
    }

    /// The connection ended inside the body.
    pub(crate) fn closed_in_body() -> Self {
        Http1Error::ClosedInBody(io::ErrorKind::UnexpectedEof.into())
    }
}
