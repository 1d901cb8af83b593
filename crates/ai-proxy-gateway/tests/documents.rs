//! Configuration documents as a specification: every seed example is valid,
//! routes keep their uri, methods and vars, every route mistake is reported
//! at its exact JSON path, and no credential reaches a document's Debug.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use ai_proxy::Provider;
use ai_proxy::config::{ConfigErrorKind, PluginConfig};
use ai_proxy_gateway::config::{Document, DocumentForm};

fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/seed")
}

fn seed_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(seed_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json" || e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_seed_example_is_valid() {
    let files = seed_files();
    assert_eq!(files.len(), 14, "one file per seed example");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        if let Err(e) = Document::parse(&text) {
            panic!("{} should be valid:\n{e}", file.display());
        }
    }
}

#[test]
fn seed_route_keeps_uri_methods_and_vars() {
    let text = std::fs::read_to_string(seed_dir().join("route-model-deepseek-chat.json")).unwrap();
    let doc = Document::parse(&text).unwrap();
    assert_eq!(doc.form, DocumentForm::Route);
    let route = &doc.routes[0];
    assert_eq!(route.id.as_deref(), Some("deepseek-chat"));
    assert_eq!(route.uris, ["/v1/chat/completions"]);
    assert_eq!(route.methods, ["POST"]);
    let vars = route.vars.as_ref().unwrap();
    assert_eq!(vars.variables(), ["post_arg.model"]);
    let lookup = |name: &str| {
        (name == "post_arg.model")
            .then(|| ai_proxy_gateway::config::vars::VarValue::from("deepseek-chat"))
    };
    assert!(vars.matches(&lookup));
    assert_eq!(route.plugin_path, "plugins.ai-proxy");
}

#[test]
fn seed_config_sync_yaml_is_one_openai_route() {
    let text = std::fs::read_to_string(seed_dir().join("config-sync.yaml")).unwrap();
    let doc = Document::parse(&text).unwrap();
    assert_eq!(doc.form, DocumentForm::ConfigSync);
    assert_eq!(doc.routes.len(), 1);
    assert_eq!(doc.routes[0].plugin_path, "routes[0].plugins.ai-proxy");
    let PluginConfig::AiProxy(c) = &doc.routes[0].plugin else {
        panic!("expected ai-proxy")
    };
    assert_eq!(c.upstream.provider, Provider::OpenAi);
    assert_eq!(c.upstream.options.max_tokens, Some(1024));
    assert_eq!(c.upstream.options.temperature, Some(0.7));
    assert!(c.logging.summaries);
    assert_eq!(c.upstream.auth.header[0].0.as_str(), "authorization");
    assert_eq!(
        c.upstream.auth.header[0].1.expose(),
        "Bearer sk-your-openai-key"
    );
}

#[test]
fn seed_multi_example_keeps_priorities_weights_and_strategy() {
    let text = std::fs::read_to_string(seed_dir().join("plugins-ai-proxy-multi.json")).unwrap();
    let doc = Document::parse(&text).unwrap();
    assert_eq!(doc.form, DocumentForm::PluginsWrapper);
    let PluginConfig::AiProxyMulti(c) = &doc.routes[0].plugin else {
        panic!("expected ai-proxy-multi")
    };
    let summary: Vec<_> = c
        .instances
        .iter()
        .map(|i| (i.name.as_str(), i.upstream.provider, i.priority, i.weight))
        .collect();
    assert_eq!(
        summary,
        [
            ("openai-primary", Provider::OpenAi, 1, 8),
            ("deepseek-backup", Provider::DeepSeek, 0, 2)
        ]
    );
    let s = c.fallback_strategy;
    assert!(s.rate_limiting && s.http_429 && s.http_5xx && !s.instance_health);
}

#[test]
fn yaml_syntax_errors_report_line_and_column() {
    let errors = Document::parse("version: \"1\"\nroutes:\n  - id: a\n   uri: [\n").unwrap_err();
    assert!(
        matches!(
            errors.errors()[0].kind,
            ConfigErrorKind::Syntax { line: 4, .. }
        ),
        "{errors}"
    );
}

#[test]
fn route_errors_are_prefixed_with_the_plugin_path() {
    let yaml = "version: \"1\"\nroutes:\n  - id: a\n    uri: /v1/chat/completions\n    plugins:\n      ai-proxy:\n        provider: openai\n        auth: {}\n        timeout: 0\n  - id: b\n    uri: /b\n    plugins:\n      ai-proxy-multi:\n        instances:\n          - name: x\n            provider: openai\n            auth: {}\n";
    let errors = Document::parse(yaml).unwrap_err();
    let paths: Vec<_> = errors.errors().iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "routes[0].plugins.ai-proxy.timeout",
            "routes[1].plugins.ai-proxy-multi.instances[0].weight"
        ]
    );
}

#[test]
fn documents_without_an_ai_plugin_are_rejected() {
    let e = Document::parse(r#"{"uri":"/x","plugins":{"limit-count":{}}}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "plugins: has neither ai-proxy nor ai-proxy-multi"
    );
    let e = Document::parse(r#"{"timeout": 5}"#).unwrap_err();
    assert!(e.to_string().contains("neither `provider`"), "{e}");
    let e = Document::parse("version: \"2\"\nroutes: []\n").unwrap_err();
    assert!(e.to_string().contains("version: must be \"1\""), "{e}");
}

#[test]
fn route_fields_are_checked() {
    let e = Document::parse(
        r#"{"uri":"v1","methods":["post"],"vars":[["post_arg.model","=","x"]],"plugins":{"ai-proxy":{"provider":"openai","auth":{}}}}"#,
    )
    .unwrap_err();
    let paths: Vec<_> = e.errors().iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["uri", "methods[0]", "vars[0]"]);
}

#[test]
fn no_secret_reaches_a_documents_debug() {
    let valid = r#"{"provider":"vertex-ai","auth":{"header":{"Authorization":"Bearer sk-SECRET-header"},"query":{"key":"SECRET-query"},"gcp":{"service_account_json":"{\"client_email\":\"a@p\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nSECRET-sa-json\\n-----END PRIVATE KEY-----\\n\"}"}},"provider_conf":{"project_id":"p","region":"r"}}"#;
    // Other plugins' configurations are shown by name only.
    let doc = Document::parse(&format!(
        r#"{{"plugins":{{"ai-proxy":{valid},"openid-connect":{{"client_secret":"SECRET-oidc"}}}}}}"#
    ))
    .unwrap();
    let debug = format!("{doc:?} {doc:#?}");
    assert!(debug.contains("openid-connect"), "{debug}");
    for s in [
        "sk-SECRET-header",
        "SECRET-query",
        "SECRET-sa-json",
        "SECRET-oidc",
    ] {
        assert!(!debug.contains(s), "{s} leaked into Debug");
    }
}
