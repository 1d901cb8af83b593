//! Issue 15, as a user meets it: each defect the bad-input campaign found,
//! reproduced through the `ai-proxy` binary, and the campaign itself —
//! every input generated here, none committed — ending with a non-zero
//! exit and a clear message.
//!
//! (Defect 8's first half, the Vertex token error's doubled prefix, needs a
//! gateway: `crates/ai-proxy-gateway/tests/gateway/main.rs`,
//! `a_token_fetch_failure_says_failed_to_get_gcp_access_token_once`; defect 1
//! runs alone in `closed_stdout.rs`, see there why.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;

#[test]
fn defect_2_duplicate_keys_are_refused_at_the_second_occurrence_in_json_and_yaml() {
    let json = r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer A","Authorization":"Bearer B"}}}"#;
    let out = run(&["check", "-"], json.as_bytes());
    refused(
        &out,
        "auth.header.Authorization: duplicate key `Authorization` (line 1, column 93)",
    );
    assert!(!stderr(&out).contains("Bearer"));

    let yaml = "version: \"1\"\nroutes:\n  - id: r\n    uri: /v1/chat/completions\n    plugins:\n      ai-proxy-multi:\n        instances:\n          - name: a\n            provider: openai\n            weight: 1\n            auth: {header: {Authorization: \"Bearer A\"}}\n            weight: 2\n";
    let out = run(&["check", "-"], yaml.as_bytes());
    refused(
        &out,
        "routes[0].plugins.ai-proxy-multi.instances[0].weight: duplicate key `weight` (line 8,",
    );
}

#[test]
fn defect_3_deep_yaml_and_yaml_bombs_are_refused_at_a_real_line_and_column() {
    let deep = format!("a: {}", "[".repeat(100_000));
    refused(
        &run(&["check", "-"], deep.as_bytes()),
        "line 1, column 132: invalid YAML: nested too deeply: more than 128 levels",
    );
    let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
    for (prev, name) in ('a'..='h').zip('b'..='i') {
        let aliases = vec![format!("*{prev}"); 10].join(",");
        bomb.push_str(&format!("{name}: &{name} [{aliases}]\n"));
    }
    let out = run(&["check", "-"], bomb.as_bytes());
    refused(
        &out,
        "line 2, column 8: invalid YAML: aliases expand too far",
    );
    let deep_block = format!("{}x", "- ".repeat(10_000));
    let out = run(&["check", "-"], deep_block.as_bytes());
    refused(&out, "line 1, column ");
    assert!(
        stderr(&out).contains("nested too deeply"),
        "{}",
        stderr(&out)
    );
}

fn vertex_config(account: &serde_json::Value) -> String {
    serde_json::json!({
        "provider": "vertex-ai",
        "auth": {"gcp": {"service_account_json": account.to_string()}},
        "provider_conf": {"project_id": "p", "region": "us-central1"},
    })
    .to_string()
}

#[test]
fn defect_4_check_parses_the_service_account_and_locates_each_problem() {
    let pem = "-----BEGIN PRIVATE KEY-----\nbm90LWEta2V5\n-----END PRIVATE KEY-----\n";
    let cases = [
        (
            serde_json::json!({"private_key": pem}),
            "auth.gcp.service_account_json.client_email: is required",
        ),
        (
            serde_json::json!({"client_email": "a@p", "private_key": 7}),
            "auth.gcp.service_account_json.private_key: must be a string",
        ),
        (
            serde_json::json!({"client_email": "a@p", "private_key": pem, "token_uri": "oauth2"}),
            "auth.gcp.service_account_json.token_uri: must be an absolute http(s) URL",
        ),
        (
            serde_json::json!({"client_email": "a@p", "private_key": pem}),
            "auth.gcp.service_account_json.private_key: is not a PKCS#8 RSA private key",
        ),
    ];
    for (account, expected) in cases {
        let out = run(&["check", "-"], vertex_config(&account).as_bytes());
        refused(&out, expected);
        assert!(!stderr(&out).contains("bm90LWEta2V5"), "{}", stderr(&out));
    }
}

