//! [`GatewayBody`]: every response body the gateway sends — a whole body
//! it wrote itself, or an upstream body relayed through the exchange.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body::{Body, Frame, SizeHint};

use crate::activity::Busy;
use crate::pool::UpstreamBody;
use crate::relay::{Relay, RelayError};

/// A response body from the gateway. Its error ([`RelayError`]) means the
/// response was cut short: the server aborts the client connection
/// (HTTP/2: resets the stream) instead of ending it cleanly.
#[derive(Debug)]
pub struct GatewayBody {
    kind: Kind,
    /// Keeps the connection counted busy until the body is done, and
    /// tells it when the body waits for the client (HTTP/2).
    busy: Option<Busy>,
}

#[derive(Debug)]
enum Kind {
    Full(Option<Bytes>),
    Relay(Box<Relay<UpstreamBody>>),
}

impl Kind {
    fn is_end_stream(&self) -> bool {
        match self {
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Relay(relay) => relay.is_end_stream(),
        }
    }
}

impl GatewayBody {
    /// A whole body.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Self {
            kind: Kind::Full((!bytes.is_empty()).then_some(bytes)),
            busy: None,
        }
    }

    /// A relayed upstream body.
    pub fn relay(relay: Relay<UpstreamBody>) -> Self {
        Self {
            kind: Kind::Relay(Box::new(relay)),
            busy: None,
        }
    }

    pub(crate) fn hold(&mut self, busy: Busy) {
        self.busy = Some(busy);
    }
}

impl Body for GatewayBody {
    type Data = Bytes;
    type Error = RelayError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, RelayError>>> {
        let this = self.get_mut();
        if let Some(busy) = &mut this.busy {
            busy.asked();
        }
        let frame = match &mut this.kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Relay(relay) => Pin::new(relay.as_mut()).poll_frame(cx),
        };
        if let (Some(busy), Poll::Ready(Some(Ok(_)))) = (&mut this.busy, &frame)
            && !this.kind.is_end_stream()
        {
            busy.handed_out();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.kind.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Relay(relay) => relay.size_hint(),
        }
    }
}

/// A response with a whole body and a `Content-Type`.
pub(crate) fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<GatewayBody> {
    whole(status, content_type, body).map(GatewayBody::full)
}

/// [`respond`] with the body as bytes.
pub(crate) fn whole(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Bytes> {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// APISIX's JSON error body, `{"error_msg": "…"}`.
pub(crate) fn error_msg(message: &str) -> String {
    serde_json::json!({ "error_msg": message }).to_string()
}
