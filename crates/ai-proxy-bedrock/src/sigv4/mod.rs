//! AWS Signature Version 4, sans-IO: the caller passes the wall clock, the
//! signer adds `x-amz-date`, `x-amz-security-token` (temporary
//! credentials), optionally `x-amz-content-sha256`, and `authorization`.
//!
//! Written here rather than taken from `aws-sigv4` because that crate's
//! current releases need Rust 1.91+ (1.3.x, the last for 1.88, pulls
//! `http` 0.2, `time` and the smithy runtime crates into a sans-IO
//! adapter). The implementation passes every header-signing case of AWS's
//! published SigV4 test suite (`tests/aws-signing-test-suite`) and is
//! checked against `aws-sigv4` 1.3.8 in this crate's tests.
//!
//! What is signed: every header of the request except `authorization`,
//! `user-agent`, `x-amzn-trace-id` and `transfer-encoding` (the set
//! `aws-sigv4` leaves out: proxies change them), plus `host` from the URI
//! when the request has no `Host` header. Paths are normalized and
//! percent-encoded once more (AWS's rule for every service but S3).
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use ai_proxy_bedrock::sigv4::{AwsCredentials, SigV4Signer};
//!
//! let signer = SigV4Signer::new(
//!     AwsCredentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None),
//!     "us-east-1",
//!     "bedrock",
//! );
//! let mut request = http::Request::post(
//!     "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.nova-micro-v1%3A0/converse",
//! )
//! .header("content-type", "application/json")
//! .body(bytes::Bytes::from_static(br#"{"messages":[]}"#))
//! .unwrap();
//! let now = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
//! signer.sign(&mut request, now).unwrap();
//! assert_eq!(request.headers()["x-amz-date"], "20150830T123600Z");
//! let auth = request.headers()["authorization"].to_str().unwrap();
//! assert!(auth.starts_with(
//!     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, \
//!      SignedHeaders=content-type;host;x-amz-date, Signature="
//! ));
//! ```

mod canonical;
pub(crate) mod crypto;

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Request, StatusCode};

use canonical::{CanonicalHeaders, canonical_path, canonical_query};
use crypto::{amz_date, hex, hmac_sha256, push_hex, sha256};

/// `x-amz-date`.
pub const X_AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
/// `x-amz-security-token`.
pub const X_AMZ_SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-amz-security-token");
/// `x-amz-content-sha256`.
pub const X_AMZ_CONTENT_SHA256: HeaderName = HeaderName::from_static("x-amz-content-sha256");

/// The algorithm name in the string to sign and `authorization`.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Headers never signed (what `aws-sigv4` leaves out by default).
const UNSIGNED_HEADERS: [&str; 4] = [
    "authorization",
    "user-agent",
    "x-amzn-trace-id",
    "transfer-encoding",
];

/// An AWS access key pair, with the session token of temporary
/// credentials: the configuration's `auth.aws`, under the name signing
/// code knows it by. Every part is a [`Secret`](ai_proxy_core::Secret)
/// (redacted in `Debug`).
pub use ai_proxy_core::config::AwsAuth as AwsCredentials;

/// How a request is signed. The defaults are what Bedrock (and every AWS
/// service but S3) expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SigningSettings {
    /// Resolve `.`/`..` and merge empty path segments before encoding
    /// (default true).
    pub normalize_path: bool,
    /// Send and sign `x-amz-content-sha256` (S3 needs it; Bedrock does
    /// not; default false).
    pub content_sha256_header: bool,
    /// Sign `x-amz-security-token` (default true; some services want it
    /// added after signing).
    pub sign_session_token: bool,
}

impl Default for SigningSettings {
    fn default() -> Self {
        Self {
            normalize_path: true,
            content_sha256_header: false,
            sign_session_token: true,
        }
    }
}

