//! `ai-rate-limiting` shared through a Redis Cluster (three masters made
//! with `redis-cli --cluster create`) and through Sentinel, each started
//! by the test on free loopback ports.

use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::CHAT;
use crate::harness::{Gateway, Upstream, post_with};
use crate::redis::{RedisServer, base_args, chat, remaining, upstream};

/// A scratch directory (cluster node files, sentinel config), removed on
/// drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ai-proxy-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// Three cluster masters sharing the 16384 slots.
fn cluster(scratch: &Scratch) -> Vec<RedisServer> {
    let nodes: Vec<RedisServer> = (0..3)
        .map(|_| {
            RedisServer::start_with(|port| {
                let mut args = base_args(port);
                let dir = scratch.0.display().to_string();
                let file = format!("nodes-{port}.conf");
                args.extend(
                    [
                        "--cluster-enabled",
                        "yes",
                        "--dir",
                        &dir,
                        "--cluster-config-file",
                        &file,
                    ]
                    .map(str::to_owned),
                );
                args
            })
        })
        .collect();
    let mut create = Command::new("redis-cli");
    create.arg("--cluster").arg("create");
    for node in &nodes {
        create.arg(format!("127.0.0.1:{}", node.port));
    }
    let out = create
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .expect("redis-cli (installed with redis-server) creates the cluster");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for node in &nodes {
        until("cluster_state:ok", || {
            let info: String = redis::cmd("CLUSTER")
                .arg("INFO")
                .query(&mut node.client(None))
                .unwrap();
            info.contains("cluster_state:ok")
        });
    }
    nodes
}

fn team_route(up: &Upstream, policy: &str) -> String {
    format!(
        "version: \"1\"\nroutes:\n  - id: r\n    uri: /v1/chat/completions\n    plugins:\n      ai-rate-limiting:\n        rules:\n          - {{count: 20, time_window: 60, key: $http_x_team, header_prefix: team}}\n        {policy}\n      ai-proxy: {{provider: openai, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n",
        up.addr
    )
}

#[test]
fn two_gateways_sharing_a_redis_cluster_enforce_one_budget_per_key() {
    let scratch = Scratch::new("redis-cluster");
    let nodes = cluster(&scratch);
    let up = upstream();
    let seeds: Vec<String> = nodes
        .iter()
        .map(|n| format!("\"127.0.0.1:{}\"", n.port))
        .collect();
    let config = team_route(
        &up,
        &format!(
            "policy: redis-cluster\n        redis_cluster_nodes: [{}]\n        redis_cluster_name: test\n        redis_timeout: 1000",
            seeds.join(", ")
        ),
    );
    let (one, two) = (Gateway::start(&config), Gateway::start(&config));
    let charged = || nodes.iter().map(|n| n.charged(None)).sum::<i64>();
    // Their counters' slots fall on all three masters.
    let teams = ["red", "pink", "onyx", "blue", "rose", "gray"];
    for (i, team) in teams.iter().enumerate() {
        let first = post_with(one.addr, "/v1/chat/completions", CHAT, &[("x-team", team)]);
        assert_eq!(first.status, 200, "{}", first.body);
        assert_eq!(first.headers["x-ai-team-ratelimit-remaining"], "20");
        let spent = 7 * (2 * i as i64 + 1);
        until("the charge", || charged() == spent);
        let second = post_with(two.addr, "/v1/chat/completions", CHAT, &[("x-team", team)]);
        assert_eq!(
            second.headers["x-ai-team-ratelimit-remaining"], "13",
            "{team}"
        );
        until("the charge", || charged() == spent + 7);
    }
    let holding = nodes.iter().filter(|n| n.charged(None) > 0).count();
    assert_eq!(holding, 3);
}

#[test]
fn two_gateways_sharing_redis_through_sentinel_enforce_one_budget() {
    let scratch = Scratch::new("redis-sentinel");
    let master = RedisServer::start(&[]);
    let conf = scratch.0.join("sentinel.conf");
    std::fs::write(
        &conf,
        format!("sentinel monitor mymaster 127.0.0.1 {} 1\n", master.port),
    )
    .unwrap();
    let sentinel = RedisServer::start_with(|port| {
        vec![
            conf.display().to_string(),
            "--sentinel".to_owned(),
            "--port".to_owned(),
            port.to_string(),
            "--bind".to_owned(),
            "127.0.0.1".to_owned(),
            "--protected-mode".to_owned(),
            "no".to_owned(),
        ]
    });
    until("sentinel to know the master", || {
        let addr: Option<(String, u16)> = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg("mymaster")
            .query(&mut sentinel.client(None))
            .unwrap_or(None);
        addr == Some(("127.0.0.1".to_owned(), master.port))
    });
    let up = upstream();
    let config = format!(
        "version: \"1\"\nroutes:\n  - id: r\n    uri: /v1/chat/completions\n    plugins:\n      ai-rate-limiting: {{limit: 10, time_window: 60, policy: redis-sentinel, redis_sentinels: [{{host: 127.0.0.1, port: {}}}], redis_master_name: mymaster}}\n      ai-proxy: {{provider: openai, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n",
        sentinel.port, up.addr
    );
    let (one, two) = (Gateway::start(&config), Gateway::start(&config));
    let first = chat(&one);
    assert_eq!((first.status, remaining(&first)), (200, "10"));
    master.wait_charged(None, 7);
    let second = chat(&two);
    assert_eq!((second.status, remaining(&second)), (200, "3"));
    master.wait_charged(None, 14);
    let rejected = chat(&one);
    assert_eq!((rejected.status, remaining(&rejected)), (503, "0"));
}
