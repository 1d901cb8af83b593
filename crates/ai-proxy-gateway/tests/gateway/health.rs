//! Active health checks: `checks.active` probes run by the gateway take an
//! instance out of rotation and put it back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::harness::{Gateway, Script, Upstream, openai_json, post};
use crate::{CHAT, route};

/// Posts until `instance` answers, up to 5 s; how many requests it took.
fn until_served_by(gw: &Gateway, instance: &str) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    for n in 1.. {
        let reply = post(gw.addr, "/v1/chat/completions", CHAT);
        assert_eq!(reply.status, 200, "{}", reply.body);
        if gw.access_log()["picked_ai_instance_name"] == instance {
            return n;
        }
        assert!(Instant::now() < deadline, "{instance} never served");
        std::thread::sleep(Duration::from_millis(50));
    }
    unreachable!()
}

#[test]
fn active_probes_take_an_instance_out_and_put_it_back() {
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&healthy);
    let primary = Upstream::start(move |seen| {
        if seen.path == "/health" {
            let ok = flag.load(Ordering::SeqCst);
            Script::Reply {
                status: if ok { 200 } else { 500 },
                content_type: "text/plain",
                body: String::new(),
            }
        } else {
            Script::Reply {
                status: 200,
                content_type: "application/json",
                body: openai_json("primary-model", 1, 1),
            }
        }
    });
    let backup = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("backup-model", 1, 1),
    });
    let checks = "checks: {active: {http_path: /health, healthy: {interval: 0.1, successes: 1}, unhealthy: {interval: 0.1, http_failures: 1}}}";
    let config = route(
        "/v1/chat/completions",
        &format!(
            "ai-proxy-multi:\n        instances:\n          - {{name: primary, provider: openai, priority: 1, weight: 1, auth: {{}}, override: {{endpoint: \"http://{}\"}}, {checks}}}\n          - {{name: backup, provider: openai, priority: 0, weight: 1, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n",
            primary.addr, backup.addr
        ),
    );
    let gw = Gateway::start(&config);
    // The probe fails: traffic moves to the backup.
    until_served_by(&gw, "backup");
    assert!(
        primary.requests().iter().any(|s| s.path == "/health"),
        "no probe reached the primary"
    );
    // The probe passes again: the primary is back.
    healthy.store(true, Ordering::SeqCst);
    until_served_by(&gw, "primary");
}
