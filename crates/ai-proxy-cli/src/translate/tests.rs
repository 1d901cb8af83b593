use super::*;
use serde_json::{Value, json};

fn translated(args: &Args, config: &str, body: String) -> Result<Value, Failure> {
    translate(args, config, Bytes::from(body)).map(|prepared| {
        serde_json::to_value(Rendered::new(&prepared, args.reveal_secrets)).unwrap()
    })
}

#[test]
fn bodies_print_compact_with_strings_untouched() {
    assert_eq!(
        compact("{ \"a\" : [1, 2],\n \"b\": \"x  \\\" \\\\\" }"),
        "{\"a\":[1,2],\"b\":\"x  \\\" \\\\\"}"
    );
}

fn args(extra: &[&str]) -> Args {
    use clap::Parser;
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }
    let mut argv = vec!["translate", "--config", "unused"];
    argv.extend_from_slice(extra);
    Cli::parse_from(argv).args
}

const OPENAI: &str = r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer sk-cli"},"query":{"k":"q-cli"}},"options":{"model":"gpt-4o"}}"#;

#[test]
fn prints_method_url_headers_and_json_body_with_secrets_redacted() {
    let out = translated(
        &args(&["-H", "X-Request-Id: r1", "-H", "Cookie: c=1"]),
        OPENAI,
        r#"{"messages":[]}"#.to_owned(),
    )
    .unwrap();
    assert_eq!(
        out,
        json!({
            "method": "POST",
            "url": "https://api.openai.com/v1/chat/completions?k=<redacted>",
            "headers": {
                "x-request-id": "r1",
                "authorization": "<redacted>",
                "content-type": "application/json",
                "content-length": "32"
            },
            "body": {"messages": [], "model": "gpt-4o"}
        })
    );
    assert!(!out.to_string().contains("sk-cli"));
}

#[test]
fn a_gemini_models_endpoint_shows_the_native_request() {
    let config = r#"{"provider":"gemini","auth":{"header":{"x-goog-api-key":"AIza-cli"}},
        "override":{"endpoint":"https://generativelanguage.googleapis.com/v1beta/models"}}"#;
    let out = translated(
        &args(&[]),
        config,
        r#"{"model":"gemini-2.5-flash","stream":true,"max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#.to_owned(),
    )
    .unwrap();
    assert_eq!(
        out,
        json!({
            "method": "POST",
            "url": "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            "headers": {
                "x-goog-api-key": "<redacted>",
                "content-type": "application/json",
                "content-length": "96"
            },
            "body": {
                "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                "generationConfig": {"maxOutputTokens": 64}
            }
        })
    );
}

#[test]
fn reveal_secrets_prints_them() {
    let out = translated(
        &args(&["--reveal-secrets"]),
        OPENAI,
        r#"{"messages":[]}"#.to_owned(),
    )
    .unwrap();
    assert_eq!(out["headers"]["authorization"], "Bearer sk-cli");
    assert_eq!(
        out["url"],
        "https://api.openai.com/v1/chat/completions?k=q-cli"
    );
}

#[test]
fn rejection_is_status_and_message() {
    let e = translated(&args(&[]), OPENAI, "{}".to_owned()).unwrap_err();
    assert_eq!(e, rejected("400: no matching AI protocol for the request"));
}

#[test]
fn route_uri_is_the_default_client_path() {
    let route =
        r#"{"uri":"/v1/embeddings","plugins":{"ai-proxy":{"provider":"openai","auth":{}}}}"#;
    let out = translated(&args(&[]), route, r#"{"input":"x"}"#.to_owned()).unwrap();
    assert_eq!(out["url"], "https://api.openai.com/v1/embeddings");
}

#[test]
fn multi_uses_the_balancers_first_pick() {
    let multi = r#"{"instances":[
        {"name":"a","provider":"deepseek","weight":1,"auth":{}},
        {"name":"b","provider":"openai","weight":1,"auth":{}}]}"#;
    let out = translated(&args(&[]), multi, r#"{"messages":[]}"#.to_owned()).unwrap();
    assert_eq!(out["url"], "https://api.deepseek.com/chat/completions");
    let prioritised = r#"{"instances":[
        {"name":"a","provider":"deepseek","weight":1,"auth":{}},
        {"name":"b","provider":"openai","weight":1,"priority":5,"auth":{}}]}"#;
    let out = translated(&args(&[]), prioritised, r#"{"messages":[]}"#.to_owned()).unwrap();
    assert_eq!(out["url"], "https://api.openai.com/v1/chat/completions");
}

#[test]
fn pick_n_follows_weighted_round_robin() {
    let multi = r#"{"instances":[
        {"name":"a","provider":"deepseek","weight":3,"auth":{}},
        {"name":"b","provider":"openai","weight":1,"auth":{}}]}"#;
    let urls: Vec<String> = (1..=4)
        .map(|n| {
            let n = n.to_string();
            let out = translated(
                &args(&["--pick", &n]),
                multi,
                r#"{"messages":[]}"#.to_owned(),
            )
            .unwrap();
            out["url"].as_str().unwrap().to_owned()
        })
        .collect();
    let openai = urls.iter().filter(|u| u.contains("openai.com")).count();
    assert_eq!(openai, 1, "{urls:?}");
}

#[test]
fn invalid_config_lists_paths() {
    let e = translated(
        &args(&[]),
        r#"{"provider":"openai","auth":{},"timout":1}"#,
        "{}".to_owned(),
    )
    .unwrap_err();
    assert_eq!(e.code, 1);
    assert!(e.message.starts_with("timout: "), "{}", e.message);
}

