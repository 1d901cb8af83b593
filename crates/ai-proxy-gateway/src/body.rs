//! [`RelayBody`], the gateway's response body, and the responses the
//! gateway writes itself.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::mpsc;

/// The response body type: a first chunk, then whatever the relay task
/// sends; ends when the task drops its sender.
pub struct RelayBody {
    pub(crate) first: Option<Bytes>,
    pub(crate) rx: Option<mpsc::Receiver<Bytes>>,
}

impl RelayBody {
    /// A whole body.
    pub fn full(bytes: Bytes) -> Self {
        Self {
            first: (!bytes.is_empty()).then_some(bytes),
            rx: None,
        }
    }

    /// Whatever `rx` receives, until its sender is dropped.
    pub fn channel(rx: mpsc::Receiver<Bytes>) -> Self {
        Self {
            first: None,
            rx: Some(rx),
        }
    }
}

impl HttpBody for RelayBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        match self.rx.as_mut() {
            None => Poll::Ready(None),
            Some(rx) => rx.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rx.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.first, &self.rx) {
            (Some(b), None) => SizeHint::with_exact(b.len() as u64),
            (None, None) => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

pub(crate) fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<RelayBody> {
    let mut r = Response::new(RelayBody::full(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// APISIX's JSON error body, `{"error_msg": "…"}`.
pub(crate) fn error_msg(message: &str) -> String {
    serde_json::json!({ "error_msg": message }).to_string()
}

pub(crate) fn json_error(status: StatusCode, message: &str) -> Response<RelayBody> {
    respond(status, "application/json", error_msg(message))
}
