//! Our signer against an independent implementation: `aws-sigv4` 1.3.8
//! (smithy-rs, the AWS SDK for Rust's signer) signs the same Bedrock-shaped
//! requests; `authorization`, `x-amz-date` and `x-amz-security-token`
//! must match byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ai_proxy_bedrock::sigv4::{AwsCredentials, SigV4Signer};
use ai_proxy_core::Secret;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use proptest::prelude::*;

struct Keys {
    id: String,
    secret: String,
    token: Option<String>,
}

/// The headers `aws-sigv4` adds for `request`, as (name, value) pairs.
fn reference(
    request: &http::Request<Bytes>,
    keys: &Keys,
    region: &str,
    now: SystemTime,
) -> Vec<(String, String)> {
    let identity = aws_credential_types::Credentials::new(
        keys.id.clone(),
        keys.secret.clone(),
        keys.token.clone(),
        None,
        "test",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("bedrock")
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
        .collect();
    let signable = SignableRequest::new(
        request.method().as_str(),
        request.uri().to_string(),
        headers.into_iter(),
        SignableBody::Bytes(request.body()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let (headers, params) = instructions.into_parts();
    assert!(params.is_empty());
    headers
        .into_iter()
        .map(|h| (h.name().to_owned(), h.value().to_owned()))
        .collect()
}

fn ours(request: &mut http::Request<Bytes>, keys: &Keys, region: &str, now: SystemTime) {
    let signer = SigV4Signer::new(
        AwsCredentials::new(
            keys.id.as_str(),
            keys.secret.as_str(),
            keys.token.clone().map(Secret::new),
        ),
        region,
        "bedrock",
    );
    signer.sign(request, now).unwrap();
}

fn check(mut request: http::Request<Bytes>, keys: &Keys, region: &str, now: SystemTime) {
    let expected = reference(&request, keys, region, now);
    ours(&mut request, keys, region, now);
    assert!(!expected.is_empty());
    for (name, value) in expected {
        assert_eq!(
            request
                .headers()
                .get(name.as_str())
                .map(|v| v.to_str().unwrap()),
            Some(value.as_str()),
            "{name}"
        );
    }
}

fn converse(
    model_segment: &str,
    headers: &[(&str, &str)],
    body: &'static [u8],
) -> http::Request<Bytes> {
    let mut b = http::Request::post(format!(
        "https://bedrock-runtime.eu-west-3.amazonaws.com/model/{model_segment}/converse-stream"
    ));
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    b.body(Bytes::from_static(body)).unwrap()
}

#[test]
fn converse_requests_sign_like_the_aws_sdk() {
    let keys = Keys {
        id: "AKIAIOSFODNN7EXAMPLE".into(),
        secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        token: Some("IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ".into()),
    };
    let now = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    let request = converse(
        "arn%3Aaws%3Abedrock%3Aeu-west-3%3A123456789012%3Ainference-profile%2Feu.anthropic.claude-sonnet-4-20250514-v1%3A0",
        &[
            ("content-type", "application/json"),
            ("content-length", "41"),
            ("x-request-id", "  abc   def "),
            ("user-agent", "curl/8.5"),
        ],
        br#"{"messages":[{"role":"user","content":[]}]}"#,
    );
    check(request, &keys, "eu-west-3", now);
}

#[test]
fn requests_without_a_session_token_sign_alike() {
    let keys = Keys {
        id: "AKIDEXAMPLE".into(),
        secret: "secret".into(),
        token: None,
    };
    let request = http::Request::post(
        "http://127.0.0.1:8080/model/amazon.nova-micro-v1%3A0/invoke?x=1&a=%20b",
    )
    .header("content-type", "application/json")
    .body(Bytes::from_static(b"{}"))
    .unwrap();
    check(
        request,
        &keys,
        "us-east-1",
        UNIX_EPOCH + Duration::from_secs(86_400 * 20_000),
    );
}

fn segment() -> impl Strategy<Value = String> {
    // Model ids as users write them, then escaped as the adapter does.
    "[a-zA-Z0-9.:/_~ -]{1,40}".prop_map(|s| {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    })
}

proptest! {
    #[test]
    fn any_bedrock_request_signs_like_the_aws_sdk(
        model in segment(),
        extra in proptest::collection::vec(("x-[a-z]{1,8}", "[ -~]{0,20}"), 0..4),
        body in proptest::collection::vec(any::<u8>(), 0..200),
        secs in 0u64..4_000_000_000,
        token in proptest::option::of("[A-Za-z0-9/+=]{1,40}"),
    ) {
        let keys = Keys { id: "AKIDEXAMPLE".into(), secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(), token };
        let mut b = http::Request::post(format!(
            "https://bedrock-runtime.us-west-2.amazonaws.com/model/{model}/converse"
        ))
        .header("content-type", "application/json");
        for (n, v) in &extra {
            b = b.header(n.as_str(), v.as_str());
        }
        let request = b.body(Bytes::from(body)).unwrap();
        check(request, &keys, "us-west-2", UNIX_EPOCH + Duration::from_secs(secs));
    }
}
