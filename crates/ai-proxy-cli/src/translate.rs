//! `ai-proxy translate --config FILE [--uri PATH] [--header 'K: V']…
//! [--access-token T] [--reveal-secrets] [BODY|-]`: print the upstream
//! request a client request becomes.
//!
//! Output: one JSON object `{"method","url","headers":{name: value},
//! "body"}` (header names lower case, `body` as JSON when it parses, else
//! a string). Credentials print as `"<redacted>"` unless
//! `--reveal-secrets`. Exit 1 with `<status>: <message>` on stderr when the
//! request is rejected (or `PATH: message` lines when the config is
//! invalid); exit 2 when an input cannot be read.

use std::process::ExitCode;
use std::time::Instant;

use ai_proxy::config::{Document, PluginConfig};
use ai_proxy::{AiProxy, Prepared, Secret};
use bytes::Bytes;
use serde_json::{Map, Value};

use crate::input;

/// Arguments of `ai-proxy translate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Config file: any form `ai-proxy check` accepts. The first `ai-proxy`
    /// plugin is used; an `ai-proxy-multi` plugin uses its first instance.
    #[arg(long)]
    pub config: String,
    /// Client request path (and query). Default: the route's first `uri`,
    /// else `/v1/chat/completions`.
    #[arg(long)]
    pub uri: Option<String>,
    /// Client HTTP method.
    #[arg(long, default_value = "POST")]
    pub method: String,
    /// A client request header, `Name: value` (repeatable).
    #[arg(long = "header", short = 'H')]
    pub headers: Vec<String>,
    /// Google access token for `auth.gcp` configs.
    #[arg(long)]
    pub access_token: Option<String>,
    /// Print credentials instead of `<redacted>`.
    #[arg(long)]
    pub reveal_secrets: bool,
    /// The client request body (JSON text), or `-` for standard input.
    #[arg(default_value = "-")]
    pub body: String,
}

/// Runs `ai-proxy translate`.
pub fn run(args: Args) -> ExitCode {
    let config_text = match input::read_text(&args.config) {
        Ok(text) => text,
        Err(message) => return fail(2, &message),
    };
    let doc = match Document::parse(&config_text) {
        Ok(doc) => doc,
        Err(errors) => {
            for e in errors.errors() {
                eprintln!("{e}");
            }
            return ExitCode::from(1);
        }
    };
    let Some(route) = doc.routes.first() else {
        return fail(1, "the config has no ai-proxy or ai-proxy-multi plugin");
    };
    let registry = ai_proxy::registry();
    let compiled = match &route.plugin {
        PluginConfig::AiProxy(c) => AiProxy::compile(c, &registry),
        PluginConfig::AiProxyMulti(m) => match m.instances.first() {
            Some(i) => AiProxy::compile_instance(
                i.name.clone(),
                &i.target,
                m.logging,
                m.transport,
                m.limits,
                &registry,
            ),
            None => return fail(1, "ai-proxy-multi has no instances"),
        },
        _ => return fail(1, "the config's plugin is not supported by translate"),
    };
    let proxy = match compiled {
        Ok(p) => p,
        Err(e) => return fail(1, &format!("{}: {e}", e.status().as_u16())),
    };
    let body = if args.body == "-" {
        match input::read_text("-") {
            Ok(text) => text,
            Err(message) => return fail(2, &message),
        }
    } else {
        args.body.clone()
    };
    let uri = args.uri.clone().unwrap_or_else(|| {
        route
            .uris
            .iter()
            .find(|u| !u.ends_with('*'))
            .cloned()
            .unwrap_or_else(|| "/v1/chat/completions".to_owned())
    });
    let mut request = http::Request::builder()
        .method(args.method.as_str())
        .uri(uri.as_str());
    for header in &args.headers {
        let Some((name, value)) = header.split_once(':') else {
            return fail(2, &format!("--header {header:?}: expected `Name: value`"));
        };
        request = request.header(name.trim(), value.trim());
    }
    let request = match request.body(Bytes::from(body)) {
        Ok(r) => r,
        Err(e) => {
            return fail(
                2,
                &format!("invalid request (method, --uri or --header): {e}"),
            );
        }
    };
    let token = args.access_token.map(Secret::new);
    match proxy.prepare(request, Instant::now(), token.as_ref()) {
        Ok(prepared) => {
            println!("{}", render(&prepared, args.reveal_secrets));
            ExitCode::SUCCESS
        }
        Err(e) => fail(1, &format!("{}: {e}", e.status().as_u16())),
    }
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("{message}");
    ExitCode::from(code)
}

/// The upstream request as the contract's JSON object.
fn render(prepared: &Prepared, reveal: bool) -> Value {
    let upstream = &prepared.upstream;
    let url = if reveal {
        upstream.uri().to_string()
    } else {
        prepared.redacted_uri()
    };
    let mut headers = Map::new();
    for name in upstream.headers().keys() {
        let values: Vec<String> = upstream
            .headers()
            .get_all(name)
            .iter()
            .map(|v| {
                if v.is_sensitive() && !reveal {
                    ai_proxy::core::secret::REDACTED.to_owned()
                } else {
                    String::from_utf8_lossy(v.as_bytes()).into_owned()
                }
            })
            .collect();
        headers.insert(name.as_str().to_owned(), Value::String(values.join(", ")));
    }
    let body = serde_json::from_slice::<Value>(upstream.body())
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(upstream.body()).into_owned()));
    let mut out = Map::new();
    out.insert(
        "method".to_owned(),
        Value::String(upstream.method().to_string()),
    );
    out.insert("url".to_owned(), Value::String(url));
    out.insert("headers".to_owned(), Value::Object(headers));
    out.insert("body".to_owned(), body);
    Value::Object(out)
}
