//! `ai-proxy translate --config FILE [--uri PATH] [--header 'K: V']…
//! [--access-token T] [--now UNIX_SECONDS] [--reveal-secrets] [BODY|-]`:
//! print the upstream request a client request becomes.
//!
//! Output: one JSON object `{"method","url","headers":{name: value},
//! "body"}` (header names lower case, `body` as the JSON sent — whitespace
//! removed, nothing else changed — else a string). Signed requests
//! (bedrock: SigV4) are shown signed, with `x-amz-date`; credentials — and
//! the `authorization` signature and `x-amz-security-token` — print as
//! `"<redacted>"` unless `--reveal-secrets`. Exit 1 with `<status>:
//! <message>` on stderr when the request is rejected (or `PATH: message`
//! lines when the config is invalid, too large or not UTF-8); exit 2 when
//! an input cannot be read. A closed stdout ends it with exit 1, quietly.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ai_proxy::config::{DEFAULT_MAX_REQ_BODY_SIZE, MAX_DOCUMENT_BYTES};
use ai_proxy::multi::{AiProxyMulti, MultiOptions, RequestKeys};
use ai_proxy::prompt::PromptPlugins;
use ai_proxy::{AiProxy, Prepared, Secret};
use ai_proxy_gateway::config::{Document, PluginConfig, RouteConfig};
use bytes::Bytes;
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::{input, stdio};

/// Arguments of `ai-proxy translate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Config file: any form `ai-proxy check` accepts. The first route's
    /// plugin is used; for `ai-proxy-multi`, the instance its balancer
    /// picks for this request (see --pick).
    #[arg(long)]
    pub config: String,
    /// For `ai-proxy-multi`: show the N-th pick of a fresh balancer (1 =
    /// the first request's instance, 2 = the second request's, …), e.g. to
    /// see weighted round robin or priorities at work.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub pick: u32,
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
    /// Sign as of this Unix time in seconds (bedrock's SigV4) instead of
    /// now, for a reproducible signature.
    #[arg(long)]
    pub now: Option<u64>,
    /// Print credentials instead of `<redacted>`.
    #[arg(long)]
    pub reveal_secrets: bool,
    /// The client request body (JSON text), or `-` for standard input.
    #[arg(default_value = "-")]
    pub body: String,
}

/// Runs `ai-proxy translate`.
pub fn run(args: Args) -> ExitCode {
    let config = match input::read_text(&args.config, MAX_DOCUMENT_BYTES, "config") {
        Ok(text) => text,
        Err(e) => return fail(e.code(), &e.to_string()),
    };
    let body = if args.body == "-" {
        // One byte over the default limit, so an oversized body is the
        // route's 413, not a read error.
        let limit = usize::try_from(DEFAULT_MAX_REQ_BODY_SIZE).unwrap_or(usize::MAX);
        match input::read_bytes("-", limit.saturating_add(1), "request body") {
            Ok(bytes) => Bytes::from(bytes),
            Err(e) => return fail(e.code(), &e.to_string()),
        }
    } else {
        Bytes::from(args.body.clone().into_bytes())
    };
    let prepared = match translate(&args, &config, body) {
        Ok(prepared) => prepared,
        Err(Failure { code, message }) => return fail(code, &message),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = serde_json::to_writer(&mut out, &Rendered::new(&prepared, args.reveal_secrets))
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => stdio::closed(&e).into(),
    }
}

/// Why translate printed no request: the exit code and stderr text.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    /// 1: the config or request was rejected; 2: an argument was unusable.
    pub code: u8,
    /// What to print on stderr.
    pub message: String,
}

fn rejected(message: impl Into<String>) -> Failure {
    Failure {
        code: 1,
        message: message.into(),
    }
}

