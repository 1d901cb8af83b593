//! `ai-proxy check FILE|-`: validate a configuration document.
//!
//! Exit 0 with a one-line summary on stdout when valid; exit 1 with one
//! `PATH: message` line per problem on stderr when not; exit 2 when the
//! input cannot be read. Valid documents are also compiled against the
//! default registry, so what `serve` would refuse (an option a native API
//! cannot take) is refused here; the summary names a native API a route
//! switched to through its `override.endpoint`.

use std::process::ExitCode;

use ai_proxy::config::UpstreamConfig;
use ai_proxy::multi::{AiProxyMulti, MultiOptions};
use ai_proxy::{AiProxy, Protocol, Registry};
use ai_proxy_gateway::config::{Document, DocumentForm, PluginConfig};
use ai_proxy_gateway::plugin::PluginRegistry;

use crate::input;

/// Arguments of `ai-proxy check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Config file (plugin JSON, route JSON, `{"plugins": …}` or config-sync YAML), or `-` for standard input.
    pub file: String,
}

/// Runs `ai-proxy check`.
pub fn run(args: Args) -> ExitCode {
    let text = match input::read_text(&args.file) {
        Ok(text) => text,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    // Fail closed: a route carrying a plugin `serve` does not run is as
    // invalid as a malformed one.
    match Document::parse(&text).and_then(|doc| PluginRegistry::new().check(&doc).map(|()| doc)) {
        Ok(doc) => {
            let registry = ai_proxy::registry();
            let refused = compile_errors(&doc, &registry);
            if !refused.is_empty() {
                for line in refused {
                    eprintln!("{line}");
                }
                return ExitCode::from(1);
            }
            println!("{}: {}", args.file, summary(&doc, &registry));
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in errors.errors() {
                eprintln!("{e}");
            }
            ExitCode::from(1)
        }
    }
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
fn summary(doc: &Document, registry: &Registry) -> String {
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