/// Why a request could not be signed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigV4Error {
    /// The wall clock given is before 1970 or after 9999.
    #[error("cannot sign: the wall-clock time is outside 1970..=9999; pass the current SystemTime")]
    ClockOutOfRange,
    /// The request has neither a `Host` header nor a URI authority.
    #[error("cannot sign: the upstream request has no host (an absolute URI or a Host header)")]
    MissingHost,
    /// The session token cannot be sent as a header value.
    #[error(
        "cannot sign: auth.aws.session_token contains characters not allowed in a header; \
         copy it again from your STS response"
    )]
    InvalidSessionToken,
}

impl SigV4Error {
    /// 500: signing failures are the gateway's (APISIX's `sigv4` build
    /// failure).
    pub fn status(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// A request reduced to what SigV4 reads. `path` is signed as given (with
/// [`SigningSettings::normalize_path`] applied) and encoded once; `query`
/// is the raw query string (no `?`); `headers` are in request order and
/// must include `host`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SignableRequest<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The path.
    pub path: &'a str,
    /// The query string, `""` when none.
    pub query: &'a str,
    /// `(name, value)` pairs to sign.
    pub headers: Vec<(&'a str, &'a [u8])>,
    /// The body.
    pub payload: &'a [u8],
}

impl<'a> SignableRequest<'a> {
    /// A signable request from its parts.
    pub fn new(
        method: &'a str,
        path: &'a str,
        query: &'a str,
        headers: Vec<(&'a str, &'a [u8])>,
        payload: &'a [u8],
    ) -> Self {
        Self {
            method,
            path,
            query,
            headers,
            payload,
        }
    }
}

/// Everything signing computed, for tests and debugging. `Debug` leaves
/// out nothing secret: the signature is derived, not a credential.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Signature {
    /// The canonical request (task 1).
    pub canonical_request: String,
    /// The string to sign (task 2).
    pub string_to_sign: String,
    /// The hex signature (task 3).
    pub signature: String,
    /// The `authorization` header value.
    pub authorization: String,
    /// `x-amz-date`.
    pub date_time: String,
    /// Hex SHA-256 of the payload.
    pub payload_hash: String,
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signature")
            .field("canonical_request", &self.canonical_request)
            .field("string_to_sign", &self.string_to_sign)
            .field("signature", &self.signature)
            .finish_non_exhaustive()
    }
}

/// Signs requests for one service in one region with one key pair.
#[derive(Clone, Debug)]
pub struct SigV4Signer {
    credentials: AwsCredentials,
    region: String,
    service: String,
    settings: SigningSettings,
}

impl SigV4Signer {
    /// A signer with default settings.
    pub fn new(
        credentials: AwsCredentials,
        region: impl Into<String>,
        service: impl Into<String>,
    ) -> Self {
        Self {
            credentials,
            region: region.into(),
            service: service.into(),
            settings: SigningSettings::default(),
        }
    }