fn unreadable(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

/// The upstream request `body` becomes under `config_text`.
pub fn translate(args: &Args, config_text: &str, body: Bytes) -> Result<Prepared, Failure> {
    let doc = Document::parse(config_text).map_err(|errors| {
        rejected(
            errors
                .errors()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let route = doc
        .routes
        .first()
        .ok_or_else(|| rejected("the config has no ai-proxy or ai-proxy-multi plugin"))?;
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
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| unreadable(format!("--header {header:?}: expected `Name: value`")))?;
        request = request.header(name.trim(), value.trim());
    }
    let request = request.body(body).map_err(|e| {
        unreadable(format!(
            "invalid request (--method, --uri or --header): {e}"
        ))
    })?;
    let request = prompt_plugins(route)?
        .apply_request(request)
        .map_err(|e| rejected(format!("{}: {e}", e.status().as_u16())))?;
    let now = Instant::now();
    let wall_clock = args.now.map_or_else(SystemTime::now, |secs| {
        UNIX_EPOCH + Duration::from_secs(secs)
    });
    let registry = ai_proxy::registry();
    let compiled = match &route.plugin {
        PluginConfig::AiProxy(c) => AiProxy::compile(c, &registry),
        PluginConfig::AiProxyMulti(m) => {
            let multi = AiProxyMulti::compile(m, &registry, MultiOptions::default())
                .map_err(|e| rejected(format!("{}: {e}", e.status().as_u16())))?;
            let (parts, body) = request.into_parts();
            let keys = RequestKeys::new().with_parts(&parts);
            let mut attempt = None;
            for _ in 0..args.pick {
                attempt = Some(
                    multi
                        .pick(&keys, now)
                        .map_err(|e| rejected(format!("{}: {e}", e.status().as_u16())))?,
                );
            }
            let request = http::Request::from_parts(parts, body);
            let attempt = attempt.ok_or_else(|| rejected("--pick must be at least 1"))?;
            let token = args.access_token.clone().map(Secret::new);
            let prepared = multi
                .prepare_at(&attempt, request, now, wall_clock, token.as_ref())
                .map_err(|e| rejected(format!("{}: {e}", e.status().as_u16())))?;
            return Ok(prepared);
        }
        _ => {
            return Err(rejected(
                "the config's plugin is not supported by translate",
            ));
        }
    };
    let proxy = compiled.map_err(|e| rejected(format!("{}: {e}", e.status().as_u16())))?;
    let token = args.access_token.clone().map(Secret::new);
    proxy
        .prepare_at(request, now, wall_clock, token.as_ref())
        .map_err(|e| rejected(format!("{}: {e}", e.status().as_u16())))
}

/// The route's prompt plugins (`ai-prompt-template`, `ai-prompt-decorator`,
/// `ai-prompt-guard`), compiled, so the printed request shows their effect
/// (content moderation calls a service: translate does not run it).
fn prompt_plugins(route: &RouteConfig) -> Result<PromptPlugins, Failure> {
    let plugins: Map<String, Value> = route
        .plugins
        .iter()
        .filter(|(name, _)| PromptPlugins::NAMES.contains(&name.as_str()))
        .cloned()
        .collect();
    PromptPlugins::from_plugins(&plugins).map_err(|errors| {
        let prefix = route.plugin_path_of("");
        rejected(
            errors
                .into_errors()
                .into_iter()
                .map(|e| e.prefixed(&prefix).to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })
}

fn fail(code: u8, message: &str) -> ExitCode {
    stdio::err(format_args!("{message}"));
    ExitCode::from(code)
}

/// The upstream request as the contract's JSON object `{"method", "url",
/// "headers", "body"}`: the body as the JSON it is (whitespace removed,
/// nothing else changed, no value tree), else as a string. Serialize it.
pub struct Rendered<'a> {
    method: &'a str,
    url: String,
    headers: Vec<(&'a str, String)>,
    body: Body<'a>,
}

enum Body<'a> {
    Json(Box<RawValue>),
    Text(std::borrow::Cow<'a, str>),
}

impl<'a> Rendered<'a> {
    /// The request to print (credentials redacted unless `reveal`).
    pub fn new(prepared: &'a Prepared, reveal: bool) -> Self {
        let upstream = &prepared.upstream;
        let url = if reveal {
            upstream.uri().to_string()
        } else {
            prepared.redacted_uri()
        };
        let headers = upstream
            .headers()
            .keys()
            .map(|name| {
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
                (name.as_str(), values.join(", "))
            })
            .collect();
        let bytes = upstream.body();
        let body = match serde_json::from_slice::<&RawValue>(bytes) {
            Ok(raw) => RawValue::from_string(compact(raw.get()))
                .map_or_else(|_| Body::Text(String::from_utf8_lossy(bytes)), Body::Json),
            Err(_) => Body::Text(String::from_utf8_lossy(bytes)),
        };
        Self {
            method: upstream.method().as_str(),
            url,
            headers,
            body,
        }
    }
}

impl Serialize for Rendered<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Headers<'h>(&'h [(&'h str, String)]);
        impl Serialize for Headers<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(self.0.len()))?;
                for (name, value) in self.0 {
                    map.serialize_entry(name, value)?;
                }
                map.end()
            }
        }
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("method", self.method)?;
        map.serialize_entry("url", &self.url)?;
        map.serialize_entry("headers", &Headers(&self.headers))?;
        match &self.body {
            Body::Json(raw) => map.serialize_entry("body", raw)?,
            Body::Text(text) => map.serialize_entry("body", text)?,
        }
        map.end()
    }
}

/// Valid JSON text without the whitespace between tokens (strings kept
/// byte for byte), so the request prints on one line.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !matches!(c, ' ' | '\n' | '\r' | '\t') {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests;
