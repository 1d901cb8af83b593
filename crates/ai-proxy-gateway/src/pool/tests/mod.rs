//! The pool against real upstreams: std threads on 127.0.0.1 speaking
//! HTTP/1.1 (and TLS, through rustls), counting connections.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;

use super::TransportError;
use super::{Pool, UpstreamBody};
use crate::upstream::{self, Key, connector};

/// What the upstream does after answering a request on a connection.
#[derive(Clone, Copy, PartialEq)]
enum After {
    /// Wait for the next request.
    KeepOpen,
    /// Answer with `Connection: close` and close.
    Close,
    /// Close without saying so, when the test says (`Upstream::close`).
    CloseWhenTold,
}

/// A request line and `Host`, with the connection it came on.
#[derive(Clone, Debug)]
struct Seen {
    connection: usize,
    line: String,
    host: String,
}

struct Upstream {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Connections the gateway closed (the upstream read EOF between
    /// requests), by index.
    closed_by_peer: Arc<Mutex<Vec<usize>>>,
    close: Mutex<mpsc::Sender<()>>,
}

type Stream = Box<dyn ReadWrite>;
trait ReadWrite: Read + Write + Send {}
impl<T: Read + Write + Send> ReadWrite for T {}

impl Upstream {
    fn start(after: After) -> Self {
        Self::serving(after, |tcp| Box::new(tcp))
    }

    /// A TLS upstream (the throwaway certificate under tests/fixtures).
    fn tls(after: After) -> Self {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let cert = CertificateDer::from_pem_slice(include_bytes!(
            "../../../tests/fixtures/pool-test-cert.pem"
        ))
        .unwrap();
        let key = PrivateKeyDer::from_pem_slice(include_bytes!(
            "../../../tests/fixtures/pool-test-key.pem"
        ))
        .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        let config = Arc::new(config);
        Self::serving(after, move |tcp| {
            let conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
            Box::new(rustls::StreamOwned::new(conn, tcp))
        })
    }

    fn serving(after: After, wrap: impl Fn(TcpStream) -> Stream + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let closed_by_peer = Arc::new(Mutex::new(Vec::new()));
        let (close, told) = mpsc::channel::<()>();
        let told = Arc::new(Mutex::new(told));
        let (s, c) = (Arc::clone(&seen), Arc::clone(&closed_by_peer));
        thread::spawn(move || {
            for (connection, tcp) in listener.incoming().enumerate() {
                let Ok(tcp) = tcp else { continue };
                let stream = wrap(tcp);
                let (s, c, told) = (Arc::clone(&s), Arc::clone(&c), Arc::clone(&told));
                thread::spawn(move || serve(connection, stream, after, &s, &c, &told));
            }
        });
        Self {
            addr,
            seen,
            closed_by_peer,
            close: Mutex::new(close),
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn connections(&self) -> usize {
        self.seen()
            .iter()
            .map(|s| s.connection + 1)
            .max()
            .unwrap_or(0)
    }

    /// Lets a `CloseWhenTold` connection close.
    fn close(&self) {
        self.close.lock().unwrap().send(()).unwrap();
    }

    fn closed_by_peer(&self) -> Vec<usize> {
        self.closed_by_peer.lock().unwrap().clone()
    }

    fn uri(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://{}{path}", self.addr)
    }
}

fn serve(
    connection: usize,
    stream: Stream,
    after: After,
    seen: &Mutex<Vec<Seen>>,
    closed_by_peer: &Mutex<Vec<usize>>,
    told: &Mutex<mpsc::Receiver<()>>,
) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            closed_by_peer.lock().unwrap().push(connection);
            return;
        }
        let mut host = String::new();
        let mut length = 0;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (name, value) = h.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "host" => host = value.trim().to_owned(),
                "content-length" => length = value.trim().parse().unwrap(),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        seen.lock().unwrap().push(Seen {
            connection,
            line: line.trim_end().to_owned(),
            host,
        });
        let close = if after == After::Close {
            "connection: close\r\n"
        } else {
            ""
        };
        let answer = format!(
            "HTTP/1.1 200 OK\r\n{close}x-connection: {connection}\r\ncontent-length: 2\r\n\r\nok"
        );
        let stream = reader.get_mut();
        stream.write_all(answer.as_bytes()).unwrap();
        stream.flush().unwrap();
        match after {
            After::KeepOpen => {}
            After::Close => return,
            After::CloseWhenTold => {
                let _ = told.lock().unwrap().recv();
                return;
            }
        }
    }
}

fn key(keepalive: bool, keepalive_timeout: Duration, keepalive_pool: u64) -> Key {
    Key {
        timeout: Duration::from_secs(5),
        keepalive,
        keepalive_timeout,
        keepalive_pool,
        ssl_verify: false,
    }
}

fn pool(keepalive_timeout: Duration, keepalive_pool: u64) -> Arc<Pool> {
    let key = key(keepalive_pool > 0, keepalive_timeout, keepalive_pool);
    Arc::new(upstream::pool(key, connector(key).unwrap()))
}