#[test]
fn defect_5_garbage_is_diagnosed_and_a_valid_answer_without_usage_is_not() {
    for (args, input, expected) in [
        (
            &["sse", "-"][..],
            &b""[..],
            "ai-proxy sse: -: empty input: expected an SSE stream",
        ),
        (
            &["sse", "-"],
            b"\x00\x01\xff binary",
            "ai-proxy sse: -: not an SSE stream: expected `data:`",
        ),
        (
            &["sse", "-"],
            b"data: not json\n\n",
            "ai-proxy sse: -: not an openai-chat stream: expected a JSON object in `data:`, saw `not json` at byte 6",
        ),
        (
            &["sse", "--protocol", "gemini", "-"],
            CHAT_STREAM.as_bytes(),
            "ai-proxy sse: -: not a gemini stream: expected a Gemini response",
        ),
        (
            &["response", "-"],
            b"",
            "ai-proxy response: -: empty input: expected an openai-chat response body (JSON), saw no bytes",
        ),
        (
            &["response", "-"],
            b"\xff\xfe",
            "ai-proxy response: -: not JSON: expected value; saw byte 0xFF at byte 0 (line 1, column 1)",
        ),
        (
            &["response", "-"],
            b"{\"choices\":[] garbage",
            "ai-proxy response: -: not JSON: expected `,` or `}`; saw `garbage` at byte 14",
        ),
        (
            &["response", "--protocol", "anthropic-messages", "-"],
            CHAT_BODY.as_bytes(),
            "ai-proxy response: -: not an anthropic-messages response body: expected an Anthropic message",
        ),
    ] {
        let out = run(args, input);
        refused(&out, expected);
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        assert_eq!(stdout(&out), "", "no summary for what is not the protocol");
    }
    let out = run(
        &["response", "-"],
        br#"{"choices":[{"message":{"content":"hi"}}]}"#,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "{\"model\":null,\"prompt_tokens\":null,\"completion_tokens\":null,\"total_tokens\":null,\"events\":null,\"done\":false,\"text\":\"hi\"}\n"
    );
    let out = run(
        &["sse", "-"],
        b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("\"total_tokens\":null,\"events\":1"));
}

/// A chat body past the 64 MiB observation cap, usage (if any) at its end.
fn oversized_chat_body(usage: bool) -> Vec<u8> {
    let text = "x".repeat(64 * 1024 * 1024 + 1024);
    let usage = if usage {
        r#","usage":{"prompt_tokens":7,"completion_tokens":8,"total_tokens":15}"#
    } else {
        ""
    };
    format!(r#"{{"model":"gpt-4o","choices":[{{"message":{{"content":"{text}"}}}}]{usage}}}"#)
        .into_bytes()
}

#[test]
fn defect_6_a_body_past_the_observation_cap_keeps_its_usage_or_says_why_not() {
    let out = run(&["response", "-"], &oversized_chat_body(true));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["total_tokens"], 15);
    assert_eq!(line["model"], "gpt-4o");

    let out = run(&["response", "-"], &oversized_chat_body(false));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["total_tokens"], serde_json::Value::Null);
    let warning = line["warning"].as_str().unwrap();
    assert!(warning.contains("token counts are unknown"), "{warning}");
    assert!(
        stderr(&out).contains("warning: response body of"),
        "{}",
        stderr(&out)
    );
}

/// A chat stream carrying `n` pieces of text.
fn long_stream(piece: &str, n: usize) -> Vec<u8> {
    let mut out = String::new();
    for _ in 0..n {
        out.push_str(&format!(
            "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{piece}\"}}}}]}}\n\n"
        ));
    }
    out.push_str("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n");
    out.into_bytes()
}

