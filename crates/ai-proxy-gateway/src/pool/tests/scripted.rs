//! The pool against upstreams that write exact bytes: reuse and no reuse,
//! interim answers, malformed and cut answers, streamed chunks.

use super::*;
use crate::pool::h1::Http1Error;

/// An upstream answering every request with exactly `answer`, keeping the
/// connection open unless `close` (then it closes after answering);
/// counts its connections.
async fn scripted(answer: &'static [u8], close: bool) -> (String, Arc<Mutex<usize>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}/v1/chat", listener.local_addr().unwrap());
    let connections = Arc::new(Mutex::new(0));
    let counted = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            *counted.lock().unwrap() += 1;
            tokio::spawn(async move {
                let mut request = Vec::new();
                loop {
                    let mut buf = [0; 4096];
                    let Ok(n @ 1..) = tcp.read(&mut buf).await else {
                        return;
                    };
                    request.extend_from_slice(&buf[..n]);
                    // The pool's requests here: a head and `{}`.
                    if !request.ends_with(b"\r\n\r\n{}") {
                        continue;
                    }
                    request.clear();
                    tcp.write_all(answer).await.unwrap();
                    if close {
                        return;
                    }
                }
            });
        }
    });
    (uri, connections)
}

/// Two requests in a row, each body read to the end: how many
/// connections the upstream saw, and the bodies.
async fn twice(answer: &'static [u8], close: bool) -> (usize, Vec<Bytes>) {
    let (uri, connections) = scripted(answer, close).await;
    let pool = pool(Duration::from_secs(60), 4);
    let mut bodies = Vec::new();
    for _ in 0..2 {
        bodies.push(get(&pool, &uri).await);
    }
    let seen = *connections.lock().unwrap();
    (seen, bodies)
}

#[tokio::test]
async fn a_chunked_answer_read_to_its_end_leaves_its_connection_reusable() {
    let (connections, bodies) = twice(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(bodies, ["ok", "ok"]);
    assert_eq!(connections, 1);
}

#[tokio::test]
async fn connection_close_sends_the_next_request_on_a_new_connection() {
    // The upstream says so but keeps the socket open: the pool must not
    // reuse it all the same.
    let (connections, bodies) = twice(
        b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok",
        false,
    )
    .await;
    assert_eq!(bodies, ["ok", "ok"]);
    assert_eq!(connections, 2);
}

#[tokio::test]
async fn a_close_delimited_body_is_read_to_eof_and_its_connection_not_reused() {
    let (connections, bodies) = twice(b"HTTP/1.1 200 OK\r\n\r\nall of it", true).await;
    assert_eq!(bodies, ["all of it", "all of it"]);
    assert_eq!(connections, 2);
}

#[tokio::test]
async fn bytes_after_the_body_keep_the_connection_from_reuse() {
    let (connections, bodies) = twice(
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(bodies, ["ok", "ok"]);
    assert_eq!(connections, 2);
}

#[tokio::test]
async fn an_interim_100_continue_is_skipped() {
    let (_, bodies) = twice(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
        false,
    )
    .await;
    assert_eq!(bodies, ["ok", "ok"]);
}

#[tokio::test]
async fn an_answer_that_is_not_http_is_a_send_error() {
    let (uri, _) = scripted(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", true).await;
    let pool = pool(Duration::from_secs(60), 4);
    let error = send(&pool, &uri).await.unwrap_err();
    assert!(
        matches!(error, TransportError::Send(Http1Error::MalformedHead(_))),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_body_cut_short_by_the_upstream_is_an_error() {
    let (uri, _) = scripted(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nok", true).await;
    let pool = pool(Duration::from_secs(60), 4);
    let response = send(&pool, &uri).await.unwrap();
    let error = response.into_body().collect().await.unwrap_err();
    assert!(matches!(error, Http1Error::ClosedInBody(_)), "{error:?}");
}

#[tokio::test]
async fn streamed_chunks_come_out_as_they_arrive() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}/v1/chat", listener.local_addr().unwrap());
    let (next, mut told) = tokio::sync::mpsc::channel::<()>(1);
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let _ = tcp.read(&mut [0; 4096]).await.unwrap();
        tcp.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        for event in ["data: 1\n\n", "data: 2\n\n"] {
            let chunk = format!("{:x}\r\n{event}\r\n", event.len());
            tcp.write_all(chunk.as_bytes()).await.unwrap();
            // The next event only once the client has this one.
            told.recv().await.unwrap();
        }
        tcp.write_all(b"0\r\n\r\n").await.unwrap();
        let _ = tcp.read(&mut [0; 16]).await;
    });
    let pool = pool(Duration::from_secs(60), 4);
    let mut body = send(&pool, &uri).await.unwrap().into_body();
    for event in ["data: 1\n\n", "data: 2\n\n"] {
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), event);
        next.send(()).await.unwrap();
    }
    assert!(body.frame().await.is_none());
    assert_eq!(pool.idle_count(&uri.parse().unwrap()), 1);
}

#[tokio::test]
async fn an_idle_connection_that_sent_unasked_bytes_is_not_reused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}/v1/chat", listener.local_addr().unwrap());
    let connections = Arc::new(Mutex::new(0));
    let counted = Arc::clone(&connections);
    let (sent, junk_sent) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut sent = Some(sent);
        while let Ok((mut tcp, _)) = listener.accept().await {
            *counted.lock().unwrap() += 1;
            let sent = sent.take();
            tokio::spawn(async move {
                let _ = tcp.read(&mut [0; 4096]).await.unwrap();
                tcp.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await
                    .unwrap();
                if let Some(sent) = sent {
                    // Once the answer has been read, bytes nobody asked for.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    tcp.write_all(b"HTTP/1.1 200 OK\r\n").await.unwrap();
                    sent.send(()).unwrap();
                }
                let _ = tcp.read(&mut [0; 4096]).await;
            });
        }
    });
    let pool = pool(Duration::from_secs(60), 4);
    assert_eq!(get(&pool, &uri).await, "ok");
    junk_sent.await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(get(&pool, &uri).await, "ok");
    assert_eq!(*connections.lock().unwrap(), 2);
}

#[tokio::test]
async fn an_upstream_closing_without_an_answer_is_named_as_such() {
    let (uri, _) = scripted(b"", true).await;
    let pool = pool(Duration::from_secs(60), 4);
    let source = send(&pool, &uri).await.unwrap_err();
    assert!(
        matches!(
            source,
            TransportError::Send(Http1Error::ClosedBeforeHead(_))
        ),
        "{source:?}"
    );
    let failure = crate::error::AttemptFailure::Transport { source };
    let message = failure.client_message(ai_proxy::Provider::OpenAi, Duration::from_secs(5));
    assert!(
        message.contains("the upstream closed the connection"),
        "{message}"
    );
    assert_eq!(failure.status(), 502);
}
