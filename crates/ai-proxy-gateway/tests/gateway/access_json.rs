//! `JsonAccessLog` writes the very line `TracingAccessLog` gives through
//! the JSON subscriber: both sinks see each record, lines compared byte for
//! byte after the timestamp.

use std::io::Write;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use ai_proxy_gateway::access_log::{AccessLog, AccessRecord, JsonAccessLog, TracingAccessLog};

use super::harness::{Gateway, Script, Upstream, openai_events, openai_json, post};
use super::openai_route;

/// Each record to both sinks: the tracing one (captured by the harness) and
/// the direct JSON one (captured here).
struct Both {
    json: JsonAccessLog<Lines>,
}

impl AccessLog for Both {
    fn log(&self, record: &AccessRecord) {
        TracingAccessLog.log(record);
        self.json.log(record);
    }
}

#[derive(Clone)]
struct Lines(Arc<Mutex<mpsc::Sender<String>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = String::from_utf8(buf.to_vec()).unwrap();
        self.0.lock().unwrap().send(line).unwrap();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Lines {
    type Writer = Lines;

    fn make_writer(&'a self) -> Lines {
        self.clone()
    }
}

/// The line without its timestamp (the two sinks read the clock apart).
fn untimed(line: &str) -> &str {
    assert!(line.starts_with("{\"timestamp\":\""), "{line}");
    let rest = &line["{\"timestamp\":\"".len()..];
    &rest[rest.find('"').unwrap()..]
}

fn gateway(config: &str) -> (Gateway, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let sink = Arc::new(Both {
        json: JsonAccessLog::new(Lines(Arc::new(Mutex::new(tx)))),
    });
    (Gateway::with(config, |b| b.access_log(sink)), rx)
}

fn assert_same_lines(gw: &Gateway, direct: &mpsc::Receiver<String>) {
    let traced = gw.access_line_within(Duration::from_secs(5)).unwrap();
    let written = direct.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(written.ends_with('\n'), "{written}");
    assert_eq!(untimed(written.trim_end()), untimed(&traced));
}

#[test]
fn json_access_lines_equal_the_tracing_ones_with_summaries_and_payloads() {
    let up = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("gpt-4o-2024-08-06", 11, 7),
    });
    let (gw, direct) = gateway(&openai_route(
        &up,
        ", options: {model: gpt-4o}, logging: {summaries: true, payloads: true}",
    ));
    let body = r#"{"model":"gpt-4","user":"u-\"42\"","messages":[{"role":"user","content":"h\u00e9 \n\t \\ ✓"}]}"#;
    assert_eq!(post(gw.addr, "/v1/chat/completions", body).status, 200);
    assert_same_lines(&gw, &direct);
}

#[test]
fn json_access_lines_equal_the_tracing_ones_for_a_stream() {
    let up = Upstream::start(|_| Script::Stream {
        events: openai_events("gpt-4o", &["a", "b"], 3, 2),
        gap: Duration::ZERO,
    });
    let (gw, direct) = gateway(&openai_route(&up, ""));
    let body = r#"{"messages":[{"role":"user","content":"hi"}],"stream":true}"#;
    assert_eq!(post(gw.addr, "/v1/chat/completions", body).status, 200);
    assert_same_lines(&gw, &direct);
}

#[test]
fn json_access_lines_equal_the_tracing_ones_for_gateway_answers() {
    let up = Upstream::start(|_| Script::Reply {
        status: 401,
        content_type: "application/json",
        body: r#"{"error":{"message":"bad key"}}"#.to_owned(),
    });
    let (gw, direct) = gateway(&openai_route(&up, ""));
    let chat = r#"{"messages":[{"role":"user","content":"hi"}]}"#;
    assert_eq!(post(gw.addr, "/nowhere", chat).status, 404);
    assert_same_lines(&gw, &direct);
    assert_eq!(post(gw.addr, "/v1/chat/completions", chat).status, 401);
    assert_same_lines(&gw, &direct);
}