#[test]
fn defect_7_sse_text_is_capped_in_the_summary_or_streamed_out() {
    let piece = "0123456789abcdef".repeat(64);
    let stream = long_stream(&piece, 4096);
    let out = run(&["sse", "-"], &stream);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["text"].as_str().unwrap().len(), 1024 * 1024);
    assert_eq!(line["text_truncated"], true);
    assert_eq!(line["total_tokens"], 3);

    let out = run(&["sse", "--max-text-bytes", "5", "-"], &stream);
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["text"], "01234");

    let out = run(&["sse", "--text-only", "-"], &stream);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout.len(), piece.len() * 4096);
    assert!(out.stdout.starts_with(piece.as_bytes()));
}

#[test]
fn defect_8_an_azure_endpoint_without_api_version_is_a_warning() {
    let config = r#"{"provider":"azure-openai","auth":{"header":{"api-key":"k"}},"override":{"endpoint":"https://r.openai.azure.com/openai/deployments/d/chat/completions"}}"#;
    let out = run(&["check", "-"], config.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .starts_with("warning: override.endpoint: has no `api-version` query parameter"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "-: valid ai-proxy → azure-openai\n");
}

/// An input of the campaign.
struct Bad {
    name: &'static str,
    bytes: Vec<u8>,
}

fn campaign() -> Vec<Bad> {
    let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
    for (prev, name) in ('a'..='h').zip('b'..='i') {
        bomb.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 10].join(",")
        ));
    }
    let pattern = b"garbage \x00\xff{[\n";
    let fifty_mb: Vec<u8> = pattern.iter().copied().cycle().take(50_000_000).collect();
    vec![
        Bad {
            name: "empty",
            bytes: Vec::new(),
        },
        Bad {
            name: "invalid UTF-8",
            bytes: b"\xff\xfe\xfd".to_vec(),
        },
        Bad {
            name: "NUL bytes",
            bytes: vec![0; 64],
        },
        Bad {
            name: "100k-deep JSON",
            bytes: "[".repeat(100_000).into_bytes(),
        },
        Bad {
            name: "100k-deep YAML",
            bytes: format!("a: {}", "[".repeat(100_000)).into_bytes(),
        },
        Bad {
            name: "50 MB of garbage",
            bytes: fifty_mb,
        },
        Bad {
            name: "YAML bomb",
            bytes: bomb.into_bytes(),
        },
        Bad {
            name: "wrong types",
            bytes: br#"{"provider":1,"auth":[],"timeout":"x"}"#.to_vec(),
        },
    ]
}

#[test]
fn campaign_inputs_end_with_a_non_zero_exit_and_one_clear_message() {
    let config = temp_file("openai.json", OPENAI.as_bytes());
    let config = config.to_str().unwrap();
    for bad in campaign() {
        let as_file = temp_file("input", &bad.bytes);
        let as_file = as_file.to_str().unwrap();
        let runs: [(&[&str], bool); 5] = [
            (&["check", "-"], true),
            (&["translate", "--config", as_file, CHAT], false),
            (&["translate", "--config", config, "-"], true),
            (&["sse", "-"], true),
            (&["response", "-"], true),
        ];
        for (args, stdin) in runs {
            // A JSON object of odd fields is a request body like any other.
            if bad.name == "wrong types" && args.ends_with(&["-"]) && args[0] == "translate" {
                continue;
            }
            let input: &[u8] = if stdin { &bad.bytes } else { b"" };
            let out = run(args, input);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{} → {args:?}: {err}", bad.name);
            assert!(
                !err.trim().is_empty(),
                "{} → {args:?}: no message",
                bad.name
            );
            assert!(!err.contains("panicked"), "{} → {args:?}: {err}", bad.name);
            assert!(
                !err.contains("line 0, column 0"),
                "{} → {args:?}: {err}",
                bad.name
            );
            assert!(err.lines().count() <= 101, "{} → {args:?}: {err}", bad.name);
        }
    }
}
