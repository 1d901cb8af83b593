//! The signed Comprehend call against an independent signer: `aws-sigv4`
//! 1.3.8 (the AWS SDK for Rust's) signs the same unsigned request;
//! `authorization`, `x-amz-date` and `x-amz-security-token` must match.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ai_proxy_prompt::moderation::AwsContentModeration;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use proptest::prelude::*;
use serde_json::json;

fn reference(
    request: &http::Request<bytes::Bytes>,
    token: Option<&str>,
    region: &str,
    now: SystemTime,
) -> Vec<(String, String)> {
    let identity = aws_credential_types::Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        token.map(str::to_owned),
        None,
        "test",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("comprehend")
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let unsigned = ["authorization", "x-amz-date", "x-amz-security-token"];
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .filter(|(n, _)| !unsigned.contains(&n.as_str()))
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
    let (headers, _) = instructions.into_parts();
    headers
        .into_iter()
        .map(|h| (h.name().to_owned(), h.value().to_owned()))
        .collect()
}

fn check(text: &str, token: Option<&str>, region: &str, endpoint: Option<&str>, now: SystemTime) {
    let mut comprehend = json!({"access_key_id": "AKIDEXAMPLE",
        "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "region": region});
    if let Some(t) = token {
        comprehend["session_token"] = json!(t);
    }
    if let Some(e) = endpoint {
        comprehend["endpoint"] = json!(e);
    }
    let m = AwsContentModeration::from_value(&json!({ "comprehend": comprehend })).unwrap();
    let call = m.call(&[text, "second segment"], now).unwrap();
    let expected = reference(&call.request, token, region, now);
    assert!(expected.iter().any(|(n, _)| n == "authorization"));
    for (name, value) in expected {
        assert_eq!(
            call.request.headers()[name.as_str()].to_str().unwrap(),
            value,
            "{name}"
        );
    }
}

#[test]
fn calls_sign_as_the_aws_sdk_signs_them() {
    let now = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
    check("hello", None, "us-east-1", None, now);
    check(
        "with \"quotes\" ✓",
        Some("session/token+="),
        "eu-west-1",
        Some("http://localhost:2668"),
        now,
    );
}

proptest! {
    #[test]
    fn any_text_and_time_sign_alike(
        text in "\\PC{0,64}",
        secs in 0u64..4_000_000_000,
        token in proptest::option::of("[A-Za-z0-9/+=]{1,40}"),
    ) {
        check(&text, token.as_deref(), "us-west-2", None, UNIX_EPOCH + Duration::from_secs(secs));
    }
}
