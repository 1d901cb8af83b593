//! Bedrock errors → HTTP statuses, OpenAI error JSON and the fallback
//! classes of `ai-proxy-multi`.
//!
//! Bedrock answers errors with a status and `{"message": …}` (the type is
//! in the `x-amzn-ErrorType` header), or, inside an event stream, with an
//! `exception` message whose `:exception-type` names it. Both map through
//! one table; the status decides the fallback class in `ai-proxy-multi`:
//!
//! | Bedrock | status | OpenAI `type` | multi class |
//! |---|---|---|---|
//! | `ThrottlingException` | 429 | `rate_limit_error` | `http_429` |
//! | `ModelNotReadyException` | 429 | `rate_limit_error` | `http_429` |
//! | `ServiceUnavailableException` | 503 | `api_error` | `http_5xx` |
//! | `InternalServerException` | 500 | `api_error` | `http_5xx` |
//! | `ModelStreamErrorException`, `ModelErrorException` | 424 | `api_error` | listed statuses only |
//! | `ModelTimeoutException` | 408 | `timeout_error` | listed statuses only |
//! | `ValidationException`, `ServiceQuotaExceededException` | 400 | `invalid_request_error` | listed statuses only |
//! | `AccessDeniedException` | 403 | `permission_error` | listed statuses only |
//! | `ResourceNotFoundException` | 404 | `not_found_error` | listed statuses only |
//! | anything else | 500 | `api_error` | `http_5xx` |

use http::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::json::{Out, is_string, write_raw, write_str};

/// The HTTP status Bedrock uses for an exception type (either spelling:
/// `throttlingException` in streams, `ThrottlingException` in headers).
///
/// ```
/// use ai_proxy_bedrock::exception_status;
/// assert_eq!(exception_status("throttlingException").as_u16(), 429);
/// assert_eq!(exception_status("ServiceUnavailableException").as_u16(), 503);
/// ```
pub fn exception_status(exception_type: &str) -> StatusCode {
    let name = exception_type
        .split(':')
        .next()
        .unwrap_or(exception_type)
        .trim();
    let is = |expected: &str| name.eq_ignore_ascii_case(expected);
    if is("ThrottlingException") || is("ModelNotReadyException") {
        StatusCode::TOO_MANY_REQUESTS
    } else if is("ServiceUnavailableException") {
        StatusCode::SERVICE_UNAVAILABLE
    } else if is("ModelStreamErrorException") || is("ModelErrorException") {
        StatusCode::FAILED_DEPENDENCY
    } else if is("ModelTimeoutException") {
        StatusCode::REQUEST_TIMEOUT
    } else if is("ValidationException") || is("ServiceQuotaExceededException") {
        StatusCode::BAD_REQUEST
    } else if is("AccessDeniedException") {
        StatusCode::FORBIDDEN
    } else if is("ResourceNotFoundException") {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// The exception type Bedrock sends with `status` (for a body whose
/// header named none).
fn exception_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "ValidationException",
        403 => "AccessDeniedException",
        404 => "ResourceNotFoundException",
        408 => "ModelTimeoutException",
        424 => "ModelErrorException",
        429 => "ThrottlingException",
        503 => "ServiceUnavailableException",
        _ => "InternalServerException",
    }
}

/// The OpenAI error `type` for a status.
fn openai_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 413 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        408 | 504 => "timeout_error",
        429 => "rate_limit_error",
        _ => "api_error",
    }
}

#[derive(Deserialize)]
struct ErrorBody<'a> {
    #[serde(borrow, alias = "Message")]
    message: Option<&'a RawValue>,
    #[serde(borrow, rename = "__type")]
    kind: Option<&'a RawValue>,
}

/// Writes `{"error":{"message","type","param":null,"code"}}` for a Bedrock
/// error `body` (`{"message": …}`, or anything else: then the body text is
/// the message). `exception` is the Bedrock type when known.
pub(crate) fn write_openai_error<O: Out + ?Sized>(
    out: &mut O,
    status: StatusCode,
    exception: Option<&str>,
    body: &[u8],
) {
    let parsed: Option<ErrorBody<'_>> = serde_json::from_slice(body).ok();
    let typed = parsed
        .as_ref()
        .and_then(|b| b.kind)
        .and_then(crate::json::str_value);
    let code = exception
        .map(str::to_owned)
        .or_else(|| typed.map(|t| t.rsplit('#').next().unwrap_or_default().to_owned()))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| exception_for_status(status).to_owned());
    out.raw(b"{\"error\":{\"message\":");
    match parsed
        .as_ref()
        .and_then(|b| b.message)
        .filter(|m| is_string(m))
    {
        Some(m) => write_raw(out, m),
        None => write_str(out, String::from_utf8_lossy(body).trim()),
    }
    out.raw(b",\"type\":\"");
    out.raw(openai_type(status).as_bytes());
    out.raw(b"\",\"param\":null,\"code\":");
    write_str(out, &code);
    out.raw(b"}}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16, exception: Option<&str>, body: &str) -> serde_json::Value {
        let mut out = Vec::new();
        write_openai_error(
            &mut out,
            StatusCode::from_u16(status).unwrap(),
            exception,
            body.as_bytes(),
        );
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn throttling_becomes_a_rate_limit_error() {
        let e = error(
            429,
            None,
            r#"{"message":"Too many requests, please wait before trying again."}"#,
        );
        assert_eq!(e["error"]["type"], "rate_limit_error");
        assert_eq!(e["error"]["code"], "ThrottlingException");
        assert_eq!(
            e["error"]["message"],
            "Too many requests, please wait before trying again."
        );
    }

    #[test]
    fn stream_exception_names_are_kept_as_codes() {
        let e = error(
            424,
            Some("modelStreamErrorException"),
            r#"{"message":"boom"}"#,
        );
        assert_eq!(e["error"]["code"], "modelStreamErrorException");
        assert_eq!(e["error"]["type"], "api_error");
    }

    #[test]
    fn non_json_bodies_become_the_message() {
        let e = error(503, None, "Service Unavailable\n");
        assert_eq!(e["error"]["message"], "Service Unavailable");
        assert_eq!(e["error"]["code"], "ServiceUnavailableException");
    }

    #[test]
    fn both_spellings_and_header_suffixes_map() {
        for (name, status) in [
            ("throttlingException", 429),
            (
                "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
                429,
            ),
            ("modelNotReadyException", 429),
            ("serviceUnavailableException", 503),
            ("internalServerException", 500),
            ("modelStreamErrorException", 424),
            ("validationException", 400),
            ("AccessDeniedException", 403),
            ("somethingNew", 500),
        ] {
            assert_eq!(exception_status(name).as_u16(), status, "{name}");
        }
    }
}