const PROMPT_ROUTE: &str = r#"{"uri":"/v1/chat/completions","plugins":{
    "ai-prompt-decorator":{"prepend":[{"role":"system","content":"Be brief."}]},
    "ai-prompt-guard":{"deny_patterns":["(?i)password"]},
    "ai-proxy":{"provider":"openai","auth":{},"options":{"model":"gpt-4o"}}}}"#;

#[test]
fn prompt_plugins_show_in_the_upstream_body() {
    let out = translated(
        &args(&[]),
        PROMPT_ROUTE,
        r#"{"messages":[{"role":"user","content":"hi"}]}"#.to_owned(),
    )
    .unwrap();
    assert_eq!(
        out["body"],
        json!({"messages": [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"}], "model": "gpt-4o"})
    );
}

#[test]
fn a_prompt_the_guard_denies_is_rejected_with_its_status_and_message() {
    let e = translated(
        &args(&[]),
        PROMPT_ROUTE,
        r#"{"messages":[{"role":"user","content":"my password"}]}"#.to_owned(),
    )
    .unwrap_err();
    assert_eq!(e, rejected("400: Request contains prohibited content"));
}

#[test]
fn prompt_plugin_errors_carry_their_path() {
    let route = r#"{"uri":"/v1/chat/completions","plugins":{
        "ai-prompt-guard":{"deny_patterns":["(a"]},
        "ai-proxy":{"provider":"openai","auth":{}}}}"#;
    let e = translated(&args(&[]), route, "{}".to_owned()).unwrap_err();
    assert!(
        e.message
            .starts_with("plugins.ai-prompt-guard.deny_patterns[0]: "),
        "{}",
        e.message
    );
}

#[test]
fn malformed_header_argument_is_exit_2() {
    let e = translated(&args(&["-H", "nocolon"]), OPENAI, "{}".to_owned()).unwrap_err();
    assert_eq!(e.code, 2);
}

const BEDROCK: &str = r#"{"provider":"bedrock","auth":{"aws":{"access_key_id":"AKIAEXAMPLEKEYID","secret_access_key":"cli-aws-secret","session_token":"cli-aws-token"}},"provider_conf":{"region":"eu-central-1"},"options":{"model":"anthropic.claude-sonnet-4-20250514-v1:0"}}"#;

#[test]
fn bedrock_requests_print_signed_with_secrets_redacted() {
    let out = translated(
        &args(&["--now", "1767225600"]),
        BEDROCK,
        r#"{"messages":[{"role":"user","content":"hi"}]}"#.to_owned(),
    )
    .unwrap();
    assert_eq!(
        out["url"],
        "https://bedrock-runtime.eu-central-1.amazonaws.com/model/anthropic.claude-sonnet-4-20250514-v1%3A0/converse"
    );
    assert_eq!(out["headers"]["x-amz-date"], "20260101T000000Z");
    assert_eq!(out["headers"]["authorization"], "<redacted>");
    assert_eq!(out["headers"]["x-amz-security-token"], "<redacted>");
    assert_eq!(
        out["body"],
        json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
    );
    let text = out.to_string();
    assert!(!text.contains("cli-aws-secret") && !text.contains("cli-aws-token"));
}

/// The acceptance check: `translate --reveal-secrets` output, signed
/// again by an independent SigV4 implementation (aws-sigv4, the AWS
/// SDK for Rust's signer), gives the same `authorization`.
#[test]
fn bedrock_translate_output_verifies_with_aws_sigv4() {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let body = r#"{"stream":true,"messages":[{"role":"system","content":"Réponds en français."},{"role":"user","content":"Quelle heure est-il ? \"maintenant\""}],"max_tokens":64}"#;
    let out = translated(
        &args(&[
            "--now",
            "1767225600",
            "--reveal-secrets",
            "-H",
            "X-Request-Id: abc",
        ]),
        BEDROCK,
        body.to_owned(),
    )
    .unwrap();
    let headers = out["headers"].as_object().unwrap();
    let body_bytes = serde_json::to_vec(&out["body"]).unwrap();
    assert_eq!(
        headers["content-length"].as_str().unwrap(),
        body_bytes.len().to_string(),
        "translate prints the body exactly as sent"
    );
    let unsigned: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(n, _)| {
            !["authorization", "x-amz-date", "x-amz-security-token"].contains(&n.as_str())
        })
        .map(|(n, v)| (n.as_str(), v.as_str().unwrap()))
        .collect();
    let identity = aws_credential_types::Credentials::new(
        "AKIAEXAMPLEKEYID",
        "cli-aws-secret",
        Some("cli-aws-token".to_owned()),
        None,
        "test",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-central-1")
        .name("bedrock")
        .time(UNIX_EPOCH + Duration::from_secs(1_767_225_600))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        out["method"].as_str().unwrap(),
        out["url"].as_str().unwrap(),
        unsigned.into_iter(),
        SignableBody::Bytes(&body_bytes),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let (expected, _) = instructions.into_parts();
    for header in expected {
        assert_eq!(headers[header.name()], header.value(), "{}", header.name());
    }
    assert!(out["url"].as_str().unwrap().ends_with("/converse-stream"));
}

#[test]
fn gcp_token_becomes_the_bearer() {
    let cfg = r#"{"provider":"openai","auth":{"gcp":{}}}"#;
    let out = translated(
        &args(&["--access-token", "ya29.t", "--reveal-secrets"]),
        cfg,
        r#"{"messages":[]}"#.to_owned(),
    )
    .unwrap();
    assert_eq!(out["headers"]["authorization"], "Bearer ya29.t");
    let e = translated(&args(&[]), cfg, r#"{"messages":[]}"#.to_owned()).unwrap_err();
    assert!(
        e.message.starts_with("500: failed to get gcp access token"),
        "{}",
        e.message
    );
}
