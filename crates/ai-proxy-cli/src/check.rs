//! `ai-proxy check FILE|-`: validate a configuration document.
//!
//! Exit 0 with a one-line summary on stdout when valid (warnings, such as an
//! Azure endpoint without `api-version`, go to stderr as `warning: PATH:
//! message`); exit 1 with one `PATH: message` line per problem on stderr
//! when not (also when the text is too large or not UTF-8); exit 2 when the
//! input cannot be read. Valid documents are also compiled against the
//! default registry, so what `serve` would refuse (an option a native API
//! cannot take) is refused here; the summary names a native API a route
//! switched to through its `override.endpoint`.

use std::process::ExitCode;

use ai_proxy::config::{
    ConfigError, ConfigErrorKind, MAX_DOCUMENT_BYTES, PluginConfig, UpstreamConfig, join_path,
};
use ai_proxy::multi::{AiProxyMulti, MultiOptions};
use ai_proxy::vertex::{GcpTokenSource, VertexError};
use ai_proxy::{AiProxy, Protocol, Registry};
use ai_proxy_gateway::config::{Document, DocumentForm};
use ai_proxy_gateway::plugin::PluginRegistry;

use crate::{input, stdio};

/// Arguments of `ai-proxy check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Config file (plugin JSON, route JSON, `{"plugins": …}` or config-sync YAML), or `-` for standard input.
    pub file: String,
}

/// Runs `ai-proxy check`.
pub fn run(args: Args) -> ExitCode {
    let text = match input::read_text(&args.file, MAX_DOCUMENT_BYTES, "config") {
        Ok(text) => text,
        Err(e) => {
            stdio::err(format_args!("{e}"));
            return ExitCode::from(e.code());
        }
    };
    let doc = match load(&text) {
        Ok(doc) => doc,
        Err(errors) => {
            stdio::err_lines(errors);
            return ExitCode::FAILURE;
        }
    };
    let registry = ai_proxy::registry();
    let refused = compile_errors(&doc, &registry);
    if !refused.is_empty() {
        stdio::err_lines(refused);
        return ExitCode::FAILURE;
    }
    for warning in warnings(&doc) {
        stdio::err(format_args!("warning: {warning}"));
    }
    match stdio::out(format_args!("{}: {}", args.file, summary(&doc, &registry))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(closed) => closed.into(),
    }
}

/// Parses and validates a document as `serve` will use it: the model's
/// checks, plugins `serve` runs (fail closed: a route carrying one it does
/// not run is as invalid as a malformed one), then every service account's
/// private key.
pub fn load(text: &str) -> Result<Document, Vec<ConfigError>> {
    let doc = Document::parse(text)
        .and_then(|doc| PluginRegistry::new().check(&doc).map(|()| doc))
        .map_err(|e| e.into_errors())?;
    let errors = service_account_errors(&doc);
    if errors.is_empty() {
        Ok(doc)
    } else {
        Err(errors)
    }
}

/// Each upstream of each route, with the JSON path of its object.
fn upstreams(doc: &Document) -> Vec<(String, &UpstreamConfig)> {
    let mut out = Vec::new();
    for route in &doc.routes {
        match &route.plugin {
            PluginConfig::AiProxy(c) => out.push((route.plugin_path.clone(), &c.upstream)),
            PluginConfig::AiProxyMulti(m) => {
                for (i, instance) in m.instances.iter().enumerate() {
                    let path = join_path(&route.plugin_path, &format!("instances[{i}]"));
                    out.push((path, &instance.upstream));
                }
            }
            _ => {}
        }
    }
    out
}

