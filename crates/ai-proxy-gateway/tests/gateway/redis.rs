//! `ai-rate-limiting` with `policy: redis` against a real `redis-server`
//! this test starts on a free loopback port (and stops): two gateways
//! share one budget; Redis killed mid-test → `allow_degradation`'s answer.
//!
//! `redis-server` must be installed (`.ci/run` installs it); without it
//! these tests fail, they never skip.

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::CHAT;
use crate::harness::{Gateway, Reply, Script, Upstream, openai_json, post_with};

/// A `redis-server` on 127.0.0.1, stopped on drop.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts `redis-server` with `args` on a free port and waits until it
    /// answers.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with(|port| {
            let mut all = base_args(port);
            all.extend(args.iter().map(|a| (*a).to_owned()));
            all
        })
    }

    /// Starts `redis-server` with the arguments `args(port)` on a free
    /// port and waits until it answers.
    pub fn start_with(args: impl FnOnce(u16) -> Vec<String>) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(args(port))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| match e.kind() {
                ErrorKind::NotFound => panic!(
                    "redis-server is not installed: these tests need a real Redis; install it \
                     with `apt-get install -y redis-server` (.ci/run does)"
                ),
                _ => panic!("redis-server failed to start: {e}"),
            });
        let server = Self {
            port,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on {port}"
            );
            thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// Kills the server (as a crash would) and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn client(&self, password: Option<&str>) -> redis::Connection {
        let url = match password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        };
        redis::Client::open(url).unwrap().get_connection().unwrap()
    }

    /// Tokens charged over every ai-rate-limiting counter.
    pub fn charged(&self, password: Option<&str>) -> i64 {
        let mut c = self.client(password);
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("ai-proxy:ai-rate-limiting:*")
            .query(&mut c)
            .unwrap();
        keys.iter()
            .map(|k| redis::cmd("GET").arg(k).query::<i64>(&mut c).unwrap())
            .sum()
    }

    /// Waits until `tokens` are charged (charges land after the response).
    pub fn wait_charged(&self, password: Option<&str>, tokens: i64) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let charged = self.charged(password);
            if charged == tokens {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "charged {charged}, expected {tokens}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Loopback only, nothing written to disk.
pub fn base_args(port: u16) -> Vec<String> {
    [
        "--bind",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "no",
    ]
    .map(str::to_owned)
    .to_vec()
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Every response costs 3 + 4 = 7 tokens.
pub fn upstream() -> Upstream {
    Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o", 3, 4),
    })
}

fn redis_route(up: &Upstream, redis: &RedisServer, extra: &str) -> String {
    format!(
        "version: \"1\"\nroutes:\n  - id: r\n    uri: /v1/chat/completions\n    plugins:\n      ai-rate-limiting: {{limit: 20, time_window: 60, policy: redis, redis_host: 127.0.0.1, redis_port: {}, redis_timeout: 500{extra}}}\n      ai-proxy: {{provider: openai, auth: {{}}, override: {{endpoint: \"http://{}\"}}}}\n",
        redis.port, up.addr
    )
}

pub fn chat(gw: &Gateway) -> Reply {
    post_with(gw.addr, "/v1/chat/completions", CHAT, &[])
}

pub fn remaining(reply: &Reply) -> &str {
    &reply.headers["x-ai-ratelimit-remaining-ai-proxy-openai"]
}

#[test]
fn two_gateways_sharing_one_redis_enforce_one_budget() {
    let redis = RedisServer::start(&[]);
    let up = upstream();
    let config = redis_route(&up, &redis, "");
    let (one, two) = (Gateway::start(&config), Gateway::start(&config));
    let first = chat(&one);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.headers["x-ai-ratelimit-limit-ai-proxy-openai"], "20");
    assert_eq!(remaining(&first), "20");
    assert_eq!(first.headers["x-ai-ratelimit-reset-ai-proxy-openai"], "60");
    redis.wait_charged(None, 7);
    let second = chat(&two);
    assert_eq!((second.status, remaining(&second)), (200, "13"));
    let reset: f64 = second.headers["x-ai-ratelimit-reset-ai-proxy-openai"]
        .parse()
        .unwrap();
    assert!(reset > 0.0 && reset <= 60.0, "{reset}");
    redis.wait_charged(None, 14);
    let third = chat(&one);
    assert_eq!((third.status, remaining(&third)), (200, "6"));
    redis.wait_charged(None, 21);
    // 21 of 20 spent, by both gateways together.
    for gw in [&two, &one] {
        let rejected = chat(gw);
        assert_eq!(rejected.status, 503, "{}", rejected.body);
        assert_eq!(remaining(&rejected), "0");
    }
    assert_eq!(up.requests().len(), 3);
}

#[test]
fn redis_killed_mid_test_with_degradation_serves_unlimited() {
    let mut redis = RedisServer::start(&[]);
    let up = upstream();
    let gw = Gateway::start(&redis_route(&up, &redis, ", allow_degradation: true"));
    let first = chat(&gw);
    assert_eq!((first.status, remaining(&first)), (200, "20"));
    redis.wait_charged(None, 7);
    redis.kill();
    for _ in 0..3 {
        let started = Instant::now();
        let reply = chat(&gw);
        assert_eq!(reply.status, 200, "{}", reply.body);
        // Served without the limit: no quota to show.
        assert!(
            !reply
                .headers
                .contains_key("x-ai-ratelimit-remaining-ai-proxy-openai")
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    assert_eq!(up.requests().len(), 4);
}

#[test]
fn redis_killed_mid_test_without_degradation_answers_500() {
    let mut redis = RedisServer::start(&[]);
    let up = upstream();
    let gw = Gateway::start(&redis_route(&up, &redis, ""));
    assert_eq!(chat(&gw).status, 200);
    redis.wait_charged(None, 7);
    redis.kill();
    for _ in 0..2 {
        let reply = chat(&gw);
        assert_eq!(reply.status, 500, "{}", reply.body);
        assert_eq!(reply.body, r#"{"error_msg":"failed to limit count"}"#);
    }
    assert_eq!(up.requests().len(), 1);
}

#[test]
fn the_redis_password_authenticates_and_never_appears_in_logs() {
    let redis = RedisServer::start(&["--requirepass", "hunter2-redis"]);
    let up = upstream();
    let gw = Gateway::start(&redis_route(&up, &redis, ", redis_password: hunter2-redis"));
    let reply = chat(&gw);
    assert_eq!((reply.status, remaining(&reply)), (200, "20"));
    redis.wait_charged(Some("hunter2-redis"), 7);
    let wrong = Gateway::start(&redis_route(&up, &redis, ", redis_password: wrong-pass"));
    let refused = chat(&wrong);
    assert_eq!(refused.status, 500, "{}", refused.body);
    for gw in [&gw, &wrong] {
        let log = gw.access_log().to_string();
        assert!(
            !log.contains("hunter2") && !log.contains("wrong-pass"),
            "{log}"
        );
    }
}
