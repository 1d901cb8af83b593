//! The accept loop and client connections: HTTP/1.1 and HTTP/2 (prior
//! knowledge) through hyper's auto builder, with hyper's own protections
//! (header read timeout, buffer and header caps, HTTP/2 stream and header
//! list limits), a connection cap, an idle keep-alive watchdog, accept
//! errors backed off, and graceful shutdown. Several accept loops (one per
//! worker runtime, each on its own `SO_REUSEPORT` listener) may serve one
//! gateway, each within its own connection cap.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};

use crate::activity::Activity;
use crate::settings::Settings;
use crate::shared::Shared;

/// Longest request head (request line and headers) over HTTP/1.1, and
/// header list over HTTP/2 (nginx's `large_client_header_buffers` is 4×8k).
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// HTTP/2 streams per connection (nginx's `http2_max_concurrent_streams`).
const MAX_CONCURRENT_STREAMS: u32 = 128;

/// First and longest pause after a failed `accept` (e.g. out of file
/// descriptors).
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(5), Duration::from_secs(1));

/// The metrics endpoint ([`Settings::metrics_listen`]) served in the
/// background; it stops when this is dropped.
#[derive(Debug)]
pub struct MetricsEndpoint {
    task: tokio::task::JoinHandle<()>,
    addr: SocketAddr,
}

impl MetricsEndpoint {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds [`Settings::metrics_listen`], if set, and serves metrics there on
/// the current runtime.
pub(crate) async fn spawn_metrics_endpoint(
    shared: &Arc<Shared>,
) -> std::io::Result<Option<MetricsEndpoint>> {
    let Some(addr) = shared.settings.metrics_listen else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    tracing::info!("metrics on http://{addr}/metrics");
    let task = tokio::spawn(crate::metrics::endpoint::serve(
        Arc::clone(shared),
        listener,
    ));
    Ok(Some(MetricsEndpoint { task, addr }))
}

/// Period of [`TimerTick`]: below the usual per-request timeouts (the
/// route's `timeout`, the client header and body timeouts), above any
/// measurable cost.
const TIMER_TICK: Duration = Duration::from_secs(1);

/// A timer firing every [`TIMER_TICK`] on the accept loop's runtime, so
/// that registering a request's timeouts costs no system call. tokio's
/// timer wheel wakes its driver (an `eventfd` write, then an extra
/// `epoll_wait`) whenever a new timer is due before the driver's planned
/// wake-up; with only the long keep-alive timers in the wheel that was
/// every proxied request (its upstream timeout). With this tick the
/// planned wake-up is never more than a second away. Stops when dropped.
struct TimerTick(tokio::task::JoinHandle<()>);

impl TimerTick {
    fn spawn() -> Self {
        Self(tokio::spawn(async {
            let mut tick = tokio::time::interval(TIMER_TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
            }
        }))
    }
}

impl Drop for TimerTick {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Exponential back-off for `accept` failures, reset by a success.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    fn new() -> Self {
        Self {
            next: ACCEPT_BACKOFF.0,
        }
    }

    fn reset(&mut self) {
        self.next = ACCEPT_BACKOFF.0;
    }

    /// The pause to take now; the next one doubles, up to the maximum.
    fn step(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(ACCEPT_BACKOFF.1);
        now
    }
}

fn connection_builder(settings: &Settings) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        // The header-read timer of each request head on a reused timer.
        .timer(crate::timer::ReusedTimer)
        .header_read_timeout(settings.client_header_timeout)
        .keep_alive(true)
        .max_buf_size(MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .max_header_list_size(u32::try_from(MAX_HEADER_BYTES).unwrap_or(u32::MAX));
    builder
}

/// Serves `listener` until `shutdown` completes, then lets open
/// connections finish (up to the shutdown timeout); the health checks and
/// the metrics endpoint meanwhile.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let _health = crate::health::spawn(&shared);
    let _metrics = spawn_metrics_endpoint(&shared).await?;
    serve_connections(shared, listener, shutdown).await
}

