//! An AI gateway on Pingora: the routes of a configuration document (a
//! config-sync YAML, an APISIX route JSON or a bare plugin JSON — the forms
//! `ai-proxy serve` accepts) served by Pingora's HTTP proxy, with the
//! gateway's access log on stdout.
//!
//! ```text
//! cargo run --release -p ai-proxy-pingora --example pingora_gateway -- \
//!     --config gateway.yaml --listen 127.0.0.1:9080
//! curl -s localhost:9080/v1/chat/completions \
//!     -d '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}'
//! ```
//!
//! SIGINT stops it at once, SIGTERM after the requests in flight.

use std::net::SocketAddr;
use std::process::ExitCode;

use ai_proxy_gateway::config::Document;
use ai_proxy_gateway::{Gateway, Settings, logs};
use ai_proxy_pingora::AiProxyService;
use clap::Parser;
use pingora::proxy::http_proxy_service;
use pingora::server::Server;
use pingora::server::configuration::ServerConf;

/// Serve a gateway configuration through Pingora.
#[derive(Debug, Parser)]
struct Args {
    /// Routes: a config-sync YAML, a route JSON, or a plugin JSON (`-` for
    /// stdin).
    #[arg(long)]
    config: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9080")]
    listen: SocketAddr,
    /// Pingora worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Seconds a client may pause between two reads of a request body.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    client_body_timeout: u64,
    /// Access-log lines as JSON objects instead of `key=value` text.
    #[arg(long)]
    json: bool,
    /// Lowest level logged (`warn` drops the per-request access lines).
    #[arg(long, default_value = "info")]
    log_level: tracing::Level,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let format = if args.json {
        logs::LogFormat::Json
    } else {
        logs::LogFormat::Text
    };
    logs::init(format, args.log_level);
    match run(&args) {
        Ok(never) => match never {},
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<std::convert::Infallible, String> {
    let text = if args.config == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("reading stdin: {e}"))?
    } else {
        std::fs::read_to_string(&args.config)
            .map_err(|e| format!("cannot read {}: {e}", args.config))?
    };
    let document = Document::parse(&text).map_err(|e| e.to_string())?;
    let settings = Settings::default()
        .with_client_body_timeout(std::time::Duration::from_secs(args.client_body_timeout));
    let gateway = Gateway::builder()
        .settings(settings)
        .build(&document)
        .map_err(|e| e.to_string())?;
    let routes = gateway.route_ids().count();
    let service = AiProxyService::new(gateway).map_err(|e| e.to_string())?;

    let conf = ServerConf {
        threads: args.threads,
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut proxy = http_proxy_service(&server.configuration, service);
    proxy.add_tcp(&args.listen.to_string());
    server.add_service(proxy);
    println!(
        "ai-proxy on pingora listening on http://{} ({routes} route{})",
        args.listen,
        if routes == 1 { "" } else { "s" }
    );
    server.run_forever()
}