async fn send(pool: &Arc<Pool>, uri: &str) -> Result<Response<UpstreamBody>, TransportError> {
    let request = Request::post(uri).body(Bytes::from_static(b"{}")).unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        Arc::clone(pool).send(request, Instant::now()),
    )
    .await
    .expect("the pool answers within 10 s")
}

/// One request, its body read to the end.
async fn get(pool: &Arc<Pool>, uri: &str) -> Bytes {
    let response = send(pool, uri).await.unwrap();
    assert_eq!(response.status(), 200);
    response.into_body().collect().await.unwrap().to_bytes()
}

/// Until `check` holds (the upstream's threads report asynchronously).
async fn eventually(check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "not within 5 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_connection_is_reused_once_its_response_is_read() {
    let up = Upstream::start(After::KeepOpen);
    let pool = pool(Duration::from_secs(60), 4);
    for _ in 0..3 {
        assert_eq!(get(&pool, &up.uri("http", "/v1/chat")).await, "ok");
    }
    assert_eq!(up.connections(), 1);
    assert_eq!(pool.idle_count(&up.uri("http", "/").parse().unwrap()), 1);
}

#[test]
fn a_shared_pool_on_a_multi_thread_runtime_reuses_connections() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let up = Upstream::start(After::KeepOpen);
    let pool = pool(Duration::from_secs(60), 4);
    runtime.block_on(async {
        for _ in 0..5 {
            let pool = Arc::clone(&pool);
            let uri = up.uri("http", "/v1/chat");
            // Each request from a task of its own, on either thread.
            let body = tokio::spawn(async move { get(&pool, &uri).await })
                .await
                .unwrap();
            assert_eq!(body, "ok");
        }
    });
    assert_eq!(up.connections(), 1);
}

#[tokio::test]
async fn the_request_line_is_origin_form_and_host_comes_from_the_uri() {
    let up = Upstream::start(After::KeepOpen);
    let pool = pool(Duration::from_secs(60), 4);
    get(&pool, &up.uri("http", "/v1/chat/completions?api-version=1")).await;
    get(&pool, &up.uri("http", "")).await;
    let request = Request::post(up.uri("http", "/x"))
        .header(http::header::HOST, "api.example.com")
        .body(Bytes::new())
        .unwrap();
    let response = Arc::clone(&pool)
        .send(request, Instant::now())
        .await
        .unwrap();
    response.into_body().collect().await.unwrap();
    let seen = up.seen();
    let lines: Vec<_> = seen.iter().map(|s| s.line.as_str()).collect();
    assert_eq!(
        lines,
        [
            "POST /v1/chat/completions?api-version=1 HTTP/1.1",
            "POST / HTTP/1.1",
            "POST /x HTTP/1.1"
        ]
    );
    let hosts: Vec<_> = seen.iter().map(|s| s.host.as_str()).collect();
    let own = up.addr.to_string();
    assert_eq!(hosts, [own.as_str(), own.as_str(), "api.example.com"]);
}

#[tokio::test]
async fn an_idle_connection_past_the_keepalive_timeout_is_not_reused() {
    let up = Upstream::start(After::KeepOpen);
    let pool = pool(Duration::from_millis(100), 4);
    get(&pool, &up.uri("http", "/a")).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    get(&pool, &up.uri("http", "/b")).await;
    assert_eq!(up.connections(), 2);
    // The expired one was closed when the pool next looked.
    eventually(|| up.closed_by_peer() == [0]).await;
}

#[tokio::test]
async fn at_most_keepalive_pool_connections_stay_idle_the_oldest_closed() {
    let up = Upstream::start(After::KeepOpen);
    let pool = pool(Duration::from_secs(60), 2);
    let uri = up.uri("http", "/v1/chat");
    // Three at once: three connections.
    let (a, b, c) = tokio::join!(send(&pool, &uri), send(&pool, &uri), send(&pool, &uri));
    assert_eq!(up.connections(), 3);
    let origin = uri.parse().unwrap();
    let mut read_first = None;
    for response in [a, b, c] {
        let response = response.unwrap();
        read_first = read_first.or(Some(
            response.headers()["x-connection"]
                .to_str()
                .unwrap()
                .to_owned(),
        ));
        response.into_body().collect().await.unwrap();
    }
    assert_eq!(pool.idle_count(&origin), 2);
    // The least recently used one (read first) is the one closed.
    let first: usize = read_first.unwrap().parse().unwrap();
    eventually(|| up.closed_by_peer() == [first]).await;
    get(&pool, &uri).await;
    assert_eq!(up.connections(), 3);
}

#[tokio::test]
async fn keepalive_false_opens_a_connection_per_request_and_closes_it() {
    let up = Upstream::start(After::KeepOpen);
    let pool = pool(Duration::from_secs(60), 0);
    get(&pool, &up.uri("http", "/a")).await;
    get(&pool, &up.uri("http", "/b")).await;
    assert_eq!(up.connections(), 2);
    eventually(|| up.closed_by_peer().len() == 2).await;
}

