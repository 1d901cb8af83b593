//! The in-flight body budget bounds memory: 16 clients send 60 MB bodies
//! at once; the ones past the default 256 MiB budget get 503 before their
//! bodies are read, and the process's peak RSS stays near the budget
//! (without it: 1.69 GB). Its own test binary (its own process), so the
//! RSS measured is the gateway's and this test's alone; the upstream here
//! reads and drops bodies in 64 KiB pieces.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[allow(dead_code)]
#[path = "gateway/harness.rs"]
mod harness;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use harness::{Gateway, openai_json};

const BODY_BYTES: usize = 60 * 1024 * 1024;
const CLIENTS: usize = 16;
const PREFIX: &str = r#"{"messages":[{"role":"user","content":""#;
const SUFFIX: &str = r#""}]}"#;

/// An upstream that reads each body in 64 KiB pieces, keeps none of it,
/// and answers a small completion.
fn discarding_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line.trim_end().is_empty() {
                            break;
                        }
                        if let Some((k, v)) = line.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    let mut piece = vec![0u8; 64 * 1024];
                    while length > 0 {
                        let n = reader.read(&mut piece[..length.min(64 * 1024)]).unwrap();
                        if n == 0 {
                            return;
                        }
                        length -= n;
                    }
                    let body = openai_json("gpt-4o", 1, 1);
                    let _ = write!(
                        writer,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                }
            });
        }
    });
    addr
}

/// Sends one 60 MB chat body the way curl does (`Expect: 100-continue`,
/// the body only after the go-ahead), streamed from a 64 KiB piece; the
/// final status.
fn send_big_body(gateway: SocketAddr) -> u16 {
    let mut stream = TcpStream::connect(gateway).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: {BODY_BYTES}\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let status = |line: &str| -> u16 { line.split_whitespace().nth(1).unwrap().parse().unwrap() };
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    if status(&line) != 100 {
        return status(&line);
    }
    // The blank line after `100 Continue`.
    reader.read_line(&mut String::new()).unwrap();
    let piece = vec![b'x'; 64 * 1024];
    let mut left = BODY_BYTES - PREFIX.len() - SUFFIX.len();
    stream.write_all(PREFIX.as_bytes()).unwrap();
    while left > 0 {
        let n = left.min(piece.len());
        stream.write_all(&piece[..n]).unwrap();
        left -= n;
    }
    stream.write_all(SUFFIX.as_bytes()).unwrap();
    line.clear();
    reader.read_line(&mut line).unwrap();
    status(&line)
}

/// `VmRSS` / `VmHWM` of this process, in MiB.
fn rss_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    kib / 1024.0
}

#[test]
fn bodies_past_the_budget_get_503_and_memory_stays_bounded() {
    let upstream = discarding_upstream();
    let config = format!(
        "version: \"1\"\nroutes:\n  - uri: /v1/chat/completions\n    plugins:\n      ai-proxy: {{provider: openai, auth: {{}}, override: {{endpoint: \"http://{upstream}\"}}}}\n"
    );
    let gw = Gateway::start(&config);
    let idle = rss_mib("VmRSS:");
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let addr = gw.addr;
            thread::spawn(move || send_big_body(addr))
        })
        .collect();
    let statuses: Vec<u16> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let (peak, after) = (rss_mib("VmHWM:"), rss_mib("VmRSS:"));
    let served = statuses.iter().filter(|&&s| s == 200).count();
    let refused = statuses.iter().filter(|&&s| s == 503).count();
    eprintln!(
        "{CLIENTS} × 60 MB bodies: {served} served, {refused} refused (503); RSS idle {idle:.0} MiB, \
         peak {peak:.0} MiB, after {after:.0} MiB"
    );
    assert_eq!(served + refused, CLIENTS, "{statuses:?}");
    assert!(served >= 1 && refused >= 1, "{statuses:?}");
    // The budget is 256 MiB of bodies; each may be held once more while it
    // is prepared and sent.
    assert!(peak < idle + 2.5 * 256.0, "peak RSS {peak:.0} MiB");
}
