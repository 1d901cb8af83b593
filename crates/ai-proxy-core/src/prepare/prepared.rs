//! [`Prepared`]: one upstream attempt, ready to send; its `Debug` and URI
//! display hide `auth.query` values.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Uri};

use super::hints::ClientHints;
use crate::context::RequestContext;
use crate::translate::ResponseTranslator;

/// A prepared upstream attempt.
///
/// `Debug` hides credentials: auth headers print as `Sensitive` and
/// `auth.query` values as `<redacted>`. (`upstream`'s own `Debug`, from the
/// `http` crate, prints the URI whole: don't log it when `auth.query` is
/// configured.)
#[must_use = "a prepared request does nothing until it is sent"]
#[non_exhaustive]
pub struct Prepared {
    /// The request to send upstream.
    pub upstream: Request<Bytes>,
    /// What observing the response needs.
    pub context: RequestContext,
    /// Settings for the HTTP client that sends `upstream`.
    pub hints: ClientHints,
    /// Turns the response back into the client's protocol when a
    /// converter was used; `None` means the response goes back as is.
    pub translator: Option<Box<dyn ResponseTranslator>>,
    /// `auth.query` keys, to redact their values in `Debug`.
    pub(super) redact_query_keys: Arc<[String]>,
}

impl Prepared {
    /// The upstream URI with `auth.query` values replaced by `<redacted>`,
    /// for logs and displays.
    pub fn redacted_uri(&self) -> String {
        redacted_uri(self.upstream.uri(), &self.redact_query_keys)
    }
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uri = self.redacted_uri();
        f.debug_struct("Prepared")
            .field("method", self.upstream.method())
            .field("uri", &uri)
            .field("headers", self.upstream.headers())
            .field("body_len", &self.upstream.body().len())
            .field("context", &self.context)
            .field("hints", &self.hints)
            .field("translator", &self.translator)
            .finish()
    }
}

/// `uri` with the values of `keys` in its query replaced by `<redacted>`.
fn redacted_uri(uri: &Uri, keys: &[String]) -> String {
    let Some(query) = uri.query() else {
        return uri.to_string();
    };
    let mut out = String::with_capacity(uri.to_string().len());
    if let Some(scheme) = uri.scheme_str() {
        out.push_str(scheme);
        out.push_str("://");
    }
    if let Some(authority) = uri.authority() {
        out.push_str(authority.as_str());
    }
    out.push_str(uri.path());
    out.push('?');
    for (i, piece) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let raw_key = piece.split('=').next().unwrap_or(piece);
        let key = url::form_urlencoded::parse(raw_key.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default();
        if keys.contains(&key) {
            out.push_str(raw_key);
            out.push('=');
            out.push_str(crate::secret::REDACTED);
        } else {
            out.push_str(piece);
        }
    }
    out
}
