//! `ai-proxy check FILE|-`: validate a configuration document.
//!
//! Exit 0 with a one-line summary on stdout when valid; exit 1 with one
//! `PATH: message` line per problem on stderr when not; exit 2 when the
//! input cannot be read.

use std::process::ExitCode;

use ai_proxy::config::{Document, DocumentForm, PluginConfig};

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
    match Document::parse(&text) {
        Ok(doc) => {
            println!("{}: {}", args.file, summary(&doc));
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

/// One line describing a valid document.
fn summary(doc: &Document) -> String {
    let describe = |plugin: &PluginConfig| match plugin {
        PluginConfig::AiProxy(c) => format!(
            "ai-proxy → {}{}",
            c.upstream.provider,
            c.upstream
                .options
                .model
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        ),
        PluginConfig::AiProxyMulti(c) => format!(
            "ai-proxy-multi → {} instance{} ({})",
            c.instances.len(),
            if c.instances.len() == 1 { "" } else { "s" },
            c.instances
                .iter()
                .map(|i| format!("{}: {}", i.name, i.upstream.provider))
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
