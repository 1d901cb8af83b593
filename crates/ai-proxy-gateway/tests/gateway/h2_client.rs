//! An HTTP/2 client for the gateway's tests (hyper's, prior knowledge).
//! Apart from `harness`, which the Pingora crate's tests share and which
//! must not need hyper.

use std::net::SocketAddr;

/// A POST of `body` to `path` over HTTP/2 with prior knowledge (hyper's
/// client), answered with its head; `window`: the client's initial stream
/// window (hyper's default when `None`). Run it on a runtime that outlives
/// the response for as long as its body is wanted.
pub async fn http2_post(
    addr: SocketAddr,
    path: &str,
    body: &'static str,
    window: Option<u32>,
) -> http::Response<hyper::body::Incoming> {
    use bytes::Bytes;
    use http_body_util::Full;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let mut client = Client::builder(TokioExecutor::new());
    client.http2_only(true);
    if let Some(window) = window {
        client.http2_initial_stream_window_size(window);
    }
    let request = http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    let response = client
        .build_http::<Full<Bytes>>()
        .request(request)
        .await
        .unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    response
}

/// A current-thread runtime for a test's client side.
pub fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