/// A service account whose key the token request cannot sign with fails
/// every request with a 500: refuse it here, at its path.
fn service_account_errors(doc: &Document) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    for (path, upstream) in upstreams(doc) {
        let Some(json) = upstream
            .auth
            .gcp
            .as_ref()
            .and_then(|g| g.service_account_json.as_ref())
        else {
            continue;
        };
        let error = match GcpTokenSource::new(json.clone()) {
            Ok(_) => continue,
            Err(VertexError::InvalidPrivateKey { reason }) => ConfigError::new(
                "auth.gcp.service_account_json.private_key",
                ConfigErrorKind::Invalid,
                format!(
                    "is not a PKCS#8 RSA private key the token request can be signed with \
                     ({reason}); use the key file Google issued for the service account"
                ),
            ),
            Err(other) => ConfigError::new(
                "auth.gcp.service_account_json",
                ConfigErrorKind::Invalid,
                other.to_string(),
            ),
        };
        errors.push(error.prefixed(&path));
    }
    errors
}

/// What loads but will likely fail at request time, with document paths.
pub fn warnings(doc: &Document) -> Vec<ConfigError> {
    upstreams(doc)
        .into_iter()
        .flat_map(|(path, upstream)| {
            upstream
                .warnings()
                .into_iter()
                .map(move |w| w.prefixed(&path))
        })
        .collect()
}

/// `PATH: message` for every plugin the registry cannot compile.
fn compile_errors(doc: &Document, registry: &Registry) -> Vec<String> {
    doc.routes
        .iter()
        .filter_map(|route| {
            let error = match &route.plugin {
                PluginConfig::AiProxy(c) => AiProxy::compile(c, registry).err()?.to_string(),
                PluginConfig::AiProxyMulti(c) => {
                    AiProxyMulti::compile(c, registry, MultiOptions::default())
                        .err()?
                        .to_string()
                }
                _ => return None,
            };
            // Compile errors name fields relative to the plugin
            // (`options.foo has …`): the plugin's path says which one.
            Some(if route.plugin_path.is_empty() {
                error
            } else {
                format!("{}: {error}", route.plugin_path)
            })
        })
        .collect()
}

/// `, native Gemini generateContent API` when the upstream's endpoint
/// switches its provider to an adapter that speaks only Gemini's API.
fn native_api(upstream: &UpstreamConfig, registry: &Registry) -> &'static str {
    let adapter = registry.adapter_for(upstream.provider, upstream.overrides.endpoint.as_ref());
    match adapter.map(|a| a.capabilities()) {
        Some([Protocol::Gemini]) => ", native Gemini generateContent API",
        _ => "",
    }
}

/// One line describing a valid document.
pub fn summary(doc: &Document, registry: &Registry) -> String {
    let describe = |plugin: &PluginConfig| match plugin {
        PluginConfig::AiProxy(c) => format!(
            "ai-proxy → {}{}{}",
            c.upstream.provider,
            c.upstream
                .options
                .model
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default(),
            native_api(&c.upstream, registry)
        ),
        PluginConfig::AiProxyMulti(c) => format!(
            "ai-proxy-multi → {} instance{} ({})",
            c.instances.len(),
            if c.instances.len() == 1 { "" } else { "s" },
            c.instances
                .iter()
                .map(|i| format!(
                    "{}: {}{}",
                    i.name,
                    i.upstream.provider,
                    native_api(&i.upstream, registry)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => plugin.plugin_name().to_owned(),
    };
    match doc.form {
        DocumentForm::Plugin | DocumentForm::PluginsWrapper => match doc.routes.first() {
            Some(r) => format!("valid {}", describe(&r.plugin)),
            None => "valid".to_owned(),
        },
        _ => {
            let routes: Vec<String> = doc
                .routes
                .iter()
                .map(|r| {
                    let name =
                        r.id.clone()
                            .or_else(|| r.uris.first().cloned())
                            .unwrap_or_else(|| "route".to_owned());
                    format!("{name}: {}", describe(&r.plugin))
                })
                .collect();
            format!(
                "valid, {} AI route{}: {}",
                routes.len(),
                if routes.len() == 1 { "" } else { "s" },
                routes.join("; ")
            )
        }
    }
}