    /// Replaces the settings.
    pub fn with_settings(mut self, settings: SigningSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The region signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The service signed for.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Signs `request` in place as of `now`: sets `x-amz-date`,
    /// `x-amz-security-token` (temporary credentials), `x-amz-content-sha256`
    /// (when configured) and `authorization`, the last two marked
    /// sensitive. Call it after every other change to the request: any
    /// later change to a signed header, the path, query or body breaks the
    /// signature.
    pub fn sign(&self, request: &mut Request<Bytes>, now: SystemTime) -> Result<(), SigV4Error> {
        let date = amz_date(now).ok_or(SigV4Error::ClockOutOfRange)?;
        let token = match &self.credentials.session_token {
            Some(token) => Some(
                token
                    .to_header_value()
                    .ok_or(SigV4Error::InvalidSessionToken)?,
            ),
            None => None,
        };
        let payload_hash = hex(&sha256(request.body()));
        let headers = request.headers_mut();
        for name in [&X_AMZ_DATE, &X_AMZ_SECURITY_TOKEN, &X_AMZ_CONTENT_SHA256] {
            headers.remove(name);
        }
        headers.insert(X_AMZ_DATE, header_value(&date.date_time));
        if self.settings.content_sha256_header {
            headers.insert(X_AMZ_CONTENT_SHA256, header_value(&payload_hash));
        }
        if let (Some(token), true) = (&token, self.settings.sign_session_token) {
            headers.insert(X_AMZ_SECURITY_TOKEN, token.clone());
        }
        let host = match request.headers().get(http::header::HOST) {
            Some(_) => None,
            None => Some(uri_host(request.uri()).ok_or(SigV4Error::MissingHost)?),
        };
        let mut signed: Vec<(&str, &[u8])> = request
            .headers()
            .iter()
            .filter(|(name, _)| !UNSIGNED_HEADERS.contains(&name.as_str()))
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
            .collect();
        if let Some(host) = &host {
            signed.push(("host", host.as_bytes()));
        }
        let uri = request.uri();
        let input = SignableRequest::new(
            request.method().as_str(),
            uri.path(),
            uri.query().unwrap_or(""),
            signed,
            &[],
        );
        let signature = self.signature(&input, &date, payload_hash);
        let mut authorization = header_value(&signature.authorization);
        authorization.set_sensitive(true);
        let headers = request.headers_mut();
        headers.insert(http::header::AUTHORIZATION, authorization);
        if let (Some(token), false) = (token, self.settings.sign_session_token) {
            headers.insert(X_AMZ_SECURITY_TOKEN, token);
        }
        Ok(())
    }

    /// Computes the signature of `request` as of `now` (pure; nothing is
    /// added to the headers: include `x-amz-date`, and the session token
    /// when it is signed, yourself).
    pub fn sign_parts(
        &self,
        request: &SignableRequest<'_>,
        now: SystemTime,
    ) -> Result<Signature, SigV4Error> {
        let date = amz_date(now).ok_or(SigV4Error::ClockOutOfRange)?;
        let payload_hash = hex(&sha256(request.payload));
        Ok(self.signature(request, &date, payload_hash))
    }

    fn signature(
        &self,
        request: &SignableRequest<'_>,
        date: &crypto::AmzDate,
        payload_hash: String,
    ) -> Signature {
        let headers = CanonicalHeaders::new(request.headers.iter().copied());
        let mut creq = String::with_capacity(256 + headers.text.len());
        creq.push_str(request.method);
        creq.push('\n');
        creq.push_str(&canonical_path(request.path, self.settings.normalize_path));
        creq.push('\n');
        creq.push_str(&canonical_query(request.query));
        creq.push('\n');
        creq.push_str(&String::from_utf8_lossy(&headers.text));
        creq.push('\n');
        creq.push_str(&headers.signed);
        creq.push('\n');
        creq.push_str(&payload_hash);

        let scope = format!(
            "{}/{}/{}/aws4_request",
            date.date, self.region, self.service
        );
        let mut string_to_sign = format!("{ALGORITHM}\n{}\n{scope}\n", date.date_time);
        push_hex(&mut string_to_sign, &sha256(creq.as_bytes()));

        let secret = format!("AWS4{}", self.credentials.secret_access_key.expose());
        let key = hmac_sha256(secret.as_bytes(), date.date.as_bytes());
        let key = hmac_sha256(&key, self.region.as_bytes());
        let key = hmac_sha256(&key, self.service.as_bytes());
        let key = hmac_sha256(&key, b"aws4_request");
        let signature = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
        let authorization = format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
            self.credentials.access_key_id.expose(),
            headers.signed
        );
        Signature {
            canonical_request: creq,
            string_to_sign,
            signature,
            authorization,
            date_time: date.date_time.clone(),
            payload_hash,
        }
    }
}

/// `host[:port]` as an HTTP client sends it: the port only when it is not
/// the scheme's default.
fn uri_host(uri: &http::Uri) -> Option<String> {
    let host = uri.host()?;
    let default_port = match uri.scheme_str() {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    };
    Some(match uri.port_u16() {
        Some(port) if Some(port) != default_port => format!("{host}:{port}"),
        _ => host.to_owned(),
    })
}

/// A header value from text this module built (ASCII only).
fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}
