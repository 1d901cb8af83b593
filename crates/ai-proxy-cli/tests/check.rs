//! `ai-proxy check` as a user runs it: exit codes, stdout summary, one
//! `PATH: message` line per problem on stderr.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ai-proxy"))
}

fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ai-proxy-gateway/tests/configs/seed")
}

fn check_stdin(text: &str) -> Output {
    let mut child = bin()
        .args(["check", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The seed's Vertex example carries a placeholder private key: it loads
/// in the SDK, but `check` parses the key as the token request will.
const PLACEHOLDER_KEY: &str = "auth-vertex-ai.json";

#[test]
fn every_seed_example_checks_valid() {
    let mut n = 0;
    for entry in std::fs::read_dir(seed_dir()).unwrap() {
        let path = entry.unwrap().path();
        if !path.extension().is_some_and(|e| e == "json" || e == "yaml")
            || path.ends_with(PLACEHOLDER_KEY)
        {
            continue;
        }
        n += 1;
        let out = bin().arg("check").arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        assert!(stdout.contains(": valid"), "{stdout}");
    }
    assert_eq!(n, 13);
}

#[test]
fn the_seed_placeholder_key_is_reported_at_its_path() {
    let out = bin()
        .arg("check")
        .arg(seed_dir().join(PLACEHOLDER_KEY))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(
            "auth.gcp.service_account_json.private_key: is not a PKCS#8 RSA private key"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("not-a-real-key"), "{stderr}");
}

#[test]
fn valid_summary_names_provider_and_model() {
    let out = check_stdin(r#"{"provider":"openai","auth":{},"options":{"model":"gpt-4"}}"#);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "-: valid ai-proxy → openai (gpt-4)\n"
    );
}

#[test]
fn invalid_config_exits_1_with_one_line_per_error() {
    let out = check_stdin(r#"{"provider":"openai","auth":{},"timout":5,"keepalive_pool":0}"#);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "timout: unknown field `timout`, did you mean `timeout`?\nkeepalive_pool: must be ≥ 1, got 0\n"
    );
}

#[test]
fn config_sync_errors_carry_the_route_path() {
    let out = check_stdin(
        "version: \"1\"\nroutes:\n  - id: r\n    uri: /v1/chat/completions\n    plugins:\n      ai-proxy-multi:\n        instances:\n          - name: a\n            provider: vertex-ai\n            weight: 1\n            auth:\n              gcp:\n                max_ttl: 0\n            provider_conf: {project_id: p, region: us-central1}\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "routes[0].plugins.ai-proxy-multi.instances[0].auth.gcp.max_ttl: must be ≥ 1, got 0\n"
    );
}

#[test]
fn syntax_error_names_line_and_column() {
    let out = check_stdin("{\n  \"provider\": \"openai\"\n  \"auth\": {}\n}");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("line 3, column 3: invalid JSON"),
        "{stderr}"
    );
}

#[test]
fn unreadable_input_exits_2() {
    let out = bin()
        .args(["check", "/nonexistent/config.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("cannot read /nonexistent/config.json"),
        "{stderr}"
    );
}

#[test]
fn secrets_are_never_printed() {
    let out = check_stdin(
        r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer sk-SECRET"}},"timeout":0}"#,
    );
    assert_eq!(out.status.code(), Some(1));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("sk-SECRET"), "{all}");
}

#[test]
fn a_models_collection_endpoint_is_summarised_as_the_native_gemini_api() {
    let out = check_stdin(
        r#"{"provider":"gemini","auth":{"header":{"x-goog-api-key":"k"}},"options":{"model":"gemini-2.5-flash"},
            "override":{"endpoint":"https://generativelanguage.googleapis.com/v1beta/models"}}"#,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "-: valid ai-proxy → gemini (gemini-2.5-flash), native Gemini generateContent API\n"
    );
    let out = check_stdin(r#"{"provider":"gemini","auth":{}}"#);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "-: valid ai-proxy → gemini\n"
    );
}

#[test]
fn options_a_native_api_cannot_take_are_refused() {
    let out = check_stdin(
        "version: \"1\"\nroutes:\n  - id: g\n    uri: /v1/chat/completions\n    plugins:\n      ai-proxy:\n        provider: gemini\n        auth: {}\n        options: {model: gemini-2.5-flash, foo: 1}\n        override: {endpoint: \"https://generativelanguage.googleapis.com/v1beta/models\"}\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(
            "routes[0].plugins.ai-proxy: options.foo has no Gemini generationConfig field"
        ),
        "{stderr}"
    );
}

/// A route carrying `limit-req` next to `ai-proxy`: it looks protected.
const LIMIT_REQ_ROUTE: &str = "version: \"1\"\nroutes:\n  - id: r\n    uri: /v1/chat/completions\n    plugins:\n      limit-req: {rate: 1, burst: 0, key: remote_addr}\n      ai-proxy: {provider: openai, auth: {}}\n";

#[test]
fn a_plugin_serve_does_not_run_is_refused_with_its_path() {
    let out = check_stdin(LIMIT_REQ_ROUTE);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(
            "routes[0].plugins.limit-req: plugin not supported by ai-proxy serve; remove it"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn serve_refuses_a_route_with_a_plugin_it_does_not_run() {
    let dir = std::env::temp_dir().join(format!("ai-proxy-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("limit-req.yaml");
    std::fs::write(&file, LIMIT_REQ_ROUTE).unwrap();
    let out = bin()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("routes[0].plugins.limit-req: plugin not supported by ai-proxy serve"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
}

/// Consumers with keys and budgets, a route authenticating them and
/// limiting tokens through Redis.
const CONSUMERS: &str = "version: \"1\"\nconsumers:\n  - username: jack\n    plugins:\n      key-auth: {key: jack-secret}\n      ai-rate-limiting: {limit: 100, time_window: 60}\nroutes:\n  - id: r\n    uri: /v1/chat/completions\n    plugins:\n      key-auth: {}\n      ai-rate-limiting: {limit: 1000, time_window: 60, policy: redis, redis_host: 127.0.0.1, redis_password: hunter2}\n      ai-proxy: {provider: openai, auth: {}}\n";

#[test]
fn consumers_key_auth_and_ai_rate_limiting_are_checked() {
    let out = check_stdin(CONSUMERS);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = CONSUMERS.replace("limit: 100, time_window: 60", "limit: 0, time_window: 60");
    let out = check_stdin(&bad);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("consumers[0].plugins.ai-rate-limiting.limit: "),
        "{stderr}"
    );
    assert!(
        !stderr.contains("jack-secret") && !stderr.contains("hunter2"),
        "{stderr}"
    );
}