#[tokio::test]
async fn a_body_dropped_before_its_end_takes_its_connection_along() {
    let up = Upstream::start(After::KeepOpen);
    let pool = pool(Duration::from_secs(60), 4);
    let response = send(&pool, &up.uri("http", "/a")).await.unwrap();
    drop(response);
    get(&pool, &up.uri("http", "/b")).await;
    assert_eq!(up.connections(), 2);
}

#[tokio::test]
async fn an_upstream_closing_after_its_answer_gets_the_next_request_on_a_new_connection() {
    let up = Upstream::start(After::Close);
    let pool = pool(Duration::from_secs(60), 4);
    for _ in 0..3 {
        assert_eq!(get(&pool, &up.uri("http", "/a")).await, "ok");
    }
    assert_eq!(up.connections(), 3);
}

#[tokio::test]
async fn a_request_a_reused_connection_could_not_write_is_sent_again() {
    let up = Upstream::start(After::KeepOpen);
    let pool = pool(Duration::from_secs(60), 4);
    let uri: http::Uri = up.uri("http", "/a").parse().unwrap();
    // An idle connection that still looks open (its peer says nothing)
    // but fails the first write: its sending side is shut.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut tcp = tokio::net::TcpStream::connect(silent.local_addr().unwrap())
        .await
        .unwrap();
    let _held = silent.accept().unwrap();
    tokio::io::AsyncWriteExt::shutdown(&mut tcp).await.unwrap();
    let transport = hyper_rustls::MaybeHttpsStream::Http(hyper_util::rt::TokioIo::new(tcp));
    let (scheme, authority) = (
        uri.scheme().unwrap().clone(),
        uri.authority().unwrap().clone(),
    );
    pool.checkin(
        scheme,
        authority,
        super::Connection::new(transport),
        Instant::now(),
    );
    assert_eq!(pool.idle_count(&uri), 1);
    let response = send(&pool, &uri.to_string()).await.unwrap();
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "ok"
    );
    let lines: Vec<_> = up.seen().into_iter().map(|s| s.line).collect();
    assert_eq!(lines, ["POST /a HTTP/1.1"]);
    assert_eq!(up.connections(), 1);
}

#[tokio::test]
async fn an_upstream_closing_an_idle_connection_is_noticed_before_reuse() {
    let up = Upstream::start(After::CloseWhenTold);
    let pool = pool(Duration::from_secs(60), 4);
    get(&pool, &up.uri("http", "/a")).await;
    up.close();
    // The FIN arrives while the connection is idle; nothing watches it,
    // the checkout's read finds it.
    tokio::time::sleep(Duration::from_millis(100)).await;
    get(&pool, &up.uri("http", "/b")).await;
    assert_eq!(up.connections(), 2);
}

#[tokio::test]
async fn a_request_on_a_new_connection_is_not_sent_twice() {
    // A port nobody listens on: connecting fails, once.
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let pool = pool(Duration::from_secs(60), 4);
    let error = send(&pool, &format!("http://{free}/a")).await.unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    let request = Request::post("/relative").body(Bytes::new()).unwrap();
    let error = Arc::clone(&pool)
        .send(request, Instant::now())
        .await
        .unwrap_err();
    assert!(matches!(error, TransportError::NotAbsolute), "{error:?}");
}

#[tokio::test]
async fn a_tls_route_goes_through_the_pool_and_reuses_its_connection() {
    let up = Upstream::tls(After::KeepOpen);
    let pool = pool(Duration::from_secs(60), 4);
    for _ in 0..3 {
        assert_eq!(get(&pool, &up.uri("https", "/v1/chat")).await, "ok");
    }
    assert_eq!(up.connections(), 1);
    assert_eq!(pool.idle_count(&up.uri("https", "/").parse().unwrap()), 1);
}

#[tokio::test]
async fn a_failed_tls_handshake_is_named_as_such() {
    // TLS to a plain HTTP server: it answers the ClientHello with a 400.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        if let Ok((mut tcp, _)) = listener.accept() {
            let _ = tcp.read(&mut [0; 512]);
            let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let pool = pool(Duration::from_secs(60), 4);
    let source = send(&pool, &format!("https://{addr}/v1/chat"))
        .await
        .unwrap_err();
    assert!(source.is_connect(), "{source:?}");
    let failure = crate::error::AttemptFailure::Transport { source };
    let message = failure.client_message(ai_proxy::Provider::OpenAi, Duration::from_secs(5));
    assert!(message.contains("TLS handshake failed"), "{message}");
    assert_eq!(failure.status(), 502);
}

#[tokio::test]
async fn a_refused_connection_is_named_as_such() {
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let pool = pool(Duration::from_secs(60), 4);
    let source = send(&pool, &format!("http://{free}/a")).await.unwrap_err();
    let failure = crate::error::AttemptFailure::Transport { source };
    let message = failure.client_message(ai_proxy::Provider::OpenAi, Duration::from_secs(5));
    assert!(message.contains("connection refused"), "{message}");
    assert!(!message.contains(&free.to_string()), "{message}");
    assert_eq!(failure.status(), 502);
}

mod scripted;