/// The accept loop: serves `listener`'s clients (up to
/// [`Settings::max_connections`] at once) until `shutdown` completes, then lets the connections
/// this loop opened finish (up to the shutdown timeout).
pub(crate) async fn serve_connections(
    shared: Arc<Shared>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let settings = shared.settings.clone();
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let builder = Arc::new(connection_builder(&settings));
    let (stop_tx, stop_rx) = watch::channel(false);
    // Each connection holds a sender; `recv` ends when all are dropped.
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    let _tick = TimerTick::spawn();
    let mut backoff = Backoff::new();
    tokio::pin!(shutdown);
    loop {
        // A slot first: at the cap, connections wait in the backlog.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    backoff.reset();
                    accepted
                }
                Err(e) => {
                    let pause = backoff.step();
                    tracing::warn!(
                        "accept failed: {e}; retrying in {} ms (raise the file-descriptor \
                         limit or lower --max-connections if this is EMFILE)",
                        pause.as_millis()
                    );
                    tokio::select! {
                        () = tokio::time::sleep(pause) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        let shared = Arc::clone(&shared);
        let builder = Arc::clone(&builder);
        let stop = stop_rx.clone();
        let open = open_tx.clone();
        let gauge = shared.metrics.as_ref().map(|m| {
            m.client_connections.inc();
            m.client_connections.clone()
        });
        tokio::spawn(async move {
            connection(&builder, shared, stream, remote, stop).await;
            if let Some(gauge) = gauge {
                gauge.dec();
            }
            drop(slot);
            drop(open);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(open_tx);
    let _ = tokio::time::timeout(settings.shutdown_timeout, open_rx.recv()).await;
    Ok(())
}

/// Serves one client connection until it closes, goes idle past the
/// keep-alive timeout, or the gateway stops.
async fn connection(
    builder: &auto::Builder<TokioExecutor>,
    shared: Arc<Shared>,
    stream: TcpStream,
    remote: SocketAddr,
    mut stop: watch::Receiver<bool>,
) {
    // Responses (streamed ones above all) go out as written, not held back
    // by Nagle's algorithm waiting for an ACK.
    let _ = stream.set_nodelay(true);
    let keepalive = shared.settings.keepalive_timeout;
    let activity = Activity::new();
    let requests = Arc::clone(&activity);
    let service = service_fn(move |request: http::Request<Incoming>| {
        let busy = requests.begin();
        let shared = Arc::clone(&shared);
        async move {
            let mut response = crate::proxy::handle(&shared, request, remote).await;
            response.body_mut().hold(busy);
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let idle = tokio::time::sleep(keepalive);
    tokio::pin!(idle);
    let stop_seen = stop.clone();
    let stopped = async move {
        loop {
            if stop.changed().await.is_err() || *stop.borrow() {
                return;
            }
        }
    };
    tokio::pin!(stopped);
    // The idle timer and the stop signal keep this task's waker from their
    // last poll, so between their wake-ups they are polled only when they
    // say they are due (an atomic read each) — not on every wake-up of a
    // busy connection (three a proxied request, ~230 instructions each).
    let mut watch_idle = true;
    let mut watch_stop = true;
    let mut closing = false;
    std::future::poll_fn(|cx| {
        loop {
            if conn.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            if closing {
                return Poll::Pending;
            }
            if watch_stop || !matches!(stop_seen.has_changed(), Ok(false)) {
                watch_stop = false;
                if stopped.as_mut().poll(cx).is_ready() {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                    continue;
                }
            }
            if watch_idle || idle.is_elapsed() {
                watch_idle = false;
                if idle.as_mut().poll(cx).is_ready() {
                    let now = Instant::now();
                    match activity.idle_since() {
                        Some(since) if now.saturating_duration_since(since) >= keepalive => {
                            conn.as_mut().graceful_shutdown();
                            closing = true;
                        }
                        Some(since) => idle.as_mut().reset((since + keepalive).into()),
                        None => idle.as_mut().reset((now + keepalive).into()),
                    }
                    // Re-armed: polled again to register.
                    watch_idle = true;
                    continue;
                }
            }
            return Poll::Pending;
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_backoff_doubles_to_a_second_and_resets() {
        let mut b = Backoff::new();
        let steps: Vec<u128> = (0..10).map(|_| b.step().as_millis()).collect();
        assert_eq!(steps, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.reset();
        assert_eq!(b.step(), Duration::from_millis(5));
    }
}
