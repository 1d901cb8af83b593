//! At the connection cap the gateway waits, it does not spin: idle
//! connections fill every slot, more clients queue in the listen backlog,
//! and the process's CPU time stays flat; when slots free up, the queued
//! clients are served. Its own test binary (its own process), so the CPU
//! measured is the gateway's and this test's alone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[allow(dead_code)]
#[path = "gateway/harness.rs"]
mod harness;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use cpu_time::ProcessTime;
use harness::{Gateway, Script, Upstream, openai_json, read_reply};

const CHAT: &str = r#"{"messages":[{"role":"user","content":"hi"}]}"#;
const CAP: usize = 64;

#[test]
fn idle_connections_at_the_cap_cost_no_cpu_and_queued_clients_are_served_later() {
    let up = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o", 1, 1),
    });
    let config = format!(
        "version: \"1\"\nroutes:\n  - uri: /v1/chat/completions\n    plugins:\n      ai-proxy: {{provider: openai, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n",
        up.addr
    );
    let gw = Gateway::with(&config, |b| {
        b.settings(harness::settings().with_max_connections(CAP))
    });
    let idle: Vec<TcpStream> = (0..CAP)
        .map(|_| TcpStream::connect(gw.addr).unwrap())
        .collect();
    let queued: Vec<TcpStream> = (0..16)
        .map(|_| {
            let mut s = TcpStream::connect(gw.addr).unwrap();
            write!(
                s,
                "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{CHAT}",
                CHAT.len()
            )
            .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let (cpu, wall) = (ProcessTime::now(), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let (cpu, wall) = (cpu.elapsed(), wall.elapsed());
    eprintln!(
        "at the cap ({CAP} idle connections, 16 queued): process CPU {:?} over {:?} ({:.2} %)",
        cpu,
        wall,
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
    );
    // A busy accept loop would burn a whole core (~100 %).
    assert!(
        cpu.as_secs_f64() < 0.05 * wall.as_secs_f64(),
        "{cpu:?} of CPU over {wall:?} at the cap"
    );
    assert!(up.requests().is_empty(), "served past the cap");
    drop(idle);
    for mut s in queued {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        assert_eq!(read_reply(&mut s, usize::MAX).status, 200);
    }
}
