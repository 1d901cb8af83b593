//! The entry points of `ai-proxy check`, `translate`, `sse` and `response`
//! on arbitrary bytes: never panic, and every refusal is one line. Same
//! entry points as `crates/ai-proxy-cli/tests/props.rs`.
#![no_main]

use ai_proxy_cli::{check, response, sse, translate};
use clap::Parser;
use libfuzzer_sys::fuzz_target;

#[derive(Parser)]
struct Cli<A: clap::Args> {
    #[command(flatten)]
    args: A,
}

fn args<A: clap::Args>(argv: &[&str]) -> A {
    Cli::<A>::parse_from(argv).args
}

const PROTOCOLS: [&str; 7] = [
    "openai-chat",
    "openai-responses",
    "anthropic-messages",
    "gemini",
    "openai-embeddings",
    "bedrock-converse",
    "bedrock-invoke",
];

const OPENAI: &str = r#"{"provider":"openai","auth":{"header":{"Authorization":"Bearer k"}}}"#;

fuzz_target!(|data: &[u8]| {
    let protocol = PROTOCOLS[usize::from(data.first().copied().unwrap_or(0)) % PROTOCOLS.len()];
    let text = String::from_utf8_lossy(data);

    if let Err(errors) = check::load(&text) {
        assert!(!errors.is_empty());
    }

    let t: translate::Args = args(&["translate", "--config", "unused"]);
    for config in [text.as_ref(), OPENAI] {
        if let Ok(prepared) = translate::translate(&t, config, bytes::Bytes::copy_from_slice(data)) {
            let printed = serde_json::to_string(&translate::Rendered::new(&prepared, false)).unwrap();
            assert!(!printed.contains("Bearer k"));
        }
    }

    for extra in [&[][..], &["--no-text"], &["--text-only"]] {
        let mut argv = vec!["sse", "--protocol", protocol];
        argv.extend_from_slice(extra);
        let s: sse::Args = args(&argv);
        let verdict = sse::summarise(&s, Box::new(std::io::Cursor::new(data.to_vec())), &mut Vec::new());
        if let Ok(Err(message)) = verdict {
            assert!(!message.contains('\n'));
        }
    }
    let e: sse::Args = args(&["sse", "--protocol", protocol]);
    let _ = sse::print_events(e.protocol, Box::new(std::io::Cursor::new(data.to_vec())), &mut Vec::new());

    let r: response::Args = args(&["response", "--protocol", protocol]);
    if let Err(message) = response::answer(&r, data.to_vec()).verdict {
        assert!(!message.contains('\n'));
    }
});
